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

"""Service preparation: the one place where config is parsed and logging set.
"""

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor import conf as persistor_conf
from vitrage_persistor import version

LOG = log.getLogger(__name__)

_DEFAULT_LOG_LEVELS = [
    'amqp=WARN', 'amqplib=WARN', 'kombu=WARN', 'oslo.messaging=INFO',
    'oslo_messaging=INFO', 'sqlalchemy=WARN', 'alembic=WARN',
    'stevedore=WARN', 'urllib3=WARN', 'iso8601=WARN',
]


def make_conf() -> cfg.ConfigOpts:
    """Return a fresh ConfigOpts with every project option registered."""
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    persistor_conf.register_opts(conf)
    return conf


def prepare_service(argv: list[str] | None = None,
                    config_files: list[str] | None = None,
                    conf: cfg.ConfigOpts | None = None,
                    setup_logging: bool = True,
                    description: str | None = None,
                    usage: str | None = None) -> cfg.ConfigOpts:
    """Parse ``argv`` and config files into a ConfigOpts and set up logging.

    ``conf`` lets a command register its own CLI options first;
    ``usage`` and ``description`` head its ``--help``.
    """
    if conf is None:
        conf = make_conf()
    log.set_defaults(default_log_levels=_DEFAULT_LOG_LEVELS)
    conf(argv or [], project='vitrage-persistor',
         version=version.version_info.version_string(),
         default_config_files=config_files, description=description,
         usage=usage)
    if setup_logging:
        log.setup(conf, 'vitrage-persistor')
    return conf
