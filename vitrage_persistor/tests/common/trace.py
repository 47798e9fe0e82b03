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

"""Long, realistic event traces from Vitrage's own mocks, and an oracle.

The trace starts like Vitrage's unit tests (``vitrage.tests.mocks``:
nova zones, hosts and instances, cinder volumes, static entities, nagios,
aodh and doctor alarms), then runs rounds of churn: instance status
changes, deletes and re-creations of instances, alarms raised, cleared
and raised again, volume attachments, static entities deleted and put
back. Every event is what a driver hands to the processor (JSON-only,
``vitrage_sample_date`` set), so it is also what the persistor stores.

:func:`live_graphs` is the oracle: Vitrage's ``Processor`` fed the same
events from memory, in the same order, with the clock pinned the same
way, capturing the graph it holds at chosen points.
"""

import copy
import datetime
import json
import random
import uuid

from vitrage_persistor.storage import records

T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)
PUBLISHER = 'vitrage.persistor.driver.test-host.trace'


def _strip_cycles(event):
    rels = event.get('relationships')
    if rels:
        fixed = []
        for rel in rels:
            rel = dict(rel)
            for side in ('source', 'target'):
                if isinstance(rel[side], dict):
                    rel[side] = {k: rel[side][k] for k in
                                 ('static_id', 'type', 'id', 'name')
                                 if k in rel[side]}
            fixed.append(rel)
        event['relationships'] = fixed
    return event


def _setup(scale, rng):
    from vitrage.tests.mocks import mock_driver as md
    from vitrage.tests.mocks import mock_transformer as mt

    init = {'vitrage_datasource_action': 'init_snapshot'}
    gen = md.generate_sequential_events_list
    nzones, nhosts, nvms, nvols = 2, 4 * scale, 12 * scale, 4 * scale
    zones = gen(md.simple_zone_generators(nzones, nhosts,
                                          snapshot_events=nzones,
                                          snap_vals=dict(init)))
    hosts = gen(md.simple_host_generators(nzones, nhosts, nhosts,
                                          snap_vals=dict(init)))
    vms = gen(md.simple_instance_generators(nhosts, nvms,
                                            snapshot_events=nvms,
                                            snap_vals=dict(init)))
    vm_ids = {e['name']: e['id'] for e in vms}
    vols = gen(md.simple_volume_generators(nvols, nvols,
                                           snapshot_events=nvols,
                                           snap_vals=dict(init)))
    for e in vols:
        for a in e['attachments']:
            a['server_id'] = vm_ids[a['server_id']]
    vol_update = gen(md.simple_volume_generators(
        nvols, nvols, update_events=nvols,
        update_vals={'vitrage_event_type': 'volume.attach.end'}))
    for i, e in enumerate(vol_update):
        e['volume_attachment'] = [{'instance_uuid':
                                   vm_ids['vm-%d' % (i % nvms)]}]
    static = [_strip_cycles(e) for e in gen(md.simple_static_generators(
        2, nhosts, snapshot_events=2 + nhosts + 10))]
    for e in static:
        e['vitrage_entity_type'] = 'static'
    nagios = gen(md.simple_nagios_alarm_generators(
        nhosts, events_num=nhosts, snap_vals={'status': 'CRITICAL'}))
    aodh = mt.generate_random_events_list(
        mt.simple_aodh_update_alarm_generators(1, update_events=1))[0]
    aodh.pop('graph_query_result', None)
    doctor = mt.generate_random_events_list(mt.simple_doctor_alarm_generators(
        update_vals={'details': {'hostname': hosts[0]['host'],
                                 'status': 'down', 'source': 'monitor',
                                 'cause': 'link-down',
                                 'severity': 'critical',
                                 'monitor_id': 'monitor-1',
                                 'monitor_event_id': '123'},
                     'time': '2016-04-12T08:00:00.12345',
                     'update_time': '2016-04-12T08:00:00.12345'}))[0]
    delete = gen(md.simple_instance_generators(
        1, 1, update_events=1,
        update_vals={'vitrage_event_type': 'instance.delete.end',
                     'vitrage_entity_type': 'nova.instance'}))[0]
    return dict(zones=zones, hosts=hosts, vms=vms, vols=vols,
                vol_update=vol_update, static=static, nagios=nagios,
                aodh=aodh, doctor=doctor, delete=delete)


def build_trace(rounds: int = 20, scale: int = 2, seed: int = 7
                ) -> list[dict]:
    """Return a JSON-only list of enriched events (dicts)."""
    rng = random.Random(seed)
    t = _setup(scale, rng)
    events = t['zones'] + t['hosts'] + t['vms'] + t['vols'] + \
        t['vol_update'] + t['static'] + t['nagios']
    vms = {e['id']: e for e in t['vms']}
    live, deleted = list(vms), []
    hosts = [h['host'] for h in t['hosts']]
    alarms_on, aodh_on = set(range(len(t['nagios']))), {}
    switches = [e for e in t['static'] if e['type'] == 'switch']
    static_gone = []
    statuses = ['ACTIVE', 'ERROR', 'SHUTOFF', 'PAUSED', 'ACTIVE']

    def vm_snapshot(vm_id):
        e = copy.deepcopy(vms[vm_id])
        e['vitrage_datasource_action'] = 'snapshot'
        e['status'] = rng.choice(statuses)
        return e

    for r in range(rounds):
        for vm_id in rng.sample(live, max(1, len(live) // 3)):
            events.append(vm_snapshot(vm_id))
        if len(live) > 3:
            vm_id = rng.choice(live)
            d = copy.deepcopy(t['delete'])
            d['nova_object.data']['uuid'] = vm_id
            d['nova_object.data']['host'] = \
                vms[vm_id]['OS-EXT-SRV-ATTR:host']
            events.append(d)
            live.remove(vm_id)
            deleted.append(vm_id)
        if deleted and rng.random() < 0.6:
            vm_id = deleted.pop(0)
            events.append(vm_snapshot(vm_id))   # re-created
            live.append(vm_id)
        for i in rng.sample(range(len(t['nagios'])), 2):
            e = copy.deepcopy(t['nagios'][i])
            if i in alarms_on:
                e['status'] = rng.choice(['OK', 'WARNING'])
            else:
                e['status'] = 'CRITICAL'
            (alarms_on.discard if e['status'] == 'OK'
             else alarms_on.add)(i)
            events.append(e)
        if aodh_on and rng.random() < 0.5:
            alarm_id = rng.choice(sorted(aodh_on))
            e = copy.deepcopy(aodh_on.pop(alarm_id))
            e['vitrage_event_type'] = 'alarm.deletion'
            events.append(e)
        else:
            e = copy.deepcopy(t['aodh'])
            e['alarm_id'] = 'aodh-%d-%d' % (seed, r)
            e['resource_id'] = rng.choice(live)
            e['severity'] = rng.choice(['low', 'moderate', 'critical'])
            aodh_on[e['alarm_id']] = e
            events.append(e)
        e = copy.deepcopy(rng.choice(t['vol_update']))
        e['volume_attachment'] = [{'instance_uuid': rng.choice(live)}]
        events.append(e)
        d = copy.deepcopy(t['doctor'])
        d['details']['hostname'] = rng.choice(hosts)
        d['details']['status'] = rng.choice(['down', 'up'])
        events.append(d)
        if r % 5 == 2 and switches:
            s = copy.deepcopy(switches.pop(0))
            s['vitrage_event_type'] = 'delete_entity'
            static_gone.append(s)
            events.append(s)
        elif r % 5 == 4 and static_gone:
            s = copy.deepcopy(static_gone.pop(0))
            s['vitrage_event_type'] = 'entity_update'
            switches.append(s)
            events.append(s)
    for i, e in enumerate(events):
        stamp = T0 + datetime.timedelta(milliseconds=10 * i)
        e['vitrage_sample_date'] = stamp.strftime('%Y-%m-%dT%H:%M:%SZ')
        e.setdefault('vitrage_datasource_name', e.get('vitrage_entity_type'))
    return json.loads(json.dumps(events))


def collector_time(i: int) -> datetime.datetime:
    """Pairs of events share a timestamp; sequence orders them."""
    return T0 + datetime.timedelta(milliseconds=20 * (i // 2))


def to_records(trace: list[dict], start: int = 0
               ) -> list[records.EventRecord]:
    """Envelope-like EventRecords, the trace's order encoded in the key."""
    out = []
    for i, event in enumerate(trace, start):
        out.append(records.EventRecord(
            message_id=uuid.uuid5(uuid.NAMESPACE_OID, 'trace-%d' % i).hex,
            collector_timestamp=collector_time(i),
            event_type='vitrage.persistor.event.driver',
            entity_type=event.get('vitrage_entity_type') or 'unknown',
            payload_json=records.encode_payload(event),
            publisher_id=PUBLISHER, sequence=i,
            datasource_action=event.get('vitrage_datasource_action')))
    return out


def live_graphs(conf, trace: list[dict], cuts: list[int]) -> dict:
    """Canonical graphs Vitrage's Processor holds after ``cuts[i]`` events.

    Runs the processor directly (not through vitrage-persistor's adapter)
    on the global id cache, with the clock pinned to each event's
    collector time, as vitrage-graph would have seen it.
    """
    from oslo_utils import timeutils
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    from vitrage_persistor.replay import canonical
    from vitrage_persistor.replay import processor as processor_mod

    processor_mod._configure_vitrage(conf.replay.datasources_values_dir,
                                     list(conf.replay.datasource_types))
    saved = TransformerBase.key_to_uuid_cache
    cache = TransformerBase.key_to_uuid_cache = {}
    proc = Processor(e_graph=NXGraph('Entity Graph'))
    wanted, out = sorted(set(cuts)), {}
    try:
        for i, event in enumerate(trace):
            when = collector_time(i).replace(tzinfo=datetime.UTC)
            timeutils.set_time_override(when)
            try:
                proc.process_event(copy.deepcopy(event))
            except Exception:   # vitrage-graph logs and goes on
                pass
            finally:
                timeutils.clear_time_override()
            if i + 1 in wanted:
                out[i + 1] = canonical.canonical(proc.entity_graph, cache)
    finally:
        TransformerBase.key_to_uuid_cache = saved
    return out
