#!/usr/bin/env python
"""Vitrage driver+processor throughput with and without the persistor hooks.

Runs the real Vitrage 15.0.1 drivers through driver_exec into the real
Processor (see vitrage_persistor/tests/functional/hooks/harness.py), first
without hooks (baseline), then with the collector hook publishing to a
RabbitMQ vhost, alternating rounds in the same process.

    python tools/bench/hooks.py --url rabbit://guest:guest@127.0.0.1:5672/ \
        --rounds 3 --scale 20
"""

import argparse
import statistics
import time
import warnings

warnings.filterwarnings('ignore')

from vitrage_persistor import service  # noqa: E402
from vitrage_persistor.hooks import install  # noqa: E402
from vitrage_persistor.tests.functional.hooks import harness  # noqa: E402


def run_once(scale):
    pipeline = harness.Pipeline(harness.FakeCloud(scale), record=False)
    start = time.perf_counter()
    pipeline.init_snapshot()
    pipeline.push(scale)
    pipeline.snapshot()
    pipeline.snapshot()
    elapsed = time.perf_counter() - start
    count = sum(1 for _ in pipeline.graph.get_vertices())
    return elapsed, count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--scale', type=int, default=20)
    parser.add_argument('--senders', type=int, default=2)
    args = parser.parse_args()
    conf = service.make_conf()
    conf([], project='vitrage-persistor')
    conf.set_override('transport_url', args.url, 'persistor_hooks')
    conf.set_override('sender_threads', args.senders, 'persistor_hooks')
    fixture = harness.configure_vitrage()
    counter = {'n': 0}
    try:
        # count events once to report events/s
        probe = harness.Pipeline(harness.FakeCloud(args.scale))
        probe.init_snapshot()
        probe.push(args.scale)
        probe.snapshot()
        probe.snapshot()
        counter['n'] = len(probe.received)
        base, hooked = [], []
        stats = None
        for _ in range(args.rounds):
            base.append(run_once(args.scale)[0])
            installed = install.install(conf, register_atexit=False)
            hooked.append(run_once(args.scale)[0])
            installed.uninstall()
            installed.flush(120)
            stats = installed.stats()
            installed.stop(5)
        n = counter['n']
        b, h = statistics.median(base), statistics.median(hooked)
        print('events per round: %d' % n)
        print('baseline (no hooks): median %.3f s  %.0f events/s' % (b, n / b))
        print('collector hook on:   median %.3f s  %.0f events/s' % (h, n / h))
        print('slowdown: %+.1f %%' % ((h / b - 1) * 100))
        print('publisher stats (last round): %s' % stats)
    finally:
        fixture.cleanUp()


if __name__ == '__main__':
    main()
