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

"""``[api]``: the read-only REST API."""

from oslo_config import cfg

GROUP = 'api'

OPTS = [
    cfg.StrOpt(
        'auth_strategy',
        default='keystone',
        choices=[('keystone', 'validate tokens with keystonemiddleware'),
                 ('noauth', 'no authentication; for development only')],
        help='How API requests are authenticated.'),
    cfg.HostAddressOpt(
        'host',
        default='127.0.0.1',
        help='Address the standalone development server binds to. '
             'Production runs the WSGI application under a real server.'),
    cfg.PortOpt(
        'port',
        default=8998,
        help='Port of the standalone development server. Not 8999: that '
             'is vitrage-api\'s, often on the same controller. Under '
             'uWSGI the port is uWSGI\'s setting (devstack uses this '
             'value there too).'),
    cfg.IntOpt(
        'max_limit',
        default=1000,
        min=1,
        help='Largest page of events one request may return.'),
    cfg.IntOpt(
        'page_layout_max_vertices',
        default=1500,
        min=0,
        help='Largest graph (in vertices, deleted ones included) that the '
             'HTML pages (/v1/history and /v1/graph?format=html) lay out '
             'with Graphviz\'s dot on the server. dot\'s time grows '
             'faster than the graph, so above this the page gets no '
             'positions and the browser lays the graph out with '
             'cytoscape.js (a grid above 5000 vertices). 0 never runs dot '
             'for a page.'),
    cfg.BoolOpt(
        'keep_snapshot_graph',
        default=True,
        help='Keep the graph of the last snapshot a question was replayed '
             'from in memory, so that the next question on the same '
             'snapshot, or on a later one of its chain, copies it (and '
             'applies the deltas in between) instead of decoding and '
             'building the snapshot again: several times faster on a '
             'large graph. It costs one more graph in memory per API '
             'process (about 5 MB per 1,000 vertices, see replay.rst).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
