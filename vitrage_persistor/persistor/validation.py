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

"""Classify each notification: an event to store, or a quarantine row.

Bad input must never stop the agent and never vanish: every event (a
notification, or one item of a bundle notification) ends as exactly one
:class:`~vitrage_persistor.storage.records.EventRecord` or one
:class:`~vitrage_persistor.storage.records.QuarantineRecord` whose
``reason`` is one of :data:`REASONS`. Both are written in the same
transaction, so a batch with one bad message still stores the good ones.
"""

import math
from typing import Any

from vitrage_persistor import wire
from vitrage_persistor.persistor import collector_time, quarantine
from vitrage_persistor.storage import entity_ids, records, tenancy

NOT_A_DICT = 'not_a_dict'
MISSING_TIMESTAMP = 'missing_timestamp'
BAD_TIMESTAMP = 'bad_timestamp'
OVERSIZED = 'oversized'
UNENCODABLE = 'unencodable'
NAN_OR_INFINITY = 'nan_or_infinity'
BAD_ENTITY_TYPE = 'bad_entity_type'
WRONG_EVENT_TYPE = 'wrong_event_type'
BAD_ENVELOPE = 'bad_envelope'
NO_MESSAGE_ID = 'no_message_id'

REASONS = (NOT_A_DICT, MISSING_TIMESTAMP, BAD_TIMESTAMP, OVERSIZED,
           UNENCODABLE, NAN_OR_INFINITY, BAD_ENTITY_TYPE, WRONG_EVENT_TYPE,
           BAD_ENVELOPE, NO_MESSAGE_ID)

ENTITY_TYPE_KEY = 'vitrage_entity_type'
DATASOURCE_ACTION_KEY = 'vitrage_datasource_action'

# Column widths of the event table (storage/models.py).
_MAX_ID_LEN = 64
_MAX_NAME_LEN = 255
# PostgreSQL refuses NUL in text columns with an error oslo.db does not
# class as a data error, so the batch would be requeued forever; the
# payload is JSON, which escapes it, but the short columns are checked.
_NUL = '\x00'


def _bad_text(value: str) -> bool:
    """True for text no database column takes: NUL or a lone surrogate."""
    if _NUL in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return True
    return False


def _has_non_finite(value: Any, depth: int = 0) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth > 100:
        return False
    if isinstance(value, dict):
        return any(_has_non_finite(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v, depth + 1) for v in value)
    return False


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _encode(event: dict, max_payload_bytes: int) -> tuple[str, int]:
    """Encode once: the one ``json.dumps`` both checks and yields the text.

    ``allow_nan=False`` makes NaN/Infinity fail here, and only then is
    the event walked to tell them apart from other unencodable values.
    """
    try:
        text = records.encode_payload(event)
    except ValueError as exc:
        if _has_non_finite(event):
            raise Rejected(NAN_OR_INFINITY, str(exc)) from None
        raise Rejected(UNENCODABLE, str(exc)) from None
    except (TypeError, RecursionError) as exc:
        raise Rejected(UNENCODABLE, str(exc)) from None
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode('utf-8'))
        except UnicodeEncodeError as exc:
            # A lone surrogate survives json.loads but no database takes
            # it.
            raise Rejected(UNENCODABLE,
                           'not valid UTF-8: %s' % exc) from None
    if size > max_payload_bytes:
        raise Rejected(OVERSIZED, 'payload is %d bytes, limit %d' % (
            size, max_payload_bytes))
    return text, size


def _check(message: dict, max_payload_bytes: int,
           read: wire.Envelope | None = None) -> records.EventRecord:
    """Raise :class:`Rejected` or return the row; once per message.

    ``read`` is the event's envelope when the caller already read it (an
    item of a bundle); otherwise the message's payload is read.
    """
    event_type = message.get('event_type')
    publisher_id = message.get('publisher_id') or ''
    metadata = message.get('metadata') or {}
    message_id = metadata.get('message_id')
    if (not isinstance(event_type, str)
            or not event_type.startswith(wire.EVENT_TYPE_PREFIX)
            or len(event_type) > _MAX_NAME_LEN or _bad_text(event_type)):
        raise Rejected(WRONG_EVENT_TYPE, 'event_type %r does not start with '
                       '%r' % (event_type, wire.EVENT_TYPE_PREFIX))
    if not isinstance(message_id, str) or not message_id or \
            len(message_id) > _MAX_ID_LEN or _bad_text(message_id):
        raise Rejected(NO_MESSAGE_ID, 'message_id %r' % (message_id,))
    if not isinstance(publisher_id, str) or \
            len(publisher_id) > _MAX_NAME_LEN or _bad_text(publisher_id):
        raise Rejected(BAD_ENVELOPE, 'publisher_id %r' % (publisher_id,))

    if read is None:
        read = wire.unwrap(message.get('payload'))
    event, hook_stamp, sequence, enveloped = read
    if not isinstance(event, dict):
        raise Rejected(NOT_A_DICT, '%s is a %s, not a dict' % (
            'envelope event' if enveloped else 'payload',
            type(event).__name__))
    if (isinstance(sequence, bool) or not isinstance(sequence, int)
            or not -2 ** 63 <= sequence < 2 ** 63):
        raise Rejected(BAD_ENVELOPE, 'sequence %r' % (sequence,))

    try:
        timestamp, _source = collector_time.resolve(
            hook_stamp, event, metadata, enveloped)
    except collector_time.TimestampError as exc:
        raise Rejected(exc.reason, exc.detail) from None

    entity_type = event.get(ENTITY_TYPE_KEY)
    if (not isinstance(entity_type, str) or not entity_type.strip()
            or len(entity_type) > _MAX_NAME_LEN or _bad_text(entity_type)):
        raise Rejected(BAD_ENTITY_TYPE,
                       '%s is %r' % (ENTITY_TYPE_KEY, entity_type))
    payload_json, size = _encode(event, max_payload_bytes)
    action = event.get(DATASOURCE_ACTION_KEY)
    if not isinstance(action, str) or len(action) > _MAX_ID_LEN or \
            _bad_text(action):
        action = None
    return records.EventRecord(
        message_id=message_id, collector_timestamp=timestamp,
        event_type=event_type, entity_type=entity_type,
        payload_json=payload_json, publisher_id=publisher_id,
        sequence=sequence, datasource_action=action, payload_bytes=size,
        project_id=tenancy.project_of(event),
        entity_id=entity_ids.entity_id_of(event))


def _quarantine(message: Any, reason: str, detail: str,
                id_suffix: str = '') -> records.QuarantineRecord:
    """The quarantine row of one message (or one bundle item).

    :mod:`~vitrage_persistor.persistor.quarantine` makes every field
    storable and the id unique per item (``<bundle id>#<index>`` for a
    bundle item without an id of its own, however long the bundle's id).
    """
    if isinstance(message, dict):
        metadata = message.get('metadata')
        metadata = metadata if isinstance(metadata, dict) else {}
        raw = {k: message.get(k) for k in ('publisher_id', 'event_type',
                                           'payload', 'metadata')}
        return quarantine.record(
            reason, detail, quarantine.json_raw(raw),
            message_id=metadata.get('message_id'),
            publisher_id=message.get('publisher_id'),
            event_type=message.get('event_type'), id_suffix=id_suffix)
    return quarantine.record(reason, detail, quarantine.json_raw(message),
                             id_suffix=id_suffix)


def classify(message: Any, max_payload_bytes: int,
             read: wire.Envelope | None = None
             ) -> records.EventRecord | records.QuarantineRecord:
    """Turn one message of a batch into a row for one of the two tables.

    ``message`` is what oslo.messaging's batch dispatcher hands the
    endpoint: ``{'ctxt', 'publisher_id', 'event_type', 'payload',
    'metadata': {'message_id', 'timestamp'}}``.
    """
    if not isinstance(message, dict):
        return _quarantine(message, NOT_A_DICT, 'message is a %s' %
                           type(message).__name__)
    try:
        return _check(message, max_payload_bytes, read)
    except Rejected as exc:
        return _quarantine(message, exc.reason, exc.detail)


def classify_message(message: Any, max_payload_bytes: int
                     ) -> list[records.EventRecord | records.QuarantineRecord]:
    """Rows for one notification: one per event it carries.

    A bundle (:func:`vitrage_persistor.wire.wrap_bundle`) gives one row
    per item, each checked like a notification of its own that has the
    bundle's ``publisher_id``, ``event_type`` and ``timestamp`` and the
    item's ``message_id``; a bad item is quarantined alone and its
    neighbours are stored. A bundle whose item list is not a non-empty
    list is quarantined whole. Any other notification gives one row
    (:func:`classify`).
    """
    items = (wire.bundle_items(message.get('payload'))
             if isinstance(message, dict) else None)
    if items is None:
        return [classify(message, max_payload_bytes)]
    if not isinstance(items, list) or not items:
        return [_quarantine(message, BAD_ENVELOPE,
                            'bundle is %r, not a non-empty list'
                            % (type(items).__name__,))]
    metadata = message.get('metadata')
    metadata = metadata if isinstance(metadata, dict) else {}
    bundle_id = metadata.get('message_id')
    rows = []
    for index, item in enumerate(items):
        item_id = item.get('message_id') if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item_id, str):
            # quarantined under an id of its own, stable on redelivery,
            # so that two bad items of one bundle are two rows
            ref = dict(message, payload=item, metadata=dict(
                metadata, message_id=bundle_id if isinstance(
                    bundle_id, str) else str(bundle_id)))
            rows.append(_quarantine(
                ref, BAD_ENVELOPE if not isinstance(item, dict)
                else NO_MESSAGE_ID,
                'bundle item %d is a %s, not a dict' % (
                    index, type(item).__name__)
                if not isinstance(item, dict)
                else 'bundle item %d has message_id %r' % (index, item_id),
                id_suffix='#%d' % index))
            continue
        rows.append(classify(
            dict(message, payload=item,
                 metadata=dict(metadata, message_id=item_id)),
            max_payload_bytes, wire.unwrap_item(item)))
    return rows
