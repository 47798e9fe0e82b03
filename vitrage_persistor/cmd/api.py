"""``vitrage-persistor-api``: the WSGI application, or a dev server.

Under a real WSGI server point it at ``vitrage_persistor.cmd.api:
init_application``; run the command itself for a development server on
``[api] host``/``port``.
"""

import sys
from wsgiref import simple_server

from oslo_log import log

from vitrage_persistor import service
from vitrage_persistor.api import app as api_app

LOG = log.getLogger(__name__)


def init_application(argv=None, config_files=None):
    conf = service.prepare_service(argv or [], config_files=config_files)
    return api_app.make_app(conf)


def main(argv=None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    application = api_app.make_app(conf)
    server = simple_server.make_server(conf.api.host, conf.api.port,
                                       application)
    LOG.info('vitrage-persistor-api (development server) on http://%s:%d/',
             conf.api.host, conf.api.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        LOG.info('interrupted, stopping the development server')
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
