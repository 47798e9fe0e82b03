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

"""Plain records passed between the service, the store and replay.

They keep the domain apart from the ORM rows: the store maps one to the
other, and nothing outside ``storage/`` touches a SQLAlchemy object.
"""

import dataclasses
import datetime
import json
from typing import Any


def utc_naive(value: datetime.datetime) -> datetime.datetime:
    """Return ``value`` as a naive UTC datetime, the stored form."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def encode_payload(payload: Any) -> str:
    """Encode a payload as compact, strict JSON.

    Non-ASCII is kept as is (the columns are utf8mb4 on MySQL), and NaN or
    Infinity raise ``ValueError`` because they are not JSON.
    """
    return _PAYLOAD_ENCODER.encode(payload)


# Built once: json.dumps() with options builds a new encoder per call, and
# this runs once per stored event.
_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False,
                                    separators=(',', ':'))


def decode_payload(text: str) -> Any:
    return json.loads(text)


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """An accepted event, ready to be stored."""

    message_id: str
    collector_timestamp: datetime.datetime
    event_type: str
    entity_type: str
    payload_json: str
    publisher_id: str = ''
    sequence: int = 0
    datasource_action: str | None = None
    # storage.tenancy.project_of(event): who may read it through the API
    project_id: str | None = None
    # storage.entity_ids.entity_id_of(event): the entity-history index
    entity_id: str | None = None
    # UTF-8 size of payload_json, when the producer of the record already
    # knows it (validation does); 0 means "measure it".
    payload_bytes: int = 0

    def size(self) -> int:
        """Bytes of payload_json in UTF-8, what a statement carries."""
        if self.payload_bytes:
            return self.payload_bytes
        text = self.payload_json
        return len(text) if text.isascii() else len(
            text.encode('utf-8', 'surrogatepass'))


@dataclasses.dataclass(frozen=True)
class QuarantineRecord:
    """A refused notification and the reason it was refused.

    ``source`` says which stage refused it (``endpoint``, ``dispatcher``
    or ``dead_letter``), ``raw_format`` how ``raw`` is written (``json``,
    ``text`` or ``base64``), and ``text_escaped`` whether characters no
    database can store were replaced by backslash escapes.
    """

    reason: str
    detail: str
    raw: str | None
    message_id: str | None = None
    publisher_id: str | None = None
    event_type: str | None = None
    source: str = 'endpoint'
    raw_format: str = 'json'
    text_escaped: bool = False


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    """An event read back from the table, in replay order."""

    id: int
    message_id: str
    collector_timestamp: datetime.datetime
    publisher_id: str
    sequence: int
    event_type: str
    entity_type: str
    datasource_action: str | None
    payload: dict
    project_id: str | None = None
    entity_id: str | None = None

    @property
    def order_key(self) -> 'OrderKey':
        return OrderKey(self.collector_timestamp, self.publisher_id,
                        self.sequence, self.id)


@dataclasses.dataclass(frozen=True, order=True)
class OrderKey:
    """The documented total replay order of events.

    Events are applied by collector time; events stamped in the same
    microsecond by one publisher keep its sequence, and the row id breaks
    any remaining tie, so the order is the same on every replay.
    """

    collector_timestamp: datetime.datetime
    publisher_id: str
    sequence: int
    id: int


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """What one committed batch did.

    ``duplicates`` are redeliveries of rows already stored (same
    ``message_id``, same payload); ``conflicts`` are messages that reused
    a stored ``message_id`` with another payload, quarantined as
    ``conflicting_duplicate`` and counted in ``quarantined`` too.
    ``retries`` counts the transactions rolled back by a deadlock (or a
    Galera certification failure) and run again before this one committed.
    """

    stored: int
    duplicates: int
    quarantined: int
    conflicts: int = 0
    retries: int = 0


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A graph snapshot: the graph after every event up to ``covers``."""

    covers: OrderKey
    max_event_id: int
    event_count: int
    processor: str
    graph: dict
    format_version: int = 1
    id: int | None = None
    created_at: datetime.datetime | None = None
    vertex_count: int = 0
    edge_count: int = 0
    # a delta (format_version 2) holds the changes since this snapshot
    parent_id: int | None = None
