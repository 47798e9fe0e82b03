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

"""A private oslo.db enginefacade per store.

Each :class:`~vitrage_persistor.storage.api.Store` gets its own
``transaction_context``, configured from the ``[database]`` group of the
ConfigOpts it was given, so two stores in one process (a test against
SQLite and PostgreSQL, or replay reading while the agent writes) never
share engine state by accident.
"""

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db.sqlalchemy import enginefacade

# The [database] options that enginefacade understands; the rest of the
# group (backend, db_max_retries...) belongs to the legacy DB API.
_FACADE_KEYS = (
    'connection', 'slave_connection', 'sqlite_synchronous', 'mysql_sql_mode',
    'mysql_wsrep_sync_wait', 'connection_recycle_time', 'connection_debug',
    'max_pool_size', 'max_overflow', 'pool_timeout', 'connection_trace',
    'max_retries', 'retry_interval', 'connection_parameters',
)


class RequestContext:
    """The context object enginefacade attaches its transaction state to."""


def with_utf8mb4(url: str) -> str:
    """Ask MySQL drivers for utf8mb4 unless the URL chose a charset.

    Without it PyMySQL talks 3-byte utf8 and a payload with an emoji comes
    back as "????": silent loss the operator would only notice on replay.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == 'mysql' and \
            'charset' not in parsed.query:
        parsed = parsed.update_query_dict({'charset': 'utf8mb4'})
        return parsed.render_as_string(hide_password=False)
    return url


def make_context(conf: cfg.ConfigOpts, **overrides):
    """Return a configured, not yet started, transaction context."""
    db = conf.database
    kwargs = {key: getattr(db, key) for key in _FACADE_KEYS
              if getattr(db, key, None) is not None}
    kwargs.update(overrides)
    for key in ('connection', 'slave_connection'):
        if kwargs.get(key):
            kwargs[key] = with_utf8mb4(kwargs[key])
    context = enginefacade.transaction_context()
    context.configure(**kwargs)
    return context
