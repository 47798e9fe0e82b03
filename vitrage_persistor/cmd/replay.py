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

"""``vitrage-persistor-replay``: the entity graph at any time, and diffs.

Subcommands: ``show``, ``diff``, ``snapshot`` and ``follow`` (the warm
standby). Errors a person can fix -- an empty history, a time before it,
an unknown format, a bad timestamp -- are one line on stderr and exit
status 1 (2 for bad arguments), never a traceback.
"""

import datetime
import json
import logging
import sys
import time
import warnings

import sqlalchemy.exc
from oslo_db import exception as db_exception
from oslo_utils import timeutils

from vitrage_persistor.cmd import common
from vitrage_persistor.replay import diff as diff_mod
from vitrage_persistor.replay import engine, errors, render
from vitrage_persistor.storage import api as storage_api

PROG = 'vitrage-persistor-replay'

# vitrage pulls in futurist, which imports eventlet and warns about it on
# every run; replay never uses eventlet.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')


class UsageError(Exception):
    pass


def parse_time(text: str) -> datetime.datetime:
    """ISO 8601; a time without offset is UTC. Returns naive UTC."""
    try:
        value = timeutils.parse_isotime(text.strip())
    except ValueError:
        raise UsageError('bad timestamp %r: use ISO 8601, e.g. '
                         '2026-03-01T12:00:05Z' % text) from None
    return timeutils.normalize_time(value)


class ProgressBar:
    """A progress bar on stderr, shown only once a replay passes 1 s."""

    def __init__(self, stream=None, delay: float = 1.0):
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.delay = delay
        self.shown = False
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.start < self.delay:
            return
        tty = self.stream.isatty()
        if not tty and now - self._last < 5 and done < total:
            return
        self._last = now
        total = max(total, done, 1)
        width = 30
        filled = int(width * done / total)
        rate = done / max(now - self.start, 1e-6)
        self.stream.write('%sreplaying [%s%s] %d/%d events, %.0f/s%s' % (
            '\r' if tty else '', '#' * filled, '.' * (width - filled),
            done, total, rate, '' if tty else '\n'))
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown and self.stream.isatty():
            self.stream.write('\n')


def _target(conf):
    at = getattr(conf.command, 'at', None)
    event_id = getattr(conf.command, 'event_id', None)
    if at is not None and event_id is not None:
        raise UsageError('give --at or --event-id, not both')
    return (parse_time(at) if at is not None else None), event_id


def _replay(replayer, conf, at=None, event_id=None, track_changes=False):
    bar = ProgressBar()
    started = time.monotonic()
    result = replayer.graph_at(at_time=at, event_id=event_id,
                               use_snapshots=not conf.command.no_snapshots,
                               progress=bar, track_changes=track_changes)
    bar.finish()
    vertices = result.graph.get_vertices()
    deleted = sum(1 for v in vertices if v.get('vitrage_is_deleted'))
    print('graph at %s: %d vertices (%d deleted), %d edges; %d events '
          'replayed after %s in %.2fs' % (
              result.target, len(vertices), deleted,
              result.graph.num_edges(), result.applied,
              'snapshot %d' % result.snapshot_id if result.snapshot_id
              else 'the start of history', time.monotonic() - started),
          file=sys.stderr)
    return result


def _write(conf, text: str) -> None:
    output = conf.command.output
    if output and output != '-':
        with open(output, 'w', encoding='utf-8') as f:
            f.write(text)
        print('wrote %s' % output, file=sys.stderr)
    else:
        sys.stdout.write(text)


def _show(conf, replayer):
    fmt = conf.command.format
    if fmt not in render.FORMATS:
        raise UsageError('unknown format %r (choose from %s)' % (
            fmt, ', '.join(render.FORMATS)))
    try:
        filters = [render.parse_filter(f) for f in conf.command.filter or []]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    at, event_id = _target(conf)
    result = _replay(replayer, conf, at, event_id)
    try:
        view = render.apply_filters(render.View.from_graph(result.graph),
                                    filters)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    document = result.processor.to_document() if fmt == 'json' else None
    _write(conf, render.render(fmt, view, 'Vitrage entity graph at %s'
                               % result.target, document))


def _diff(conf, replayer):
    if conf.command.format not in ('text', 'json'):
        raise UsageError('unknown diff format %r (choose from text, json)'
                         % conf.command.format)
    if conf.command.from_time is None or conf.command.to_time is None:
        raise UsageError('diff needs --from and --to')
    old = _replay(replayer, conf, parse_time(conf.command.from_time))
    new = _replay(replayer, conf, parse_time(conf.command.to_time))
    result = diff_mod.graph_diff(old.graph, old.processor.id_cache,
                                 new.graph, new.processor.id_cache)
    if conf.command.format == 'json':
        _write(conf, json.dumps(result, indent=1, sort_keys=True,
                                default=str) + '\n')
    else:
        _write(conf, 'diff %s -> %s\n' % (old.target, new.target)
               + diff_mod.format_text(result))


def _snapshot(conf, replayer):
    at, event_id = _target(conf)
    # tracked: the snapshot is a delta from the one it was replayed from
    result = _replay(replayer, conf, at, event_id, track_changes=True)
    snapshot_id = replayer.save_snapshot(result)
    if snapshot_id is None:
        print('nothing new since snapshot %s' % result.snapshot_id)
    else:
        print('snapshot %d covers event %d (%s), %d events' % (
            snapshot_id, result.last.id, result.last.collector_timestamp,
            result.event_count))


def _follow(conf, replayer):
    from vitrage_persistor.replay import follow
    follow.Follower(conf, replayer).run()


def _add_target(parser):
    parser.add_argument('--at', metavar='TIME',
                        help='ISO 8601 time (UTC unless an offset is given)')
    parser.add_argument('--event-id', type=int, metavar='N',
                        help='the graph right after stored event N')


def _add_common(parser):
    parser.add_argument('--no-snapshots', action='store_true',
                        help='replay from the first event, ignoring '
                             'snapshots (slow; for checking)')


def _add_parsers(subparsers):
    show = subparsers.add_parser('show', help='the graph at a time')
    _add_target(show)
    _add_common(show)
    show.add_argument('--format', default='json',
                      help='json|graphml|dot|svg|html')
    show.add_argument('-o', '--output', help='file (default: stdout)')
    show.add_argument('--filter', action='append', metavar='FILTER',
                      help='type=T1,T2 | around=VERTEX[:DEPTH] | live; '
                           'repeatable')
    show.set_defaults(func=_show)

    diff = subparsers.add_parser('diff', help='what changed between times')
    diff.add_argument('--from', dest='from_time', metavar='T1')
    diff.add_argument('--to', dest='to_time', metavar='T2')
    diff.add_argument('--format', default='text', help='text|json')
    diff.add_argument('-o', '--output', help='file (default: stdout)')
    _add_common(diff)
    diff.set_defaults(func=_diff)

    snapshot = subparsers.add_parser(
        'snapshot', help='store a graph snapshot (newest, or at a time)')
    _add_target(snapshot)
    _add_common(snapshot)
    snapshot.set_defaults(func=_snapshot)

    follow = subparsers.add_parser(
        'follow', help='warm standby: keep the graph current, snapshot '
                       'every [persistor] snapshot_interval; SIGUSR1 dumps '
                       'it to [replay] dump_path')
    follow.set_defaults(func=_follow, no_snapshots=False)


def main(argv: list[str] | None = None) -> int:
    conf = common.parse_subcommand(PROG, _add_parsers, argv)
    if conf is None:
        return 2
    if not conf.debug:
        # The processor warns about every event that hits a deleted or
        # stale vertex; that is normal during replay.
        logging.getLogger('vitrage').setLevel(logging.ERROR)
    store = storage_api.Store.from_conf(conf, max_retries=0)
    replayer = engine.Replayer(conf, store)
    try:
        conf.command.func(conf, replayer)
    except UsageError as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return 2
    except errors.ReplayError as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return 1
    except (db_exception.DBError, sqlalchemy.exc.SQLAlchemyError) as exc:
        text = str(getattr(exc, 'orig', None) or exc).strip()
        print('%s: database error: %s' % (
            PROG, text.splitlines()[0] if text else type(exc).__name__),
            file=sys.stderr)
        return 1
    except OSError as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        store.dispose()
    return 0


if __name__ == '__main__':
    sys.exit(main())
