"""``vitrage-persistor-agent``: the listener service.

Not called ``vitrage-persistor``: Vitrage 15.0.1 installs a console script
of that name (its own alarm-history persistor) and both must install side
by side.
"""

import sys

from oslo_log import log
from oslo_service import service as os_service

from vitrage_persistor import service
from vitrage_persistor.persistor import listener, transport
from vitrage_persistor.persistor import service as persistor_service

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    conf = service.make_conf()
    transport.set_defaults(conf)
    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, conf=conf)
    try:
        listener.check_library()
        transport.check_queue(conf)
    except (listener.LibraryChanged, transport.QueueMismatch) as exc:
        LOG.error('%s', exc)
        return 2
    launcher = os_service.launch(
        conf, persistor_service.PersistorService(conf),
        workers=conf.persistor.workers, restart_method='mutate')
    return launcher.wait() or 0


if __name__ == '__main__':
    sys.exit(main())
