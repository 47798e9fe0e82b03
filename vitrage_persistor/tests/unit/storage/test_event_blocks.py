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

"""The arithmetic of ``storage.event_blocks`` (the queries: functional)."""

import importlib.util

from vitrage_persistor.storage import event_blocks, migration, models
from vitrage_persistor.tests import base

B = models.EVENT_BLOCK_IDS


class TestEventBlocks(base.TestCase):

    def test_migration_uses_the_same_block_size(self):
        # stored rows depend on it: the model and the frozen copy in the
        # migration that creates the table must agree
        path = '%s/versions/7b3e9f2a6c10_event_block.py' % (
            migration.script_location())
        spec = importlib.util.spec_from_file_location('rev', path)
        revision = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(revision)
        self.assertEqual(models.EVENT_BLOCK_IDS, revision.BLOCK_IDS)

    def test_earliest_per_block(self):
        rows = [(1, 5), (2, 3), (B - 1, 9), (B, 7), (B + 5, 2), (3 * B, 1)]
        self.assertEqual({0: 3, 1: 2, 3: 1},
                         event_blocks.earliest_per_block(rows))

    def test_id_ranges_clip_and_merge(self):
        # block 0 from after_id, blocks 1 and 2 merged, block 4 clipped to
        # the largest id
        self.assertEqual(
            [(11, 3 * B - 1), (4 * B, 4 * B + 6)],
            event_blocks.id_ranges([0, 1, 2, 4], 10, 4 * B + 6))

    def test_id_ranges_skip_blocks_outside(self):
        self.assertEqual([], event_blocks.id_ranges([0], B - 1, 5 * B))
        self.assertEqual([], event_blocks.id_ranges([3], 0, 3 * B - 1))
