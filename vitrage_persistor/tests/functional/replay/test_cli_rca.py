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

"""``vitrage-persistor-replay rca`` and ``history`` on a real database.

The history holds a deduced alarm and a causal edge that come and go
(:mod:`vitrage_persistor.tests.common.rca_history`).
"""

import json
import os
import xml.etree.ElementTree as ET

import sqlalchemy as sa
from testtools import content

from vitrage_persistor import wire
from vitrage_persistor.replay import vitrage_views
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.tests.common import rca_history
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.replay import base, test_cli


class RcaCommands:
    """The tests; mixed into one concrete class per database backend."""

    run_cmd = test_cli.TestReplayCommand.run_cmd

    def setUp(self):
        super().setUp()
        self.conf_file = os.path.join(self.state_dir, 'replay.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                    '%s\n[replay]\ndatasources_values_dir = %s\n' % (
                        self.state_dir, self.db_url, self.values_dir))
        self.history = rca_history.build(self.conf)
        self.store.add_batch(self.history.records)

    def when(self, label):
        return wire.format_timestamp(self.history.times[label])

    def test_rca_text_json_and_drawn(self):
        h = self.history
        rc, text, err = self.run_cmd('rca', '--alarm', h.deduced_alarm,
                                     '--at', self.when('during'))
        self.assertEqual(0, rc, err)
        self.assertIn('caused by:\n  <- nagios CPU utilization', text)
        self.assertIn(h.nagios_alarm, text)
        self.assertIn('2 alarms, 1 causal edges', text)
        rc, text, err = self.run_cmd('rca', '--alarm', h.deduced_alarm,
                                     '--at', self.when('during'),
                                     '--format', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual(json.loads(json.dumps(vitrage_views.rca(
            h.graphs['during'], vitrage_views.Caller(None, True),
            h.deduced_alarm, True), sort_keys=True)), json.loads(text))
        # by entity key: md5 of it is the vertex's vitrage_cached_id
        nagios = h.graphs['during'].get_vertex(h.nagios_alarm)
        key = 'ALARM:nagios:%s:%s' % (nagios.get('resource_id'),
                                      nagios.get('name'))
        rc, text, err = self.run_cmd('rca', '--alarm', key,
                                     '--at', self.when('during'))
        self.assertEqual(0, rc, err)
        self.assertIn('RCA of nagios CPU utilization', text)
        self.assertIn('causes:\n  -> vitrage %s' % rca_history.DEDUCED_NAME,
                      text)
        svg = os.path.join(self.state_dir, 'rca.svg')
        rc, _, err = self.run_cmd('rca', '--alarm', h.nagios_alarm, '--at',
                                  self.when('during'), '--format', 'svg',
                                  '-o', svg)
        self.assertEqual(0, rc, err)
        drawn = ET.parse(svg).getroot()
        self.assertTrue(drawn.tag.endswith('svg'))
        with open(svg) as f:
            picture = f.read()
        self.assertIn(rca_history.DEDUCED_NAME, picture)
        self.assertIn('CPU utilization', picture)

    def test_rca_refuses_what_is_not_there(self):
        h = self.history
        for args, text in (
                (('--alarm', h.deduced_alarm, '--at', self.when('after')),
                 'no alarm'),
                (('--alarm', h.deduced_alarm, '--at', self.when('before')),
                 'no alarm'),
                (('--alarm', h.deduced_alarm, '--format', 'png'),
                 "unknown rca format 'png'"),
                ((), 'rca needs --alarm')):
            rc, _, err = self.run_cmd('rca', *args)
            self.assertEqual(2, rc, err)
            # one line, after the replay's own summary line if it ran
            last = err.strip().splitlines()[-1]
            self.assertIn(text, last)
            self.assertTrue(last.startswith('vitrage-persistor-replay: '))

    def test_history_of_an_instance_with_its_alarms(self):
        h = self.history
        instance = h.graphs['during'].get_vertex(h.instance)
        rc, text, err = self.run_cmd('history', '--entity',
                                     instance.get('id'))
        self.assertEqual(0, rc, err)
        self.assertNotIn(rca_history.DEDUCED_NAME, text)
        own = int(text.splitlines()[0].rsplit(': ', 1)[1].split()[0])
        self.assertGreater(own, 0)
        rc, text, err = self.run_cmd('history', '--entity',
                                     instance.get('id'), '--related')
        self.assertEqual(0, rc, err)
        # raised, then removed by the undo: two evaluator events
        self.assertEqual(1, text.count('alarm_name: "%s"'
                                       % rca_history.DEDUCED_NAME), text)
        self.assertIn(' vitrage update add_vertex\n', text)
        self.assertIn(' vitrage update remove_vertex\n', text)
        self.assertIn('state: "Inactive"', text)
        rc, text, err = self.run_cmd(
            'history', '--entity', instance.get('id'), '--related',
            '--to', self.when('before'))
        self.assertEqual(0, rc, err)
        self.assertNotIn(rca_history.DEDUCED_NAME, text)
        rc, text, err = self.run_cmd('history', '--entity',
                                     'RESOURCE:nova.instance:%s'
                                     % instance.get('id'))
        self.assertEqual(0, rc, err)
        self.assertIn('%d events' % own, text.splitlines()[0])
        rc, _, err = self.run_cmd('history', '--entity', 'no-such-thing')
        self.assertEqual(1, rc)
        self.assertIn("no stored event about 'no-such-thing'", err)


class TestRcaCommandsSQLite(RcaCommands, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.OpportunisticDbFixture


class TestRcaCommandsPostgreSQL(RcaCommands, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture

    def test_entity_history_and_type_filter_use_their_indexes(self):
        """The plans PostgreSQL picks, as doc/source/storage.rst shows."""
        from vitrage_persistor.storage.api import EVENT
        with self.store.engine.begin() as conn:
            conn.exec_driver_sql('ANALYZE event')
        instance = self.history.graphs['during'].get_vertex(
            self.history.instance).get('id')
        history = (sa.select(EVENT).where(EVENT.c.entity_id.in_([instance]),
                                          EVENT.c.id > 0)
                   .order_by(EVENT.c.id).limit(100))
        by_type = (sa.select(EVENT).where(EVENT.c.id > 0,
                                          EVENT.c.entity_type == 'nova.host')
                   .order_by(EVENT.c.id).limit(100))
        self.assertIn('ix_event_entity_id_id', self.explain(history))
        self.assertIn('ix_event_entity_type_id', self.explain(by_type))

    def explain(self, statement):
        # a session of its own, where only the planner's cost of a
        # sequential scan is changed: the table is tiny, and PostgreSQL
        # would rightly scan it whole
        store = storage_api.Store(self.conf)
        self.addCleanup(store.dispose)
        with store.engine.connect() as conn:
            conn.exec_driver_sql('SET enable_seqscan = off')
            compiled = statement.compile(
                dialect=conn.dialect, compile_kwargs={'literal_binds': True})
            plan = '\n'.join(r[0] for r in conn.exec_driver_sql(
                'EXPLAIN %s' % compiled))
        self.addDetail('plan', content.text_content(plan))
        self.assertIn('Index Scan', plan)
        return plan


class TestRcaCommandsMariaDB(RcaCommands, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.MySQLOpportunisticFixture
