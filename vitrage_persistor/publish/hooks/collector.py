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

"""The collector hook: everything that reaches the processor from collection.

In vitrage-graph 15.x, ``VitrageGraphInit`` wires two entry points into one
``EventsCoordination``:

* ``handle_multiple_low_priority``: ``DriverExec`` (driver ``get_all`` and
  ``get_changes``, and the ``delete_entity`` events for outdated vertices
  after a ``get_all``) and ``DriversNotificationEndpoint`` (pushed
  notifications after ``enrich_event``);
* ``handle_multiple_high_priority``: the ``ConsistencyEnforcer``'s
  ``delete_entity`` and ``remove_deleted_entity`` events, which never pass
  through driver_exec.

Both call the per-event work function under the coordination lock. The
hook marks the two entry points with a thread-local flag and wraps the work
function, so it publishes each event right after the processor applied
it, under the same lock: the (collector_timestamp, sequence) order is the
processor's order.

Publishing *after* the processor lets the hook record the vertex ids the
live processor created for the event. Vitrage gives a new vertex a random
uuid4 and remembers it in ``TransformerBase.key_to_uuid_cache``; later
events can name the vertex by that uuid (the consistency enforcer's
``remove_deleted_entity``, evaluator actions), and replay cannot guess it.
The hook swaps the cache for a dict that notes the entries set while an
event is applied, and publishes them with the event under
``wire.LIVE_IDS_KEY``. What is published is the event frozen (marshal
bytes, see :func:`freeze`) before the processor ran: the processor and the
transformers change the event, top-level keys (``graph_query_result``,
reformatted timestamps) and nested ones (the doctor transformer adds to
``details``), so only a copy is the event as the processor received it.

The evaluator's conclusions arrive on a third entry point:
``PushNotificationsEndpoint.info``, which vitrage-graph builds in
``EventsCoordination.start`` for ``EVALUATOR_TOPIC`` around the
high-priority work function. Its payload is the list of events one
evaluation produced (``raise_alarm``, ``set_state``, ``mark_down``,
``add_causal_relationship`` and their undo), and vitrage-graph hands the
whole list to one call of the work function. The hook applies the list
one item at a time, in order, under the same lock, and publishes each
item with the ids *it* created (a deduced alarm's uuid4, which the undo,
the causal edge and later state changes name). Vitrage applies the items
in the same order and stops at the first one that raises; so does the
hook. The only difference: vitrage-graph's own ``GraphPersistency``
flushes after each item instead of once per list.

A ``template_action`` payload (a template added or deleted) is no graph
event: vitrage-graph hands it to its evaluator workers, which reload
their templates. It is not published. Replay never runs the evaluator;
it applies the evaluator's stored conclusions, so a template change is
visible in history through the events the evaluator produced after it.

Everything is patched on the class before vitrage-graph builds
``VitrageGraphInit``, because the bound methods are captured in its
``__init__`` and ``start``.
"""

import copy
import marshal
import threading

from vitrage.datasources import transformer_base
from vitrage.entity_graph import graph_init

from vitrage_persistor import wire
from vitrage_persistor.publish import publisher as publisher_mod
from vitrage_persistor.publish.hooks import registry as registry_mod

_COORD = graph_init.EventsCoordination
_ENTRY_POINTS = ('handle_multiple_low_priority',
                 'handle_multiple_high_priority')
_EVALUATOR_ENDPOINT = graph_init.PushNotificationsEndpoint
TEMPLATE_ACTION = 'template_action'
_TRANSFORMER = transformer_base.TransformerBase


class RecordingIdCache(dict):
    """``key_to_uuid_cache`` that notes the entries set while recording.

    Vitrage only ever sets entries by item assignment (a new vertex id in
    ``uuid_from_deprecated_vitrage_id``, the restart rebuild in
    ``graph_init``), and lookups stay plain dict lookups.
    """

    def __init__(self, *args):
        super().__init__(*args)
        self.recording = threading.local()

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        added = getattr(self.recording, 'added', None)
        if added is not None:
            added[key] = value


def recording_cache() -> RecordingIdCache:
    """The transformers' id cache, made a recording one if it is not."""
    cache = _TRANSFORMER.key_to_uuid_cache
    if not isinstance(cache, RecordingIdCache):
        cache = RecordingIdCache(cache)
        _TRANSFORMER.key_to_uuid_cache = cache
    return cache


def freeze(event: dict) -> bytes | None:
    """``event`` as the processor is about to receive it, or None.

    The processor and the transformers change the event in place, so it
    is frozen before they run. Enriched events are plain JSON-like data,
    and ``marshal.dumps`` freezes one in about 5 us (``copy.deepcopy``
    takes 63 us for a nova.instance event); the bytes are handed to the
    publisher as they are (:meth:`publisher_mod.Publisher.publish_encoded`), so
    the event is never decoded or encoded again in vitrage-graph. Returns
    None for what marshal refuses (a datetime, an object).
    """
    try:
        return marshal.dumps(event)
    except ValueError:
        return None


class CollectorHook:
    """Publish each collected event just before the processor gets it."""

    name = 'collector'

    def __init__(self, publisher: publisher_mod.Publisher,
                 registry: registry_mod.PublishedRegistry | None = None):
        self.publisher = publisher
        self.registry = registry
        self._context = threading.local()
        self._originals = None
        self._evaluator_info = None

    def on_event(self, event) -> None:
        if isinstance(event, list):
            for item in event:
                self.on_event(item)
            return
        if self.registry is not None and self.registry.claim(event):
            return  # already published by the driver hook
        self.publisher.publish(event)

    def process(self, event, do_work):
        """Apply ``event`` with ``do_work`` and publish it with its new ids.

        The event is published even when the processor raised: replay
        meets the same event and fails the same way, as vitrage-graph did.
        An evaluator batch (a list) is applied item by item, each item
        published with its own ids; a template action is applied and not
        published.
        """
        if isinstance(event, list):
            for item in event:
                self.process(item, do_work)
            return None
        if isinstance(event, dict) and event.get(TEMPLATE_ACTION):
            return do_work(event)
        if not isinstance(event, dict) or (
                self.registry is not None and self.registry.claim(event)):
            # already published by the driver hook, or not an event we can
            # annotate: as before, published as it is
            if not isinstance(event, dict):
                self.on_event(event)
            return do_work(event)
        frozen = freeze(event)
        if frozen is None:
            try:
                received = copy.deepcopy(event)
            except Exception:
                # not copyable: published as it is, before, without ids
                self.on_event(event)
                return do_work(event)
        cache = recording_cache()
        added = cache.recording.added = {}
        try:
            return do_work(event)
        finally:
            cache.recording.added = None
            if frozen is not None:
                self.publisher.publish_encoded(
                    frozen, {wire.LIVE_IDS_KEY: added} if added else None)
            else:
                if added:
                    received[wire.LIVE_IDS_KEY] = added
                self.publisher.publish(received)

    def _collecting(self) -> bool:
        return getattr(self._context, 'active', False)

    def install(self) -> None:
        if self._originals is not None:
            return
        self._originals = {name: _COORD.__dict__[name]
                           for name in ('__init__',) + _ENTRY_POINTS}
        self._evaluator_info = _EVALUATOR_ENDPOINT.__dict__['info']
        hook = self
        orig_init = self._originals['__init__']

        def __init__(coord, do_work_func, *args, **kwargs):
            def do_work(event):
                if hook._collecting():
                    return hook.process(event, do_work_func)
                return do_work_func(event)
            orig_init(coord, do_work, *args, **kwargs)

        def entry_point(orig):
            def wrapper(*args, **kwargs):
                previous = hook._collecting()
                hook._context.active = True
                try:
                    return orig(*args, **kwargs)
                finally:
                    hook._context.active = previous
            wrapper.__name__ = orig.__name__
            wrapper.__doc__ = orig.__doc__
            return wrapper

        _COORD.__init__ = __init__
        for name in _ENTRY_POINTS:
            setattr(_COORD, name, entry_point(self._originals[name]))
        _EVALUATOR_ENDPOINT.info = entry_point(self._evaluator_info)
        recording_cache()

    def uninstall(self) -> None:
        if self._originals is None:
            return
        for name, func in self._originals.items():
            setattr(_COORD, name, func)
        _EVALUATOR_ENDPOINT.info = self._evaluator_info
        self._originals = None
        cache = _TRANSFORMER.key_to_uuid_cache
        if isinstance(cache, RecordingIdCache):
            _TRANSFORMER.key_to_uuid_cache = dict(cache)
