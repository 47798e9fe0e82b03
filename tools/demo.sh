#!/bin/bash
# The main job, from a fresh clone: set everything up and run the pipeline
# end to end on its defaults.
#
#   tools/demo.sh [STATE_DIR]      (default: ./demo-state, recreated)
#
# It creates .venv, installs vitrage-persistor with the vitrage extra,
# runs Vitrage's drivers with the hooks on mock data, persists the events
# through the agent into SQLite (local RabbitMQ, or the in-process fake://
# transport when none runs), then replays the graph at two times, diffs
# them and draws the graph to SVG and HTML files.
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

echo "== running Vitrage's drivers with the hooks, and the persistor agent"
"$VENV/bin/python" tools/demo.py "$STATE"
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
REPLAY=("$VENV/bin/vitrage-persistor-replay" --config-file "$CONF")

echo "== vitrage-persistor-manage status"
"$VENV/bin/vitrage-persistor-manage" --config-file "$CONF" status

echo "== the graph at $T1 (after the first poll and pushed notifications)"
"${REPLAY[@]}" show --at "$T1" --format json -o "$STATE/graph-t1.json"
"${REPLAY[@]}" show --at "$T1" --format svg -o "$STATE/graph-t1.svg"
echo "== the graph at $T2 (after a VM and a volume were deleted)"
"${REPLAY[@]}" show --at "$T2" --format json -o "$STATE/graph-t2.json"
"${REPLAY[@]}" show --at "$T2" --format svg -o "$STATE/graph-t2.svg"
"${REPLAY[@]}" show --at "$T2" --format html -o "$STATE/graph-t2.html"
"$VENV/bin/python" - "$STATE" <<'PY'
import json, sys
for name in ('graph-t1.json', 'graph-t2.json'):
    doc = json.load(open('%s/%s' % (sys.argv[1], name)))
    nodes = doc['vertices']
    links = doc['edges']
    deleted = sum(1 for n in nodes
                  if n['properties'].get('vitrage_is_deleted'))
    print('%s: %d vertices (%d marked deleted), %d edges'
          % (name, len(nodes), deleted, len(links)))
PY

echo "== what changed between $T1 and $T2"
"${REPLAY[@]}" diff --from "$T1" --to "$T2" > "$STATE/diff.txt"
head -n 40 "$STATE/diff.txt"

echo
echo "pictures: $STATE/graph-t1.svg $STATE/graph-t2.svg $STATE/graph-t2.html"
echo "database: $STATE/vitrage_persistor.sqlite; log: $STATE/demo.log"
