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

Subcommands: ``show``, ``diff``, ``rca`` (an alarm's causal chain),
``history`` (one entity's events), ``snapshot`` and ``follow`` (the warm
standby). Errors a person can fix -- an empty history, a time before it,
an unknown format, a bad timestamp -- are one line on stderr and exit
status 1 (2 for bad arguments), never a traceback.
"""

import datetime
import hashlib
import json
import logging
import os
import signal
import sys
import time
import warnings

import sqlalchemy.exc
from oslo_db import exception as db_exception
from oslo_utils import timeutils

from vitrage_persistor import wire
from vitrage_persistor.cmd import common
from vitrage_persistor.replay import diff as diff_mod
from vitrage_persistor.replay import drawing, engine, errors, render
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
    _warn_if_after_history(replayer, at, result)
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


def _warn_if_after_history(replayer, at, result) -> None:
    """Say so when --at is later than anything stored.

    The answer is then the graph as of the newest event, which is what
    an operator asking about "now" wants, unless the agent stopped
    storing: the warning names the newest event so that shows.
    """
    if at is None or result.last is None:
        return
    newest = result.last.collector_timestamp
    if at > newest and not replayer.store.count_events(after=result.last):
        print('warning: %s is after the newest stored event (%s, id %d); '
              'showing the graph as of that event' % (
                  at.isoformat(sep=' '), newest.isoformat(sep=' '),
                  result.last.id), file=sys.stderr)


def _write(conf, text: str) -> None:
    output = conf.command.output
    if output and output != '-':
        with open(output, 'w', encoding='utf-8') as f:
            f.write(text)
        print('wrote %s' % output, file=sys.stderr)
    else:
        sys.stdout.write(text)


_EXTENSIONS = {'.json': 'json', '.graphml': 'graphml', '.dot': 'dot',
               '.gv': 'dot', '.svg': 'svg', '.html': 'html', '.htm': 'html'}


def show_format(fmt: str | None, output: str | None) -> str:
    """--format, else the output file's extension, else json."""
    if fmt is not None:
        return fmt
    ext = os.path.splitext(output or '')[1].lower()
    if output and output != '-' and ext not in _EXTENSIONS:
        raise UsageError('cannot tell the format from %r: give --format '
                         '(%s)' % (output, '|'.join(render.FORMATS)))
    return _EXTENSIONS.get(ext, 'json')


def _show(conf, replayer):
    fmt = show_format(conf.command.format, conf.command.output)
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
    try:
        text = render.render(fmt, view, 'Vitrage entity graph at %s'
                             % result.target, document)
    except drawing.GraphvizMissing as exc:
        raise UsageError(str(exc)) from None
    _write(conf, text)


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


def _find(view, ident: str) -> list[str]:
    """Vertices named by ``ident``: vitrage_id, id, name or entity key.

    An entity key (``ALARM:nagios:host-3:CPU load``,
    ``RESOURCE:nova.host:host-3``) names the vertex whose
    ``vitrage_cached_id`` is its md5, as Vitrage's transformers make it.
    """
    found = view.find(ident)
    if ':' in ident:
        cached = hashlib.md5(ident.encode('utf-8')).hexdigest()  # noqa: S324
        found += [v for v in view.find(cached) if v not in found]
    return found


def _find_alarm(graph, ident: str) -> str:
    """An alarm's vitrage_id from its vitrage_id, id, name or entity key."""
    view = render.View.from_graph(graph)
    found = [vid for vid in _find(view, ident)
             if view.vertices[vid].get('vitrage_category') == 'ALARM'
             and not view.vertices[vid].get('vitrage_is_deleted')]
    if not found:
        raise UsageError('no alarm %r alive in the graph at that time'
                         % ident)
    if len(found) > 1:
        raise UsageError('%r names %d alarms (%s); give a vitrage_id' % (
            ident, len(found), ', '.join(sorted(found))))
    return found[0]


def _rca(conf, replayer):
    from vitrage_persistor.replay import vitrage_views
    fmt = conf.command.format
    if fmt not in ('text', 'json', 'svg', 'html', 'dot'):
        raise UsageError('unknown rca format %r (choose from text, json, '
                         'svg, html, dot)' % fmt)
    if not conf.command.alarm:
        raise UsageError('rca needs --alarm')
    at, event_id = _target(conf)
    result = _replay(replayer, conf, at, event_id)
    alarm_id = _find_alarm(result.graph, conf.command.alarm)
    nodes, edges = vitrage_views.rca_chain(result.graph, alarm_id)
    if fmt == 'json':
        vitrage_views.check_networkx()
        answer = vitrage_views.rca(result.graph, vitrage_views.Caller(
            None, True), alarm_id, all_tenants=True)
        _write(conf, json.dumps(answer, indent=1, sort_keys=True,
                                default=str) + '\n')
        return
    view = render.View.from_graph(result.graph)
    if fmt == 'text':
        _write(conf, _rca_text(view, alarm_id, nodes, edges, result.target))
        return
    # the chain and the resources its alarms are on
    keep = set(nodes) | {view.vertices[n].get('vitrage_resource_id')
                         for n in nodes}
    chain = view.restrict(keep)
    chain.edges = [e for e in chain.edges
                   if e[2] == 'causes' or e[2] == 'on']
    _write(conf, render.render(fmt, chain, 'RCA of %s at %s' % (
        render.label(view.vertices[alarm_id]), result.target)))


def _rca_text(view, alarm_id, nodes, edges, target) -> str:
    def name(vid):
        p = view.vertices[vid]
        on = view.vertices.get(p.get('vitrage_resource_id') or '', {})
        return '%s %s (%s) on %s %s [%s]' % (
            p.get('vitrage_type'), render.label(p),
            p.get('vitrage_operational_severity') or p.get('severity'),
            on.get('vitrage_type', '?'), render.label(on) if on else '?',
            vid)

    causes = {}
    for u, v, _props in edges:
        causes.setdefault(v, []).append(u)
    caused = {}
    for u, v, _props in edges:
        caused.setdefault(u, []).append(v)
    lines = ['RCA of %s at %s' % (name(alarm_id), target)]

    def walk(vid, links, arrow, depth, seen):
        for other in sorted(links.get(vid, [])):
            if other in seen:
                continue
            lines.append('%s%s %s' % ('  ' * depth, arrow, name(other)))
            walk(other, links, arrow, depth + 1, seen | {other})

    lines.append('caused by:')
    walk(alarm_id, causes, '<-', 1, {alarm_id})
    lines.append('causes:')
    walk(alarm_id, caused, '->', 1, {alarm_id})
    lines.append('%d alarms, %d causal edges' % (len(nodes), len(edges)))
    return '\n'.join(lines) + '\n'


def _history(conf, replayer):
    """Every stored event about an entity, with what each one changed."""
    from vitrage_persistor.storage import entity_ids
    ident = conf.command.entity
    if not ident:
        raise UsageError('history needs --entity')
    since = parse_time(conf.command.from_time) if \
        conf.command.from_time else None
    until = parse_time(conf.command.to_time) if conf.command.to_time \
        else None
    if since and until and until < since:
        raise UsageError('--to is before --from')
    # The graph at the end names the entity's vitrage_id(s), which the
    # evaluator's events use; its datasource id is what drivers use.
    result = _replay(replayer, conf, until)
    view = render.View.from_graph(result.graph)
    wanted = entity_ids.from_key(ident)
    found = [vid for vid in _find(view, ident) + view.find(wanted)
             if view.vertices[vid].get('vitrage_category') == 'RESOURCE']
    names = {wanted} | set(found) | {
        str(view.vertices[v].get('id')) for v in found
        if view.vertices[v].get('id')}
    if 'nova.host' in {view.vertices[v].get('vitrage_type') for v in found}:
        names |= {str(view.vertices[v].get('name')) for v in found}
    events = []
    after_id = 0
    while True:
        page = replayer.store.entity_history_page(
            sorted(names), after_id=after_id, limit=1000,
            alarms=conf.command.related, since=since,
            before=until + datetime.timedelta(microseconds=1)
            if until else None)
        events.extend(page)
        if len(page) < 1000:
            break
        after_id = page[-1].id
    if not events:
        raise errors.ReplayError('no stored event about %r%s' % (
            ident, ' in that time range' if since or until else ''))
    events.sort(key=lambda e: e.order_key)
    lines = ['history of %s (%s): %d events' % (
        ident, ', '.join(sorted(names)), len(events))]
    previous: dict = {}
    for event in events:
        payload = {k: v for k, v in event.payload.items()
                   if k != wire.LIVE_IDS_KEY}
        subject = '%s/%s' % (event.entity_type, event.entity_id)
        changed = {k: v for k, v in payload.items()
                   if previous.get(subject, {}).get(k) != v
                   and k not in _NOISE}
        previous[subject] = payload
        lines.append('%s  #%d %s %s %s' % (
            wire.format_timestamp(event.collector_timestamp), event.id,
            event.entity_type, payload.get('vitrage_datasource_action')
            or '', payload.get('vitrage_event_type')
            or payload.get('type') or ''))
        for key in sorted(changed):
            lines.append('      %s: %s' % (key, json.dumps(
                changed[key], sort_keys=True, default=str)[:200]))
    _write(conf, '\n'.join(lines) + '\n')


# Fields that change on every event and say nothing about the entity.
_NOISE = frozenset(('vitrage_sample_timestamp', 'sample_date',
                    'vitrage_sample_date'))


def _follow(conf, replayer):
    """The warm standby, saying on stderr what it does (logs say more)."""
    from vitrage_persistor.replay import follow
    follower = follow.Follower(conf, replayer)
    # Before the first replay, which may be long: a SIGTERM then stops
    # the standby as soon as it is built (run() installs the same).
    signal.signal(signal.SIGTERM, lambda *a: follower.stop())
    print('follow: replaying the stored history to build the warm graph...',
          file=sys.stderr)
    follower.start()
    print('follow: graph at event %d (%d vertices); polling for new events '
          'every %ss, a snapshot every %s, status in %s; SIGUSR1 dumps the '
          'graph to %s; Ctrl-C or SIGTERM stops' % (
              follower.last_id, follower.processor.graph.num_vertices(),
              conf.replay.poll_interval, conf.persistor.snapshot_interval,
              conf.replay.status_path, conf.replay.dump_path),
          file=sys.stderr)
    try:
        follower.run()
    finally:
        print('follow: stopped at event %d: %d events applied, %d snapshots '
              'stored; graph dumped to %s' % (
                  follower.last_id, follower.applied, follower.snapshots,
                  conf.replay.dump_path), file=sys.stderr)


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
    show.add_argument('--format',
                      help='json|graphml|dot|svg|html (default: from the '
                           '-o file\'s extension, else json)')
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

    rca = subparsers.add_parser(
        'rca', help='the causal chain of an alarm at a time: what caused '
                    'it and what it caused')
    rca.add_argument('--alarm', metavar='ID|KEY',
                     help='the alarm: its vitrage_id, id, name or entity '
                          'key (ALARM:nagios:host-3:CPU load)')
    _add_target(rca)
    _add_common(rca)
    rca.add_argument('--format', default='text',
                     help="text|json (Vitrage's rca show)|svg|html|dot")
    rca.add_argument('-o', '--output', help='file (default: stdout)')
    rca.set_defaults(func=_rca)

    history = subparsers.add_parser(
        'history', help='every stored event about one entity, with what '
                        'changed')
    history.add_argument('--entity', metavar='ID|KEY',
                         help='datasource id or name (host-3), vitrage_id, '
                              'or entity key RESOURCE:<type>:<id>')
    history.add_argument('--from', dest='from_time', metavar='T1')
    history.add_argument('--to', dest='to_time', metavar='T2')
    history.add_argument('--related', action='store_true',
                         help='also the alarms raised on it (and the '
                              "evaluator's deduced ones)")
    history.add_argument('-o', '--output', help='file (default: stdout)')
    _add_common(history)
    history.set_defaults(func=_history)

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
