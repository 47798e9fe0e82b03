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

"""``[DEFAULT] state_path``: where the service keeps local state."""

from oslo_config import cfg

state_path_opt = cfg.StrOpt(
    'state_path',
    default='/var/lib/vitrage-persistor',
    help='Top-level directory for local state. The default SQLite '
         'database and warm-standby dumps live here. A newcomer can point '
         'it at any writable directory; production deployments normally '
         'use a real database instead of the SQLite file under it.')

OPTS = [state_path_opt]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts():
    return [('DEFAULT', OPTS)]


def state_path_def(*args: str) -> str:
    """Return a path under ``$state_path``, left for oslo.config to expand."""
    return '/'.join(('$state_path',) + args)
