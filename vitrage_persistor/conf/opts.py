"""Options for oslo-config-generator (entry point ``oslo.config.opts``)."""

import itertools

from vitrage_persistor.conf import (
    api,
    database,
    hooks,
    paths,
    persistor,
    replay,
)


def list_opts():
    """Return ``[(group, [opts])]`` for every group the project owns."""
    return list(itertools.chain(
        paths.list_opts(),
        database.list_opts(),
        persistor.list_opts(),
        hooks.list_opts(),
        replay.list_opts(),
        api.list_opts(),
    ))
