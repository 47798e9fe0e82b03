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

"""JSON encoding of graph snapshots, zlib-compressed and versioned.

Snapshots are data, never code: loading one runs ``json.loads`` and
nothing else, and it survives networkx upgrades.
"""

import json
import zlib

from vitrage_persistor.storage import records

FORMAT_VERSION = 1


def encode(snapshot: records.Snapshot) -> bytes:
    document = {'format_version': FORMAT_VERSION,
                'processor': snapshot.processor,
                'graph': snapshot.graph}
    text = json.dumps(document, ensure_ascii=False, allow_nan=False,
                      separators=(',', ':'), sort_keys=True)
    return zlib.compress(text.encode('utf-8'), 6)


def decode(data: bytes) -> dict:
    document = json.loads(zlib.decompress(data).decode('utf-8'))
    version = document.get('format_version')
    if version != FORMAT_VERSION:
        raise ValueError('unsupported graph snapshot format_version %r '
                         '(this release reads %d)' % (version,
                                                      FORMAT_VERSION))
    return document


def decode_row(row) -> records.Snapshot:
    document = decode(row.data)
    return records.Snapshot(
        id=row.id, created_at=row.created_at,
        covers=records.OrderKey(row.collector_timestamp,
                                row.last_publisher_id, row.last_sequence,
                                row.last_event_id),
        max_event_id=row.max_event_id, event_count=row.event_count,
        processor=row.processor, graph=document['graph'],
        format_version=row.format_version,
        vertex_count=row.vertex_count, edge_count=row.edge_count)
