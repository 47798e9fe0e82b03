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
VITRAGE_PERSISTOR_RABBIT_VHOST=${TRANSPORT_URL##*/}
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
    "$HARNESS_VENV/bin/python" - "$DB_URL_PREFIX" "vph${RUN}_$1" <<'PY'
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
    local name=$1 command=$2
    bash -c "exec $command" > "$WORK/logs/$name.log" 2>&1 &
    echo $! > "$WORK/pids/$name.pid"
}
function stop_process {
    local pidfile=$WORK/pids/$1.pid
    [ -f "$pidfile" ] || return 0
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}
function configure_keystone_authtoken_middleware {
    echo "keystone is not part of this harness" >&2
    return 1
}

function plugin {
    # devstack sources the plugin once per phase
    # shellcheck source=/dev/null
    source "$REPO/devstack/plugin.sh" "$@"
}

function wait_for_api {
    local _
    for _ in $(seq 1 60); do
        if "$HARNESS_VENV/bin/python" -c "import urllib.request, sys; \
urllib.request.urlopen(sys.argv[1], timeout=2)" \
            "http://127.0.0.1:$VITRAGE_PERSISTOR_SERVICE_PORT/" 2>/dev/null
        then
            return 0
        fi
        sleep 1
    done
    echo "the API did not answer; log:" >&2
    cat "$WORK/logs/vitrage-persistor-api.log" >&2
    return 1
}

# --- the run -------------------------------------------------------------------
if [ ! -x "$HARNESS_VENV/bin/python" ]; then
    "$PYTHON" -m venv "$HARNESS_VENV"
fi
# tempest, and the database drivers devstack would have installed
"$HARNESS_VENV/bin/pip" install -q tempest PyMySQL psycopg2-binary \
    >> "$WORK/logs/pip.log" 2>&1

# shellcheck source=/dev/null
source "$REPO/devstack/settings"
function kill_leftovers {
    local pidfile
    for pidfile in "$WORK"/pids/*.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}
# whatever fails below, leave no service running
trap kill_leftovers EXIT
plugin stack install
plugin stack post-config
rabbitmqctl list_policies -p "$VITRAGE_PERSISTOR_RABBIT_VHOST" \
    | grep -q vitrage-persistor-dlx || {
    echo "post-config set no dead-letter policy" >&2
    exit 1
}
plugin stack extra
wait_for_api
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

mkdir -p "$TEMPEST_DIR"
"$HARNESS_VENV/bin/tempest" init --workspace-path "$WORK/workspaces.yaml" \
    --name "vp-harness-$$" "$TEMPEST_DIR" > "$WORK/logs/tempest-init.log" 2>&1
plugin stack test-config
status=0
(cd "$TEMPEST_DIR" && "$HARNESS_VENV/bin/tempest" run --concurrency 1 \
    --regex vitrage_persistor) || status=$?

plugin unstack
plugin clean
for name in vitrage-persistor-agent vitrage-persistor-api; do
    if [ -f "$WORK/pids/$name.pid" ]; then
        echo "$name was not stopped by unstack" >&2
        status=1
    fi
done
if [ -d "$VITRAGE_PERSISTOR_CONF_DIR" ]; then
    echo "clean left $VITRAGE_PERSISTOR_CONF_DIR behind" >&2
    status=1
fi
echo "devstack harness: tempest exit status $status"
exit "$status"
