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

import importlib.util
import os

from vitrage_persistor.storage import entity_ids
from vitrage_persistor.tests import base

_MIGRATION = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))),
    'alembic', 'versions', '5e2b8c1d7f43_event_entity_id.py')

CASES = [
    ({'vitrage_entity_type': 'nova.host', 'host': 'host-3',
      'id': 'compute-3.local'}, 'host-3'),
    ({'vitrage_entity_type': 'nova.zone', 'zoneName': 'zone-1'}, 'zone-1'),
    ({'vitrage_entity_type': 'nova.instance', 'id': 'i-1'}, 'i-1'),
    ({'vitrage_entity_type': 'nova.instance', 'instance_id': 'i-2'}, 'i-2'),
    ({'vitrage_entity_type': 'cinder.volume', 'volume_id': 'v-1'}, 'v-1'),
    ({'vitrage_entity_type': 'static', 'id': 's1'}, 's1'),
    ({'vitrage_entity_type': 'nagios', 'resource_name': 'host-3'},
     'host-3'),
    ({'vitrage_entity_type': 'doctor', 'details': {'hostname': 'host-3'}},
     'host-3'),
    ({'vitrage_entity_type': 'aodh', 'alarm_id': 'a',
      'resource_id': 'i-1'}, 'i-1'),
    ({'vitrage_entity_type': 'vitrage', 'target': 'uuid'}, 'uuid'),
    # set_state and mark_down: an update_vertex of the target itself
    ({'vitrage_entity_type': 'vitrage', 'type': 'update_vertex',
      'vitrage_id': 'host-uuid', 'vitrage_state': 'ERROR'}, 'host-uuid'),
    ({'vitrage_entity_type': 'doctor', 'details': 'text'}, None),
    ({'vitrage_entity_type': 'nova.host', 'host': ''}, None),
    ({'vitrage_entity_type': 'nova.host', 'host': 'x' * 256}, None),
    ({'vitrage_entity_type': 'nova.host', 'host': 'a\x00b'}, None),
    ({'vitrage_entity_type': 'nova.host', 'host': 3}, None),
    ([1], None),
]


class TestEntityIds(base.TestCase):

    def test_each_datasource(self):
        for event, expected in CASES:
            self.assertEqual(expected, entity_ids.entity_id_of(event), event)

    def test_migration_backfill_agrees(self):
        # the migration keeps a frozen copy; today they must agree
        import json
        spec = importlib.util.spec_from_file_location('m', _MIGRATION)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for event, expected in CASES:
            self.assertEqual(expected, module._entity_id_of(json.dumps(event)),
                             event)

    def test_keys(self):
        self.assertEqual('host-3', entity_ids.from_key(
            'RESOURCE:nova.host:host-3'))
        self.assertEqual('a:b', entity_ids.from_key('RESOURCE:static:a:b'))
        self.assertEqual('ALARM:x:y', entity_ids.from_key('ALARM:x:y'))
        self.assertEqual('host-3', entity_ids.from_key('host-3'))
