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

"""The API under a real WSGI server: uWSGI (``pyuwsgi`` from PyPI).

It is started the way the docs say to deploy it: ``uwsgi --module
vitrage_persistor.api.wsgi:application`` with the configuration named by
``OS_VITRAGE_PERSISTOR_CONFIG_FILES``, never on the command line.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess

import fixtures
from testtools import content

from vitrage_persistor.cmd import api as cmd_api
from vitrage_persistor.tests.functional.persistor import helpers

UWSGI = os.path.join(helpers.BIN_DIR, 'uwsgi')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(path, db_url, **api):
    api.setdefault('auth_strategy', 'noauth')
    lines = ['[database]', 'connection = %s' % db_url, 'max_retries = 0',
             '[api]'] + ['%s = %s' % kv for kv in sorted(api.items())]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


class UwsgiAPI(fixtures.Fixture):
    """``uwsgi --http-socket`` serving the API; ``.url`` is its base URL."""

    def __init__(self, config_path, log_path, wait=True):
        super().__init__()
        self.config_path = config_path
        self.log_path = log_path
        self.wait = wait
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port

    def _setUp(self):
        env = dict(os.environ, PYTHONWARNINGS='ignore')
        env[cmd_api.ENV_FILES] = self.config_path
        env.pop(cmd_api.ENV_DIR, None)
        with open(self.log_path, 'a') as log:
            self.proc = subprocess.Popen(
                [UWSGI, '--http-socket', '127.0.0.1:%d' % self.port,
                 '--module', 'vitrage_persistor.api.wsgi:application',
                 '--need-app', '--master', '--processes', '2',
                 '--threads', '2', '--die-on-term',
                 '--home', os.path.dirname(helpers.BIN_DIR)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
        self.addCleanup(self._stop)
        self.addDetail('uwsgi.log', content.Content(
            content.UTF8_TEXT, lambda: [self.log()[-20000:].encode()]))
        if self.wait:
            helpers.wait_for(self._answers, 60, what='uwsgi serving the API')

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError('uwsgi exited with %s:\n%s' % (
                self.proc.returncode, self.log()[-3000:]))
        with contextlib.suppress(OSError):
            return self.get('/')[0] == 200
        return False

    def get(self, path, headers=None):
        """``(status, body bytes)`` of one GET."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            conn.request('GET', path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def log(self) -> str:
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def _stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
