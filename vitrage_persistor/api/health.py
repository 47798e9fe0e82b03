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

"""A healthcheck backend for oslo.middleware: is the database answering?

oslo.middleware's ``/healthcheck`` answers 200 as long as every configured
backend says so; without a backend it says nothing about the one thing the
API needs. This backend (``vitrage_persistor_database``, the API's default
``[healthcheck] backends``) runs ``SELECT 1`` on the API's own database.
"""

from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_middleware.healthcheck import pluginbase

from vitrage_persistor.storage import api as storage_api

NAME = 'vitrage_persistor_database'


class DatabaseHealthcheck(pluginbase.HealthcheckBaseExtension):
    """Unhealthy while the database does not answer ``SELECT 1``."""

    def __init__(self, oslo_conf: cfg.ConfigOpts, conf: dict[str, Any]):
        super().__init__(oslo_conf, conf)
        self._store: storage_api.Store | None = None

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        if self._store is None:
            self._store = storage_api.Store.from_conf(self.oslo_conf)
        try:
            with self._store.engine.connect() as conn:
                conn.execute(sa.text('SELECT 1'))
        except (db_exc.DBError, sa.exc.SQLAlchemyError) as exc:
            return pluginbase.HealthcheckResult(
                available=False, reason='database unavailable',
                details=str(exc))
        return pluginbase.HealthcheckResult(available=True,
                                            reason='database answers')
