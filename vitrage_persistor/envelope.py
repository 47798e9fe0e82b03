"""The wire format between the notifier hooks and the persistor agent.

A hook publishes each enriched event in an oslo.messaging notification
(alone, or with others in a bundle, see below):

* topic ``[persistor] topic`` (``vitrage_persistor``), priority ``sample``,
  so the broker queue is ``vitrage_persistor.sample`` and never the
  ``vitrage_persistor.info`` queue that Vitrage's own persistor consumes;
* ``event_type``: ``vitrage.persistor.event.<hook>``, where ``<hook>`` names
  the hook point (``driver`` or ``collector``);
* ``publisher_id``: ``vitrage.persistor.<hook>.<host>.<token>``, unique per
  publishing process, so ``(publisher_id, sequence)`` is unique;
* ``payload``: the envelope below, with the enriched event untouched in
  ``event``.

Bundles: the hooks' senders put up to ``[persistor_hooks]
events_per_message`` envelopes in one notification, ``{ENVELOPE_KEY: 1,
'bundle': [item, ...]}``, where each item is an envelope of its own plus
its ``message_id`` (``uuid5(publisher_id, sequence)``, the id a single
notification of that event would carry). RabbitMQ's per-message cost
(publisher confirms, routing, the listener's per-message work) is then
paid once per bundle instead of once per event: that cost, not Vitrage's,
is what a busy vitrage-graph host would otherwise spend most of its CPU
on. The agent stores each item as its own row, deduplicated on the item's
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
from typing import Any

PRIORITY = 'sample'
EVENT_TYPE_PREFIX = 'vitrage.persistor.event.'
ENVELOPE_VERSION = 1
ENVELOPE_KEY = 'vitrage_persistor_envelope'
BUNDLE_KEY = 'bundle'

LIVE_IDS_KEY = 'vitrage_persistor_live_ids'

TIMESTAMP_FORMAT = '%Y-%m-%dT%H:%M:%S.%fZ'


def event_type(hook: str) -> str:
    return EVENT_TYPE_PREFIX + hook


def format_timestamp(value: datetime.datetime) -> str:
    """UTC, microseconds, e.g. ``2026-11-21T03:12:00.123456Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.strftime(TIMESTAMP_FORMAT)


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


def bundle_items(payload: Any) -> list | None:
    """The items of a bundle payload; None if ``payload`` is not one.

    A payload that has the bundle key but not a list under it is returned
    as is, for the caller to reject.
    """
    if (isinstance(payload, dict) and ENVELOPE_KEY in payload
            and BUNDLE_KEY in payload):
        return payload[BUNDLE_KEY]
    return None


def unwrap(payload: Any) -> tuple[Any, str | None, int]:
    """Return ``(event, hook timestamp or None, sequence)``.

    A payload without the envelope marker is taken as a bare event.
    """
    if isinstance(payload, dict) and ENVELOPE_KEY in payload:
        return (payload.get('event'), payload.get('collector_timestamp'),
                payload.get('sequence', 0))
    return payload, None, 0


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
