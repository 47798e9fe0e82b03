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

"""Which time an event is ordered by: its ``collector_timestamp``.

The documented order, first that is present wins:

1. the hook's stamp (``collector_timestamp`` in the envelope, see
   :mod:`vitrage_persistor.wire`): the time the collector handed the
   event on, written by the process that saw it first;
2. the event's own ``vitrage_sample_date``, set by Vitrage's
   ``DriverBase`` when it enriched the event (a publisher that is not one of
   our hooks sends bare events that still carry it);
3. the oslo.messaging notification ``timestamp``, set by the notifier at
   publish time: the last resort, because it measures the publish and not
   the sample.

A value that is present but cannot be parsed is an error, not a reason to
fall through to the next source: silently picking a different clock would
reorder the event on replay. The result is a naive UTC datetime with
microseconds, the stored form.
"""

import datetime
from typing import Any

from oslo_utils import timeutils

SOURCE_HOOK = 'hook'
SOURCE_SAMPLE_DATE = 'vitrage_sample_date'
SOURCE_NOTIFICATION = 'notification'

SAMPLE_DATE_KEY = 'vitrage_sample_date'

# Years outside this window are almost surely a bug in a publisher (epoch
# zero, a year typo); they would sort the event before or after everything.
_MIN_YEAR = 2000
_MAX_YEAR = 2200


class TimestampError(ValueError):
    """The event's time is missing or unusable; ``reason`` says which."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse(value: Any) -> datetime.datetime:
    """Parse an ISO 8601 or oslo ``str(datetime)`` value to naive UTC.

    A value without a zone is taken as UTC, as Vitrage and oslo.messaging
    write them.
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str) and (value := value.strip()):
        try:
            # Fast path (Python 3.11 takes 'Z', a space separator and
            # microseconds): our envelope, Vitrage's format_utcnow() and
            # oslo.messaging's str(utcnow()).
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            # Other ISO 8601 spellings, e.g. basic format or week dates.
            parsed = timeutils.parse_isotime(value)
    else:
        raise ValueError('not a timestamp: %r' % (value,))
    if parsed.tzinfo is not None:
        offset = parsed.utcoffset()
        parsed = parsed.replace(tzinfo=None)
        if offset:
            parsed -= offset
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        raise ValueError('timestamp out of range: %r' % (value,))
    return parsed


def resolve(hook_stamp: Any, event: dict, metadata: dict | None,
            enveloped: bool) -> tuple[datetime.datetime, str]:
    """Return ``(collector_timestamp, source)`` in the documented order.

    :raises TimestampError: with reason ``missing_timestamp`` when no source
        has a value (or an envelope, which our hooks always stamp, has none)
        and ``bad_timestamp`` when the first present value is unparsable.
    """
    # No list of candidates: this runs once per event on the hot path.
    if enveloped:
        if hook_stamp is None:
            raise TimestampError(
                'missing_timestamp',
                'envelope without collector_timestamp')
        return _parse_from(SOURCE_HOOK, hook_stamp), SOURCE_HOOK
    value = event.get(SAMPLE_DATE_KEY)
    if value is not None:
        return _parse_from(SOURCE_SAMPLE_DATE, value), SOURCE_SAMPLE_DATE
    value = (metadata or {}).get('timestamp')
    if value is not None:
        return _parse_from(SOURCE_NOTIFICATION, value), SOURCE_NOTIFICATION
    raise TimestampError('missing_timestamp',
                         'no hook stamp, %s or notification timestamp'
                         % SAMPLE_DATE_KEY)


def _parse_from(source: str, value: Any) -> datetime.datetime:
    try:
        return parse(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise TimestampError(
            'bad_timestamp', '%s %r: %s' % (source, value, exc)) from None
