#!/bin/bash
# Exercise devstack/plugin.sh without devstack: stand-in devstack
# functions, then the plugin's real phases (stack install, post-config,
# extra, test-config), the running services, tempest against the API, and
# unstack and clean.
#
#   tools/devstack-harness.sh TRANSPORT_URL DB_URL_PREFIX
#
# DB_URL_PREFIX is a database URL without the database name, e.g.
# postgresql+psycopg2://openstack_citest:openstack_citest@127.0.0.1
# The API runs with auth_strategy = noauth. Needs network access to the
# package index for tempest (installed into its own venv).
#
# With VP_HARNESS_VITRAGE_GRAPH=DIR (a datasources_values directory, see
# tools/fetch-datasources-values.sh) and VP_HARNESS_VITRAGE_DB_PREFIX (a
# MySQL/MariaDB URL without database: Vitrage 15.0.1's storage fails on
# PostgreSQL with a GROUP BY error) the vitrage-graph service is enabled
# too: a stand-in for Vitrage's own plugin configures it (doctor
# datasource, its own database) and starts vitrage-graph, our plugin
# swaps the command to vitrage-persistor-graph, and the harness pushes a
# doctor event to vitrage-graph's notification topic and waits for the
# API to serve it.
# The variables and stand-in functions below are used by the sourced
# devstack files, which shellcheck does not follow:
# shellcheck disable=SC2034,SC2317,SC2329
set -euo pipefail

TRANSPORT_URL=${1:?usage: $0 TRANSPORT_URL DB_URL_PREFIX}
DB_URL_PREFIX=${2:?usage: $0 TRANSPORT_URL DB_URL_PREFIX}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${VP_HARNESS_DIR:-$(mktemp -d /tmp/vp-devstack-XXXXXX)}
PYTHON=${PYTHON:-python3}
HARNESS_VENV=${VP_HARNESS_VENV:-$WORK/venv}
RUN=$$
mkdir -p "$WORK/logs" "$WORK/pids"

# --- the environment devstack would give the plugin --------------------------
DEST=$WORK/opt
DATA_DIR=$WORK/data
STACK_USER=$(id -un)
SERVICE_HOST=127.0.0.1
REGION_NAME=RegionOne
ENABLE_DEBUG_LOG_LEVEL=False
ENABLED_SERVICES=tempest,rabbit
TEMPEST_DIR=$WORK/tempest
TEMPEST_CONFIG=$TEMPEST_DIR/etc/tempest.conf
VITRAGE_PERSISTOR_DIR=$REPO
VITRAGE_PERSISTOR_CONF_DIR=$WORK/etc/vitrage-persistor
VITRAGE_PERSISTOR_AUTH_STRATEGY=noauth
VITRAGE_PERSISTOR_SERVICE_PORT=${VP_HARNESS_PORT:-18999}
VITRAGE_CONF=$WORK/etc/vitrage/vitrage.conf
VITRAGE_DATASOURCES_VALUES=${VP_HARNESS_VITRAGE_GRAPH:-}
VITRAGE_DB_PREFIX=${VP_HARNESS_VITRAGE_DB_PREFIX:-}
if [ -n "$VITRAGE_DATASOURCES_VALUES" ]; then
    ENABLED_SERVICES+=",vitrage,vitrage-graph"
fi
VITRAGE_PERSISTOR_RABBIT_VHOST=${TRANSPORT_URL##*/}
SERVICE_TIMEOUT=90
USE_SYSTEMD=False
mkdir -p "$DEST" "$DATA_DIR"

# --- stand-in devstack functions ----------------------------------------------
function echo_summary {
    echo "== $*"
}
function sudo {
    "$@"
}
function get_python_exec_prefix {
    echo "$HARNESS_VENV/bin"
}
function enable_service {
    local s
    for s in "$@"; do
        ENABLED_SERVICES+=",$s"
    done
}
function is_service_enabled {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
function die {
    shift
    echo "die: $*" >&2
    local log
    for log in "$WORK"/logs/vitrage-*.log; do
        [ -f "$log" ] || continue
        echo "--- $log" >&2
        tail -n 40 "$log" >&2
    done
    exit 1
}
function pip_install {
    # devstack installs uwsgi from source; pyuwsgi is the same server as
    # a wheel, with the same "uwsgi" command.
    "$HARNESS_VENV/bin/pip" install -q "${@/#uwsgi/pyuwsgi}" \
        >> "$WORK/logs/pip.log" 2>&1
}
function wait_for_service {
    "$HARNESS_VENV/bin/python" - "$1" "$2" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + int(sys.argv[1])
while True:
    try:
        urllib.request.urlopen(sys.argv[2], timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.5)
PY
}
function iniget {
    "$PYTHON" - "$@" <<'PY'
import configparser, sys
path, section, key = sys.argv[1:4]
parser = configparser.RawConfigParser()
parser.read(path)
print(parser.get(section, key, fallback=''))
PY
}
function setup_develop {
    "$HARNESS_VENV/bin/pip" install -q -e "$1[$2]" >> "$WORK/logs/pip.log" 2>&1
}
function iniset {
    mkdir -p "$(dirname "$1")"
    "$PYTHON" - "$@" <<'PY'
import configparser, sys
path, section, key, value = sys.argv[1:5]
parser = configparser.RawConfigParser()
parser.optionxform = str
parser.read(path)
if section != 'DEFAULT' and not parser.has_section(section):
    parser.add_section(section)
parser.set(section, key, value)
with open(path, 'w') as f:
    parser.write(f)
PY
}
function iniset_rpc_backend {
    iniset "$2" DEFAULT transport_url "$TRANSPORT_URL"
}
function database_connection_url {
    echo "$DB_URL_PREFIX/vph${RUN}_$1"
}
function recreate_database {
    # recreate_database NAME [URL_PREFIX]
    "$HARNESS_VENV/bin/python" - "${2:-$DB_URL_PREFIX}" "vph${RUN}_$1" <<'PY'
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1] + '/postgres'
                          if sys.argv[1].startswith('postgresql')
                          else sys.argv[1], isolation_level='AUTOCOMMIT')
with engine.connect() as conn:
    conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % sys.argv[2]))
    conn.execute(sa.text('CREATE DATABASE %s' % sys.argv[2]))
PY
}
function run_process {
    # its own process group, as a systemd unit is: stop_process then
    # stops the workers a service forks too
    local name=$1 command=$2 envs=()
    # The harness's uwsgi is pyuwsgi, which applies an ini file's "env ="
    # after Python has started, so os.environ never sees them; the real
    # uwsgi binary sets them first. Pass them as it would.
    if [[ "$command" =~ uwsgi\ --ini\ ([^ ]+) ]]; then
        mapfile -t envs < <(sed -n 's/^env = //p' "${BASH_REMATCH[1]}")
    fi
    setsid env "${envs[@]}" bash -c "exec $command" \
        > "$WORK/logs/$name.log" 2>&1 &
    echo $! > "$WORK/pids/$name.pid"
}
function stop_process {
    local pidfile=$WORK/pids/$1.pid _
    [ -f "$pidfile" ] || return 0
    kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 -- "-$(cat "$pidfile")" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
function configure_keystone_authtoken_middleware {
    echo "keystone is not part of this harness" >&2
    return 1
}

function drop_database {
    # drop_database NAME [URL_PREFIX]
    "$HARNESS_VENV/bin/python" - "${2:-$DB_URL_PREFIX}" "vph${RUN}_$1" <<'PY'
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1] + '/postgres'
                          if sys.argv[1].startswith('postgresql')
                          else sys.argv[1], isolation_level='AUTOCOMMIT')
with engine.connect() as conn:
    conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % sys.argv[2]))
PY
}

# --- a stand-in for Vitrage's own devstack plugin, vitrage-graph only ----
function vitrage_plugin {
    if ! is_service_enabled vitrage-graph; then
        return 0
    fi
    if [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        iniset_rpc_backend vitrage "$VITRAGE_CONF"
        iniset "$VITRAGE_CONF" database connection \
            "$VITRAGE_DB_PREFIX/vph${RUN}_vitrage"
        iniset "$VITRAGE_CONF" datasources types doctor
        iniset "$VITRAGE_CONF" datasources notification_exchange vp_harness
        iniset "$VITRAGE_CONF" entity_graph datasources_values_dir \
            "$VITRAGE_DATASOURCES_VALUES"
        iniset "$VITRAGE_CONF" evaluator workers 1
        iniset "$VITRAGE_CONF" api workers 1
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        recreate_database vitrage "$VITRAGE_DB_PREFIX"
        "$HARNESS_VENV/bin/vitrage-dbsync" --config-file "$VITRAGE_CONF" \
            >> "$WORK/logs/vitrage-dbsync.log" 2>&1
        run_process vitrage-graph \
            "$HARNESS_VENV/bin/vitrage-graph --config-file $VITRAGE_CONF"
    elif [[ "$1" == "unstack" ]]; then
        stop_process vitrage-graph
    elif [[ "$1" == "clean" ]]; then
        drop_database vitrage "$VITRAGE_DB_PREFIX"
        rm -rf "$(dirname "$VITRAGE_CONF")"
    fi
}

function plugin {
    # devstack sources the plugin once per phase
    # shellcheck source=/dev/null
    source "$REPO/devstack/plugin.sh" "$@"
}

function database_exists {
    # database_exists NAME [URL_PREFIX]
    "$HARNESS_VENV/bin/python" - "${2:-$DB_URL_PREFIX}" "vph${RUN}_$1" <<'PY'
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1] + '/postgres'
                          if sys.argv[1].startswith('postgresql')
                          else sys.argv[1])
with engine.connect() as conn:
    names = sa.inspect(conn).get_schema_names() \
        if not sys.argv[1].startswith('postgresql') else \
        [r[0] for r in conn.execute(sa.text(
            'SELECT datname FROM pg_database'))]
sys.exit(0 if sys.argv[2] in names else 1)
PY
}

# --- the run -------------------------------------------------------------------
if [ ! -x "$HARNESS_VENV/bin/python" ]; then
    "$PYTHON" -m venv "$HARNESS_VENV"
fi
# the Python the services run with, as devstack's $PYTHON
VITRAGE_PERSISTOR_PYTHON=$HARNESS_VENV/bin/python
# tempest, and the database drivers devstack would have installed
"$HARNESS_VENV/bin/pip" install -q tempest PyMySQL psycopg2-binary \
    >> "$WORK/logs/pip.log" 2>&1

# shellcheck source=/dev/null
source "$REPO/devstack/settings"
function kill_leftovers {
    local pidfile
    for pidfile in "$WORK"/pids/*.pid; do
        [ -f "$pidfile" ] && kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null
    done
    # whichever phase failed, leave no database on the shared server
    drop_database vitrage_persistor || true
    if [ -n "$VITRAGE_DB_PREFIX" ]; then
        drop_database vitrage "$VITRAGE_DB_PREFIX" || true
    fi
    return 0
}
# whatever fails below, leave no service running
trap kill_leftovers EXIT
plugin stack install
# devstack runs the plugins of a phase in the order they were enabled:
# vitrage, then vitrage-persistor
vitrage_plugin stack post-config
plugin stack post-config
rabbitmqctl list_policies -p "$VITRAGE_PERSISTOR_RABBIT_VHOST" \
    | grep -q vitrage-persistor-dlx || {
    echo "post-config set no dead-letter policy" >&2
    exit 1
}
vitrage_plugin stack extra
plugin stack extra || {
    echo "stack extra failed; API log:" >&2
    cat "$WORK/logs/vitrage-persistor-api.log" >&2
    exit 1
}
echo "== publishing events for the API to serve"
"$HARNESS_VENV/bin/python" - "$VITRAGE_PERSISTOR_CONF" <<'PY'
import sys, time
import vitrage_persistor.cmd  # noqa: F401
from vitrage_persistor import service
from vitrage_persistor.publish import publisher as publisher_mod
from vitrage_persistor.storage import api as storage_api
conf = service.prepare_service(['--config-file', sys.argv[1]],
                               setup_logging=False)
publisher = publisher_mod.Publisher(conf, 'driver', register_atexit=False)
for n in range(5):
    publisher.publish({'vitrage_entity_type': 'nova.host',
                       'vitrage_datasource_action': 'snapshot',
                       'vitrage_sample_date': '2026-11-22T03:12:0%dZ' % n,
                       'name': 'host-%d' % n})
assert publisher.flush(30), 'events not sent'
publisher.stop(5)
store = storage_api.Store.from_conf(conf)
deadline = time.monotonic() + 60
while store.event_counts()['count'] < 5:
    assert time.monotonic() < deadline, 'events not stored by the agent'
    time.sleep(0.5)
print('agent stored %d events' % store.event_counts()['count'])
PY

if is_service_enabled vitrage-graph; then
    echo "== pushing a doctor event to vitrage-graph"
    graph_cmdline=$(tr '\0' ' ' \
        < "/proc/$(cat "$WORK/pids/vitrage-graph.pid")/cmdline")
    if [[ "$graph_cmdline" != *vitrage-persistor-graph* ]]; then
        echo "vitrage-graph was not swapped: $graph_cmdline" >&2
        exit 1
    fi
    echo "vitrage-graph runs as: $graph_cmdline"
    "$HARNESS_VENV/bin/python" "$REPO/tools/harness_vitrage_graph_event.py" \
        "$VITRAGE_CONF" "$WORK/logs/vitrage-graph.log" \
        "http://127.0.0.1:$VITRAGE_PERSISTOR_SERVICE_PORT"
fi

mkdir -p "$TEMPEST_DIR"
"$HARNESS_VENV/bin/tempest" init --workspace-path "$WORK/workspaces.yaml" \
    --name "vp-harness-$$" "$TEMPEST_DIR" > "$WORK/logs/tempest-init.log" 2>&1
plugin stack test-config
status=0
(cd "$TEMPEST_DIR" && "$HARNESS_VENV/bin/tempest" run --concurrency 1 \
    --regex vitrage_persistor) || status=$?

plugin unstack
vitrage_plugin unstack
plugin clean
vitrage_plugin clean
for name in vitrage-persistor-agent vitrage-persistor-api vitrage-graph; do
    if [ -f "$WORK/pids/$name.pid" ]; then
        echo "$name was not stopped by unstack" >&2
        status=1
    fi
done
if [ -d "$VITRAGE_PERSISTOR_CONF_DIR" ]; then
    echo "clean left $VITRAGE_PERSISTOR_CONF_DIR behind" >&2
    status=1
fi
if database_exists vitrage_persistor; then
    echo "clean left the database vph${RUN}_vitrage_persistor behind" >&2
    status=1
fi
if [ -n "$VITRAGE_DB_PREFIX" ] && \
        database_exists vitrage "$VITRAGE_DB_PREFIX"; then
    echo "Vitrage's clean left vph${RUN}_vitrage behind" >&2
    status=1
fi
echo "devstack harness: tempest exit status $status"
exit "$status"
