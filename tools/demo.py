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
   EventsCoordination, ConsistencyEnforcer) and processor run on Vitrage's
   own mock data, with vitrage-persistor's collector hook installed.
2. The hook publishes every event to the ``vitrage_persistor`` topic on
   the local RabbitMQ (127.0.0.1:5672), or on oslo.messaging's in-process
   ``fake://`` transport when no broker answers; the output says which.
3. The persistor agent's service consumes the topic in batches into
   SQLite under the demo's state directory.
4. The graph is then rebuilt with ``vitrage-persistor-replay`` at two
   times, diffed, and drawn to SVG and HTML files (tools/demo.sh).

Usage: python tools/demo.py STATE_DIR
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


def write_config(state_dir: str, url: str) -> str:
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
                '[replay]\n'
                '# the values files the live processor used (they ship in '
                'vitrage\'s test resources)\n'
                'datasources_values_dir = %s\n'
                % (state_dir, url, os.path.join(state_dir, 'demo.log'),
                   TOPIC, os.path.join(harness.RES, 'datasources_values')))
    return path


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit('demo: timed out waiting for %s' % what)
        time.sleep(0.2)


def main(state_dir: str) -> int:
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
    conf_file = write_config(state_dir, url)
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
    vitrage_conf = harness.configure_vitrage()
    # Vitrage logs its own complaints about the mock cloud (no aodhclient,
    # a static router without a state); they are not the demo's business.
    logging.getLogger('vitrage').setLevel(logging.CRITICAL)
    hooks = hooks_install.install(conf, transport=transport,
                                  register_atexit=False)
    try:
        pipeline = harness.Pipeline(harness.FakeCloud(scale=2),
                                    record=False)
        pipeline.init_snapshot()
        pipeline.get_changes()
        pipeline.push(2)
        hooks.flush(60)
        time.sleep(0.01)
        t1 = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        time.sleep(0.01)
        pipeline.snapshot()
        # a pushed instance.delete.end, then a poll after one VM and one
        # volume vanished (driver_exec's outdated-entity deletes)
        pipeline.delete_some()
        hooks.flush(60)
        t2 = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        published = sum(s['enqueued'] for s in hooks.stats().values())
        print('vitrage: processed %d events through its real drivers and '
              'processor; the collector hook published %d' % (
                  published, published))
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
    store.dispose()
    with open(os.path.join(state_dir, 'times.json'), 'w') as f:
        json.dump({'config': conf_file,
                   't1': wire.format_timestamp(t1),
                   't2': wire.format_timestamp(t2)}, f)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'demo-state'))
