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

"""Processes and network plumbing for the agent's functional tests.

Every actor runs as its own OS process, as in production: the agent
(``python -m vitrage_persistor.cmd.agent``), the publishers (see
:mod:`.publisher`), Vitrage's own ``vitrage-persistor`` and a private
RabbitMQ node. Only the TCP proxy that plays an unreachable database runs
in the test process.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PYTHON = sys.executable
BIN_DIR = os.path.dirname(sys.executable)
_QUIET = dict(os.environ, PYTHONWARNINGS='ignore')


def write_config(path, transport_url, db_url, sections=None, **persistor):
    """Write an agent's config file.

    ``sections`` is ``{group: {option: value}}`` for groups other than
    ``[persistor]``, whose options are the keywords.
    """
    persistor.setdefault('stats_interval', 1)
    persistor.setdefault('batch_timeout', 0.2)
    lines = ['[DEFAULT]', 'transport_url = %s' % transport_url,
             '[database]', 'connection = %s' % db_url, 'max_retries = -1',
             '[persistor]']
    lines += ['%s = %s' % kv for kv in sorted(persistor.items())]
    for group, options in sorted((sections or {}).items()):
        lines.append('[%s]' % group)
        lines += ['%s = %s' % kv for kv in sorted(options.items())]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def wait_for(predicate, timeout, interval=0.2, what='condition'):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(interval)


def quiet_log(text: str, size: int = 8000) -> str:
    """The end of an agent's log without its idle once-a-second stats."""
    lines = [line for line in text.splitlines()
             if 'persistor stats: stored 0 ' not in line]
    return '\n'.join(lines)[-size:]


def make_agent(test, transport_url, db_url, name='agent', *, wrapper=(),
               sections=None, **persistor):
    """An :class:`Agent` for ``test``, configured in its ``state_dir``.

    Not started; stopped and its log kept (in the test's details, on
    failure) when the test ends. ``wrapper`` and ``sections``: see
    :class:`Agent` and :func:`write_config`.
    """
    from testtools import content
    path = write_config(os.path.join(test.state_dir, '%s.conf' % name),
                        transport_url, db_url, sections, **persistor)
    agent = Agent(path, os.path.join(test.state_dir, '%s.log' % name),
                  wrapper)
    test.addCleanup(agent.cleanup)
    test.addOnException(lambda exc_info: test.addDetail(
        '%s.log' % name, content.text_content(quiet_log(agent.log()))))
    return agent


class Agent:
    """One ``vitrage-persistor-agent`` (its own process group)."""

    READY = 'persistor agent consuming queue'

    def __init__(self, config_path, log_path, wrapper=()):
        self.config_path = config_path
        self.log_path = log_path
        # a command the agent runs under, e.g. ``ip netns exec <host>``
        self.wrapper = list(wrapper)
        self.proc = None

    def start(self, wait_ready=True):
        log = open(self.log_path, 'a')
        self.proc = subprocess.Popen(
            [*self.wrapper, PYTHON, '-m', 'vitrage_persistor.cmd.agent',
             '--config-file', self.config_path], stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True, env=_QUIET)
        log.close()
        if wait_ready:
            seen = self._ready_seen
            wait_for(lambda: self.log().count(self.READY) > seen, 60,
                     what='agent ready')
        self._ready_seen = self.log().count(self.READY)
        return self

    _ready_seen = 0

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def terminate(self, timeout=60):
        """SIGTERM the launcher, as systemd would; return its exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self):
        """SIGKILL the launcher and its workers at once: a crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            # the group may be gone already; wait() reaps the leader anyway
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stored_total(self):
        totals = re.findall(r'persistor stats: stored \d+ \(total (\d+)\)',
                            self.log())
        return int(totals[-1]) if totals else 0


def publish(url, start=0, count=100, mode='good', wait=True, extra=()):
    """Run the publisher in its own process."""
    proc = subprocess.Popen(
        [PYTHON, '-m', 'vitrage_persistor.tests.functional.persistor.'
         'publisher', '--url', url, '--start', str(start), '--count',
         str(count), '--mode', mode, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=_QUIET)
    if wait:
        out, _ = proc.communicate(timeout=240)
        if proc.returncode != 0:
            raise AssertionError('publisher failed: %s' % out[-3000:])
    return proc


def finish(proc, timeout=240):
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError('publisher failed: %s' % out[-3000:])
    return out


def hook_publish(url, start, count, rate=0, wait=True, quorum=True,
                 events_per_message=None):
    """The hooks' publisher (:mod:`.hook_publisher`) in its own process.

    With ``wait`` returns its stats (:func:`hook_finish`), else the
    process.
    """
    argv = [PYTHON, '-m', 'vitrage_persistor.tests.functional.persistor.'
            'hook_publisher', '--url', url, '--start', str(start),
            '--count', str(count), '--rate', str(rate)]
    if quorum:
        argv.append('--quorum')
    if events_per_message:
        argv += ['--events-per-message', str(events_per_message)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_QUIET)
    return hook_finish(proc) if wait else proc


def hook_finish(proc, timeout=300):
    """Wait for :func:`hook_publish`'s process; its stats as a dict."""
    out, _ = proc.communicate(timeout=timeout)
    last = out.strip().splitlines()[-1] if out.strip() else ''
    if proc.returncode != 0 or not last.startswith('{'):
        raise AssertionError('hook publisher failed: %s' % out[-3000:])
    return json.loads(last)


class PrivateRabbit:
    """A RabbitMQ node of the test's own that it may stop and start.

    Environment variables give it its own node name, ports, data and log
    directories, so the shared broker on 5672 is never touched.
    """

    def __init__(self, port=5679):
        # Its own directory under /tmp: the node runs as the rabbitmq user,
        # which cannot enter the test's private (0700) temporary directory.
        base_dir = tempfile.mkdtemp(prefix='vp-rmq-')
        os.chmod(base_dir, 0o755)
        self.base = base_dir
        self.port = port
        self.node = 'vptest%d@localhost' % port
        self.proc = None
        with open(os.path.join(base_dir, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(base_dir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.1 = 127.0.0.1:%d\n'
                    'loopback_users = none\n' % port)
        subprocess.run(['chown', '-R', 'rabbitmq', base_dir], check=False,
                       capture_output=True)
        self.env = dict(
            os.environ, RABBITMQ_NODENAME=self.node,
            RABBITMQ_DIST_PORT=str(port + 20000),
            RABBITMQ_MNESIA_BASE=os.path.join(base_dir, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(base_dir, 'log'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(base_dir,
                                                       'enabled_plugins'),
            RABBITMQ_PID_FILE=os.path.join(base_dir, 'pid'),
            RABBITMQ_CONFIG_FILE=os.path.join(base_dir, 'rabbitmq.conf'))

    @property
    def url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def ctl(self, *args, check=True, timeout=60):
        return subprocess.run(['rabbitmqctl', '-n', self.node, *args],
                              capture_output=True, text=True, check=check,
                              timeout=timeout, env=self.env).stdout

    def start(self):
        out = open(os.path.join(self.base, 'server.out'), 'a')
        self.proc = subprocess.Popen(['rabbitmq-server'], env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        wait_for(lambda: subprocess.run(
            ['rabbitmqctl', '-n', self.node, 'await_startup', '-t', '2'],
            capture_output=True, env=self.env).returncode == 0, 90,
            interval=0.5, what='private RabbitMQ node')
        return self

    def stop(self):
        self.ctl('stop', check=False, timeout=120)
        if self.proc is not None:
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
            self.proc = None

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)

    def queues(self):
        out = self.ctl('list_queues', '-q', '--no-table-headers', 'name',
                       'messages', 'durable')
        result = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                result[parts[0]] = (int(parts[1]), parts[2] == 'true')
        return result
