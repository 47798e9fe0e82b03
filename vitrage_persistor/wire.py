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

"""The wire format between vitrage-graph and the persistor agent.

This is the one module both sides import: the publisher
(:mod:`vitrage_persistor.publish`) builds messages with it, the agent
(:mod:`vitrage_persistor.persistor.validation`) and replay read them with
it. Nothing else is shared.

A hook publishes each enriched event in an oslo.messaging notification
(alone, or with others in a bundle, see below):

* topic ``[persistor] topic`` (``vitrage_persistor``), priority ``sample``,
  so the broker queue is ``vitrage_persistor.sample`` and never the
  ``vitrage_persistor.info`` queue that Vitrage's own persistor consumes;
* ``event_type``: ``vitrage.persistor.event.<hook>``, where ``<hook>`` names
  the hook point (``driver`` or ``collector``);
* ``publisher_id``: ``vitrage.persistor.<hook>.<host>.<token>``, unique per
  publishing process, so ``(publisher_id, sequence)`` is unique;
* ``message_id``: :func:`message_id` of ``(publisher_id, sequence)``, the
  same on every retry, so the agent stores a resent event once;
* ``payload``: the envelope below, with the enriched event untouched in
  ``event``.

Bundles: the hooks' senders put up to ``[persistor_hooks]
events_per_message`` envelopes in one notification, ``{ENVELOPE_KEY: 1,
'bundle': [item, ...]}``, where each item is an envelope of its own without
the marker plus its ``message_id`` (the id a single notification of that
event would carry). RabbitMQ's per-message cost (publisher confirms,
routing, the listener's per-message work) is then paid once per bundle
instead of once per event: that cost, not Vitrage's, is what a busy
vitrage-graph host would otherwise spend most of its CPU on. The agent
stores each item as its own row, deduplicated on the item's
``message_id``, so a bundle that is redelivered, or re-formed differently
by a restarted sender, still stores every event once.

The agent also accepts a bare enriched event as the payload (a publisher
that is not one of our hooks); it then has no hook stamp and no sequence.

The collector hook adds one key of its own to an event that made the live
processor create vertex ids: ``vitrage_persistor_live_ids``, the entries
the event added to Vitrage's entity-key -> vitrage_id cache (md5 of the
entity key -> uuid). It travels and is stored with the event, so replay
can give the vertices the ids the live vitrage-graph gave them; replay
removes it before the processor sees the event (:func:`split_live_ids`).
"""

import datetime
import hashlib
import time
import typing
import uuid
from typing import Any

from oslo_utils import timeutils

PRIORITY = 'sample'
EVENT_TYPE_PREFIX = 'vitrage.persistor.event.'
ENVELOPE_VERSION = 1
ENVELOPE_KEY = 'vitrage_persistor_envelope'
BUNDLE_KEY = 'bundle'

LIVE_IDS_KEY = 'vitrage_persistor_live_ids'

_SECOND_FORMAT = '%Y-%m-%dT%H:%M:%S'
TIMESTAMP_FORMAT = _SECOND_FORMAT + '.%fZ'

_ID_NAMESPACE = uuid.UUID('6f1d3f8e-2b1c-4c55-9d0e-7a9e35c1b0a4')
_ID_PREFIX = _ID_NAMESPACE.bytes


def event_type(hook: str) -> str:
    return EVENT_TYPE_PREFIX + hook


# -- stamps -------------------------------------------------------------

def _join(second: str, microsecond: int) -> str:
    """The one place a stamp's text is made (:data:`TIMESTAMP_FORMAT`)."""
    return '%s.%06dZ' % (second, microsecond)


def format_timestamp(value: datetime.datetime) -> str:
    """UTC, microseconds, e.g. ``2026-11-21T03:12:00.123456Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return _join(value.strftime(_SECOND_FORMAT), value.microsecond)


_last_second = (None, '')


def format_stamp(stamp_ns: int) -> str:
    """``time.time_ns()`` as :func:`format_timestamp` formats it.

    The senders stamp every event with this; events come in bursts within
    one second, so the formatted second is kept for the next call.
    """
    global _last_second
    second, nanos = divmod(stamp_ns, 1_000_000_000)
    cached, prefix = _last_second
    if cached != second:
        prefix = time.strftime(_SECOND_FORMAT, time.gmtime(second))
        _last_second = (second, prefix)
    return _join(prefix, nanos // 1000)


# -- message ids --------------------------------------------------------

def message_id(publisher_id: str, sequence: int) -> str:
    """A message id fixed by the event's identity, stable across retries.

    ``str(uuid.uuid5(_ID_NAMESPACE, '<publisher_id>/<sequence>'))``,
    computed without building UUID objects (a third of the time; the
    sender makes one per event).
    """
    digest = bytearray(hashlib.sha1(  # noqa: S324 - RFC 4122 name-based id
        _ID_PREFIX + ('%s/%d' % (publisher_id, sequence)).encode('utf-8')
    ).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50   # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80   # RFC 4122 variant
    h = digest.hex()
    return '%s-%s-%s-%s-%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def bundle_message_id(publisher_id: str, first: int, last: int) -> str:
    """The id of a bundle of the sequences ``first``..``last``."""
    return message_id(publisher_id, first) + '+%d' % (last - first)


# -- build --------------------------------------------------------------

def _stamp(value: datetime.datetime | str) -> str:
    if isinstance(value, datetime.datetime):
        return format_timestamp(value)
    return value


def wrap(event: dict, collector_timestamp: datetime.datetime | str,
         sequence: int) -> dict:
    """Build the notification payload for one enriched event.

    ``collector_timestamp`` may be given already formatted.
    """
    return {
        ENVELOPE_KEY: ENVELOPE_VERSION,
        'collector_timestamp': _stamp(collector_timestamp),
        'sequence': sequence,
        'event': event,
    }


def wrap_item(event: dict, collector_timestamp: datetime.datetime | str,
              sequence: int, message_id: str) -> dict:
    """One item of a bundle: an envelope without the marker, plus its id.

    ``collector_timestamp`` may be given already formatted.
    """
    return {
        'message_id': message_id,
        'collector_timestamp': _stamp(collector_timestamp),
        'sequence': sequence,
        'event': event,
    }


def wrap_bundle(items: list) -> dict:
    """The notification payload for several events (:func:`wrap_item`)."""
    return {ENVELOPE_KEY: ENVELOPE_VERSION, BUNDLE_KEY: items}


def notification(msg_id: str, publisher_id: str, event_type: str,
                 payload: dict) -> dict:
    """The oslo.messaging 2.0 notification that carries ``payload``."""
    return {
        'message_id': msg_id,
        'publisher_id': publisher_id,
        'event_type': event_type,
        'priority': PRIORITY.upper(),
        'payload': payload,
        'timestamp': str(timeutils.utcnow()),
    }


def build_message(publisher_id: str, event_type: str, entries: list
                  ) -> dict | None:
    """One notification for ``entries``, ``[(stamp_ns, sequence, event)]``.

    None for no entries. One entry is sent as a plain notification of that
    event; more as a bundle.
    """
    if not entries:
        return None
    if len(entries) == 1:
        stamp, sequence, event = entries[0]
        return notification(
            message_id(publisher_id, sequence), publisher_id, event_type,
            wrap(event, format_stamp(stamp), sequence))
    return notification(
        bundle_message_id(publisher_id, entries[0][1], entries[-1][1]),
        publisher_id, event_type,
        wrap_bundle([
            wrap_item(event, format_stamp(stamp), sequence,
                      message_id(publisher_id, sequence))
            for stamp, sequence, event in entries]))


# -- read ---------------------------------------------------------------

class Envelope(typing.NamedTuple):
    """What a payload or a bundle item says about the event it carries.

    ``enveloped`` is False for a bare event (no hook stamp, sequence 0).
    The fields are as received: the reader checks their types.
    """

    event: Any
    collector_timestamp: Any
    sequence: Any
    enveloped: bool


def bundle_items(payload: Any) -> list | None:
    """The items of a bundle payload; None if ``payload`` is not one.

    A payload that has the bundle key but not a list under it is returned
    as is, for the caller to reject.
    """
    if (isinstance(payload, dict) and ENVELOPE_KEY in payload
            and BUNDLE_KEY in payload):
        return payload[BUNDLE_KEY]
    return None


def unwrap(payload: Any) -> Envelope:
    """Read a single-event notification payload.

    A payload without the envelope marker is taken as a bare event.
    """
    if isinstance(payload, dict) and ENVELOPE_KEY in payload:
        return Envelope(payload.get('event'),
                        payload.get('collector_timestamp'),
                        payload.get('sequence', 0), True)
    return Envelope(payload, None, 0, False)


def unwrap_item(item: dict) -> Envelope:
    """Read one item of a bundle (:func:`wrap_item`); always an envelope."""
    return Envelope(item.get('event'), item.get('collector_timestamp'),
                    item.get('sequence', 0), True)


def split_live_ids(event: Any) -> tuple[Any, dict | None]:
    """Remove and return the live id entries the collector hook added.

    Returns ``(event, {md5 of entity key: vitrage_id} or None)``; the
    event is modified in place, so pass a private copy.
    """
    if isinstance(event, dict):
        ids = event.pop(LIVE_IDS_KEY, None)
        if isinstance(ids, dict):
            return event, ids
    return event, None
