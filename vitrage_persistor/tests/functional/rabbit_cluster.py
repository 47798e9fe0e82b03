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

"""The three-node RabbitMQ cluster of ``tools/rabbitmq-cluster.sh``.

Used by the cluster's functional tests and ``tools/bench/rabbit_cluster.
py``: start it, add a vhost, find the node that leads a quorum queue,
crash or restart nodes. Every call goes through the script, so the tests
exercise what operators and CI run.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, 'tools', 'rabbitmq-cluster.sh')
QUEUE = 'vitrage_persistor.sample'


class ClusterError(RuntimeError):
    """The cluster script failed."""


class RabbitCluster:
    """Three RabbitMQ nodes of our own; ``name``/``port`` as the script's.

    The directory is made under /tmp with mode 0755: the nodes run as the
    rabbitmq user, which cannot enter a test's private temporary
    directory.
    """

    def __init__(self, name: str = 'rabbit-vp', port: int = 25674):
        self.name = name
        self.port = port
        self.dir = None
        self.env = dict(os.environ, VP_RABBIT_CLUSTER_NAME=name,
                        VP_RABBIT_CLUSTER_PORT=str(port))

    def _run(self, *args, timeout=300, check=True):
        result = subprocess.run(['bash', SCRIPT, *args], env=self.env,
                                capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise ClusterError('%s %s failed (%d): %s' % (
                SCRIPT, ' '.join(args), result.returncode,
                (result.stderr or result.stdout).strip()[-2000:]))
        return result.stdout

    def start(self) -> 'RabbitCluster':
        self.dir = tempfile.mkdtemp(prefix='vp-rmq-cluster-')
        os.chmod(self.dir, 0o755)
        try:
            self._run('start', self.dir)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.dir is None:
            return
        self._run('stop', self.dir, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def node(self, n: int) -> str:
        return '%s%d@localhost' % (self.name, n)

    def number(self, node: str) -> int:
        return int(node.split('@')[0][len(self.name):])

    def ctl(self, n: int, *args, timeout=120, check=True) -> str:
        return self._run('ctl', self.dir, str(n), *args, timeout=timeout,
                         check=check)

    def running(self, n: int) -> bool:
        return bool(self._run('pid', self.dir, str(n), check=False).strip())

    def any_running(self) -> int:
        for n in (1, 2, 3):
            if self.running(n):
                return n
        raise ClusterError('no node of the cluster is running')

    def ctl_any(self, *args, timeout=120) -> str:
        """rabbitmqctl on the first running node that answers."""
        last = ClusterError('no node of the cluster is running')
        for n in (1, 2, 3):
            if self.running(n):
                try:
                    return self.ctl(n, *args, timeout=timeout)
                except ClusterError as exc:
                    last = exc  # going down or not up yet: the next one
        raise last

    def kill(self, n: int) -> None:
        """kill -9 node ``n``: a crash, no goodbye to its peers."""
        self._run('kill', self.dir, str(n))

    def stop_node(self, n: int) -> None:
        """A clean stop of node ``n`` (``rabbitmqctl stop``)."""
        self.ctl(n, 'stop')

    def start_node(self, n: int) -> None:
        """Start node ``n`` again and wait until it runs; it rejoins."""
        self._run('start-node', self.dir, str(n))

    def status(self) -> bool:
        out = self._run('status', self.dir, check=False)
        return out.rstrip().endswith('3 of 3 nodes running')

    def wait_all_running(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.status():
            if time.monotonic() > deadline:
                raise ClusterError('the cluster did not get its three nodes '
                                   'back in %ss' % timeout)
            time.sleep(1)

    def url(self, vhost: str = '') -> str:
        hosts = ','.join('guest:guest@127.0.0.1:%d' % (self.port + i)
                         for i in range(3))
        return 'rabbit://%s/%s' % (hosts, vhost)

    def add_vhost(self, vhost: str | None = None) -> str:
        vhost = vhost or 'vp-cluster-%s' % uuid.uuid4().hex[:12]
        n = self.any_running()
        self.ctl(n, 'add_vhost', vhost)
        self.ctl(n, 'set_permissions', '-p', vhost, 'guest', '.*', '.*',
                 '.*')
        return vhost

    def delete_vhost(self, vhost: str) -> None:
        if self.dir is not None:
            self.ctl(self.any_running(), 'delete_vhost', vhost, check=False)

    def queues(self, vhost: str) -> dict[str, dict]:
        """``{name: {'type', 'messages', 'leader', 'members'}}``."""
        out = self.ctl_any('list_queues', '-q', '--formatter', 'json',
                           '-p', vhost, 'name', 'type', 'messages',
                           'leader', 'members')
        import json
        return {q['name']: q for q in json.loads(out or '[]')}

    def leader(self, vhost: str, queue: str = QUEUE) -> int:
        """The number of the node that leads ``queue`` now."""
        leader = self.queues(vhost)[queue]['leader']
        return self.number(leader)

    def consumer_nodes(self, vhost: str, queue: str = QUEUE) -> list[int]:
        """The nodes that the consumers of ``queue`` are connected to."""
        out = self.ctl_any('list_consumers', '-q', '--no-table-headers',
                           '-p', vhost, 'queue_name', 'channel_pid')
        nodes = []
        for line in out.splitlines():
            parts = line.split()
            # a channel pid names its node: <rabbit-vp2@localhost.1.2.3>
            if len(parts) == 2 and parts[0] == queue:
                node = parts[1].lstrip('<').split('@')[0] + '@localhost'
                nodes.append(self.number(node))
        return nodes

    def set_dead_letter_policy(self, vhost: str) -> None:
        script = os.path.join(REPO, 'tools', 'rabbitmq-dead-letter-policy.sh')
        env = dict(self.env, RABBITMQCTL='bash %s ctl %s %d' % (
            SCRIPT, self.dir, self.any_running()),
            DEAD_LETTER_STRATEGY='at-least-once')
        result = subprocess.run(['bash', script, vhost], env=env,
                                capture_output=True, text=True, timeout=120,
                                check=False)
        if result.returncode != 0:
            raise ClusterError('%s failed: %s' % (script, result.stderr))
