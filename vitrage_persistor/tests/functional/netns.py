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

"""Agent hosts: each one a network namespace with its own address.

A :class:`Host` is what a deployment's agent host is, as far as the
network goes: its own network stack (``ip netns``), one link to the
controller (a veth pair: ``10.<p>.<n>.1`` on the controller's side,
``10.<p>.<n>.2`` inside, ``p`` from the test process's pid so that
parallel test workers don't share a subnet), and nothing else. The
broker and the database listen on 127.0.0.1 on this machine, which a
namespace can't reach, so
each host gets its own :class:`~fixtures.TcpProxy` per server, bound to
its link's controller-side address: all of that host's traffic crosses
its veth, and :meth:`Host.cut` (the veth down) cuts that host off and
nobody else, as a pulled cable or a dead switch port would.

Needs root (``CAP_NET_ADMIN``) and iproute2; CI runs as root. Everything
the fixture makes is named after the test process and removed at
cleanup.
"""

import os
import shutil
import subprocess

import fixtures
import sqlalchemy as sa

from vitrage_persistor.tests.functional import fixtures as vp_fixtures

SUBNET = '10.%d.%d.%d'


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(['ip', *args], capture_output=True, text=True,
                          timeout=30, check=check)


def unavailable() -> str | None:
    """Why namespaces can't be made here, or None."""
    if shutil.which('ip') is None:
        return 'iproute2 (the ip command) is not installed'
    if os.geteuid() != 0:
        return 'network namespaces need root (CAP_NET_ADMIN)'
    probe = 'vpprobe%d' % os.getpid()
    made = _ip('netns', 'add', probe, check=False)
    if made.returncode != 0:
        return 'ip netns add failed: %s' % made.stderr.strip()
    _ip('netns', 'del', probe, check=False)
    return None


class Host(fixtures.Fixture):
    """One agent host; ``.wrapper`` runs a command on it."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index
        tag = '%d' % (os.getpid() % 100000)
        self.netns = 'vp%sh%d' % (tag, index)
        self.veth = 'vp%sv%d' % (tag, index)    # controller side
        self.peer = 'vp%sp%d' % (tag, index)    # inside the namespace
        octet = 100 + os.getpid() % 150
        self.gateway = SUBNET % (octet, index, 1)
        self.address = SUBNET % (octet, index, 2)
        self.wrapper = ('ip', 'netns', 'exec', self.netns)
        self._proxies = []

    def _setUp(self):
        # leftovers of a killed run with the same pid
        _ip('netns', 'del', self.netns, check=False)
        _ip('link', 'del', self.veth, check=False)
        _ip('netns', 'add', self.netns)
        self.addCleanup(_ip, 'netns', 'del', self.netns, check=False)
        _ip('link', 'add', self.veth, 'type', 'veth', 'peer', 'name',
            self.peer)
        # deleting one end deletes the pair
        self.addCleanup(_ip, 'link', 'del', self.veth, check=False)
        _ip('link', 'set', self.peer, 'netns', self.netns)
        _ip('addr', 'add', self.gateway + '/30', 'dev', self.veth)
        _ip('link', 'set', self.veth, 'up')
        inside = ('netns', 'exec', self.netns, 'ip')
        _ip(*inside, 'addr', 'add', self.address + '/30', 'dev', self.peer)
        _ip(*inside, 'link', 'set', self.peer, 'up')
        _ip(*inside, 'link', 'set', 'lo', 'up')
        _ip(*inside, 'route', 'add', 'default', 'via', self.gateway)

    def proxy(self, url: str, default_port: int,
              fallbacks: tuple[tuple[str, int], ...] = ()
              ) -> tuple[str, 'object']:
        """``url`` as this host reaches it, through a proxy on its link.

        Returns ``(url for this host, the proxy)``; the proxy is started
        and closed at cleanup. ``fallbacks``: servers the proxy connects
        to, in turn, when ``url``'s refuses (see
        :class:`~fixtures.TcpProxy`), as a local haproxy with backup
        servers would.
        """
        parsed = sa.engine.make_url(url)
        proxy = vp_fixtures.TcpProxy(parsed.host or '127.0.0.1',
                                     parsed.port or default_port,
                                     listen_host=self.gateway,
                                     fallbacks=fallbacks).start()
        self.addCleanup(proxy.close)
        self._proxies.append(proxy)
        moved = parsed.set(host=self.gateway, port=proxy.port)
        return moved.render_as_string(hide_password=False), proxy

    def rabbit_url(self, url: str) -> tuple[str, list]:
        """A ``rabbit://`` transport URL as this host reaches it.

        A URL listing several nodes (``rabbit://u:p@h1:p1,u:p@h2:p2/vh``,
        a cluster) gets one proxy per node on this host's link, listed in
        the same order. Returns ``(url for this host, [proxies])``.
        """
        scheme, rest = url.split('://', 1)
        nodes, slash, vhost = rest.partition('/')
        moved, proxies = [], []
        for node in nodes.split(','):
            creds, _, address = node.rpartition('@')
            host, _, port = address.partition(':')
            proxy = vp_fixtures.TcpProxy(host or '127.0.0.1',
                                         int(port or 5672),
                                         listen_host=self.gateway).start()
            self.addCleanup(proxy.close)
            self._proxies.append(proxy)
            proxies.append(proxy)
            moved.append('%s%s:%d' % (creds + '@' if creds else '',
                                      self.gateway, proxy.port))
        return '%s://%s%s%s' % (scheme, ','.join(moved), slash,
                                vhost), proxies

    def cut(self) -> None:
        """Take the host's link down: its packets go nowhere."""
        _ip('link', 'set', self.veth, 'down')

    def restore(self) -> None:
        """Bring the link back, with its address and the host's route."""
        _ip('link', 'set', self.veth, 'up')
        # the controller side's address survives a down/up; the route in
        # the namespace went with the link and comes back with it, but an
        # explicit replace keeps this independent of the kernel's choice
        _ip('netns', 'exec', self.netns, 'ip', 'route', 'replace',
            'default', 'via', self.gateway)
