#!/bin/bash
# A three-node MariaDB Galera cluster on 127.0.0.1, for tests and benches.
#
#   tools/galera-cluster.sh start  <dir>     bootstrap node 1, join 2 and 3
#   tools/galera-cluster.sh stop   <dir>     shut down the nodes of <dir>
#   tools/galera-cluster.sh status <dir>     one line per node
#   tools/galera-cluster.sh kill   <dir> <n> SIGKILL node n (a crash)
#   tools/galera-cluster.sh start-node <dir> <n>  (re)join node n
#
# Node n listens for SQL on 127.0.0.1:$((33060 + n)) (GALERA_SQL_BASE
# overrides 33060), for group communication on 34560 + n, IST on 34570 + n
# and SST (rsync) on 34580 + n (GALERA_PORT_BASE overrides 34560). Its
# data, socket, pid file and log live in <dir>/node<n>; nothing reads the
# machine's /etc/mysql, /var/lib/mysql or /run/mysqld, and stop and kill
# only signal the pids recorded under <dir>. User root, no password, from
# 127.0.0.1. Needs Debian's galera-4, mariadb-server and rsync.
set -eu

SQL_BASE=${GALERA_SQL_BASE:-33060}
PORT_BASE=${GALERA_PORT_BASE:-34560}
NODES=(1 2 3)
PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}

usage() {
    echo "usage: $0 start|stop|status <dir> | kill|start-node <dir> <n>" >&2
    exit 2
}

[ $# -ge 2 ] || usage
CMD=$1
DIR=$(realpath -m "$2")
NODE_ARG=${3:-}

node_dir() { echo "$DIR/node$1"; }
sql_port() { echo $((SQL_BASE + $1)); }
node_pid() { cat "$(node_dir "$1")/mysqld.pid" 2>/dev/null || true; }

is_running() {
    local pid
    pid=$(node_pid "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

client() {
    # client <n> <sql>: one statement through node n's own socket.
    mariadb --no-defaults -uroot -S "$(node_dir "$1")/mysqld.sock" \
        -N -B -e "$2"
}

wsrep_var() {
    client "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | cut -f2
}

cluster_address() {
    local n addrs=()
    for n in "${NODES[@]}"; do
        addrs+=("127.0.0.1:$((PORT_BASE + n))")
    done
    local IFS=,
    echo "gcomm://${addrs[*]}"
}

own() {
    # As root the nodes run as the mysql user, like the packaged server:
    # the rsync SST's daemon would otherwise drop to nobody and fail to
    # write the joiner's data directory.
    if [ "$(id -u)" = "0" ]; then
        chown -R mysql:mysql "$1"
    fi
}

write_config() {
    local n=$1 d
    d=$(node_dir "$n")
    local run_as=()
    if [ "$(id -u)" = "0" ]; then
        run_as=("user = mysql")
    fi
    cat >"$d/my.cnf" <<EOF
[mysqld]
${run_as[@]+"${run_as[@]}"}
datadir = $d/data
socket = $d/mysqld.sock
pid-file = $d/mysqld.pid
log-error = $d/error.log
port = $(sql_port "$n")
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
innodb_buffer_pool_size = 128M
innodb_flush_log_at_trx_commit = 2
max_connections = 300
# What Galera requires of every node.
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = vp-galera-$PORT_BASE
wsrep_cluster_address = $(cluster_address)
wsrep_node_name = node$n
wsrep_node_address = 127.0.0.1:$((PORT_BASE + n))
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$((PORT_BASE + n));ist.recv_addr=127.0.0.1:$((PORT_BASE + 10 + n));gcache.size=128M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((PORT_BASE + 20 + n))
# auto_increment_increment = cluster size, offset = node index (the default)
wsrep_auto_increment_control = ON
EOF
}

wait_node() {
    # wait_node <n> <seconds>: node n is ready and synced with the others.
    local n=$1 deadline ready state
    deadline=$(( $(date +%s) + $2 ))
    while true; do
        ready=$(wsrep_var "$n" wsrep_ready)
        state=$(wsrep_var "$n" wsrep_local_state_comment)
        if [ "$ready" = "ON" ] && [ "$state" = "Synced" ]; then
            return 0
        fi
        if ! is_running "$n" && [ -f "$(node_dir "$n")/mysqld.pid" ]; then
            echo "node $n died; see $(node_dir "$n")/error.log" >&2
            tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
            return 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "node $n not ready after $2s; see" \
                "$(node_dir "$n")/error.log" >&2
            tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

launch() {
    # launch <n> [extra mariadbd options]
    local n=$1 d
    shift
    d=$(node_dir "$n")
    mkdir -p "$d/data"
    own "$d"
    rm -f "$d/mysqld.pid"
    setsid mariadbd --defaults-file="$d/my.cnf" "$@" \
        >>"$d/stdout.log" 2>&1 </dev/null &
    local child=$!
    # the pid file appears once the server has initialised; wait for it
    local tries=0
    while [ ! -s "$d/mysqld.pid" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 240 ] || ! kill -0 "$child" 2>/dev/null; then
            echo "node $n wrote no pid file; see $d/error.log" >&2
            tail -n 30 "$d/error.log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

any_running() {
    local n
    for n in "${NODES[@]}"; do
        if is_running "$n"; then
            return 0
        fi
    done
    return 1
}

recovered_position() {
    # After a crash grastate.dat says seqno -1: read the last committed
    # position from InnoDB (what the packaged galera_recovery does), so
    # the node rejoins by IST from the gcache instead of a full SST.
    local n=$1 d log
    d=$(node_dir "$n")
    if ! grep -q '^seqno: *-1' "$d/data/grastate.dat" 2>/dev/null; then
        return 0
    fi
    log="$d/recover.log"
    rm -f "$log"
    mariadbd --defaults-file="$d/my.cnf" --wsrep-recover \
        --log-error="$log" >/dev/null 2>&1 || true
    sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$log" |
        tail -n 1
}

start_node() {
    local n=$1 position
    if is_running "$n"; then
        return 0
    fi
    write_config "$n"
    # SQL ports 33061-33063 lie in Linux's ephemeral range, so a client
    # socket elsewhere on the machine can hold one for a moment ("Address
    # already in use"): try again a few times.
    local attempt
    for attempt in 1 2 3; do
        position=$(recovered_position "$n")
        if [ -n "$position" ]; then
            launch "$n" --wsrep-start-position="$position" || true
        else
            launch "$n" || true
        fi
        if wait_node "$n" 180; then
            return 0
        fi
        echo "node $n failed to join (attempt $attempt)" >&2
        stop_node "$n"
    done
    return 1
}

stop_node() {
    local pid tries=0
    pid=$(node_pid "$1")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 120 ]; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.5
    done
    rm -f "$(node_dir "$1")/mysqld.pid"
}

bootstrap() {
    # A new cluster: initialise node 1, add the TCP root user, stop it
    # cleanly and seed nodes 2 and 3 with copies of its data directory,
    # so they join with the same state and need no full SST.
    local d n
    d=$(node_dir 1)
    mkdir -p "$d/data"
    own "$d"
    write_config 1
    if [ ! -d "$d/data/mysql" ]; then
        local as_user=()
        if [ "$(id -u)" = "0" ]; then
            as_user=(--user=mysql)
        fi
        mariadb-install-db --no-defaults --datadir="$d/data" \
            ${as_user[@]+"${as_user[@]}"} \
            --auth-root-authentication-method=normal \
            --skip-test-db >"$d/install.log" 2>&1
        launch 1 --wsrep-new-cluster
        wait_node 1 120
        client 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
            GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1'
            WITH GRANT OPTION;"
        stop_node 1
        for n in "${NODES[@]:1}"; do
            rm -rf "$(node_dir "$n")/data"
            mkdir -p "$(node_dir "$n")"
            cp -a "$d/data" "$(node_dir "$n")/data"
            rm -f "$(node_dir "$n")/data/galera.cache" \
                "$(node_dir "$n")/data/gvwstate.dat"
        done
    fi
    sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' \
        "$d/data/grastate.dat"
    launch 1 --wsrep-new-cluster
    wait_node 1 120
}

cmd_start() {
    mkdir -p "$DIR"
    if [ "$(id -u)" = "0" ]; then
        # the mysql user must reach <dir>
        chmod 755 "$DIR"
    fi
    if ! any_running; then
        bootstrap
    fi
    local n
    for n in "${NODES[@]}"; do
        start_node "$n"
    done
    local size
    size=$(wsrep_var 1 wsrep_cluster_size)
    if [ "$size" != "${#NODES[@]}" ]; then
        echo "cluster size is '$size', expected ${#NODES[@]}" >&2
        return 1
    fi
    cmd_status
}

cmd_stop() {
    local n pid
    for n in "${NODES[@]}"; do
        pid=$(node_pid "$n")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
        fi
    done
    for n in "${NODES[@]}"; do
        stop_node "$n"
    done
}

cmd_status() {
    local n
    for n in "${NODES[@]}"; do
        if is_running "$n"; then
            echo "node$n pid $(node_pid "$n") port $(sql_port "$n")" \
                "$(wsrep_var "$n" wsrep_local_state_comment)" \
                "cluster_size=$(wsrep_var "$n" wsrep_cluster_size)" \
                "ready=$(wsrep_var "$n" wsrep_ready)"
        else
            echo "node$n down port $(sql_port "$n")"
        fi
    done
}

cmd_kill() {
    local pid
    pid=$(node_pid "$1")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        while kill -0 "$pid" 2>/dev/null; do
            sleep 0.1
        done
    fi
}

case $CMD in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill) [ -n "$NODE_ARG" ] || usage; cmd_kill "$NODE_ARG" ;;
    start-node) [ -n "$NODE_ARG" ] || usage; start_node "$NODE_ARG" ;;
    *) usage ;;
esac
