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

"""``vitrage-persistor-api``: the WSGI application, or a dev server.

Under a real WSGI server use the module ``vitrage_persistor.api.wsgi``
(``application``) or the ``vitrage-persistor-api-wsgi`` script, both built
by :func:`init_application`. A WSGI server owns the command line, so, like
nova's and placement's WSGI modules, they read the configuration files the
environment names:

``OS_VITRAGE_PERSISTOR_CONFIG_DIR``
    directory of the configuration files, ``/etc/vitrage-persistor`` by
    default;
``OS_VITRAGE_PERSISTOR_CONFIG_FILES``
    ``;``-separated file names, relative to that directory or absolute,
    ``vitrage-persistor.conf`` by default.

A named file that does not exist stops the start with an error naming it,
and so does a keystone auth strategy without ``[keystone_authtoken]``
settings: a server that came up anyway would answer every request with 500.

Run the command itself for a development server on ``[api] host``/``port``.
"""

import os
import sys
from wsgiref import simple_server

from oslo_log import log

from vitrage_persistor import service
from vitrage_persistor.api import app as api_app

LOG = log.getLogger(__name__)

ENV_DIR = 'OS_VITRAGE_PERSISTOR_CONFIG_DIR'
ENV_FILES = 'OS_VITRAGE_PERSISTOR_CONFIG_FILES'
DEFAULT_DIR = '/etc/vitrage-persistor'
DEFAULT_FILE = 'vitrage-persistor.conf'


def config_files(environ=None) -> list[str]:
    """The configuration files the environment names, in order."""
    environ = os.environ if environ is None else environ
    directory = environ.get(ENV_DIR, '').strip() or DEFAULT_DIR
    names = [n.strip() for n in environ.get(ENV_FILES, '').split(';')
             if n.strip()]
    if not names:
        default = os.path.join(directory, DEFAULT_FILE)
        # With nothing named, a missing default file means "no file".
        return [default] if os.path.exists(default) else []
    files = [os.path.join(directory, name) for name in names]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise api_app.ConfigurationError(
            '%s names configuration files that do not exist: %s' % (
                ENV_FILES, ', '.join(missing)))
    return files


def init_application(environ=None):
    """The WSGI application, configured from the environment's files."""
    files = config_files(environ)
    conf = service.prepare_service([], config_files=files)
    LOG.info('vitrage-persistor-api: configuration from %s',
             ', '.join(files) or 'defaults only (no file)')
    return api_app.make_app(conf)


def main(argv=None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        application = api_app.make_app(conf)
    except api_app.ConfigurationError as exc:
        sys.stderr.write('vitrage-persistor-api: %s\n' % exc)
        return 2
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
