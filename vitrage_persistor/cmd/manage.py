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

"""``vitrage-persistor-manage``: database maintenance and status.

Errors from the database are reported as one line on stderr with a
non-zero exit status, never a traceback: operators run this from scripts.
"""

import os
import sys

import sqlalchemy.exc
from oslo_db import exception as db_exception
from sqlalchemy.engine import make_url

from vitrage_persistor.cmd import common
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import migration


def _db_upgrade(conf, store):
    revision = conf.command.revision or 'head'
    migration.upgrade(store, revision)
    print('database upgraded to %s' % (migration.current(store) or 'base'))


def _db_current(conf, store):
    current = migration.current(store)
    head = migration.head()
    state = '(head)' if current == head else '(head is %s)' % head
    print('%s %s' % (current or 'base', state))


def _db_history(conf, store):
    for revision, down, message in migration.history():
        print('%s -> %s, %s' % (down or '<base>', revision,
                                (message or '').splitlines()[0]))


def _status(conf, store):
    counts = store.event_counts()
    print('events: %d' % counts['count'])
    if counts['count']:
        print('  ids: %s..%s' % (counts['min_id'], counts['max_id']))
        print('  collector_timestamp: %s .. %s' % (counts['oldest'],
                                                   counts['newest']))
        for entity_type, n in sorted(counts['by_entity_type'].items()):
            print('  %-28s %d' % (entity_type, n))
    quarantine = store.quarantine_summary()
    print('quarantined: %d' % sum(quarantine.values()))
    for reason, n in sorted(quarantine.items()):
        print('  %-28s %d' % (reason, n))
    for source, n in sorted(store.quarantine_by_source().items()):
        print('  from %-23s %d' % (source, n))
    reports = store.agent_reports()
    print('agent workers reporting: %d' % len(reports))
    for report in reports:
        totals = report['counters'].get('totals', {})
        print('  %s (last report %s): stored %d, redeliveries %d, '
              'quarantined %d, dead-lettered %d, conflicting duplicates %d, '
              'deadlock retries %d'
              % (report['agent'], report['reported_at'],
                 totals.get('stored', 0), totals.get('duplicates', 0),
                 totals.get('quarantined', 0),
                 totals.get('dead_lettered', 0),
                 totals.get('conflicting_duplicates', 0),
                 totals.get('deadlock_retries', 0)))
    snapshots = store.list_snapshots()
    print('snapshots: %d' % len(snapshots))
    if snapshots:
        newest = snapshots[-1]
        print('  newest covers %s (event id %s)' % (
            newest['collector_timestamp'], newest['last_event_id']))


def _add_db_parsers(subparsers):
    db = subparsers.add_parser('db', help='schema migrations')
    db_sub = db.add_subparsers(dest='db_action')
    db_sub.required = True
    upgrade = db_sub.add_parser('upgrade', help='upgrade the schema')
    upgrade.add_argument('revision', nargs='?', default='head')
    upgrade.set_defaults(func=_db_upgrade)
    db_sub.add_parser('current', help='show the current revision'
                      ).set_defaults(func=_db_current)
    db_sub.add_parser('history', help='list the revisions'
                      ).set_defaults(func=_db_history)


class CommandError(Exception):
    """A failure a command explains itself, e.g. ``replay error: ...``."""


def _expire(conf, store):
    # Imported here: replay needs vitrage, the other commands do not.
    from vitrage_persistor.replay import engine, errors, retention
    try:
        result = retention.expire(conf, engine.Replayer(conf, store))
    except errors.ReplayError as exc:
        raise CommandError('replay error: %s' % exc) from exc
    if result.base_snapshot is None:
        print('nothing expired: %s' % result.reason)
    else:
        print('expired %d events and %d snapshots older than snapshot %d '
              '(cutoff %s)' % (result.deleted_events,
                               result.deleted_snapshots,
                               result.base_snapshot, result.cutoff))


def _quarantine_list(conf, store):
    rows = store.list_quarantine(limit=conf.command.limit,
                                 source=conf.command.source,
                                 reason=conf.command.reason)
    for row in rows:
        print('%s  %s  %s/%s  id=%s%s' % (
            row['received_at'], row['reason'], row['source'],
            row['raw_format'], row['message_id'] or '-',
            '  (text escaped)' if row['text_escaped'] else ''))
        print('    %s' % row['detail'])
        if conf.command.raw and row['raw']:
            print('    raw: %s' % row['raw'])
    print('%d row(s)' % len(rows))


def _add_quarantine_parsers(subparsers):
    quarantine = subparsers.add_parser(
        'quarantine', help='messages that could not be stored as events')
    sub = quarantine.add_subparsers(dest='quarantine_action')
    sub.required = True
    listing = sub.add_parser(
        'list', help='quarantine rows, oldest first, with their reason')
    listing.add_argument('--source', choices=('endpoint', 'dispatcher',
                                              'dead_letter'),
                         help='only rows made at this stage (dead_letter: '
                              'drained from the dead-letter queue)')
    listing.add_argument('--reason', help='only rows of this reason')
    listing.add_argument('--limit', type=int, default=50)
    listing.add_argument('--raw', action='store_true',
                         help='print the raw message as stored')
    listing.set_defaults(func=_quarantine_list)


def _add_parsers(subparsers):
    _add_db_parsers(subparsers)
    _add_quarantine_parsers(subparsers)
    subparsers.add_parser(
        'status', help='event and quarantine counts, newest event, snapshots'
    ).set_defaults(func=_status)
    subparsers.add_parser(
        'expire', help='delete events older than [persistor] event_ttl '
                       'that a kept graph snapshot covers'
    ).set_defaults(func=_expire)


def _describe(conf) -> str:
    """The database ``conf`` names, password hidden, and where from."""
    url = conf.database.connection or ''
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        shown = url
    source = ('from %s' % ', '.join(conf.config_file) if conf.config_file
              else 'the default: no --config-file given')
    return '[database] connection = %s (%s)' % (shown, source)


def _sqlite_path(conf) -> str | None:
    url = conf.database.connection or ''
    if not url.startswith('sqlite:///'):
        return None
    path = url[len('sqlite:///'):].split('?')[0]
    return None if path in ('', ':memory:') else path


def _missing_database(conf) -> str | None:
    """Why a command that reads the schema cannot run, or None.

    Only ``db upgrade`` creates a database; every other command reads
    one, and must not leave an empty SQLite file (or its directory)
    behind when pointed at the wrong place.
    """
    path = _sqlite_path(conf)
    if path is not None and not os.path.exists(path):
        return ('no database at %s, %s: run "vitrage-persistor-manage '
                '--config-file FILE db upgrade" to create it, or give the '
                'service\'s --config-file' % (path, _describe(conf)))
    return None


_CREATES_OR_NEEDS_NO_DB = (_db_upgrade, _db_history)


def main(argv: list[str] | None = None) -> int:
    conf = common.parse_subcommand('vitrage-persistor-manage', _add_parsers,
                                   argv)
    if conf is None:
        return 2
    func = conf.command.func
    if func not in _CREATES_OR_NEEDS_NO_DB:
        missing = _missing_database(conf)
        if missing and func is _db_current:
            print('base (head is %s); %s' % (migration.head(), missing))
            return 0
        if missing:
            print('vitrage-persistor-manage: %s' % missing, file=sys.stderr)
            return 1
    # Fail fast: a maintenance command must not sit in oslo.db's connect
    # retry loop for minutes when the database is down.
    store = storage_api.Store.from_conf(conf, max_retries=0)
    try:
        if func not in _CREATES_OR_NEEDS_NO_DB + (_db_current,) and \
                migration.current(store) is None:
            raise CommandError(
                'the database has no vitrage-persistor schema, %s: run '
                '"vitrage-persistor-manage db upgrade" first'
                % _describe(conf))
        func(conf, store)
    except CommandError as exc:
        print('vitrage-persistor-manage: %s' % _one_line(exc),
              file=sys.stderr)
        return 1
    except (db_exception.DBError, sqlalchemy.exc.SQLAlchemyError,
            OSError, RuntimeError) as exc:
        print('vitrage-persistor-manage: database error: %s' % _one_line(
            exc), file=sys.stderr)
        return 1
    finally:
        store.dispose()
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, 'orig', None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


if __name__ == '__main__':
    sys.exit(main())
