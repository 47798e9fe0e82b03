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

"""Push a doctor event to vitrage-graph; wait for the API to serve it.

Used by tools/devstack-harness.sh:

    harness_vitrage_graph_event.py VITRAGE_CONF GRAPH_LOG API_URL

Waits for vitrage-graph's "Init Finished", publishes the notification a
Doctor monitor would on vitrage-graph's notification topic (exchange
``vp_harness``, which the harness sets as ``[datasources]
notification_exchange``), then polls the API until the stored event comes
back with its payload.
"""

import json
import sys
import time
import urllib.request

import oslo_messaging
from oslo_config import cfg

EVENT_ID = 'harness-1'


def read(path: str) -> str:
    with open(path, errors='replace') as f:
        return f.read()


def wait_for_graph(graph_log: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while 'Init Finished' not in read(graph_log):
        if time.monotonic() > deadline:
            sys.exit('vitrage-graph did not start:\n'
                     + read(graph_log)[-3000:])
        time.sleep(1)


def push(vitrage_conf: str) -> None:
    conf = cfg.ConfigOpts()
    conf(['--config-file', vitrage_conf], project='vitrage')
    oslo_messaging.set_transport_defaults('vp_harness')
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(transport, 'harness.monitor',
                                       driver='messagingv2',
                                       topics=['vitrage_notifications'])
    now = time.strftime('%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime())
    notifier.info({}, 'vitrage.custom.event.down', {
        'time': now, 'type': 'compute.host.down',
        'details': {'hostname': 'harness-host-1', 'source': 'harness',
                    'cause': 'link-down', 'severity': 'critical',
                    'status': 'down', 'monitor_id': 'harness-monitor',
                    'monitor_event_id': EVENT_ID}})
    transport.cleanup()


def served(api: str, graph_log: str, timeout: float = 120) -> dict:
    if not api.startswith('http://'):
        sys.exit('not an http URL: %s' % api)
    deadline = time.monotonic() + timeout
    while True:
        url = api + '/v1/events?entity_type=doctor'
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
            events = json.load(resp)['events']
        mine = [e for e in events if e['payload'].get('details', {}).get(
            'monitor_event_id') == EVENT_ID]
        if mine:
            return mine[0]
        if time.monotonic() > deadline:
            sys.exit('the event pushed to vitrage-graph was not served by '
                     'the API; vitrage-graph log:\n' + read(graph_log)[-3000:])
        time.sleep(1)


def main() -> None:
    vitrage_conf, graph_log, api = sys.argv[1:4]
    wait_for_graph(graph_log)
    push(vitrage_conf)
    event = served(api, graph_log)
    print('vitrage-graph event stored and served: event %d, %s on %s, '
          'published by %s' % (event['id'], event['event_type'],
                               event['payload']['details']['hostname'],
                               event['publisher_id']))


if __name__ == '__main__':
    main()
