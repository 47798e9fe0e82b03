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

"""Quarantine rows that every database accepts, one per bad item.

A quarantine row is the last place a bad message can go, so it must never
be refused itself:

* Text the databases cannot hold (a lone surrogate such as ``\\ud800``,
  which PostgreSQL and MariaDB refuse as invalid UTF-8, or NUL, which
  PostgreSQL refuses in text columns) is replaced by its backslash escape,
  and the row's ``text_escaped`` flag records that it was.
* ``raw`` is always ASCII (JSON with ``ensure_ascii``), or for a body that
  was never JSON, its UTF-8 text or base64 (``raw_format`` says which),
  capped at :data:`RAW_LIMIT` characters.
* The ``message_id`` column is unique and 64 characters wide. An id that
  does not fit, or had to be escaped, is replaced by a derived id that
  keeps its head and adds a digest of the whole, so two bad items never
  share a row and a redelivery of the same one never adds a second.
"""

import base64
import hashlib
import json
from typing import Any

from vitrage_persistor.storage import records

ID_LEN = 64
NAME_LEN = 255
DETAIL_LEN = 2000
# A quarantined message is kept for people to read, not to replay: cap it.
RAW_LIMIT = 64 * 1024

# Where a quarantine row was made: the endpoint's checks, the guard in
# front of oslo.messaging's dispatcher, or the dead-letter queue drained.
SOURCES = ('endpoint', 'dispatcher', 'dead_letter')

_DIGEST_LEN = 20


def _escape(text: str) -> tuple[str, bool]:
    """``text`` with what no database stores escaped, and whether it was."""
    escaped = False
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        text = text.encode('utf-8', 'backslashreplace').decode('utf-8')
        escaped = True
    if '\x00' in text:
        text = text.replace('\x00', '\\x00')
        escaped = True
    return text, escaped


def _digest(value: str) -> str:
    data = value.encode('utf-8', 'surrogatepass')
    return hashlib.sha256(data).hexdigest()[:_DIGEST_LEN]


def derived_id(value: str, suffix: str = '') -> str:
    """``value + suffix`` if it fits the column as is, else a derived id.

    The derived id is ``<head>~<digest of value><suffix>``, at most
    :data:`ID_LEN` characters and plain text, so distinct inputs give
    distinct ids and the same input gives the same id on redelivery.
    """
    whole = value + suffix
    text, escaped = _escape(whole)
    if not escaped and len(whole) <= ID_LEN:
        return whole
    room = ID_LEN - len(suffix) - _DIGEST_LEN - 1
    if room < 0:
        return _digest(whole)[:ID_LEN]
    head, _ = _escape(value[:room])
    head = head[:room]
    return '%s~%s%s' % (head, _digest(value), suffix)


def _name(value: Any) -> tuple[str | None, bool]:
    if not isinstance(value, str):
        return None, False
    text, escaped = _escape(value)
    return text[:NAME_LEN], escaped


def json_raw(message: Any, limit: int = RAW_LIMIT) -> str:
    """An always storable, as lossless as possible text form of a message.

    ASCII-only JSON escapes lone surrogates, NaN stays readable, and any
    object that is not JSON falls back to its ``repr``.
    """
    try:
        text = json.dumps(message, ensure_ascii=True, allow_nan=True,
                          default=repr, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        text = ascii(message)
    return _cap(text, limit)


def _cap(text: str, limit: int) -> str:
    if len(text) > limit:
        text = text[:limit] + '...[truncated %d chars]' % (len(text) - limit)
    return text


def body_raw(body: bytes, limit: int = RAW_LIMIT) -> tuple[str, str, bool]:
    """``(raw, raw_format, escaped)`` for a message body as received.

    UTF-8 text is kept as text (``raw_format`` ``text``); anything else is
    base64 (``base64``), so the exact bytes can be recovered when the body
    was smaller than ``limit``.
    """
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError:
        encoded = base64.b64encode(body[:limit]).decode('ascii')
        if len(body) > limit:
            encoded += '...[truncated %d bytes]' % (len(body) - limit)
        return encoded, 'base64', False
    text, escaped = _escape(text)
    return _cap(text, limit), 'text', escaped


def record(reason: str, detail: str, raw: str | None,
           message_id: Any = None, publisher_id: Any = None,
           event_type: Any = None, source: str = 'endpoint',
           raw_format: str = 'json', id_suffix: str = '',
           text_escaped: bool = False) -> records.QuarantineRecord:
    """A :class:`~records.QuarantineRecord` that every backend stores."""
    detail_text, e1 = _escape(str(detail))
    raw_text = None
    e2 = False
    if raw is not None:
        raw_text, e2 = _escape(raw)
    mid = None
    e3 = False
    if isinstance(message_id, str) and message_id:
        mid = derived_id(message_id, id_suffix)
        e3 = _escape(message_id)[1]
    elif id_suffix:
        mid = derived_id('', id_suffix)
    publisher, e4 = _name(publisher_id)
    etype, e5 = _name(event_type)
    return records.QuarantineRecord(
        reason=reason, detail=detail_text[:DETAIL_LEN], raw=raw_text,
        message_id=mid, publisher_id=publisher, event_type=etype,
        source=source, raw_format=raw_format,
        text_escaped=text_escaped or e1 or e2 or e3 or e4 or e5)
