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

"""A separate publisher process, as vitrage-graph's hooks would be.

Run as ``python -m vitrage_persistor.tests.functional.persistor.publisher
--url URL --start S --count N [--mode good|malformed|bundles|vitrage-info]``.
It publishes through ``oslo_messaging.Notifier(driver='messagingv2')`` at
priority ``sample`` with our envelope, one notification per event (but in
``bundles`` mode), and prints ``published <n>`` when done.
"""

import argparse
import datetime
import socket
import sys
import time
import uuid
import warnings

warnings.filterwarnings('ignore')

import oslo_messaging  # noqa: E402
from oslo_config import cfg  # noqa: E402

from vitrage_persistor import wire  # noqa: E402
from vitrage_persistor.persistor import transport  # noqa: E402
from vitrage_persistor.tests.functional.persistor import events  # noqa


def _now():
    return datetime.datetime.now(datetime.UTC)


def malformed_messages(start: int, max_payload_bytes: int):
    """``(expected reason, event_type, payload)`` for every bad kind."""
    good = events.make_event
    ev = wire.event_type('driver')
    no_type = good(start + 5)
    del no_type['vitrage_entity_type']
    int_type = good(start + 6)
    int_type['vitrage_entity_type'] = 5
    big = good(start + 7)
    big['blob'] = 'x' * (max_payload_bytes + 10)
    nan = good(start + 8)
    nan['metric'] = float('nan')
    inf = good(start + 9)
    inf['metric'] = float('inf')
    surrogate = good(start + 10)
    surrogate['name'] = 'bad \ud800 text'
    return [
        ('not_a_dict', ev, wire.wrap(['a', 'list'], _now(), 1)),
        ('not_a_dict', ev, 'a bare string payload'),
        ('missing_timestamp', ev, {wire.ENVELOPE_KEY: 1, 'sequence': 3,
                                   'event': good(start + 3)}),
        ('bad_timestamp', ev, {wire.ENVELOPE_KEY: 1, 'sequence': 4,
                               'collector_timestamp': 'yesterday-ish',
                               'event': good(start + 4)}),
        ('bad_entity_type', ev, wire.wrap(no_type, _now(), 5)),
        ('bad_entity_type', ev, wire.wrap(int_type, _now(), 6)),
        ('oversized', ev, wire.wrap(big, _now(), 7)),
        ('nan_or_infinity', ev, wire.wrap(nan, _now(), 8)),
        ('nan_or_infinity', ev, wire.wrap(inf, _now(), 9)),
        ('unencodable', ev, wire.wrap(surrogate, _now(), 10)),
        ('wrong_event_type', 'compute.instance.create.end',
         wire.wrap(good(start + 11), _now(), 11)),
    ]


def bundles(publisher_id: str, start: int, count: int, per_message: int):
    """Bundle payloads carrying every event twice, plus two bad items.

    The events go out in bundles of ``per_message``, then again in bundles
    cut at other places (what a restarted sender does with events it was
    not sure were sent), then a bundle of two of them around a non-dict
    item and an item without an entity type.
    """
    items = [wire.wrap_item(events.make_event(i), _now(), i,
                            wire.message_id(publisher_id, i))
             for i in range(start, start + count)]
    out = [items[k:k + per_message]
           for k in range(0, count, per_message)]
    shift = max(1, per_message // 2)
    out += [items[:shift]] + [items[k:k + per_message]
                              for k in range(shift, count, per_message)]
    no_type = events.make_event(start + count)
    del no_type['vitrage_entity_type']
    out.append([items[0], 'not an item',
                wire.wrap_item(no_type, _now(), start + count,
                               wire.message_id(publisher_id,
                                               start + count)),
                items[-1]])
    return [wire.wrap_bundle(bundle) for bundle in out]


def make_notifier(url: str, topic: str, durable: bool, publisher_id: str,
                  exchange: str | None = None):
    conf = cfg.ConfigOpts()
    transport.set_defaults(conf)
    conf([], project='vp-test-publisher', default_config_files=[])
    if exchange:
        conf.set_override('control_exchange', exchange)
    conf.set_override('transport_url', url)
    conf.set_override('amqp_durable_queues', durable,
                      group='oslo_messaging_rabbit')
    trans = oslo_messaging.get_notification_transport(conf)
    return oslo_messaging.Notifier(trans, driver='messagingv2',
                                   publisher_id=publisher_id,
                                   topics=[topic], retry=-1)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--topic', default='vitrage_persistor')
    parser.add_argument('--start', type=int, default=0)
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--mode', default='good',
                        choices=['good', 'malformed', 'bundles',
                                 'vitrage-info'])
    parser.add_argument('--per-message', type=int, default=1,
                        help='events per notification: bundles of this '
                             'many in --mode good (1: no bundles) and '
                             'bundles (at least 2)')
    parser.add_argument('--non-durable', action='store_true')
    parser.add_argument('--exchange', default=None,
                        help='control_exchange ("vitrage" for what '
                             'vitrage-graph publishes)')
    parser.add_argument('--max-payload-bytes', type=int, default=4096)
    parser.add_argument('--rate', type=float, default=0,
                        help='events/s, 0 = as fast as possible')
    parser.add_argument('--publisher-id', default=None,
                        help='fixed publisher id: two runs with the same one '
                             'and --per-message > 1 send the same message '
                             'ids (default: a new one per run)')
    args = parser.parse_args(argv)
    publisher_id = args.publisher_id or 'vitrage.persistor.driver.%s.%s' % (
        socket.gethostname(), uuid.uuid4().hex[:8])
    notifier = make_notifier(args.url, args.topic, not args.non_durable,
                             publisher_id, args.exchange)
    hook_type = wire.event_type('driver')
    sent = 0
    t0 = time.monotonic()
    if args.mode == 'good' and args.per_message > 1:
        per = args.per_message
        for first in range(args.start, args.start + args.count, per):
            last = min(first + per, args.start + args.count)
            notifier.sample({}, hook_type, wire.wrap_bundle([
                wire.wrap_item(events.make_event(i), _now(), i,
                               wire.message_id(publisher_id, i))
                for i in range(first, last)]))
            sent += last - first
    elif args.mode == 'good':
        for i in range(args.start, args.start + args.count):
            notifier.sample({}, hook_type,
                            wire.wrap(events.make_event(i), _now(), i))
            sent += 1
            if args.rate:
                delay = t0 + sent / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    elif args.mode == 'malformed':
        bad = malformed_messages(args.start, args.max_payload_bytes)
        for i in range(args.count):
            seq = args.start + i
            notifier.sample({}, hook_type,
                            wire.wrap(events.make_event(seq), _now(),
                                      seq))
            sent += 1
            if i < len(bad):
                _reason, event_type, payload = bad[i]
                notifier.sample({}, event_type, payload)
                sent += 1
    elif args.mode == 'bundles':
        for payload in bundles(publisher_id, args.start, args.count,
                               max(2, args.per_message)):
            notifier.sample({}, hook_type, payload)
            sent += 1
    else:  # what vitrage-graph's PersistNotifier sends
        for i in range(args.start, args.start + args.count):
            notifier.info({}, 'vitrage.alarm.activate', {
                'vitrage_id': 'vp-alarm-%d' % i, 'name': 'alarm %d' % i,
                'vitrage_type': 'nagios', 'vitrage_category': 'ALARM',
                'vitrage_operational_severity': 'CRITICAL',
                'vitrage_aggregated_severity': 'CRITICAL',
                'vitrage_resource_type': 'nova.host',
                'vitrage_resource_id': 'host-%d' % i, 'project_id': None,
                'update_timestamp': str(_now())})
            sent += 1
    print('published %d in %.1fs' % (sent, time.monotonic() - t0))
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
