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
function, so it publishes each event right before the processor applies
it, under the same lock: the (collector_timestamp, sequence) order is the
processor's order. Evaluator events, which use the same lock but not the
two entry points, are not published. Everything is patched on the class
before vitrage-graph builds ``VitrageGraphInit``, because the bound methods
are captured in its ``__init__``.
"""

import threading

from vitrage.entity_graph import graph_init

from vitrage_persistor import notifier
from vitrage_persistor.hooks import registry as registry_mod

_COORD = graph_init.EventsCoordination
_ENTRY_POINTS = ('handle_multiple_low_priority',
                 'handle_multiple_high_priority')


class CollectorHook:
    """Publish each collected event just before the processor gets it."""

    name = 'collector'

    def __init__(self, publisher: notifier.Publisher,
                 registry: registry_mod.PublishedRegistry | None = None):
        self.publisher = publisher
        self.registry = registry
        self._context = threading.local()
        self._originals = None

    def on_event(self, event) -> None:
        if isinstance(event, list):
            for item in event:
                self.on_event(item)
            return
        if self.registry is not None and self.registry.claim(event):
            return  # already published by the driver hook
        self.publisher.publish(event)

    def _collecting(self) -> bool:
        return getattr(self._context, 'active', False)

    def install(self) -> None:
        if self._originals is not None:
            return
        self._originals = {name: _COORD.__dict__[name]
                           for name in ('__init__',) + _ENTRY_POINTS}
        hook = self
        orig_init = self._originals['__init__']

        def __init__(coord, do_work_func, *args, **kwargs):
            def do_work(event):
                if hook._collecting():
                    hook.on_event(event)
                return do_work_func(event)
            orig_init(coord, do_work, *args, **kwargs)

        def entry_point(orig):
            def wrapper(coord, events):
                previous = hook._collecting()
                hook._context.active = True
                try:
                    return orig(coord, events)
                finally:
                    hook._context.active = previous
            wrapper.__name__ = orig.__name__
            wrapper.__doc__ = orig.__doc__
            return wrapper

        _COORD.__init__ = __init__
        for name in _ENTRY_POINTS:
            setattr(_COORD, name, entry_point(self._originals[name]))

    def uninstall(self) -> None:
        if self._originals is None:
            return
        for name, func in self._originals.items():
            setattr(_COORD, name, func)
        self._originals = None
