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

"""The driver hook: everything Vitrage's datasource drivers enrich.

Every stock 15.0.1 driver, pulled or pushed, enriches through the class
methods ``DriverBase.make_pickleable_without_end_msg`` (``make_pickleable``
calls it) or ``make_pickleable_iter``. They add ``vitrage_entity_type``,
``vitrage_datasource_action``, ``vitrage_sample_date`` and
``vitrage_datasource_name``. Replacing the two methods on ``DriverBase``
taps all drivers at once, including third-party drivers and subclasses,
with no per-datasource config and without the ``_datasource_name`` problem
that wrapper driver classes have.
"""

from vitrage.datasources import driver_base

from vitrage_persistor.publish import publisher as publisher_mod
from vitrage_persistor.publish.hooks import registry as registry_mod

_BASE = driver_base.DriverBase


class DriverHook:
    """Publish each entity as it leaves ``make_pickleable*``."""

    name = 'driver'

    def __init__(self, publisher: publisher_mod.Publisher,
                 registry: registry_mod.PublishedRegistry | None = None):
        self.publisher = publisher
        self.registry = registry
        self._originals = None

    def on_event(self, event: dict) -> None:
        if self.publisher.publish(event) and self.registry is not None:
            self.registry.add(event)

    def install(self) -> None:
        if self._originals is not None:
            return
        orig_list = _BASE.__dict__['make_pickleable_without_end_msg']
        orig_iter = _BASE.__dict__['make_pickleable_iter']
        self._originals = (orig_list, orig_iter)
        hook = self
        list_func = orig_list.__func__
        iter_func = orig_iter.__func__

        def make_pickleable_without_end_msg(cls, entities, entity_type,
                                            datasource_action, *args):
            result = list_func(cls, entities, entity_type,
                               datasource_action, *args)
            for event in result:
                hook.on_event(event)
            return result

        def make_pickleable_iter(cls, entities, entity_type,
                                 datasource_action, *args):
            for event in iter_func(cls, entities, entity_type,
                                   datasource_action, *args):
                hook.on_event(event)
                yield event

        _BASE.make_pickleable_without_end_msg = classmethod(
            make_pickleable_without_end_msg)
        _BASE.make_pickleable_iter = classmethod(make_pickleable_iter)

    def uninstall(self) -> None:
        if self._originals is None:
            return
        orig_list, orig_iter = self._originals
        _BASE.make_pickleable_without_end_msg = orig_list
        _BASE.make_pickleable_iter = orig_iter
        self._originals = None
