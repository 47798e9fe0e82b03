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

"""Install the hooks chosen in ``[persistor_hooks]``; used by the launcher.

:func:`install` must run before vitrage-graph builds ``VitrageGraphInit``
(``vitrage-persistor-graph`` calls it before Vitrage's own ``main``). It
patches classes only; the publishers start their threads lazily, after
cotyledon has forked the workers.
"""

import oslo_messaging
from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.publish import publisher as publisher_mod
from vitrage_persistor.publish.hooks import collector, driver
from vitrage_persistor.publish.hooks import registry as registry_mod

LOG = log.getLogger(__name__)

_HOOK_CLASSES = {'driver': driver.DriverHook,
                 'collector': collector.CollectorHook}


class Installation:
    """The installed hooks and their publishers."""

    def __init__(self, hooks: list, registry=None):
        self.hooks = hooks
        self.registry = registry

    @property
    def publishers(self) -> dict[str, publisher_mod.Publisher]:
        return {hook.name: hook.publisher for hook in self.hooks}

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: pub.stats.as_dict()
                for name, pub in self.publishers.items()}

    def flush(self, timeout: float | None = None) -> bool:
        return all([pub.flush(timeout)
                    for pub in self.publishers.values()])

    def stop(self, timeout: float | None = None) -> bool:
        return all([pub.stop(timeout) for pub in self.publishers.values()])

    def uninstall(self) -> None:
        for hook in reversed(self.hooks):
            hook.uninstall()


def install(conf: cfg.ConfigOpts,
            transport: oslo_messaging.Transport | None = None,
            register_atexit: bool = True) -> Installation:
    """Patch Vitrage's classes for the hooks in ``[persistor_hooks] hooks``.

    Returns an :class:`Installation`; with ``enabled = false`` or an empty
    ``hooks`` list nothing is patched.
    """
    hconf = conf.persistor_hooks
    names = list(dict.fromkeys(hconf.hooks)) if hconf.enabled else []
    registry = None
    if 'driver' in names and 'collector' in names:
        registry = registry_mod.PublishedRegistry(hconf.queue_size)
    hooks = []
    for name in names:
        publisher = publisher_mod.Publisher(conf, name, transport=transport,
                                            register_atexit=register_atexit)
        hook = _HOOK_CLASSES[name](publisher, registry)
        hook.install()
        hooks.append(hook)
        LOG.info('vitrage-persistor %s hook installed, publishing on topic '
                 '%s as %s', name, conf.persistor.topic,
                 publisher.publisher_id)
    if not hooks:
        LOG.info('vitrage-persistor hooks disabled')
    return Installation(hooks, registry)
