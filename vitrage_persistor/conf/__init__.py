"""Configuration for vitrage-persistor, one module per option group.

Nothing here touches a global ``CONF``: callers build a
:class:`oslo_config.cfg.ConfigOpts`, pass it to :func:`register_opts` and
hand it down. Tests do the same with their own instance.
"""

from oslo_config import cfg

from vitrage_persistor.conf import (
    api,
    database,
    hooks,
    paths,
    persistor,
    replay,
)

MODULES = (paths, database, persistor, hooks, replay, api)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every option group of the project on ``conf``."""
    for module in MODULES:
        module.register_opts(conf)
