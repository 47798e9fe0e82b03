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
import json
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


def _decode_field(field: str) -> tuple[str, str]:
    """One ``name=value`` of a query string, percent-decoded as UTF-8."""
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
    return name, value


def query(environ: dict, allowed: Iterable[str]) -> dict[str, str]:
    """The query parameters, each at most once and each one ``allowed``."""
    params: dict[str, str] = {}
    for field in environ.get('QUERY_STRING', '').split('&'):
        if not field:
            continue
        name, value = _decode_field(field)
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


def query_lists(environ: dict, allowed: Iterable[str],
                repeatable: Iterable[str]) -> dict[str, str | list[str]]:
    """Like :func:`query`, but the ``repeatable`` names may repeat.

    python-vitrageclient sends list parameters (``sort_by``...) as the
    same name repeated, as ``requests`` encodes a list; those come back
    as lists, every other name at most once.
    """
    repeatable = frozenset(repeatable)
    allowed = sorted(allowed)
    out: dict[str, str | list[str]] = {}
    fields = [f for f in environ.get('QUERY_STRING', '').split('&') if f]
    for field in fields:
        name, value = _decode_field(field)
        if name not in allowed:
            raise bad_request('unknown query parameter %s; this route takes '
                              '%s' % (_shown(name), ', '.join(allowed)))
        if name in repeatable:
            out.setdefault(name, []).append(value)
        elif name in out:
            raise bad_request('query parameter %s is given more than once'
                              % _shown(name))
        else:
            out[name] = value
    return out


def json_body(req, allowed: Iterable[str]) -> dict:
    """A JSON object body whose keys are all ``allowed``; {} when empty."""
    raw = req.body
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode('utf-8'))
    except (UnicodeError, ValueError, RecursionError):
        raise bad_request('the body is not JSON in UTF-8') from None
    if not isinstance(body, dict):
        raise bad_request('the body must be a JSON object, got a %s'
                          % type(body).__name__)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request('unknown body field%s %s; this route takes %s' % (
            's' if len(unknown) > 1 else '',
            ', '.join(_shown(n) for n in unknown),
            ', '.join(sorted(allowed))))
    return body


def loose_boolean(name: str, raw) -> bool:
    """A flag as Vitrage reads it: JSON true/false, or its text, or null."""
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, str):
        return boolean(name, raw)
    raise bad_request('%s must be true or false, got %s'
                      % (name, _shown(str(raw))))


def optional_text(name: str, raw, max_length: int) -> str | None:
    """A JSON string field, or null."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise bad_request('%s must be a string, got %s'
                          % (name, type(raw).__name__))
    return text(name, raw, max_length)


def optional_integer(name: str, raw, minimum: int, maximum: int
                     ) -> int | None:
    """A JSON integer (or its digits as a string) field, or null."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise bad_request('%s must be an integer, got %s'
                          % (name, type(raw).__name__))
    return integer(name, str(raw), 0, minimum, maximum)


_QUERY_OPERATORS = frozenset(('<', '<=', '==', '!=', '>=', '>'))
_QUERY_JOINS = frozenset(('and', 'or'))
_MAX_QUERY_DEPTH = 16


def _check_query(name: str, node, depth: int = 0) -> None:
    if depth > _MAX_QUERY_DEPTH:
        raise bad_request('%s nests deeper than %d' % (name,
                                                       _MAX_QUERY_DEPTH))
    if not isinstance(node, dict) or len(node) != 1:
        raise bad_request('%s: each clause is an object with one operator, '
                          'e.g. {"==": {"vitrage_type": "nova.host"}}' % name)
    (operator, operand), = node.items()
    if operator in _QUERY_JOINS:
        if not isinstance(operand, list) or not operand:
            raise bad_request('%s: %r takes a non-empty list of clauses'
                              % (name, operator))
        for clause in operand:
            _check_query(name, clause, depth + 1)
    elif operator in _QUERY_OPERATORS:
        if not isinstance(operand, dict) or len(operand) != 1 or any(
                isinstance(v, dict | list) for v in operand.values()):
            raise bad_request('%s: %r takes one property and a plain value'
                              % (name, operator))
    else:
        raise bad_request('%s: unknown operator %s (use and, or, %s)' % (
            name, _shown(str(operator)), ', '.join(sorted(_QUERY_OPERATORS))))


def graph_query(name: str, raw) -> dict | None:
    """Vitrage's graph query: JSON text (as its client sends it) or null."""
    if raw is None or raw == '':
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise bad_request('%s is not JSON' % name) from None
    _check_query(name, raw)
    return raw
