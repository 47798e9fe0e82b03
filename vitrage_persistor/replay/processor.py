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

"""Vitrage's own entity-graph processor, run standalone for replay.

``vitrage.entity_graph.processor.processor.Processor`` builds exactly the
graph vitrage-graph builds, but it was written for a process that is
vitrage-graph: it reads the global ``oslo_config.cfg.CONF``, keeps the
entity-key -> vitrage_id cache in a class attribute shared by every
transformer, reads the wall clock when it marks things deleted, and
mutates the events it is given. This adapter contains all four:

* the global CONF is set up once, from our ``[replay]`` options, and
  nothing else in vitrage-persistor touches it;
* each adapter owns its id cache and swaps it into ``TransformerBase``
  only while it applies events, under a process-wide lock, so two graphs
  (a diff, a standby and an ad-hoc query) never share uuids;
* the clock is pinned to each event's ``collector_timestamp`` (when the
  driver enriched it) while the event is applied;
* a vertex gets the vitrage_id the live vitrage-graph gave it when the
  collector hook recorded it with the event (``wire.LIVE_IDS_KEY``);
  otherwise new vitrage_ids are derived from the event id and a counter
  instead of uuid4, so replaying the same events from any snapshot gives
  the same ids (``transformer_base.uuidutils`` is replaced while events
  are applied, and put back after);
* every stored payload is deep-copied before it is applied.
"""

import contextlib
import copy
import datetime
import hashlib
import os
import re
import threading
import uuid
import warnings

from oslo_config import cfg
from oslo_log import log
from oslo_utils import timeutils

from vitrage_persistor import wire
from vitrage_persistor.replay import errors, graph_json

LOG = log.getLogger(__name__)

# oslo.utils deprecates the time override in favour of mock.patch, which
# is for tests; replay needs it at run time, once per event.
warnings.filterwarnings('ignore', category=DeprecationWarning,
                        message='(set|clear)_time_override is deprecated')

# One lock for everything process-global that the processor touches:
# cfg.CONF, TransformerBase.key_to_uuid_cache and timeutils' override.
_LOCK = threading.RLock()
_CONFIGURED: dict = {}
_ID_NAMESPACE = uuid.UUID('5b0c3f4e-7d35-4a3c-9a63-0f3c1d6f2a11')


class _Active(threading.local):
    event_id = None
    counter = 0


_ACTIVE = _Active()


class _ReplayUuids:
    """Stands in for ``oslo_utils.uuidutils`` inside transformer_base.

    Vitrage makes a new vertex id with ``uuidutils.generate_uuid()``
    called through the module global ``transformer_base.uuidutils``, and
    offers no hook to choose it: replacing that global, only while
    :meth:`VitrageProcessor.apply` runs, is the one way.
    ``tests/unit/replay/test_processor.py`` fails when Vitrage changes it.

    In the thread that applies events, the id of a new vertex is uuid5 of
    the event that created it, so it is the same on every replay of the
    same history; other threads get the real thing (uuid4).
    """

    def __init__(self, real):
        self._real = real

    def generate_uuid(self, dashed=True):
        if _ACTIVE.event_id is None:
            return self._real.generate_uuid(dashed=dashed)
        _ACTIVE.counter += 1
        name = '%s.%d' % (_ACTIVE.event_id, _ACTIVE.counter)
        value = uuid.uuid5(_ID_NAMESPACE, name)
        return str(value) if dashed else value.hex

    def __getattr__(self, name):
        return getattr(self._real, name)


# What Vitrage's datasources put in their timestamps: ISO 8601 with a
# space or a T, up to microseconds, Z or a numeric offset or nothing.
_ISO_TIMESTAMP = re.compile(r'\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}'
                            r'(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?\Z')


class _ReplayTimestamps:
    """Stands in for ``vitrage.utils.datetime.format_timestamp``.

    Every transformer formats the event's update time with it, and it
    parses with ``dateutil``: half of what applying an event costs in a
    replay (``doc/source/replay.rst``). For the ISO 8601 strings the
    datasources send, ``datetime.fromisoformat`` gives the same datetime
    in a fraction of the time; anything else, and any format asking for
    a zone name (``%Z``, which names a fixed offset differently), goes to
    Vitrage's own function. Like ``_ReplayUuids`` it is swapped in, as
    the module global transformer_base calls through, only while
    :meth:`VitrageProcessor.apply` runs;
    ``tests/unit/replay/test_processor.py`` checks both that Vitrage still
    calls it and that it answers as Vitrage's does.
    """

    def __init__(self, real):
        from vitrage.utils import datetime as vitrage_datetime

        self.real = real
        self.default_format = vitrage_datetime.TIMESTAMP_FORMAT

    def __call__(self, timestamp_str, *args, **kwargs):
        new_format = (args[0] if args else
                      kwargs.get('new_format', self.default_format))
        if (isinstance(timestamp_str, str) and '%Z' not in new_format
                and _ISO_TIMESTAMP.match(timestamp_str)):
            try:
                return datetime.datetime.fromisoformat(
                    timestamp_str).strftime(new_format)
            except ValueError:
                pass  # Python before 3.11 reads fewer forms: Vitrage's
        return self.real(timestamp_str, *args, **kwargs)


def values_digest(values_dir: str, types: list[str]) -> str:
    """Hash of the datasources_values yaml and the datasource types.

    Both change the vertex states the processor computes, so they are part
    of the processor's identity, and snapshots made with others are not
    reused.
    """
    digest = hashlib.sha256(','.join(sorted(types)).encode())
    for name in sorted(os.listdir(values_dir)):
        path = os.path.join(values_dir, name)
        if name.endswith('.yaml') and os.path.isfile(path):
            digest.update(name.encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def _parsed(conf: cfg.ConfigOpts) -> bool:
    """Whether ``conf`` was called (parsed its command line and files).

    oslo.config has no public way to ask: an unparsed ConfigOpts answers
    with defaults, and calling a parsed one again re-parses it and drops
    what an embedding vitrage-graph set. ``_args`` is None until the first
    call; ``tests/unit/replay/test_processor.py`` fails when oslo.config
    changes that.
    """
    return getattr(conf, '_args', None) is not None


def _still_configured(conf: cfg.ConfigOpts, wanted: tuple) -> bool:
    """Whether the global CONF still holds what we set.

    Something else in the process (a test fixture, an embedding program)
    may have reset or re-parsed Vitrage's global CONF since.
    """
    try:
        return (_parsed(conf) and
                conf.entity_graph.datasources_values_dir == wanted[0] and
                tuple(conf.datasources.types) == wanted[1])
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def _configure_vitrage(values_dir: str, types: list[str]) -> None:
    """Set up the global cfg.CONF the way vitrage-graph's config does."""
    from vitrage import opts as vitrage_opts

    conf = cfg.CONF
    wanted = (values_dir, tuple(types))
    if _CONFIGURED.get('key') == wanted and _still_configured(conf, wanted):
        return
    for group, options in vitrage_opts.list_opts():
        # registered already by an earlier replay, or by Vitrage itself
        # when it runs in this process: theirs are kept
        with contextlib.suppress(cfg.DuplicateOptError):
            conf.register_opts(list(options),
                               group=None if group == 'DEFAULT' else group)
    if not _parsed(conf):
        conf([], project='vitrage', default_config_files=[],
             default_config_dirs=[])
    conf.set_override('types', list(types), 'datasources')
    conf.set_override('datasources_values_dir', values_dir, 'entity_graph')
    for ds in types:
        if ds not in conf:
            vitrage_opts.register_opts(ds, conf.datasources.path)
    _CONFIGURED['key'] = wanted


# One Vitrage Processor per configuration, never applied to: see _new_processor
_TEMPLATES: dict = {}


def _new_processor(graph):
    """Vitrage's ``Processor`` on ``graph``, without reading its yaml again.

    ``Processor()`` parses every datasources_values yaml file
    (``DatasourceInfoMapper``) and builds a transformer per datasource:
    about 0.3 s on a 2-core machine, whatever the graph's size, so most
    of a ``graph_at`` on a small graph. Both are read-only once built, so
    each configuration builds them once, in a template Processor, and
    every replay gets a shallow copy on its own graph. The copy's
    ``actions`` are bound methods of the template; Vitrage has no public
    way to rebuild them, so the private ``_initialize_events_actions``
    does (``tests/unit/test_private_apis.py`` fails when Vitrage changes
    it). Called under ``_LOCK``, after ``_configure_vitrage``.
    """
    from vitrage.entity_graph.processor import processor

    key = _CONFIGURED.get('key')
    template = _TEMPLATES.get(key)
    if template is None:
        _TEMPLATES.clear()
        template = _TEMPLATES[key] = processor.Processor(e_graph=None)
    proc = copy.copy(template)
    proc._initialize_events_actions()  # private: see above
    proc.entity_graph = graph
    return proc


def vitrage_version() -> str:
    try:
        from importlib import metadata
        return metadata.version('vitrage')
    except Exception:
        return 'unknown'


class VitrageProcessor:
    """One replayed entity graph and the processor that keeps it."""

    kind = 'vitrage'

    def __init__(self, conf: cfg.ConfigOpts, document: dict | None = None,
                 built: tuple | None = None):
        """A processor on a new graph, a snapshot document's, or ``built``.

        ``built`` is an ``(NXGraph, id cache)`` pair that becomes this
        processor's own (:func:`graph_json.clone` makes one).
        """
        values_dir = conf.replay.datasources_values_dir
        types = list(conf.replay.datasource_types)
        if not os.path.isdir(values_dir):
            raise errors.ProcessorUnavailable(
                '[replay] datasources_values_dir %s does not exist; get '
                "Vitrage's datasources_values with "
                'tools/fetch-datasources-values.sh' % values_dir)
        try:
            from vitrage.entity_graph.processor import processor  # noqa
            from vitrage.graph.driver.networkx_graph import NXGraph
        except ImportError as exc:
            raise errors.ProcessorUnavailable(
                'vitrage is not installed (pip install '
                'vitrage-persistor[vitrage]): %s' % exc) from exc
        self.name = 'vitrage-%s+%s' % (vitrage_version(),
                                       values_digest(values_dir, types))
        with _LOCK:
            _configure_vitrage(values_dir, types)
            if built is not None:
                graph, self.id_cache = built
            elif document is not None:
                graph, self.id_cache = graph_json.load(document)
            else:
                graph = NXGraph('Entity Graph')
                self.id_cache = graph_json.IdCache()
            self._processor = _new_processor(graph)
        self.applied = 0
        self.failed = 0

    @property
    def graph(self):
        return self._processor.entity_graph

    def apply(self, events, private_payloads: bool = False,
              stop=None) -> int:
        """Apply stored events, in the order given, to the graph.

        The processor mutates the event it is given (it adds graph query
        results), so each payload is deep-copied first -- unless the
        caller says the payloads are private: freshly decoded from the
        database for this replay alone, which is already a deep copy.
        ``stop``, called after each event, ends the run early when it
        returns true. Returns how many events were applied.
        """
        from vitrage.datasources import transformer_base
        from vitrage.utils import datetime as vitrage_datetime

        base = transformer_base.TransformerBase
        with _LOCK:
            saved_cache = base.key_to_uuid_cache
            saved_uuids = transformer_base.uuidutils
            saved_format = vitrage_datetime.format_timestamp
            base.key_to_uuid_cache = self.id_cache
            transformer_base.uuidutils = _ReplayUuids(saved_uuids)
            vitrage_datetime.format_timestamp = _ReplayTimestamps(
                saved_format)
            done = 0
            try:
                for event in events:
                    self._apply_one(event, private_payloads)
                    done += 1
                    if stop is not None and stop():
                        break
            finally:
                vitrage_datetime.format_timestamp = saved_format
                transformer_base.uuidutils = saved_uuids
                base.key_to_uuid_cache = saved_cache
                timeutils.clear_time_override()
                _ACTIVE.event_id = None
        return done

    def _apply_one(self, event, private: bool) -> None:
        when = event.collector_timestamp
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        timeutils.set_time_override(when)
        _ACTIVE.event_id, _ACTIVE.counter = event.id, 0
        payload, live_ids = wire.split_live_ids(
            event.payload if private else copy.deepcopy(event.payload))
        if live_ids:
            self._seed_live_ids(live_ids)
        try:
            self._processor.process_event(payload)
        except Exception:
            # vitrage-graph logs and skips an event it cannot process
            # (graph_init.EventsCoordination); so does replay.
            self.failed += 1
            LOG.warning('event %s could not be applied; skipped as '
                        'vitrage-graph would', event.id, exc_info=True)
        self.applied += 1

    def _seed_live_ids(self, live_ids: dict) -> None:
        """Give the event's new vertices the ids vitrage-graph gave them.

        ``live_ids`` are the entries the event added to the live
        processor's id cache. Entered before the event is applied, they
        are found by ``uuid_from_deprecated_vitrage_id`` instead of a new
        id being made -- the same lookup, only the value differs. A key
        the replayed cache already maps is left alone: the live processor
        did not create it for this event either, unless the histories
        already differ, and then the existing id is the consistent one.
        """
        cache = self.id_cache
        for key, vitrage_id in live_ids.items():
            if key not in cache and isinstance(vitrage_id, str):
                cache[key] = vitrage_id

    def to_document(self) -> dict:
        return graph_json.dump(self.graph, self.id_cache, self.name)
