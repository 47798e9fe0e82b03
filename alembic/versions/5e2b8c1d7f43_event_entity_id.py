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

"""Event entity id, indexed: one entity's history without a table scan.

Adds ``event.entity_id`` (which entity an event is about, see
``vitrage_persistor/storage/entity_ids.py``), fills it in for the events
already stored, and indexes ``(entity_id, id)``, so that "every event
about host-3, in id order" is an index range scan.

Revision ID: 5e2b8c1d7f43
Revises: 32d76e9b4241
Create Date: 2026-12-02 16:40:00
"""

import json

from alembic import op
import sqlalchemy as sa

revision = '5e2b8c1d7f43'
down_revision = '32d76e9b4241'
branch_labels = None
depends_on = None

_BATCH = 1000
# Frozen copy of storage.entity_ids as of this revision.
_RESOURCE_KEYS = {
    'nova.host': ('host',),
    'nova.zone': ('zoneName',),
    'nova.instance': ('id', 'instance_id'),
    'cinder.volume': ('id', 'volume_id'),
    'neutron.network': ('id', 'network_id'),
    'neutron.port': ('id', 'port_id'),
    'heat.stack': ('id', 'stack_identity'),
}
_ALARM_KEYS = {
    'nagios': ('resource_name',),
    'zabbix': ('resource_name',),
    'doctor': ('details.hostname',),
    'vitrage': ('target', 'vitrage_id'),
}
_ALARM_TYPES = ('aodh', 'prometheus', 'kapacitor', 'monasca', 'collectd',
                'trove.alarm')


def _usable(value):
    return (isinstance(value, str) and value.strip() != ''
            and len(value) <= 255 and '\x00' not in value)


def _get(event, path):
    value = event
    for part in path.split('.'):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _entity_id_of(payload_text):
    try:
        event = json.loads(payload_text)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    entity_type = str(event.get('vitrage_entity_type'))
    keys = (_RESOURCE_KEYS.get(entity_type) or _ALARM_KEYS.get(entity_type)
            or (('resource_id',) if entity_type in _ALARM_TYPES
                else ('id',)))
    for path in keys:
        value = _get(event, path)
        if _usable(value):
            return value
    return None


def _backfill(conn):
    event = sa.table('event', sa.column('id', sa.BigInteger),
                     sa.column('payload', sa.Text),
                     sa.column('entity_id', sa.String(255)))
    cursor = 0
    while True:
        rows = conn.execute(
            sa.select(event.c.id, event.c.payload)
            .where(event.c.id > cursor).order_by(event.c.id)
            .limit(_BATCH)).all()
        if not rows:
            return
        updates = [{'row_id': row.id, 'entity': entity}
                   for row in rows
                   if (entity := _entity_id_of(row.payload)) is not None]
        if updates:
            conn.execute(
                event.update().where(event.c.id == sa.bindparam('row_id'))
                .values(entity_id=sa.bindparam('entity')), updates)
        cursor = rows[-1].id


def upgrade():
    op.add_column('event',
                  sa.Column('entity_id', sa.String(255), nullable=True))
    _backfill(op.get_bind())
    op.create_index('ix_event_entity_id_id', 'event', ['entity_id', 'id'])
