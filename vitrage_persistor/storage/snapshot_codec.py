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

Snapshots are data, never code: loading one parses JSON and nothing else,
and it survives networkx upgrades. ``format_version`` 1 holds a full
graph (``graph_json.dump``), 2 a delta from the snapshot named by the
row's ``parent_id`` (``graph_json.ChangeTracker.delta``); both are read.

orjson parses and writes JSON several times faster than the standard
library, and zlib level 1 compresses about three times faster than level
6 for 10 % more bytes: at 30,000 vertices that is most of what loading
and writing a snapshot costs (``doc/source/replay.rst``).
"""

import zlib

import orjson

from vitrage_persistor import gc_pause
from vitrage_persistor.storage import records

FULL = 1
DELTA = 2
FORMAT_VERSION = FULL
READABLE = (FULL, DELTA)


def encode(snapshot: records.Snapshot) -> bytes:
    document = {'format_version': snapshot.format_version,
                'processor': snapshot.processor,
                'graph': snapshot.graph}
    return zlib.compress(orjson.dumps(document), 1)


def decode(data: bytes) -> dict:
    with gc_pause.paused():
        document = orjson.loads(zlib.decompress(data))
    version = document.get('format_version')
    if version not in READABLE:
        raise ValueError('unsupported graph snapshot format_version %r '
                         '(this release reads %s)' % (
                             version, ', '.join(map(str, READABLE))))
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
        vertex_count=row.vertex_count, edge_count=row.edge_count,
        parent_id=getattr(row, 'parent_id', None))
