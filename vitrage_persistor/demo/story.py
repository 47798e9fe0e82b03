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

"""An RCA story on Vitrage's real collector path, processor and evaluator.

:func:`incident_story` runs ``harness.Pipeline`` with Vitrage's
``ScenarioEvaluator`` and the demo templates (``demo/templates``: doctor
host-down -> ``mark_down``, ``set_state``, ``raise_alarm`` instance_down
and ``add_causal_relationship``; nagios -> instance_degraded and its
cause; aodh on an instance -> ``set_state``) and Vitrage's own evaluator
test templates (``vitrage/tests/resources/templates/evaluator``), and
notes the live graph after each chapter: the number of events the
processor had applied, and the graph's vertices and edges by their real
ids.

The undo paths are chapters too: host-1's alarms clear while host-2 is
down, so its deduced alarms and causal edges go away.

Run as a program, it is a stand-in vitrage-graph for tests and the demo:
the story runs with the hooks of ``[persistor_hooks]`` installed (from
``--config-file``), and the live graph of every chapter is written to
``--output`` as JSON. A process of its own keeps Vitrage's process-wide
state (its global CONF, its database engine, the transformers' id cache)
away from the caller, as a real vitrage-graph is a process of its own.

    python -m vitrage_persistor.demo.story --config-file F --output OUT
"""

import argparse
import copy
import json
import logging
import sys


def story_templates() -> list[str]:
    """The demo's templates and Vitrage's own evaluator test templates."""
    from vitrage_persistor.demo import harness
    return [harness.TEMPLATES, harness.RES + '/templates/evaluator']


CHAPTERS = ('before', 'host-1 down', 'host-1 back, host-2 down',
            'deletes and consistency')


def raw_form(graph) -> tuple[dict, dict]:
    """Vertices and edges by their real ids, wall-clock marks left out.

    The live pipeline runs on the real clock (shifted by days for the
    consistency checks); replay pins the clock to each event's time. Only
    the deletion marks the processor takes from the clock differ.
    """
    vertices = {}
    from vitrage_persistor.replay import graph_json

    nx_graph = graph_json.nx_graph(graph)   # the one pinned accessor
    for vid, props in nx_graph.nodes(data=True):
        props = copy.deepcopy(dict(props))
        if props.get('vitrage_is_deleted'):
            props.pop('vitrage_sample_timestamp', None)
        vertices[vid] = props
    edges = {}
    for u, v, label, props in nx_graph.edges(keys=True, data=True):
        props = copy.deepcopy(dict(props))
        if props.get('vitrage_is_deleted'):
            props.pop('update_timestamp', None)
        edges[(u, v, label)] = props
    return vertices, edges


def json_form(form: tuple[dict, dict]) -> dict:
    """:func:`raw_form` as JSON-able data (edges as a sorted list)."""
    vertices, edges = form
    return json.loads(json.dumps({
        'vertices': vertices,
        'edges': sorted([u, v, label, props]
                        for (u, v, label), props in edges.items())},
        sort_keys=True))


def from_json(data: dict) -> tuple[dict, dict]:
    return data['vertices'], {(u, v, label): props
                              for u, v, label, props in data['edges']}


def live_alarms(vertices: dict, vitrage_type: str = 'vitrage') -> dict:
    """The alarms of one type that are not deleted, by vitrage_id."""
    return {vid: p for vid, p in vertices.items()
            if p.get('vitrage_category') == 'ALARM'
            and p.get('vitrage_type') == vitrage_type
            and not p.get('vitrage_is_deleted')}


def live_causes(edges: dict) -> dict:
    return {k: p for k, p in edges.items()
            if k[2] == 'causes' and not p.get('vitrage_is_deleted')}


def incident_story(scale: int = 1, templates=None, on_cut=None) -> tuple:
    """Run the story; returns the pipeline and ``[(chapter, n, graph)]``.

    ``n`` is how many events the processor had applied at the end of the
    chapter (all published, in that order, when the collector hook is
    installed), and ``graph`` the live graph's :func:`raw_form` then.
    """
    from vitrage_persistor.demo import harness

    pipeline = harness.Pipeline(harness.FakeCloud(scale=scale), record=True,
                                templates=templates or story_templates())
    cuts = []

    def cut(name):
        cuts.append((name, len(pipeline.received),
                     raw_form(pipeline.graph)))
        if on_cut is not None:
            on_cut(name)

    pipeline.init_snapshot()
    pipeline.get_changes()
    pipeline.push(scale)
    cut(CHAPTERS[0])
    pipeline.incident('host-1')
    cut(CHAPTERS[1])
    pipeline.incident('host-2')
    pipeline.recovery('host-1')
    cut(CHAPTERS[2])
    pipeline.snapshot()
    pipeline.delete_some()
    pipeline.consistency_check(1)
    pipeline.consistency_check(30)
    cut(CHAPTERS[3])
    return pipeline, cuts


def main(argv=None) -> int:
    """Run the story with the hooks installed; write the chapters out."""
    # isort: off
    # oslo.service's threading backend first, as in every entry point
    from vitrage_persistor import oslo_backend
    oslo_backend.use_threading()
    from vitrage_persistor import service
    from vitrage_persistor.demo import harness
    from vitrage_persistor.publish.hooks import install
    # isort: on

    parser = argparse.ArgumentParser(
        prog='python -m vitrage_persistor.demo.story',
        description=__doc__.split('\n')[0])
    parser.add_argument('--config-file', required=True,
                        help='vitrage-persistor config with the '
                             '[persistor_hooks] to install')
    parser.add_argument('--output', required=True,
                        help='JSON file for the chapters')
    parser.add_argument('--scale', type=int, default=1)
    args = parser.parse_args(argv)
    conf = service.prepare_service(['--config-file', args.config_file])
    vitrage_conf = harness.configure_vitrage()
    logging.getLogger('vitrage').setLevel(logging.CRITICAL)
    installed = install.install(conf, register_atexit=False)
    try:
        pipeline, cuts = incident_story(scale=args.scale)
        flushed = installed.flush(120)
        stats = installed.stats()
    finally:
        installed.stop(30)
        installed.uninstall()
        vitrage_conf.cleanUp()
    with open(args.output, 'w') as f:
        json.dump({'flushed': flushed, 'stats': stats,
                   'processed': len(pipeline.received),
                   'templates': pipeline.evaluation.templates,
                   'notifications': pipeline.evaluation.notifications,
                   'chapters': [{'name': name, 'count': count,
                                 'graph': json_form(form)}
                                for name, count, form in cuts]}, f)
    return 0 if flushed else 1


if __name__ == '__main__':
    sys.exit(main())
