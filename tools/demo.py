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

"""The main job, end to end on its defaults (run by tools/demo.sh).

1. Vitrage 15.0.1's real drivers, collector path (driver_exec,
   EventsCoordination, ConsistencyEnforcer), processor and evaluator run
   on Vitrage's own mock data, with vitrage-persistor's collector hook
   installed and the demo templates loaded
   (``vitrage_persistor/demo/templates``). The story: the cloud is
   polled, then host-1 goes down (a nagios check turns CRITICAL, doctor
   reports the host down, aodh fires on one of its instances), the
   evaluator marks the host down, raises ``instance_down`` and
   ``instance_degraded`` alarms on its instances and links each to its
   cause; then the alarms clear and the evaluator takes it all back.
2. The hook publishes every event to the ``vitrage_persistor`` topic on
   the local RabbitMQ (127.0.0.1:5672), or on oslo.messaging's in-process
   ``fake://`` transport when no broker answers; the output says which.
3. The persistor agent's service consumes the topic in batches into
   SQLite under the demo's state directory.
4. The graph is then rebuilt with ``vitrage-persistor-replay`` before,
   during and after the incident, diffed, the root cause of an instance
   alarm is read from the graph during the incident, and the graphs are
   drawn to SVG and HTML files (tools/demo.sh).

Usage: python tools/demo.py STATE_DIR VALUES_DIR

VALUES_DIR holds Vitrage's production datasources_values (fetched by
tools/fetch-datasources-values.sh); the live processor and replay both
use it, so states, severities and colours are what a deployment shows.
"""

import datetime
import json
import logging
import os
import socket
import sys
import time

# isort: off
# The threading backend must be chosen before oslo.messaging (which imports
# oslo.service) is imported; keep this first.
from vitrage_persistor import oslo_backend

oslo_backend.use_threading()
# isort: on

import oslo_messaging  # noqa: E402

from vitrage_persistor import service, wire  # noqa: E402
from vitrage_persistor.demo import harness  # noqa: E402
from vitrage_persistor.persistor import service as agent_service  # noqa
from vitrage_persistor.publish.hooks import install as hooks_install  # noqa
from vitrage_persistor.storage import api as storage_api  # noqa: E402
from vitrage_persistor.storage import migration  # noqa: E402

TOPIC = 'vitrage_persistor_demo'


def broker_url() -> str | None:
    if os.environ.get('VP_DEMO_TRANSPORT') == 'fake':
        return None
    try:
        with socket.create_connection(('127.0.0.1', 5672), timeout=2):
            return 'rabbit://guest:guest@127.0.0.1:5672/'
    except OSError:
        return None


def write_config(state_dir: str, url: str, values_dir: str) -> str:
    path = os.path.join(state_dir, 'vitrage-persistor.conf')
    with open(path, 'w') as f:
        f.write('[DEFAULT]\n'
                'state_path = %s\n'
                'transport_url = %s\n'
                'log_file = %s\n'
                '[persistor]\n'
                '# a demo topic, so a real deployment\'s queue is never '
                'touched\n'
                'topic = %s\n'
                'batch_timeout = 0.2\n'
                'stats_interval = 0\n'
                '[persistor_hooks]\n'
                'hooks = collector\n'
                '[api]\n'
                '# a local demo: no Keystone; only 127.0.0.1 can reach it\n'
                'auth_strategy = noauth\n'
                '[replay]\n'
                '# the values files the live processor used: Vitrage\'s '
                'production ones\n'
                'datasources_values_dir = %s\n'
                % (state_dir, url, os.path.join(state_dir, 'demo.log'),
                   TOPIC, values_dir))
    return path


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit('demo: timed out waiting for %s' % what)
        time.sleep(0.2)


def now() -> datetime.datetime:
    """A cut between two chapters: a clear gap on both sides."""
    time.sleep(0.01)
    value = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    time.sleep(0.01)
    return value


def deduced_alarms(graph) -> list[dict]:
    """Alive deduced alarms and the resource each is on."""
    found = []
    for vertex in graph.get_vertices():
        if (vertex.get('vitrage_type') == 'vitrage' and
                not vertex.get('vitrage_is_deleted')):
            on = [graph.get_vertex(e.target_id)
                  for e in graph.get_edges(vertex.vertex_id)
                  if e.label == 'on' and e.source_id == vertex.vertex_id]
            found.append({'id': vertex.vertex_id, 'name': vertex.get('name'),
                          'on': on[0].get('name') if on else None})
    return sorted(found, key=lambda a: (a['name'], a['on'] or ''))


def main(state_dir: str, values_dir: str) -> int:
    os.makedirs(state_dir, exist_ok=True)
    url = broker_url()
    if url:
        print('transport: RabbitMQ on 127.0.0.1:5672 (topic %s, queue '
              '%s.%s)' % (TOPIC, TOPIC, wire.PRIORITY))
    else:
        url = 'fake://'
        print('transport: no RabbitMQ answers on 127.0.0.1:5672, so the '
              'demo uses oslo.messaging\'s in-process fake:// transport '
              '(nothing leaves this process)')
    conf_file = write_config(state_dir, url, values_dir)
    conf = service.make_conf()
    agent_service.transport_mod.set_defaults(conf)
    service.prepare_service(['--config-file', conf_file], conf=conf)

    store = storage_api.Store.from_conf(conf)
    migration.upgrade(store)
    print('database: %s (schema %s)' % (
        conf.database.connection, migration.current(store)))

    transport = oslo_messaging.get_notification_transport(conf)
    agent = agent_service.PersistorService(conf, transport=transport)
    agent.start()
    vitrage_conf = harness.configure_vitrage(values_dir)
    # Vitrage logs its own complaints about the mock cloud (no aodhclient,
    # a static router without a state); they are not the demo's business.
    logging.getLogger('vitrage').setLevel(logging.CRITICAL)
    hooks = hooks_install.install(conf, transport=transport,
                                  register_atexit=False)
    times = {'config': conf_file}
    try:
        pipeline = harness.Pipeline(harness.FakeCloud(scale=2),
                                    record=False,
                                    templates=[harness.TEMPLATES])
        print('vitrage: evaluator templates %s' % ', '.join(
            pipeline.evaluation.templates))
        pipeline.init_snapshot()
        pipeline.get_changes()
        pipeline.push(2)
        hooks.flush(60)
        times['t1'] = now()
        print('chapter 1, %s: the cloud polled, notifications pushed; '
              '%d vertices' % (wire.format_timestamp(times['t1']),
                               pipeline.graph.num_vertices()))
        pipeline.incident('host-1')
        hooks.flush(60)
        times['t2'] = now()
        alarms = deduced_alarms(pipeline.graph)
        print('chapter 2, %s: host-1 goes down (nagios Check_MK CRITICAL, '
              'doctor compute.host.down, aodh instance_errors on %s); the '
              'evaluator deduced %d alarms: %s' % (
                  wire.format_timestamp(times['t2']),
                  pipeline.instances_on('host-1')[0]['name'], len(alarms),
                  ', '.join('%s on %s' % (a['name'], a['on'])
                            for a in alarms)))
        # the instance_down alarm on the instance aodh fired on too
        first_vm = pipeline.instances_on('host-1')[0]['name']
        down = sorted((a for a in alarms if a['name'] == 'instance_down'),
                      key=lambda a: a['on'] != first_vm)
        times['alarm'] = down[0]['id']
        times['alarm_on'] = down[0]['on']
        pipeline.recovery('host-1')
        hooks.flush(60)
        times['t3'] = now()
        print('chapter 3, %s: the alarms clear and the evaluator takes back '
              'what it deduced: %d deduced alarms left' % (
                  wire.format_timestamp(times['t3']),
                  len(deduced_alarms(pipeline.graph))))
        published = sum(s['enqueued'] for s in hooks.stats().values())
        print('vitrage: %d events through its real drivers, processor and '
              'evaluator (%d evaluator notifications); the collector hook '
              'published %d' % (published,
                                pipeline.evaluation.notifications,
                                published))
        wait_until(lambda: store.event_counts()['count'] >= published, 120,
                   '%d events in the event table' % published)
    finally:
        hooks.stop(30)
        hooks.uninstall()
        vitrage_conf.cleanUp()
        agent.stop()
        transport.cleanup()
    counts = store.event_counts()
    print('persistor: stored %d events (ids %s..%s), %d quarantined' % (
        counts['count'], counts['min_id'], counts['max_id'],
        sum(store.quarantine_summary().values())))
    # "after" is the last stored event itself: a time past the newest
    # event makes the replay command warn that history ends earlier
    times['t3'] = min(times['t3'], counts['newest'])
    store.dispose()
    for key in ('t1', 't2', 't3'):
        times[key] = wire.format_timestamp(times[key])
    with open(os.path.join(state_dir, 'times.json'), 'w') as f:
        json.dump(times, f)
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: python tools/demo.py STATE_DIR VALUES_DIR')
    sys.exit(main(sys.argv[1], sys.argv[2]))
