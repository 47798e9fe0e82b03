# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""EXPLAIN ANALYZE of the entity-history and entity-type queries.

Makes a database of its own (vp_explain_history) on a PostgreSQL server,
migrates it, stores 100,000 synthetic events through the store, runs
ANALYZE, prints the plans of the queries the API sends for
``/v1/entities/{key}/history`` and ``/v1/events?entity_type=``, and drops
the database. ``doc/source/storage.rst`` shows its output::

    python tools/bench/explain_history.py [postgresql://postgres@127.0.0.1]
"""

import datetime
import json
import sys
import uuid

import sqlalchemy as sa

from vitrage_persistor import service
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import entity_ids, migration, records

DB = 'vp_explain_history'
EVENTS = 100000
T0 = datetime.datetime(2026, 11, 21, 3, 0)
TYPES = ['nova.instance'] * 6 + ['nova.host', 'nagios', 'aodh',
                                 'cinder.volume']


def event(i: int) -> records.EventRecord:
    kind = TYPES[i % len(TYPES)]
    payload = {'vitrage_entity_type': kind,
               'vitrage_datasource_action': 'update'}
    if kind == 'nova.host':
        payload['host'] = 'host-%d' % (i % 50)
    elif kind == 'nagios':
        payload.update(resource_name='host-%d' % (i % 50), service='cpu')
    elif kind == 'aodh':
        payload.update(resource_id='vm-%d' % (i % 2000), alarm_id='a%d' % i)
    else:
        payload['id'] = '%s-%d' % (kind, i % 2000)
    return records.EventRecord(
        message_id=uuid.uuid4().hex,
        collector_timestamp=T0 + datetime.timedelta(milliseconds=30 * i),
        event_type='vitrage.persistor.event.driver', entity_type=kind,
        payload_json=json.dumps(payload), sequence=i,
        entity_id=entity_ids.entity_id_of(payload))


def explain(store, statement) -> None:
    with store.engine.connect() as conn:
        sql = statement.compile(dialect=conn.dialect,
                                compile_kwargs={'literal_binds': True})
        print(sql)
        print()
        for row in conn.exec_driver_sql('EXPLAIN ANALYZE %s' % sql):
            print('   ', row[0])
        print()


def main(server: str) -> None:
    admin = sa.create_engine(server + '/postgres',
                             isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % DB)
        conn.exec_driver_sql('CREATE DATABASE %s' % DB)
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', '%s/%s' % (server, DB), 'database')
    store = storage_api.Store(conf)
    try:
        migration.upgrade(store)
        for start in range(0, EVENTS, 5000):
            store.add_batch([event(i) for i in range(start, start + 5000)])
        with store.engine.begin() as conn:
            conn.exec_driver_sql('ANALYZE event')
        table = storage_api.EVENT
        explain(store, sa.select(table).where(
            table.c.entity_id.in_(['host-6']), table.c.id > 0,
            table.c.collector_timestamp >= T0 + datetime.timedelta(
                minutes=10),
            table.c.collector_timestamp < T0 + datetime.timedelta(
                minutes=25)).order_by(table.c.id).limit(100))
        for kind, limit in (('nonexistent', 1), ('nova.host', 100)):
            explain(store, sa.select(table).where(
                table.c.id > 0, table.c.entity_type == kind)
                .order_by(table.c.id).limit(limit))
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % DB)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else
         'postgresql+psycopg2://postgres@127.0.0.1')
