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

"""Vitrage driver+processor throughput with and without the persistor hooks.

Runs the real Vitrage 15.0.1 drivers through driver_exec into the real
Processor (see vitrage_persistor/demo/harness.py):
without hooks (baseline), with the collector hook sending from threads
(``[persistor_hooks] sender = thread``) and from the sender process
(``sender = process``), to a RabbitMQ vhost. The three alternate within
each round, in a rotating order, in one process; each publisher is started
(and connected) before the first round and lives across rounds, as in
vitrage-graph. After each hooked round the time until the broker confirmed
the last event is measured too (outside Vitrage's time).

    python tools/bench/hooks.py --url rabbit://guest:guest@127.0.0.1:5672/vp \
        --rounds 7 --scale 20 [--evaluator]

With ``--evaluator`` Vitrage's ``ScenarioEvaluator`` runs too, with the
demo templates (``vitrage_persistor/demo/templates``), and each round adds
a host-down incident and its recovery on every host: the evaluator's
events (deduced alarms, states, marks, causal edges and their undo) reach
the processor through the evaluator entry point, and the hook publishes
them. The evaluator runs in the measured thread here (in vitrage-graph it
runs in worker processes), so its own cost is in both the baseline and
the hooked runs.
"""

import argparse
import os
import resource
import signal
import statistics
import time
import warnings

import vitrage_persistor.cmd  # noqa: F401  (threading backend first)

warnings.filterwarnings('ignore')

from vitrage_persistor import service  # noqa: E402
from vitrage_persistor.demo import harness  # noqa: E402
from vitrage_persistor.publish.hooks import install  # noqa: E402

MODES = ('baseline', 'again', 'thread', 'process', 'paused', 'unbundled')
# 'again': no hooks either; its slowdown against 'baseline' is the noise
# floor of this run on this host.
# 'paused': sender = process with the sender process stopped (SIGSTOP)
# during the round and resumed after it: Vitrage's own cost of the hook
# (encode, queue, pipe writes) without the CPU that sending takes from
# the host (the sender process and RabbitMQ).
# 'unbundled': sender = process with events_per_message = 1, one
# notification per event (what the hooks did before bundles).


TICK = os.sysconf('SC_CLK_TCK')


def cpu_self():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children(installed):
    """CPU seconds of the sender processes (their /proc stat)."""
    return cpu_of([pub.sender_pid()
                   for pub in installed.publishers.values()
                   if pub.sender_pid() is not None])


def broker_pids():
    """RabbitMQ's beam.smp processes on this host (their CPU is shown)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/comm' % entry) as f:
                    if f.read().strip() == 'beam.smp':
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def cpu_of(pids):
    total = 0.0
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def set_affinity(pid, cpus):
    """Every thread of ``pid`` (Linux sets affinity per thread)."""
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            continue   # a thread that just ended


def pin(installs, brokers):
    """Vitrage's thread on CPU 0; sender processes and RabbitMQ on CPU 1.

    What a controller with a spare core for them looks like; on a 2-CPU
    host without pinning they compete with Vitrage for both CPUs.
    """
    os.sched_setaffinity(0, {0})   # this (the calling, Vitrage's) thread
    for inst in installs.values():
        for publisher in inst.publishers.values():
            set_affinity(publisher.sender_pid(), {1})
    for pid in brokers:
        set_affinity(pid, {1})


def signal_children(installed, signum):
    for publisher in installed.publishers.values():
        os.kill(publisher.sender_pid(), signum)


def interval(values, baselines):
    """``+x.x% [+a.a%, +b.b%]``: mean of the paired ratios, 95% interval."""
    ratios = [v / b for v, b in zip(values, baselines, strict=True)]
    mean = statistics.fmean(ratios)
    half = (1.96 * statistics.stdev(ratios) / len(ratios) ** 0.5
            if len(ratios) > 1 else float('nan'))
    return '%+.1f%% [%+.1f%%, %+.1f%%]' % (
        (mean - 1) * 100, (mean - half - 1) * 100, (mean + half - 1) * 100)


def run_once(scale, main_cpu=None, evaluator=False, record=False):
    pipeline = harness.Pipeline(
        harness.FakeCloud(scale), record=record,
        templates=[harness.TEMPLATES] if evaluator else None)
    cpu0 = time.thread_time()
    start = time.perf_counter()
    steps(pipeline, scale, evaluator)
    elapsed = time.perf_counter() - start
    if main_cpu is not None:
        main_cpu.append(time.thread_time() - cpu0)
    return elapsed


def steps(pipeline, scale, evaluator):
    pipeline.init_snapshot()
    pipeline.push(scale)
    pipeline.snapshot()
    if evaluator:
        hosts = sorted({vars(vm)['OS-EXT-SRV-ATTR:host']
                        for vm in pipeline.cloud.vms})
        for host in hosts:
            pipeline.incident(host)
        for host in hosts:
            pipeline.recovery(host)
    pipeline.snapshot()
    return pipeline


def make_installation(url, mode, senders, nice, per_message):
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('transport_url', url, 'persistor_hooks')
    conf.set_override('sender', 'thread' if mode == 'thread' else 'process',
                      'persistor_hooks')
    conf.set_override('events_per_message',
                      1 if mode == 'unbundled' else per_message,
                      'persistor_hooks')
    conf.set_override('sender_threads', senders, 'persistor_hooks')
    conf.set_override('sender_nice', nice, 'persistor_hooks')
    installed = install.install(conf, register_atexit=False)
    installed.uninstall()
    for publisher in installed.publishers.values():
        if not publisher.start(timeout=60):
            raise SystemExit('%s sender did not connect' % mode)
    return installed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--scale', type=int, default=20)
    parser.add_argument('--senders', type=int, default=2,
                        help='sender_threads, for both modes')
    parser.add_argument('--nice', type=int, default=10,
                        help='sender_nice of the sender process')
    parser.add_argument('--per-message', type=int, default=100,
                        help='events_per_message (but for "unbundled")')
    parser.add_argument('--pin', action='store_true',
                        help='run Vitrage\'s thread on CPU 0 and the '
                             'sender processes and RabbitMQ on CPU 1 '
                             '(RabbitMQ is left on CPU 1 afterwards: '
                             'restart it or reset with taskset)')
    parser.add_argument('--evaluator', action='store_true',
                        help='run Vitrage\'s evaluator with the demo '
                             'templates, and an incident per host')
    parser.add_argument('--modes', default=','.join(MODES[2:]),
                        help='hooked runs to include, of: %s (the two '
                             'runs without hooks always are)'
                        % ', '.join(MODES[2:]))
    args = parser.parse_args()
    modes = MODES[:2] + tuple(m for m in MODES[2:]
                              if m in args.modes.split(','))
    fixture = harness.configure_vitrage()
    try:
        probe = steps(harness.Pipeline(
            harness.FakeCloud(args.scale),
            templates=[harness.TEMPLATES] if args.evaluator else None),
            args.scale, args.evaluator)
        n = len(probe.received)
        from_evaluator = sum(
            1 for e in probe.received
            if e.get('vitrage_entity_type') == 'vitrage' and 'type' in e)
        installs = {
            mode: make_installation(args.url, mode, args.senders, args.nice,
                                    args.per_message)
            for mode in modes[2:]}
        # warm-up round of each, not counted
        run_once(args.scale, evaluator=args.evaluator)
        for inst in installs.values():
            for hook in inst.hooks:
                hook.install()
            run_once(args.scale, evaluator=args.evaluator)
            inst.uninstall()
            inst.flush(120)
        times = {mode: [] for mode in modes}
        drain = {mode: [] for mode in modes[2:]}
        cpu = {mode: [] for mode in modes}
        main_cpu = {mode: [] for mode in modes}
        broker_cpu = {mode: [] for mode in modes}
        brokers = broker_pids()
        if args.pin:
            pin(installs, brokers)
        child_cpu = {mode: [] for mode in modes[2:]}
        for index in range(args.rounds):
            shift = index % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                inst = installs.get(mode)
                if inst is not None:
                    for hook in inst.hooks:
                        hook.install()
                    child0 = cpu_children(inst)
                cpu0 = cpu_self()
                broker0 = cpu_of(brokers)
                if mode == 'paused':
                    signal_children(inst, signal.SIGSTOP)
                elapsed = run_once(args.scale, main_cpu[mode],
                                   args.evaluator)
                times[mode].append(elapsed)
                if mode == 'paused':
                    signal_children(inst, signal.SIGCONT)
                if inst is not None:
                    inst.uninstall()
                    start = time.perf_counter()
                    if not inst.flush(120):
                        raise SystemExit('%s: not flushed' % mode)
                    drain[mode].append(time.perf_counter() - start)
                    child_cpu[mode].append(cpu_children(inst) - child0)
                # this process's CPU for the round and the sending of it
                cpu[mode].append(cpu_self() - cpu0)
                broker_cpu[mode].append(cpu_of(brokers) - broker0)
        base = statistics.median(times['baseline'])
        print('events per round: %d (%d from the evaluator), rounds: %d, '
              'sender_threads: %d, sender_nice: %d, events_per_message: %d%s'
              % (n, from_evaluator, args.rounds, args.senders, args.nice,
                 args.per_message,
                 ', pinned: Vitrage on CPU 0, sender and RabbitMQ on CPU 1'
                 if args.pin else ''))
        print('%-16s %9s %9s %9s %9s %9s %9s %9s %9s %9s' % (
            'run', 'median s', 'events/s', 'slowdown', 'paired',
            'main cpu', 'drain s', 'cpu s', 'child s', 'broker s'))
        for mode in modes:
            med = statistics.median(times[mode])
            paired = statistics.median(
                t / b for t, b in zip(times[mode], times['baseline'],
                                      strict=True))
            print('%-16s %9.3f %9.0f %+8.1f%% %+8.1f%% %9.3f %9s %9.3f %9s '
                  '%9.3f'
                  % ({'baseline': 'no hooks', 'again': 'no hooks, again',
                      'paused': 'process, paused',
                      'unbundled': 'process, 1/msg'}
                     .get(mode, 'sender=' + mode),
                     med, n / med, (med / base - 1) * 100,
                     (paired - 1) * 100,
                     statistics.median(main_cpu[mode]),
                     '%.3f' % statistics.median(drain[mode])
                     if mode in drain else '-',
                     statistics.median(cpu[mode]),
                     '%.3f' % statistics.median(child_cpu[mode])
                     if mode in child_cpu else '-',
                     statistics.median(broker_cpu[mode])))
        print('slowdown: of the medians; paired: median over rounds of '
              'the ratio to the same round\'s baseline')
        print('paired ratios, mean and 95%% interval of the mean over %d '
              'rounds (wall time; main cpu):' % args.rounds)
        for mode in modes[1:]:
            print('  %-16s %s; %s' % (
                mode, interval(times[mode], times['baseline']),
                interval(main_cpu[mode], main_cpu['baseline'])))
        print('main cpu: CPU seconds of the thread running Vitrage, '
              'during the round; drain s: after the round, until the '
              'broker confirmed the last event; cpu s: this process, '
              'round + drain; child s: the sender process, same span; '
              'broker s: RabbitMQ (beam.smp), same span')
        for mode, inst in installs.items():
            print('%s stats: %s' % (mode, inst.stats()))
            inst.stop(10)
    finally:
        fixture.cleanUp()


if __name__ == '__main__':
    main()
