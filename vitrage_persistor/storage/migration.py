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

"""Run the Alembic migrations of the top-level ``alembic/`` environment.

The environment is found next to the package in a checkout, or under
``<prefix>/share/vitrage-persistor/alembic`` where pbr's ``data_files``
put it in a wheel install, so ``db upgrade`` works from both.
"""

import os
import sysconfig

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
from vitrage_persistor.storage import api as storage_api

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (
    os.path.join(_HERE, '..', '..', 'alembic'),
    os.path.join(sysconfig.get_paths()['data'], 'share',
                 'vitrage-persistor', 'alembic'),
)


def script_location() -> str:
    for candidate in _CANDIDATES:
        # In a wheel install the first candidate is site-packages/alembic,
        # the library itself: ours is the one with env.py *and* versions/.
        if os.path.isfile(os.path.join(candidate, 'env.py')) and \
                os.path.isdir(os.path.join(candidate, 'versions')):
            return os.path.normpath(candidate)
    raise RuntimeError('cannot find the alembic migration environment; '
                       'looked in %s' % ', '.join(
                           os.path.normpath(c) for c in _CANDIDATES))


def _config(store: storage_api.Store,
            connection=None) -> alembic_config.Config:
    config = alembic_config.Config()
    config.set_main_option('script_location', script_location())
    config.attributes['connection'] = connection
    config.attributes['engine'] = store.engine
    return config


def upgrade(store: storage_api.Store, revision: str = 'head') -> None:
    alembic_command.upgrade(_config(store), revision)
    use_wal(store)


def use_wal(store: storage_api.Store) -> str | None:
    """Put a SQLite database file in write-ahead-log mode; its new mode.

    In SQLite's default rollback-journal mode a reader blocks a writer's
    commit: the agent's batch or the standby's snapshot waits for the
    API's (or the standby's own read-ahead) query, and fails with
    "database is locked" after the driver's 5 s. In WAL mode readers
    and the one writer do not wait for each other. The mode is kept in
    the file, so setting it here, where every deployment and test
    creates its schema, is enough. None for other databases and for
    in-memory SQLite.
    """
    if store.dialect_name != 'sqlite' or not store.engine.url.database \
            or store.engine.url.database == ':memory:':
        return None
    # Outside any transaction, which SQLite requires for this pragma: on
    # the driver's connection, where oslo.db's listener does not BEGIN.
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        return cursor.fetchone()[0]
    finally:
        raw.close()


def current(store: storage_api.Store) -> str | None:
    with store.engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        return context.get_current_revision()


def head() -> str:
    scripts = alembic_script.ScriptDirectory(script_location())
    return scripts.get_current_head()


def history() -> list[tuple[str, str | None, str]]:
    """``(revision, down_revision, message)``, newest first."""
    scripts = alembic_script.ScriptDirectory(script_location())
    return [(s.revision, s.down_revision, s.doc)
            for s in scripts.walk_revisions()]
