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

"""Migration tests: walk every revision, then compare with the models.

Run on SQLite, PostgreSQL and MariaDB. ``db_sync`` really runs our Alembic
environment, so ``ModelsMigrationsSync`` compares the migrated schema with
the models instead of the models with themselves.
"""

import sqlalchemy as sa
from oslo_db.sqlalchemy import test_migrations

from alembic import script as alembic_script
from vitrage_persistor.storage import migration, models
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures


class MigrationWalk:
    MIGRATE = False

    def test_single_base_and_head(self):
        scripts = alembic_script.ScriptDirectory(migration.script_location())
        self.assertEqual(1, len(scripts.get_bases()))
        self.assertEqual(1, len(scripts.get_heads()))

    def test_walk_revisions(self):
        scripts = alembic_script.ScriptDirectory(migration.script_location())
        revisions = list(reversed(list(scripts.walk_revisions())))
        self.assertIsNone(migration.current(self.store))
        for revision in revisions:
            prepare = getattr(self, '_pre_upgrade_%s' % revision.revision,
                              None)
            if prepare is not None:
                prepare(self.store.engine)
            migration.upgrade(self.store, revision.revision)
            self.assertEqual(revision.revision, migration.current(self.store))
            check = getattr(self, '_check_%s' % revision.revision, None)
            if check is not None:
                check(self.store.engine)
        self.assertEqual(migration.head(), migration.current(self.store))

    def test_upgrade_head_is_idempotent(self):
        migration.upgrade(self.store)
        migration.upgrade(self.store)
        self.assertEqual(migration.head(), migration.current(self.store))

    def _check_3f1c0a9d2b7e(self, engine):
        inspector = sa.inspect(engine)
        self.assertTrue({'event', 'graph_snapshot', 'quarantine'}.issubset(
            set(inspector.get_table_names())))
        uniques = {u['name'] for u in inspector.get_unique_constraints(
            'event')}
        indexes = {i['name'] for i in inspector.get_indexes('event')}
        self.assertTrue('uniq_event0message_id' in uniques or
                        'uniq_event0message_id' in indexes)
        self.assertIn('ix_event_replay_order', indexes)
        # The replay cursor must auto-increment on every backend.
        with engine.begin() as conn:
            for n in range(2):
                conn.execute(sa.text(
                    "INSERT INTO event (message_id, collector_timestamp, "
                    "publisher_id, sequence, event_type, entity_type, "
                    "stored_at, payload) VALUES (:m, :t, 'p', 0, 'e', "
                    "'nova.host', :t, '{}')"),
                    {'m': 'm%d' % n, 't': '2026-01-01 00:00:00.000001'})
            ids = conn.execute(sa.text(
                'SELECT id FROM event ORDER BY id')).scalars().all()
            stamp = conn.execute(sa.text(
                'SELECT collector_timestamp FROM event')).scalars().first()
            conn.execute(sa.text('DELETE FROM event'))
        self.assertEqual(2, len(ids))
        self.assertLess(ids[0], ids[1])
        if not isinstance(stamp, str):
            self.assertEqual(1, stamp.microsecond)

    def _check_a7c41e9d05b2(self, engine):
        inspector = sa.inspect(engine)
        self.assertIn('agent_report', inspector.get_table_names())
        columns = {c['name'] for c in inspector.get_columns('quarantine')}
        self.assertLessEqual({'source', 'raw_format', 'text_escaped'},
                             columns)
        # rows written by an older agent read as endpoint rows of JSON
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO quarantine (message_id, received_at, reason, "
                "detail) VALUES ('q1', '2026-01-01 00:00:00', 'r', 'd')"))
            row = conn.execute(sa.text(
                'SELECT source, raw_format, text_escaped FROM '
                'quarantine')).one()
            conn.execute(sa.text('DELETE FROM quarantine'))
        self.assertEqual(('endpoint', 'json'), tuple(row[:2]))
        self.assertFalse(row[2])

    _PROJECT_PAYLOADS = {
        'm-instance': '{"tenant_id":"p1","name":"vm-1"}',
        'm-volume': '{"os-vol-tenant-attr:tenant_id":"p2"}',
        'm-versioned': '{"nova_object.data":{"tenant_id":"p3"}}',
        'm-host': '{"vitrage_entity_type":"nova.host"}',
        'm-list': '[1]',
    }

    def _pre_upgrade_32d76e9b4241(self, engine):
        with engine.begin() as conn:
            for message_id, payload in self._PROJECT_PAYLOADS.items():
                conn.execute(sa.text(
                    "INSERT INTO event (message_id, collector_timestamp, "
                    "publisher_id, sequence, event_type, entity_type, "
                    "stored_at, payload) VALUES (:m, :t, 'p', 0, 'e', "
                    "'x', :t, :p)"),
                    {'m': message_id, 'p': payload,
                     't': '2026-01-01 00:00:00.000001'})

    def _check_32d76e9b4241(self, engine):
        with engine.begin() as conn:
            projects = dict(conn.execute(sa.text(
                'SELECT message_id, project_id FROM event')).all())
            conn.execute(sa.text('DELETE FROM event'))
        self.assertEqual({'m-instance': 'p1', 'm-volume': 'p2',
                          'm-versioned': 'p3', 'm-host': None,
                          'm-list': None}, projects)
        indexes = {i['name']: i['column_names']
                   for i in sa.inspect(engine).get_indexes('event')}
        self.assertEqual(['project_id', 'id'],
                         indexes['ix_event_project_id_id'])
        self.assertEqual(['entity_type', 'id'],
                         indexes['ix_event_entity_type_id'])
        self.assertNotIn('ix_event_entity_type', indexes)

    _ENTITY_PAYLOADS = {
        'e-host': '{"vitrage_entity_type":"nova.host","host":"host-3",'
                  '"id":"compute-3.local"}',
        'e-vm': '{"vitrage_entity_type":"nova.instance","instance_id":"i1"}',
        'e-doctor': '{"vitrage_entity_type":"doctor",'
                    '"details":{"hostname":"host-3"}}',
        'e-deduced': '{"vitrage_entity_type":"vitrage","target":"uuid-1"}',
        'e-none': '{"vitrage_entity_type":"nagios"}',
        'e-list': '[1]',
    }

    def _pre_upgrade_5e2b8c1d7f43(self, engine):
        with engine.begin() as conn:
            for message_id, payload in self._ENTITY_PAYLOADS.items():
                conn.execute(sa.text(
                    "INSERT INTO event (message_id, collector_timestamp, "
                    "publisher_id, sequence, event_type, entity_type, "
                    "stored_at, payload) VALUES (:m, :t, 'p', 0, 'e', "
                    "'x', :t, :p)"),
                    {'m': message_id, 'p': payload,
                     't': '2026-01-01 00:00:00.000001'})

    def _check_5e2b8c1d7f43(self, engine):
        with engine.begin() as conn:
            found = dict(conn.execute(sa.text(
                'SELECT message_id, entity_id FROM event')).all())
            conn.execute(sa.text('DELETE FROM event'))
        self.assertEqual({'e-host': 'host-3', 'e-vm': 'i1',
                          'e-doctor': 'host-3', 'e-deduced': 'uuid-1',
                          'e-none': None, 'e-list': None}, found)
        indexes = {i['name']: i['column_names']
                   for i in sa.inspect(engine).get_indexes('event')}
        self.assertEqual(['entity_id', 'id'],
                         indexes['ix_event_entity_id_id'])

    def _pre_upgrade_5e0d1c7b9a24(self, engine):
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO graph_snapshot (created_at, "
                "collector_timestamp, last_publisher_id, last_sequence, "
                "last_event_id, max_event_id, event_count, format_version, "
                "processor, vertex_count, edge_count, data) VALUES (:t, :t, "
                "'p', 1, 1, 1, 1, 1, 'vitrage', 0, 0, :d)"),
                {'t': '2026-01-01 00:00:00.000001', 'd': b'old'})

    def _check_5e0d1c7b9a24(self, engine):
        with engine.begin() as conn:
            rows = conn.execute(sa.text(
                'SELECT format_version, parent_id, data, data_bytes FROM '
                'graph_snapshot')).all()
            conn.execute(sa.text('DELETE FROM graph_snapshot'))
        # the snapshots stored before are full ones, untouched, of a size
        # not recorded
        self.assertEqual([(1, None, b'old', None)],
                         [(r[0], r[1], bytes(r[2]), r[3]) for r in rows])

    def _pre_upgrade_7b3e9f2a6c10(self, engine):
        # ids 1 and 2 in block 0; 1030 and 1031 in block 1, the later id
        # with the earlier time (a late event)
        with engine.begin() as conn:
            for event_id, when in ((1, '2026-01-01 00:00:02.000001'),
                                   (2, '2026-01-01 00:00:03.000001'),
                                   (1030, '2026-01-01 00:00:05.000001'),
                                   (1031, '2026-01-01 00:00:01.000001')):
                conn.execute(sa.text(
                    "INSERT INTO event (id, message_id, "
                    "collector_timestamp, publisher_id, sequence, "
                    "event_type, entity_type, stored_at, payload) VALUES "
                    "(:i, :m, :t, 'p', 0, 'e', 'x', :t, '{}')"),
                    {'i': event_id, 'm': 'm-%d' % event_id, 't': when})

    def _check_7b3e9f2a6c10(self, engine):
        with engine.begin() as conn:
            rows = conn.execute(sa.text(
                'SELECT block, writer, min_collector_timestamp FROM '
                'event_block ORDER BY block')).all()
            conn.execute(sa.text('DELETE FROM event_block'))
            conn.execute(sa.text('DELETE FROM event'))
        self.assertEqual(
            [(0, 'db upgrade', '2026-01-01 00:00:02.000001'),
             (1, 'db upgrade', '2026-01-01 00:00:01.000001')],
            [(r[0], r[1], str(r[2])) for r in rows])


class ModelsMatchMigrations(test_migrations.ModelsMigrationsSync):
    MIGRATE = False

    def db_sync(self, engine):
        migration.upgrade(self.store)

    def get_engine(self):
        return self.store.engine

    def get_metadata(self):
        return models.Base.metadata

    def include_object(self, object_, name, type_, reflected, compare_to):
        if type_ == 'table' and name == 'alembic_version':
            return False
        return True


globals().update(func_fixtures.backend_classes(
    'TestMigrationWalk', (MigrationWalk, func_fixtures.OpportunisticDB,
                          base.TestCase), {}))
globals().update(func_fixtures.backend_classes(
    'TestModelsMatchMigrations', (ModelsMatchMigrations,
                                  func_fixtures.OpportunisticDB,
                                  base.TestCase), {}))
