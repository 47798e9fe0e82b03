"""Options for oslo-config-generator (entry point ``oslo.config.opts``)."""

import itertools

from vitrage_persistor import conf


def list_opts():
    """Return ``[(group, [opts])]`` for every group the project owns."""
    return list(itertools.chain.from_iterable(
        module.list_opts() for module in conf.MODULES))
