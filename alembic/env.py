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

"""Alembic environment: migrate the engine vitrage-persistor hands us.

There is deliberately no ``__init__.py`` next to this file: a package named
``alembic`` would shadow the alembic library itself.
"""

from alembic import context
import sqlalchemy as sa

from vitrage_persistor.storage import models

target_metadata = models.Base.metadata


def _run(connection):
    context.configure(connection=connection,
                      target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = context.config.attributes.get('connection')
    if connection is not None:
        _run(connection)
        return
    engine = context.config.attributes.get('engine')
    if engine is None:
        engine = sa.create_engine(
            context.config.get_main_option('sqlalchemy.url'))
    with engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit('offline (--sql) migrations are not supported')
run_migrations_online()
