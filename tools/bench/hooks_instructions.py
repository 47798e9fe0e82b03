#!/usr/bin/env python
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

"""Instructions vitrage-graph's process spends with and without the hooks.

Wall-clock figures on a small shared VM move by several percent between
two identical runs (see tools/bench/hooks.py's "no hooks, again" row).
Instruction counts do not: this runs the same pipeline as
tools/bench/hooks.py (real Vitrage 15.0.1 drivers, driver_exec and
Processor) under ``valgrind --tool=callgrind``, which counts every
instruction of the process (Vitrage's thread and the hook's feeder and
acknowledgement threads), without hooks and with the collector hook
(``sender = process``, the default). The sender process and RabbitMQ run
natively and are not counted: their cost is CPU time on other cores,
which tools/bench/hooks.py shows.

Start-up (imports, Vitrage's configuration, the warm-up round) is taken
out by running each mode twice, with ``--short`` and ``--long`` rounds,
and dividing the difference by the extra rounds.

    python tools/bench/hooks_instructions.py \\
        --url rabbit://guest:guest@127.0.0.1:5672/vp-bench --scale 10

Under valgrind Vitrage runs ~50 times slower while the sender process does
not, so the sender keeps up and bundles are smaller than at full speed:
the feeder and acknowledgement threads do more work per event here than
they would; the figure errs on the high side.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def inner(args):
    sys.path.insert(0, HERE)
    import hooks as bench  # tools/bench/hooks.py

    from vitrage_persistor.demo import harness

    fixture = harness.configure_vitrage()
    try:
        inst = None
        if args.inner != 'baseline':
            inst = bench.make_installation(args.url, 'process', 2, 10,
                                           args.per_message)
            for hook in inst.hooks:
                hook.install()
        for _ in range(args.rounds + 1):   # + the warm-up round
            bench.run_once(args.scale)
            if inst is not None and not inst.flush(600):
                raise SystemExit('not flushed')
        if inst is not None:
            print('stats: %s' % inst.stats())
            inst.uninstall()
            inst.stop(60)
    finally:
        fixture.cleanUp()


def count(args, mode, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'callgrind.out')
        cmd = ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out,
               sys.executable, os.path.abspath(__file__), '--inner', mode,
               '--rounds', str(rounds), '--url', args.url,
               '--scale', str(args.scale),
               '--per-message', str(args.per_message)]
        # our own script and valgrind, fixed argv, no shell
        proc = subprocess.run(cmd, capture_output=True,  # noqa: S603
                              text=True)
        if proc.returncode != 0:
            raise SystemExit('%s failed:\n%s'
                             % (' '.join(cmd), proc.stderr[-3000:]))
        with open(out) as f:
            text = f.read()
    match = re.search(r'^(?:summary|totals): (\d+)', text, re.M)
    return int(match.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--scale', type=int, default=10)
    parser.add_argument('--short', type=int, default=1)
    parser.add_argument('--long', type=int, default=3)
    parser.add_argument('--per-message', type=int, default=100)
    parser.add_argument('--inner', help=argparse.SUPPRESS)
    parser.add_argument('--rounds', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    extra = args.long - args.short
    per_round = {}
    for mode in ('baseline', 'process'):
        short = count(args, mode, args.short)
        long = count(args, mode, args.long)
        per_round[mode] = (long - short) / extra
        print('%-9s %d rounds: %15d  %d rounds: %15d  per round: %15.0f'
              % (mode, args.short, short, args.long, long, per_round[mode]),
              flush=True)
    print('instructions per round of vitrage-graph\'s process with the '
          'collector hook (sender = process, events_per_message = %d): '
          '%+.2f%% of the run without hooks'
          % (args.per_message,
             (per_round['process'] / per_round['baseline'] - 1) * 100))


if __name__ == '__main__':
    main()
