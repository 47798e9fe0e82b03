"""Options for oslo-config-generator (entry point ``oslo.config.opts``)."""

import itertools

from vitrage_persistor.conf import api
from vitrage_persistor.conf import database
from vitrage_persistor.conf import hooks
from vitrage_persistor.conf import paths
from vitrage_persistor.conf import persistor
from vitrage_persistor.conf import replay


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
