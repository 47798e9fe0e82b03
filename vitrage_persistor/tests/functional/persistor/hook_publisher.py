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

"""vitrage-graph's publisher in a process of its own, for broker faults.

Run as ``python -m vitrage_persistor.tests.functional.persistor.
hook_publisher --url URL --start S --count N [--rate R] [--quorum]
[--events-per-message E]``. It
publishes through :class:`vitrage_persistor.publish.publisher.Publisher`,
what the hooks run inside vitrage-graph (a sender process, bundles,
publisher confirms, resending what was not confirmed), configured only by
``[persistor_hooks]`` options, then flushes and prints one JSON line:
``{"published": n, "dropped": .., "abandoned": .., "send_errors": ..,
"flushed": bool, "seconds": ..}``.
"""

import argparse
import json
import sys
import time
import warnings

warnings.filterwarnings('ignore')

from vitrage_persistor import service  # noqa: E402
from vitrage_persistor.publish import publisher as publisher_mod  # noqa
from vitrage_persistor.tests.functional.persistor import events  # noqa


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--start', type=int, default=0)
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--rate', type=float, default=0,
                        help='events/s, 0 = as fast as possible')
    parser.add_argument('--quorum', action='store_true',
                        help='[persistor_hooks] rabbit_quorum_queue = true')
    parser.add_argument('--events-per-message', type=int, default=0,
                        help='[persistor_hooks] events_per_message '
                             '(0: its default)')
    parser.add_argument('--flush-timeout', type=float, default=300)
    args = parser.parse_args(argv)
    conf = service.make_conf()
    conf([], project='vp-test-hook-publisher', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('transport_url', args.url, group='persistor_hooks')
    conf.set_override('rabbit_quorum_queue', args.quorum,
                      group='persistor_hooks')
    conf.set_override('retry_interval_max', 1.0, group='persistor_hooks')
    if args.events_per_message:
        conf.set_override('events_per_message', args.events_per_message,
                          group='persistor_hooks')
    pub = publisher_mod.Publisher(conf, 'driver', register_atexit=False)
    t0 = time.monotonic()
    if not pub.start(timeout=120):
        print(json.dumps({'error': 'sender not connected in 120 s'}))
        return 1
    t0 = time.monotonic()
    for sent, i in enumerate(range(args.start, args.start + args.count), 1):
        pub.publish(events.make_event(i))
        if args.rate:
            delay = t0 + sent / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    flushed = pub.flush(args.flush_timeout)
    seconds = time.monotonic() - t0
    stats = pub.stats
    print(json.dumps({
        'published': args.count, 'dropped': stats.dropped,
        'abandoned': stats.abandoned, 'send_errors': stats.send_errors,
        'flushed': flushed, 'seconds': round(seconds, 3)}))
    sys.stdout.flush()
    pub.stop(10)
    return 0 if flushed else 1


if __name__ == '__main__':
    sys.exit(main())
