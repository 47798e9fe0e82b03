#!/bin/bash -xe
# Prepare this machine for the functional tests, idempotently:
#   * install PostgreSQL, MariaDB and RabbitMQ from Debian if missing;
#   * start them if they are not running (no systemd needed);
#   * create the openstack_citest user and database that oslo.db's
#     opportunistic fixtures use, on both databases.
# Run it as root (or with passwordless sudo), like placement's script of
# the same name. Tests make their own RabbitMQ vhost per test.

DB_ROOT_PW=${MYSQL_ROOT_PW:-}
DB_USER=openstack_citest
DB_PW=openstack_citest

SUDO=()
AS_POSTGRES=(runuser -u postgres --)
if [ "$(id -u)" != "0" ]; then
    SUDO=(sudo -H)
    AS_POSTGRES=(sudo -H -u postgres)
fi

apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        "${SUDO[@]}" apt-get update -q
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -q -y \
            --no-install-recommends "${missing[@]}"
    fi
}

wait_for() {
    # wait_for <seconds> <command...>: retry until the command succeeds.
    local deadline
    deadline=$(( $(date +%s) + $1 ))
    shift
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out waiting for: $*" >&2
            return 1
        fi
        sleep 1
    done
}

apt_install postgresql mariadb-server mariadb-client rabbitmq-server graphviz
# the Galera tests' private cluster (tools/galera-cluster.sh; rsync: SST)
apt_install galera-4 rsync
# the history page's browser test: playwright (PyPI) drives this Chromium
apt_install chromium

# --- PostgreSQL -----------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -q; then
    for dir in /etc/postgresql/*; do
        [ -d "$dir" ] || continue
        "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect \
            "$(basename "$dir")" main start || true
    done
fi
wait_for 60 pg_isready -h 127.0.0.1 -q
PSQL=("${AS_POSTGRES[@]}" psql -v ON_ERROR_STOP=1 -q)
if ! "${PSQL[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'" | grep -q 1;
then
    "${PSQL[@]}" -c "CREATE ROLE $DB_USER WITH CREATEDB LOGIN PASSWORD '$DB_PW'"
fi
if ! "${PSQL[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_USER'" \
        | grep -q 1; then
    "${PSQL[@]}" -c "CREATE DATABASE $DB_USER OWNER $DB_USER"
fi

# --- MariaDB -----------------------------------------------------------------
if ! mysqladmin -uroot ${DB_ROOT_PW:+-p$DB_ROOT_PW} ping >/dev/null 2>&1; then
    "${SUDO[@]}" mkdir -p /run/mysqld
    "${SUDO[@]}" chown mysql:mysql /run/mysqld 2>/dev/null || true
    "${SUDO[@]}" service mariadb start 2>/dev/null || \
        "${SUDO[@]}" start-stop-daemon --start --oknodo --background \
            --exec /usr/sbin/mariadbd
fi
wait_for 60 mysqladmin -uroot ${DB_ROOT_PW:+-p$DB_ROOT_PW} ping
"${SUDO[@]}" mysql -uroot ${DB_ROOT_PW:+-p$DB_ROOT_PW} <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PW';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PW';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS $DB_USER CHARACTER SET utf8mb4;
FLUSH PRIVILEGES;
SQL

# --- RabbitMQ ----------------------------------------------------------------
if ! "${SUDO[@]}" rabbitmqctl -q status >/dev/null 2>&1; then
    "${SUDO[@]}" env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached
fi
wait_for 120 "${SUDO[@]}" rabbitmqctl await_startup
echo "test setup done: PostgreSQL, MariaDB and RabbitMQ are up"
