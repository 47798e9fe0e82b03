#!/bin/bash
# The main job, from a fresh clone: set everything up and run the pipeline
# end to end on its defaults.
#
#   tools/demo.sh [STATE_DIR]      (default: ./demo-state, recreated)
#
# It creates .venv, installs vitrage-persistor with the vitrage extra,
# fetches Vitrage's production datasources_values, runs Vitrage's drivers,
# processor and evaluator with the hooks on mock data through a host-down
# incident, persists the events through the agent into SQLite (local
# RabbitMQ, or the in-process fake:// transport when none runs), then
# replays the graph before, during and after the incident, diffs them,
# prints the root cause of an instance alarm during the incident, and
# draws the graphs and the causal chain to SVG and HTML files.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VP_VENV:-.venv}
STATE=${1:-demo-state}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
echo "== installing vitrage-persistor[demo] (the vitrage extra and fixtures) into $VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e '.[demo]'

rm -rf "$STATE"
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)

# Vitrage's wheel lacks its production datasources_values (states,
# severities, colours); the sdist has them. Cached between runs.
VALUES=${VP_DATASOURCES_VALUES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vitrage-persistor/datasources_values-15.0.1}
echo "== Vitrage's datasources_values in $VALUES"
PYTHON="$VENV/bin/python" bash tools/fetch-datasources-values.sh "$VALUES"

echo "== a host-down incident through Vitrage's drivers, processor and evaluator, with the hooks and the persistor agent"
"$VENV/bin/python" tools/demo.py "$STATE" "$VALUES"
# On RabbitMQ the demo's durable queue outlives it: remove it, so the demo
# leaves nothing on the broker (the agent has stored and acked it all).
"$VENV/bin/python" - "$STATE/vitrage-persistor.conf" <<'PY'
import configparser, sys
import kombu
parser = configparser.RawConfigParser()
parser.read(sys.argv[1])
url = parser.get('DEFAULT', 'transport_url')
if url.startswith('rabbit://'):
    queue = parser.get('persistor', 'topic') + '.sample'
    with kombu.Connection(url.replace('rabbit://', 'amqp://', 1)) as conn:
        left = conn.default_channel.queue_delete(queue)
    print('removed the demo queue %s from RabbitMQ (%d messages left in it)'
          % (queue, left or 0))
PY

times() {
    "$VENV/bin/python" -c \
        "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
        "$STATE/times.json" "$1"
}
CONF=$(times config)
T1=$(times t1)
T2=$(times t2)
T3=$(times t3)
ALARM=$(times alarm)
ALARM_ON=$(times alarm_on)
REPLAY=("$VENV/bin/vitrage-persistor-replay" --config-file "$CONF")

echo "== vitrage-persistor-manage status"
"$VENV/bin/vitrage-persistor-manage" --config-file "$CONF" status

for t in 1 2 3; do
    at=$(times "t$t")
    "${REPLAY[@]}" show --at "$at" --format json -o "$STATE/graph-t$t.json"
    "${REPLAY[@]}" show --at "$at" --format svg -o "$STATE/graph-t$t.svg"
done
"${REPLAY[@]}" show --at "$T2" --format html -o "$STATE/graph-t2.html"
echo "== the graph replayed from the store, before ($T1), during ($T2) and after ($T3) the incident"
"$VENV/bin/python" - "$STATE" <<'PY'
import json, sys
for n, when in ((1, 'before'), (2, 'during'), (3, 'after')):
    doc = json.load(open('%s/graph-t%d.json' % (sys.argv[1], n)))
    alive = [v['properties'] for v in doc['vertices']
             if not v['properties'].get('vitrage_is_deleted')]
    deduced = [p for p in alive if p.get('vitrage_type') == 'vitrage']
    causes = [e for e in doc['edges']
              if e['relationship_type'] == 'causes'
              and not e['properties'].get('vitrage_is_deleted')]
    down = sorted(str(p.get('name') or p.get('id')) for p in alive
                  if p.get('is_marked_down'))
    print('%-6s the incident: %3d vertices alive, %d deduced alarms, '
          '%d causal links, marked down: %s'
          % (when, len(alive), len(deduced), len(causes),
             ', '.join(down) or 'none'))
PY

echo "== what changed when host-1 went down ($T1 -> $T2)"
"${REPLAY[@]}" diff --from "$T1" --to "$T2" > "$STATE/diff-incident.txt"
head -n 40 "$STATE/diff-incident.txt"

echo "== the root cause of instance_down on $ALARM_ON, as Vitrage saw it at $T2"
"${REPLAY[@]}" rca --alarm "$ALARM" --at "$T2"
"${REPLAY[@]}" rca --alarm "$ALARM" --at "$T2" --format svg -o "$STATE/rca-t2.svg"

echo "== what changed when the alarms cleared ($T2 -> $T3)"
"${REPLAY[@]}" diff --from "$T2" --to "$T3" > "$STATE/diff-recovery.txt"
head -n 20 "$STATE/diff-recovery.txt"

echo
echo "pictures: $STATE/graph-t1.svg $STATE/graph-t2.svg $STATE/graph-t3.svg $STATE/graph-t2.html $STATE/rca-t2.svg"
echo "database: $STATE/vitrage_persistor.sqlite; log: $STATE/demo.log"
echo
echo "try next:"
echo "  ${REPLAY[*]} history --entity host-1 --from $T1 --to $T3 --related"
echo "  ${REPLAY[*]} show --at $T2 --format html -o /tmp/graph.html"
echo "  $VENV/bin/vitrage-persistor-api --config-file $CONF &   # the API, on 127.0.0.1:8998"
echo "  $VENV/bin/vitrage --os-auth-type vitrage-noauth --endpoint http://127.0.0.1:8998/v1/at/$T2 --user-id admin --project-id admin --roles admin rca show $ALARM --all-tenants"
