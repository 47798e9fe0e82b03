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

"""Strict parsing of what a client sends; every refusal names the parameter.

A WSGI server hands the path and the query string over as bytes (PEP 3333
strings holding latin-1), and webob decodes them as UTF-8 on first use,
raising ``UnicodeDecodeError`` from deep inside a handler. Everything here
decodes explicitly and answers 400 instead. Integers are ASCII digits only:
``str.isdigit()`` and ``int()`` also accept "²" or the Arabic-Indic "٣".
"""

import datetime
import re
import urllib.parse
from collections.abc import Iterable

import webob.exc

MAX_ID = 2 ** 63 - 1
_MAX_SHOWN = 64
_INTEGER = re.compile(r'-?[0-9]{1,20}\Z', re.ASCII)
# RFC 3339 date-time, as OpenAPI's "format: date-time" means it.
_RFC3339 = re.compile(
    r'[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}'
    r'(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z', re.ASCII)
_TRUE = frozenset(('true', '1', 'yes'))
_FALSE = frozenset(('false', '0', 'no'))


def bad_request(message: str) -> webob.exc.HTTPBadRequest:
    return webob.exc.HTTPBadRequest(detail=message)


def _shown(value: str) -> str:
    """A client's value, short and printable, for an error message."""
    if len(value) > _MAX_SHOWN:
        value = value[:_MAX_SHOWN] + '...'
    return repr(value)


def path_segments(environ: dict) -> list[str]:
    """The non-empty segments of PATH_INFO, decoded as UTF-8."""
    try:
        path = environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
    except UnicodeError:
        raise bad_request('the path is not valid UTF-8') from None
    return [segment for segment in path.split('/') if segment]


def _unquote(raw: str) -> str:
    return urllib.parse.unquote_to_bytes(
        raw.replace('+', ' ').encode('latin-1')).decode('utf-8')


def query(environ: dict, allowed: Iterable[str]) -> dict[str, str]:
    """The query parameters, each at most once and each one ``allowed``."""
    params: dict[str, str] = {}
    for field in environ.get('QUERY_STRING', '').split('&'):
        if not field:
            continue
        raw_name, _, raw_value = field.partition('=')
        try:
            name = _unquote(raw_name)
        except UnicodeError:
            raise bad_request('a query parameter name is not valid '
                              'UTF-8') from None
        try:
            value = _unquote(raw_value)
        except UnicodeError:
            raise bad_request('query parameter %s is not valid UTF-8' %
                              _shown(name)) from None
        if name in params:
            raise bad_request('query parameter %s is given more than once'
                              % _shown(name))
        params[name] = value
    allowed = sorted(allowed)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise bad_request('unknown query parameter%s %s; this route takes %s'
                          % ('s' if len(unknown) > 1 else '',
                             ', '.join(_shown(n) for n in unknown),
                             ', '.join(allowed) or 'none'))
    return params


def integer(name: str, raw: str | None, default: int, minimum: int,
            maximum: int) -> int:
    """``raw`` as an int in ``[minimum, maximum]``, or 400 naming ``name``."""
    if raw is None:
        return default
    if not _INTEGER.match(raw):
        raise bad_request('%s must be an integer, got %s'
                          % (name, _shown(raw)))
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_request('%s must be between %d and %d, got %s' % (
            name, minimum, maximum, raw))
    return value


def timestamp(name: str, raw: str | None) -> datetime.datetime | None:
    """An RFC 3339 time as a naive UTC datetime (the stored form)."""
    if raw is None:
        return None
    if _RFC3339.match(raw):
        text = raw.upper()
        # Python takes at most microseconds; RFC 3339 allows more digits.
        text = re.sub(r'(\.[0-9]{6})[0-9]+', r'\1', text)
        try:
            value = datetime.datetime.fromisoformat(text)
            return value.astimezone(datetime.UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):
            pass  # not a real time: the 400 below names the parameter
    raise bad_request('%s must be an RFC 3339 time such as '
                      '2026-11-21T03:12:00Z, got %s' % (name, _shown(raw)))


def boolean(name: str, raw: str | None) -> bool:
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise bad_request('%s must be true or false, got %s'
                      % (name, _shown(raw)))


def text(name: str, raw: str | None, max_length: int) -> str | None:
    """A free-text filter; NUL is refused because PostgreSQL refuses it."""
    if raw is None:
        return None
    if not raw or len(raw) > max_length or '\x00' in raw:
        raise bad_request('%s must be 1 to %d characters without NUL, got %s'
                          % (name, max_length, _shown(raw)))
    return raw
