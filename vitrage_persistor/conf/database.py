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

"""``[database]``: oslo.db's own options, with a SQLite default.

The options are oslo.db's, so every knob (pool size, retries, MySQL SQL
mode...) is the one operators know from other OpenStack services. Only the
default ``connection`` differs: a SQLite file under ``$state_path``, so that
a newcomer needs no database server. oslo.db's option objects are copied
before the default is changed, so other users of oslo.db in the same
process are not affected.
"""

import copy

from oslo_config import cfg
from oslo_db import options as db_options

from vitrage_persistor.conf import paths

GROUP = 'database'
DEFAULT_CONNECTION = 'sqlite:///' + paths.state_path_def(
    'vitrage_persistor.sqlite')


def _opts() -> list[cfg.Opt]:
    opts = [copy.deepcopy(opt) for opt in db_options.database_opts]
    for opt in opts:
        if opt.dest == 'connection':
            opt.default = DEFAULT_CONNECTION
    return opts


OPTS = _opts()


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
