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

"""Configuration for vitrage-persistor, one module per option group.

Nothing here touches a global ``CONF``: callers build a
:class:`oslo_config.cfg.ConfigOpts`, pass it to :func:`register_opts` and
hand it down. Tests do the same with their own instance.
"""

from oslo_config import cfg

from vitrage_persistor.conf import (
    api,
    database,
    hooks,
    paths,
    persistor,
    replay,
)

MODULES = (paths, database, persistor, hooks, replay, api)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option group of the project on ``conf``."""
    for module in MODULES:
        module.register_opts(conf)
