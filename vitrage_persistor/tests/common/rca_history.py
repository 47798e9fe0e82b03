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

"""A stored history with deduced alarms and causal edges, and its oracle.

A "live" Vitrage processor (the replay adapter, fed from memory) applies
Vitrage's mock driver events, then the events Vitrage's evaluator sends
when its templates fire: ``raise_alarm`` on an instance whose host has a
nagios alarm, ``add_causal_relationship`` from that nagios alarm to the
deduced alarm, and later both undone. The evaluator events are built by
Vitrage's own action recipes (``RaiseAlarm``, ``AddCausalRelationship``)
with the default properties its ``ActionExecutor`` adds. Each event is
recorded as the collector hook records it: with the vertex ids the live
processor made for it (``wire.LIVE_IDS_KEY``), so replay gives them the
same ids and the API answers name the live ids.

At chosen points the live graph itself is kept, so tests can compare what
the API answers at time T with Vitrage's answers over the live graph at T.

(The lead's in-process ScenarioEvaluator fixture, when on main, is the
end-to-end version of this.)
"""

import copy
import dataclasses
import datetime
import uuid

from vitrage_persistor import wire
from vitrage_persistor.replay import graph_json
from vitrage_persistor.replay import processor as processor_mod
from vitrage_persistor.storage import entity_ids, records, tenancy
from vitrage_persistor.tests.common import trace

PUBLISHER = 'vitrage.persistor.collector.test-host.rca'
DEDUCED_NAME = 'instance_down_by_host'


@dataclasses.dataclass
class _Event:
    id: int
    collector_timestamp: datetime.datetime
    payload: dict


@dataclasses.dataclass
class RcaHistory:
    records: list
    times: dict          # label -> collector time of the last event
    graphs: dict         # label -> the live graph (a processor's) then
    nagios_alarm: str    # vitrage_id of the cause
    deduced_alarm: str   # vitrage_id of the deduced alarm
    instance: str        # vitrage_id of the instance it is on
    host: str            # vitrage_id of the host


def _evaluator_event(params: dict, step: str, when: datetime.datetime):
    """What ActionExecutor._add_default_properties makes of a step."""
    event = copy.deepcopy(params)
    event['vitrage_datasource_action'] = 'update'
    event['vitrage_entity_type'] = 'vitrage'
    # str(utcnow(False)) and format_utcnow() under the pinned clock
    event['update_timestamp'] = str(when)
    event['vitrage_sample_timestamp'] = when.strftime('%Y-%m-%dT%H:%M:%SZ')
    from vitrage.evaluator.actions.recipes.base import EVALUATOR_EVENT_TYPE
    event[EVALUATOR_EVENT_TYPE] = step
    return event


def _time(i: int) -> datetime.datetime:
    """Each event its own time, with microseconds (see DESIGN's traps)."""
    return trace.T0 + datetime.timedelta(milliseconds=20 * i,
                                         microseconds=7)


class _Target:
    """The vertex view Vitrage's recipes read (``vertex_id``, ``[k]``)."""

    def __init__(self, vertex_id, props):
        self.vertex_id = vertex_id
        self._props = props

    def __getitem__(self, key):
        return self._props[key]


def build(conf, base_events: int = 120) -> RcaHistory:
    from vitrage.evaluator.actions.recipes.add_causal_relationship import (
        AddCausalRelationship,
    )
    from vitrage.evaluator.actions.recipes.raise_alarm import RaiseAlarm
    from vitrage.evaluator.template_data import ActionSpecs

    live = processor_mod.VitrageProcessor(conf)
    out, times, graphs = [], {}, {}
    state = {'i': 0}

    def apply(event: dict, label: str | None = None):
        i = state['i']
        state['i'] += 1
        when = _time(i)
        before = dict(live.id_cache)
        live.apply([_Event(i + 1, when, copy.deepcopy(event))])
        added = {k: v for k, v in live.id_cache.items() if k not in before}
        stored = dict(event)
        if added:
            stored[wire.LIVE_IDS_KEY] = added
        out.append(records.EventRecord(
            message_id=uuid.uuid5(uuid.NAMESPACE_OID, 'rca-%d' % i).hex,
            collector_timestamp=when,
            event_type='vitrage.persistor.event.collector',
            entity_type=event.get('vitrage_entity_type') or 'unknown',
            payload_json=records.encode_payload(stored),
            publisher_id=PUBLISHER, sequence=i,
            datasource_action=event.get('vitrage_datasource_action'),
            project_id=tenancy.project_of(event),
            entity_id=entity_ids.entity_id_of(event)))
        if label:
            times[label] = when
            graphs[label] = processor_mod.VitrageProcessor(
                conf, live.to_document()).graph

    events = trace.build_trace(rounds=1, scale=1)[:base_events]
    for event in events[:-1]:
        apply(event)
    apply(events[-1], 'before')

    g = graph_json.nx_graph(live.graph)
    nodes = dict(g.nodes(data=True))
    nagios = next(v for v, p in nodes.items()
                  if p.get('vitrage_type') == 'nagios'
                  and not p.get('vitrage_is_deleted'))
    host = nodes[nagios]['vitrage_resource_id']
    instance = next(
        v for u, v, label in g.edges(keys=True)
        if u == host and label == 'contains'
        and nodes[v].get('vitrage_type') == 'nova.instance'
        and not nodes[v].get('vitrage_is_deleted'))

    def step_events(recipe_steps, when):
        return [_evaluator_event(s.params, s.type, when)
                for s in recipe_steps]

    raise_spec = ActionSpecs(
        id='raise', type='raise_alarm',
        targets={'target': _Target(instance, nodes[instance])},
        properties={'alarm_name': DEDUCED_NAME, 'severity': 'CRITICAL'})
    when = _time(state['i'])
    for event in step_events(RaiseAlarm.get_do_recipe(raise_spec), when):
        apply(event)
    deduced = next(v for v, p in g.nodes(data=True)
                   if p.get('name') == DEDUCED_NAME)
    deduced_props = dict(g.nodes[deduced])
    causal_spec = ActionSpecs(
        id='causal', type='add_causal_relationship',
        targets={'source': _Target(nagios, nodes[nagios]),
                 'target': _Target(deduced, deduced_props)},
        properties={})
    when = _time(state['i'])
    for event in step_events(AddCausalRelationship.get_do_recipe(
            causal_spec), when):
        apply(event, 'during')

    when = _time(state['i'])
    for event in step_events(AddCausalRelationship.get_undo_recipe(
            causal_spec), when) + step_events(
            RaiseAlarm.get_undo_recipe(raise_spec), when):
        apply(event)
    apply(events[0], 'after')   # one more driver event after the undo
    return RcaHistory(records=out, times=times, graphs=graphs,
                      nagios_alarm=nagios, deduced_alarm=deduced,
                      instance=instance, host=host)
