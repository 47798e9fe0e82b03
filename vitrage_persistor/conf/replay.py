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

"""``[replay]``: rebuilding the entity graph from stored events."""

from oslo_config import cfg

GROUP = 'replay'

OPTS = [
    cfg.StrOpt(
        'processor',
        default='vitrage',
        choices=[('vitrage', "Vitrage's own entity-graph processor")],
        help='Which processor applies events during replay. There is one: '
             'Vitrage\'s own (the [vitrage] extra), which builds exactly '
             'the graph vitrage-graph would have.'),
    cfg.StrOpt(
        'datasources_values_dir',
        default='/etc/vitrage/datasources_values',
        help='Directory of Vitrage\'s datasources_values YAML files. The '
             'vitrage wheel does not ship them; deployers have them under '
             '/etc/vitrage and the vitrage sdist has them under '
             'etc/vitrage/datasources_values.'),
    cfg.IntOpt(
        'page_size',
        default=2000,
        min=1,
        help='Events read per database round trip while replaying. Memory '
             'use is bounded by this, whatever the history length.'),
    cfg.ListOpt(
        'datasource_types',
        default=['nova.host', 'nova.instance', 'nova.zone', 'cinder.volume',
                 'neutron.port', 'neutron.network', 'static', 'aodh',
                 'doctor', 'nagios', 'collectd', 'heat.stack', 'kapacitor',
                 'monasca', 'prometheus', 'trove.instance', 'trove.cluster',
                 'zabbix'],
        help='Datasource types whose transformers replay loads, i.e. '
             'vitrage-graph\'s [datasources] types. Set it to the same list '
             'as the vitrage-graph whose events are stored: a type missing '
             'here makes its events fail to apply, and a listed type with '
             'no datasources_values yaml gets the state "undefined '
             'datasource", exactly as in vitrage-graph.'),
    cfg.FloatOpt(
        'poll_interval',
        default=0.1,
        min=0.01,
        help='Seconds the warm standby (follow) sleeps when the event '
             'table has nothing new. Lower means less lag and more '
             'queries.'),
    cfg.FloatOpt(
        'gap_timeout',
        default=30.0,
        min=0,
        help='Seconds the warm standby keeps looking for an event id that '
             'was skipped (a transaction that committed after a later id, '
             'or an id burnt by a duplicate). After this the gap is taken '
             'as permanent.'),
    cfg.StrOpt(
        'dump_path',
        default='$state_path/replay/current-graph.json',
        help='Where the warm standby writes its current graph (JSON '
             'snapshot form) on SIGUSR1, and when it stops, so that a '
             'failover or the API can read it at once.'),
    cfg.StrOpt(
        'status_path',
        default='$state_path/replay/follow-status.json',
        help='Where the warm standby writes its position and lag, '
             'rewritten at most once a second.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
