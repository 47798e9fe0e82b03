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

"""Vitrage's own answers (topology, alarms, RCA...) over a replayed graph.

Topology and resources are built by Vitrage 15.0.1's ``TopologyApis``,
``ResourceApis`` and ``AlarmApis.show_alarm``, which read nothing but the
entity graph they are given, so the answers are the ones vitrage-graph
would have given at that time.

Alarm lists and RCA are different in Vitrage: ``AlarmApis.get_alarms``
and ``RcaApis.get_rca`` read Vitrage's alarm-history tables, written by
Vitrage's own persistor service. Here they are built from the replayed
graph itself -- its alarm vertices and its ``causes`` edges, the very
things that service records -- in the same JSON shape:

* an alarm list holds the alarms alive in the graph at that time, with
  Vitrage's filters, sort keys and marker paging; ``start_timestamp`` is
  the alarm vertex's ``update_timestamp`` as of that time (Vitrage's
  table keeps the one of its activation; the two differ only for an alarm
  updated since it was raised);
* an RCA is the breadth-first walk of ``causes`` edges forward and
  backward from the alarm, as ``history_facade.alarm_rca`` walks its
  ``edges`` table, tenant-filtered the same way, serialised by Vitrage's
  ``NXGraph.json_output_graph`` with ``inspected_index``.

Vitrage 15.0.1's ``json_output_graph`` reads networkx's node-link
``links`` key, which networkx 3.6 renamed ``edges``: its topology and RCA
answers raise ``KeyError: 'links'`` there. Hence the ``networkx<3.6`` pin
of the ``vitrage`` extra; :func:`check_networkx` says so plainly instead of
a traceback when the pin was overridden.
"""

import contextlib
import dataclasses
import datetime
import json
import threading
import warnings
from typing import Any

from vitrage_persistor.replay import graph_json

CAUSES = 'causes'
ALARM = 'ALARM'
RESOURCE = 'RESOURCE'
# The columns of Vitrage's ``alarms`` table: what alarm lists can be
# filtered and sorted by.
ALARM_COLUMNS = ('vitrage_id', 'start_timestamp', 'end_timestamp', 'name',
                 'vitrage_type', 'vitrage_aggregated_severity',
                 'vitrage_operational_severity', 'project_id',
                 'vitrage_resource_type', 'vitrage_resource_id',
                 'vitrage_resource_project_id')
MAX_ALARMS = 10000   # Vitrage's history_facade.LIMIT


class QueryError(ValueError):
    """A client's query, root or filter that Vitrage cannot evaluate."""

    def __init__(self, parameter: str, message: str):
        super().__init__('%s: %s' % (parameter, message))
        self.parameter = parameter


class NotFound(LookupError):
    """No such resource or alarm, or not one this caller may see."""


class NetworkxTooNew(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who asks, as Vitrage's API context has it (``TenantProps``)."""

    project_id: str | None
    is_admin: bool

    def ctx(self) -> dict:
        return {'project_id': self.project_id, 'is_admin': self.is_admin}


def check_networkx() -> None:
    """Refuse, with the reason, a networkx that breaks Vitrage's output."""
    import networkx
    major, minor = (int(x) for x in networkx.__version__.split('.')[:2])
    if (major, minor) >= (3, 6):
        raise NetworkxTooNew(
            'networkx %s is installed; Vitrage 15.0.1 serialises graphs '
            "with node-link 'links', which networkx 3.6 renamed: install "
            "'networkx<3.6' (the vitrage extra pins it)"
            % networkx.__version__)


def _apis(kind: str, graph):
    from vitrage.api_handler.apis import alarm, resource, topology
    classes = {'topology': topology.TopologyApis,
               'resource': resource.ResourceApis,
               'alarm': alarm.AlarmApis}
    # The api_lock guards Vitrage's graph against its processor; a
    # replayed graph has no other writer, so each call gets its own.
    return classes[kind](graph, threading.Lock())


def _vitrage_errors():
    from vitrage.common.exception import VitrageError
    return (VitrageError, TypeError, KeyError, ValueError, AttributeError)


@contextlib.contextmanager
def _quiet_networkx():
    # networkx 3.4 and 3.5 warn on every node_link_data() call that 3.6
    # will rename 'links'; that rename is what the pin is about.
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=FutureWarning,
                                module='networkx')
        yield


def _decompress(blob):
    # Vitrage's API handlers return their result compressed
    # (vitrage.common.utils.compress_obj: a zlib'd pickle made by this
    # very process a moment earlier), and the vitrage-api controller
    # decompresses it with decompress_obj, as here.
    from vitrage.common.utils import decompress_obj
    return decompress_obj(blob)


def _has_vertex(graph, vitrage_id) -> bool:
    return graph_json.nx_graph(graph).has_node(vitrage_id)


def topology(graph, caller: Caller, graph_type: str = 'graph',
             depth: int | None = None, query: dict | None = None,
             root: str | None = None, all_tenants: bool = False) -> dict:
    """``POST /v1/topology/`` of vitrage-api, over ``graph``."""
    check_networkx()
    if graph_type == 'graph' and depth is not None and root is None:
        raise QueryError('root', "graph_type 'graph' needs a root with "
                                 'depth')
    if graph_type == 'tree' and not query:
        raise QueryError('query', "graph_type 'tree' needs a query")
    if root is not None and not _has_vertex(graph, root):
        raise NotFound('no vertex %r in the graph at that time' % root)
    try:
        with _quiet_networkx():
            data = _decompress(_apis('topology', graph).get_topology(
                caller.ctx(), graph_type, depth, query, root, all_tenants))
    except _vitrage_errors() as exc:
        raise QueryError('query', 'Vitrage could not evaluate it: %s'
                         % exc) from None
    if graph_type == 'tree':
        return _as_tree(data, root)
    return data


def _as_tree(graph: dict, root: str | None) -> dict:
    """What vitrage-api's TopologyController does with a tree answer."""
    from vitrage.api.controllers.v1.topology import TopologyController
    from vitrage.datasources.transformer_base import CLUSTER_ID
    node_id = ''
    for node in graph['nodes']:
        if (root and node['vitrage_id'] == root) or (
                not root and node.get('id') == CLUSTER_ID):
            node_id = node['graph_index']
            break
    return TopologyController.as_tree(graph, node_id)


def resources(graph, caller: Caller, resource_type: str | None = None,
              all_tenants: bool = False, query: dict | None = None
              ) -> list[dict]:
    """``POST /v1/resources/`` of vitrage-api, over ``graph``."""
    try:
        data = _decompress(_apis('resource', graph).get_resources(
            caller.ctx(), resource_type, all_tenants, query))
    except _vitrage_errors() as exc:
        raise QueryError('query', 'Vitrage could not evaluate it: %s'
                         % exc) from None
    return data['resources']


def resource(graph, caller: Caller, vitrage_id: str) -> dict:
    """``GET /v1/resources/<vitrage_id>`` of vitrage-api."""
    found = _apis('resource', graph).show_resource(caller.ctx(), vitrage_id)
    if not found:
        raise NotFound('no resource %r the caller may see at that time'
                       % vitrage_id)
    return json.loads(found)


def alarm(graph, caller: Caller, vitrage_id: str) -> dict:
    """``GET /v1/alarm/<vitrage_id>`` of vitrage-api."""
    found = _apis('alarm', graph).show_alarm(caller.ctx(), vitrage_id)
    if not found:
        raise NotFound('no alarm %r the caller may see at that time'
                       % vitrage_id)
    return json.loads(found)


# -- alarms and RCA from the graph's alarm vertices and causes edges -----

def _utc_text(value: Any) -> str | None:
    """A time as Vitrage's history API prints it (aware UTC, str())."""
    if not value:
        return None
    from oslo_utils import timeutils
    try:
        parsed = timeutils.normalize_time(timeutils.parse_isotime(
            str(value)))
    except ValueError:
        return None
    return str(parsed.replace(tzinfo=datetime.UTC))


def _alarm_payload(graph, vitrage_id: str, props: dict) -> dict:
    """An alarm as Vitrage's alarm history holds it."""
    payload = dict(props)
    resource_id = props.get('vitrage_resource_id')
    if resource_id and 'vitrage_resource_project_id' not in payload:
        g = graph_json.nx_graph(graph)
        if g.has_node(resource_id):
            payload['vitrage_resource_project_id'] = g.nodes[
                resource_id].get('project_id')
    payload['start_timestamp'] = _utc_text(props.get('update_timestamp'))
    payload['vitrage_id'] = vitrage_id
    return payload


def _live_alarms(graph) -> dict[str, dict]:
    out = {}
    for vid, props in graph_json.nx_graph(graph).nodes(data=True):
        if props.get('vitrage_category') == ALARM and not props.get(
                'vitrage_is_deleted') and not props.get(
                'vitrage_is_placeholder'):
            out[vid] = _alarm_payload(graph, vid, props)
    return out


def _visible(payload: dict, caller: Caller) -> bool:
    """history_facade._add_project_filtering_to_query, on one alarm."""
    project = caller.project_id
    if not project:
        return True
    own, on = payload.get('project_id'), payload.get(
        'vitrage_resource_project_id')
    if own == project or on == project:
        return True
    return caller.is_admin and own is None and on is None


def _sort_key(value):
    return (value is None, '' if value is None else str(value))


def alarms(graph, caller: Caller, vitrage_id: str | None = 'all',
           all_tenants: bool = False, limit: int = 1000,
           sort_by=('start_timestamp', 'vitrage_id'),
           sort_dirs=('asc', 'asc'), filter_by=(), filter_vals=(),
           next_page: bool = True, marker: str | None = None
           ) -> list[dict]:
    """``GET /v1/alarm/`` of vitrage-api: the alarms alive at that time."""
    filter_by, filter_vals = list(filter_by or ()), list(filter_vals or ())
    if len(filter_by) != len(filter_vals):
        raise QueryError('filter_vals', 'needs one value per filter_by')
    for name in list(sort_by) + filter_by:
        if name not in ALARM_COLUMNS:
            raise QueryError('sort_by' if name in sort_by else 'filter_by',
                             'unknown alarm field %r (one of %s)'
                             % (name, ', '.join(ALARM_COLUMNS)))
    if len(sort_dirs) != len(sort_by) or any(
            d not in ('asc', 'desc') for d in sort_dirs):
        raise QueryError('sort_dirs', 'one of asc or desc per sort_by')
    if vitrage_id and vitrage_id != 'all':
        filter_by.append('vitrage_resource_id')
        filter_vals.append(vitrage_id)
    found = [a for a in _live_alarms(graph).values()
             if all_tenants or (vitrage_id and vitrage_id != 'all')
             or _visible(a, caller)]
    for name, value in zip(filter_by, filter_vals, strict=True):
        values = value if isinstance(value, list) else [value]
        found = [a for a in found if any(
            str(v) in str(a.get(name) or '') for v in values)]
    for name, direction in reversed(list(zip(sort_by, sort_dirs,
                                             strict=True))):
        found.sort(key=lambda a, n=name: _sort_key(a.get(n)),
                   reverse=direction == 'desc')
    if marker:
        ids = [a['vitrage_id'] for a in found]
        if marker not in ids:
            raise QueryError('marker', 'no alarm %r in this list' % marker)
        at = ids.index(marker)
        found = found[at + 1:] if next_page else found[:at]
        if not next_page:
            found = found[-limit:]
    return found[:min(limit, MAX_ALARMS)]


def _causes_edges(graph) -> list[tuple[str, str, dict]]:
    return [(u, v, props) for u, v, label, props in
            graph_json.nx_graph(graph).edges(keys=True, data=True)
            if label == CAUSES and not props.get('vitrage_is_deleted')]


def rca_chain(graph, alarm_id: str, caller: Caller | None = None,
              all_tenants: bool = True
              ) -> tuple[list[str], list[tuple[str, str, dict]]]:
    """The alarms causally linked to ``alarm_id`` and the edges between.

    ``history_facade.alarm_rca``: breadth-first over ``causes`` edges,
    forward (what it caused) and backward (what caused it), keeping only
    edges whose far end the caller may see.
    """
    live = _live_alarms(graph)
    if alarm_id not in live:
        raise NotFound('no alarm %r alive in the graph at that time'
                       % alarm_id)
    edges = [e for e in _causes_edges(graph)
             if e[0] in live and e[1] in live]
    nodes, found = [alarm_id], []
    for forward in (True, False):
        seen, frontier = set(), [alarm_id]
        while frontier:
            frontier = [n for n in frontier if n not in seen]
            seen.update(frontier)
            step = []
            for u, v, props in edges:
                near, far = (u, v) if forward else (v, u)
                if near in frontier and (
                        all_tenants or caller is None
                        or _visible(live[far], caller)):
                    found.append((u, v, props))
                    step.append(far)
            nodes.extend(step)
            frontier = step
    unique_nodes = list(dict.fromkeys(nodes))
    unique_edges = list({(u, v): (u, v, p) for u, v, p in found}.values())
    return unique_nodes, unique_edges


def rca(graph, caller: Caller, alarm_id: str,
        all_tenants: bool = False) -> dict:
    """``GET /v1/rca/<alarm_id>`` of vitrage-api, over ``graph``."""
    check_networkx()
    from vitrage.graph import Edge, Vertex
    from vitrage.graph.driver.networkx_graph import NXGraph

    live = _live_alarms(graph)
    if alarm_id in live and not all_tenants and not _visible(
            live[alarm_id], caller):
        raise NotFound('no alarm %r the caller may see at that time'
                       % alarm_id)
    nodes, edges = rca_chain(graph, alarm_id, caller, all_tenants)
    vertices = [Vertex(vertex_id=n, properties=live[n]) for n in nodes]
    links = []
    for u, v, props in edges:
        payload = dict(props, source_id=u, target_id=v,
                       relationship_type=CAUSES)
        links.append(Edge(source_id=u, target_id=v, label=CAUSES,
                          properties=payload))
    rca_graph = NXGraph(vertices=vertices, edges=links)
    index = list(graph_json.nx_graph(rca_graph)).index(alarm_id)
    with _quiet_networkx():
        return json.loads(rca_graph.json_output_graph(
            inspected_index=index))
