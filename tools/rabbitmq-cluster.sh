#!/bin/bash
# A three-node RabbitMQ cluster on this machine, for tests and benchmarks.
#
#   tools/rabbitmq-cluster.sh start|stop|status DIR
#   tools/rabbitmq-cluster.sh ctl DIR N ARGS...   (rabbitmqctl on node N)
#   tools/rabbitmq-cluster.sh pid DIR N           (node N's OS pid, if up)
#   tools/rabbitmq-cluster.sh kill DIR N          (kill -9 node N: a crash)
#   tools/rabbitmq-cluster.sh start-node DIR N    (start node N again; it
#                                                  rejoins the cluster)
#
# The nodes are <NAME>1@localhost .. <NAME>3@localhost (NAME from
# VP_RABBIT_CLUSTER_NAME, default rabbit-vp), AMQP on 127.0.0.1 ports
# PORT, PORT+1, PORT+2 (VP_RABBIT_CLUSTER_PORT, default 25674: 25672 is
# the Erlang distribution port of the machine's broker), Erlang
# distribution on PORT+10.. (25684-25686), rabbitmqctl's own distribution
# ports in PORT+16..PORT+25 (25690-25699). Everything they write (Mnesia, logs, pid files,
# config, the shared Erlang cookie) is under DIR, which must be reachable
# by the rabbitmq user (not a 0700 temporary directory). The machine's own
# broker (rabbit@localhost, port 5672, /var/lib/rabbitmq) is not touched:
# every rabbitmq command here runs with HOME=DIR, its own config files and
# an explicit node name.
#
# start prints the oslo.messaging transport URL listing the three nodes
# and writes it to DIR/transport_url. stop stops these nodes only, and
# kills what is left of them (processes whose command line names DIR).
set -euo pipefail

ACTION=${1:-}
DIR=${2:-}
NAME=${VP_RABBIT_CLUSTER_NAME:-rabbit-vp}
PORT=${VP_RABBIT_CLUSTER_PORT:-25674}
START_TIMEOUT=${VP_RABBIT_CLUSTER_TIMEOUT:-120}
LIBEXEC=/usr/lib/rabbitmq/bin

usage() {
    echo "usage: $0 start|stop|status DIR |" \
        "ctl|pid|kill|start-node DIR N [ARGS...]" >&2
    exit 2
}

if [ -z "$ACTION" ] || [ -z "$DIR" ]; then
    usage
fi
case "$DIR" in
    /*) ;;
    *) DIR="$PWD/$DIR" ;;
esac

if [ -x "$LIBEXEC/rabbitmq-server" ]; then
    SERVER="$LIBEXEC/rabbitmq-server"
    CTL="$LIBEXEC/rabbitmqctl"
else
    SERVER=$(command -v rabbitmq-server || true)
    CTL=$(command -v rabbitmqctl || true)
fi
if [ -z "$SERVER" ] || [ -z "$CTL" ]; then
    echo "rabbitmq-server not installed (tools/test-setup.sh installs it)" >&2
    exit 1
fi

node_name() {
    echo "${NAME}$1@localhost"
}

node_dir() {
    echo "$DIR/node$1"
}

# Run a RabbitMQ command for node $1 with this cluster's environment: as
# the rabbitmq user when we are root (RabbitMQ's own scripts refuse root),
# with HOME=DIR so that the Erlang cookie is DIR/.erlang.cookie.
as_node() {
    local n=$1
    shift
    local ndir
    ndir=$(node_dir "$n")
    local envs=(
        HOME="$DIR"
        RABBITMQ_NODENAME="$(node_name "$n")"
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT=$((PORT + n - 1))
        RABBITMQ_DIST_PORT=$((PORT + 10 + n - 1))
        RABBITMQ_CTL_DIST_PORT_MIN=$((PORT + 16))
        RABBITMQ_CTL_DIST_PORT_MAX=$((PORT + 25))
        RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
        RABBITMQ_CONFIG_FILE="$ndir/rabbitmq.conf"
        RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
        RABBITMQ_MNESIA_BASE="$ndir/mnesia"
        RABBITMQ_LOG_BASE="$ndir/log"
        RABBITMQ_PID_FILE="$ndir/pid"
    )
    if [ "$(id -u)" = 0 ]; then
        (cd "$DIR" && runuser -u rabbitmq -- env "${envs[@]}" "$@")
    else
        (cd "$DIR" && env "${envs[@]}" "$@")
    fi
}

ctl() {
    local n=$1
    shift
    as_node "$n" "$CTL" -n "$(node_name "$n")" "$@"
}

transport_url() {
    local hosts="" n
    for n in 1 2 3; do
        hosts="${hosts:+$hosts,}guest:guest@127.0.0.1:$((PORT + n - 1))"
    done
    echo "rabbit://$hosts/"
}

running_nodes() {
    # cluster_status as JSON: count our node names in running_nodes
    ctl 1 cluster_status --formatter json 2>/dev/null |
        grep -o '"running_nodes":\[[^]]*\]' | grep -o "${NAME}[123]@localhost" |
        sort -u | wc -l
}

await_node() {
    local n=$1 deadline
    deadline=$((SECONDS + START_TIMEOUT))
    until ctl "$n" await_startup -t 5 >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            echo "node $(node_name "$n") did not start in ${START_TIMEOUT}s;" \
                "see $(node_dir "$n")/log" >&2
            return 1
        fi
        sleep 1
    done
}

prepare() {
    if [ -e "$DIR/.erlang.cookie" ] && [ -n "$(our_pids)" ]; then
        echo "a cluster is already running in $DIR; stop it first" >&2
        exit 1
    fi
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    rm -f "$DIR/.erlang.cookie"
    # 20 upper-case letters, as RabbitMQ generates its own
    # (tr dies of SIGPIPE when head has its 20: not an error)
    local cookie
    cookie=$(LC_ALL=C tr -dc '[:upper:]' </dev/urandom | head -c 20 || true)
    printf '%s' "$cookie" >"$DIR/.erlang.cookie"
    chmod 400 "$DIR/.erlang.cookie"
    echo '[].' >"$DIR/enabled_plugins"
    cat >"$DIR/rabbitmq-env.conf" <<EOF
# written by tools/rabbitmq-cluster.sh: the machine's rabbitmq-env.conf
# (its NODENAME) does not apply to this cluster
ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
    local n ndir
    for n in 1 2 3; do
        ndir=$(node_dir "$n")
        mkdir -p "$ndir/mnesia" "$ndir/log"
        cat >"$ndir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$((PORT + n - 1))
loopback_users = none
EOF
    done
    if [ "$(id -u)" = 0 ]; then
        chown -R rabbitmq: "$DIR"
        if ! runuser -u rabbitmq -- test -r "$DIR/.erlang.cookie"; then
            echo "$DIR is not reachable by the rabbitmq user (a parent" \
                "directory is private?); use a directory under /tmp" >&2
            exit 1
        fi
    fi
}

our_pids() {
    # the Erlang VMs (and their helpers) whose command line names DIR
    pgrep -f -- "$DIR/node[123]/" || true
}

start() {
    prepare
    local n
    for n in 1 2 3; do
        as_node "$n" "$SERVER" -detached
    done
    for n in 1 2 3; do
        await_node "$n"
    done
    for n in 2 3; do
        ctl "$n" stop_app >/dev/null
        ctl "$n" join_cluster "$(node_name 1)" >/dev/null
        ctl "$n" start_app >/dev/null
    done
    local deadline
    deadline=$((SECONDS + START_TIMEOUT))
    until [ "$(running_nodes)" = 3 ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "the three nodes did not form a cluster in" \
                "${START_TIMEOUT}s" >&2
            ctl 1 cluster_status >&2 || true
            return 1
        fi
        sleep 1
    done
    transport_url >"$DIR/transport_url"
    transport_url
}

stop() {
    local n pids
    for n in 1 2 3; do
        if [ -d "$(node_dir "$n")" ]; then
            ctl "$n" stop >/dev/null 2>&1 || true
        fi
    done
    pids=$(our_pids)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086  # one pid per word
        kill -9 $pids 2>/dev/null || true
    fi
}

status() {
    local n
    for n in 1 2 3; do
        if ctl "$n" status >/dev/null 2>&1; then
            echo "$(node_name "$n") running on 127.0.0.1:$((PORT + n - 1))"
        else
            echo "$(node_name "$n") not running"
        fi
    done
    echo "cluster: $(running_nodes) of 3 nodes running"
    [ "$(running_nodes)" = 3 ]
}

node_pid() {
    local pidfile pid
    pidfile="$(node_dir "$1")/pid"
    [ -s "$pidfile" ] || return 1
    pid=$(<"$pidfile")
    # a killed node whose zombie nobody has reaped yet (an init that
    # reaps late) still answers kill -0: not running
    case "$(ps -o stat= -p "$pid" 2>/dev/null)" in
        "" | Z*) return 1 ;;
    esac
    echo "$pid"
}

case "$ACTION" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    ctl)
        [ $# -ge 3 ] || usage
        N=$3
        shift 3
        ctl "$N" "$@"
        ;;
    pid)
        [ $# -ge 3 ] || usage
        node_pid "$3"
        ;;
    kill)
        [ $# -ge 3 ] || usage
        PID=$(node_pid "$3") || {
            echo "node $(node_name "$3") is not running" >&2
            exit 1
        }
        kill -9 "$PID"
        # return once it is gone: a loaded machine takes a while to tear a
        # VM down, and "pid" must not name it meanwhile (up to 30 s)
        for _ in $(seq 300); do
            node_pid "$3" >/dev/null || break
            sleep 0.1
        done
        ;;
    start-node)
        [ $# -ge 3 ] || usage
        as_node "$3" "$SERVER" -detached
        await_node "$3"
        ;;
    *) usage ;;
esac
