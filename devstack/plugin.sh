#!/bin/bash
# devstack plugin of vitrage-persistor, with aodh's phases:
#   stack install      install the package (with the vitrage extra)
#   stack post-config  write vitrage-persistor.conf (messaging, database,
#                      API auth) and the hooks snippet for vitrage.conf
#   stack extra        create the database schema, start the agent and
#                      the API (uWSGI, then wait_for_service), and run
#                      vitrage-graph as vitrage-persistor-graph
#   stack test-config  tempest options
#   unstack            stop the services
#   clean              drop the database, remove config and state
#
# Enable it after Vitrage's plugin (enable_plugin vitrage ... first), so
# that its "stack extra" runs after Vitrage's has started vitrage-graph.

function install_vitrage_persistor {
    setup_develop "$VITRAGE_PERSISTOR_DIR" vitrage
    if is_service_enabled vitrage-persistor-api; then
        pip_install uwsgi
    fi
}

function write_vitrage_persistor_uwsgi_config {
    # The API as the docs deploy it: uWSGI with the module, configuration
    # from OS_VITRAGE_PERSISTOR_CONFIG_FILES (never the command line).
    cat > "$VITRAGE_PERSISTOR_UWSGI_CONF" <<EOF
[uwsgi]
module = vitrage_persistor.api.wsgi:application
http-socket = $VITRAGE_PERSISTOR_SERVICE_HOST:$VITRAGE_PERSISTOR_SERVICE_PORT
env = OS_VITRAGE_PERSISTOR_CONFIG_FILES=$VITRAGE_PERSISTOR_CONF
master = true
processes = $VITRAGE_PERSISTOR_API_WORKERS
threads = 2
need-app = true
die-on-term = true
lazy-apps = true
procname-prefix = vitrage-persistor-api
EOF
}

function configure_vitrage_persistor {
    sudo install -d -o "$STACK_USER" "$VITRAGE_PERSISTOR_CONF_DIR" \
        "$VITRAGE_PERSISTOR_STATE_PATH"
    rm -f "$VITRAGE_PERSISTOR_CONF"
    iniset "$VITRAGE_PERSISTOR_CONF" DEFAULT state_path \
        "$VITRAGE_PERSISTOR_STATE_PATH"
    iniset "$VITRAGE_PERSISTOR_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset_rpc_backend vitrage-persistor "$VITRAGE_PERSISTOR_CONF"
    iniset "$VITRAGE_PERSISTOR_CONF" database connection \
        "$(database_connection_url vitrage_persistor)"
    iniset "$VITRAGE_PERSISTOR_CONF" persistor topic \
        "$VITRAGE_PERSISTOR_TOPIC"
    iniset "$VITRAGE_PERSISTOR_CONF" persistor workers \
        "$VITRAGE_PERSISTOR_WORKERS"
    iniset "$VITRAGE_PERSISTOR_CONF" api host "$VITRAGE_PERSISTOR_SERVICE_HOST"
    iniset "$VITRAGE_PERSISTOR_CONF" api port "$VITRAGE_PERSISTOR_SERVICE_PORT"
    iniset "$VITRAGE_PERSISTOR_CONF" api auth_strategy \
        "$VITRAGE_PERSISTOR_AUTH_STRATEGY"
    if [ "$VITRAGE_PERSISTOR_AUTH_STRATEGY" = "keystone" ]; then
        configure_keystone_authtoken_middleware "$VITRAGE_PERSISTOR_CONF" \
            vitrage-persistor
    fi
    if is_service_enabled vitrage-graph; then
        # vitrage-graph publishes through the hooks when it is started as
        # vitrage-persistor-graph (swap_vitrage_graph below).
        iniset "$VITRAGE_CONF" persistor topic "$VITRAGE_PERSISTOR_TOPIC"
        iniset "$VITRAGE_CONF" persistor_hooks enabled True
    fi
    write_vitrage_persistor_uwsgi_config
}

function configure_vitrage_persistor_broker {
    # What oslo.messaging rejects before the agent sees it (not JSON, not
    # UTF-8, a refused content type) is dead-lettered by this policy and
    # drained into the quarantine; see doc/source/persistor.rst.
    if is_service_enabled rabbit; then
        sudo "$VITRAGE_PERSISTOR_DIR/tools/rabbitmq-dead-letter-policy.sh" \
            "$VITRAGE_PERSISTOR_RABBIT_VHOST" "$VITRAGE_PERSISTOR_TOPIC"
    fi
}

function create_vitrage_persistor_accounts {
    if [ "$VITRAGE_PERSISTOR_AUTH_STRATEGY" != "keystone" ]; then
        return
    fi
    create_service_user vitrage-persistor admin
    get_or_create_service rca-history rca-history \
        "Vitrage event history (vitrage-persistor)"
    get_or_create_endpoint rca-history "$REGION_NAME" \
        "http://$VITRAGE_PERSISTOR_SERVICE_HOST:$VITRAGE_PERSISTOR_SERVICE_PORT"
}

function init_vitrage_persistor {
    recreate_database vitrage_persistor
    "$VITRAGE_PERSISTOR_BIN_DIR/vitrage-persistor-manage" \
        --config-file "$VITRAGE_PERSISTOR_CONF" db upgrade
}

function start_vitrage_persistor {
    run_process vitrage-persistor-agent \
        "$VITRAGE_PERSISTOR_BIN_DIR/vitrage-persistor-agent --config-file $VITRAGE_PERSISTOR_CONF"
    if is_service_enabled vitrage-persistor-api; then
        run_process vitrage-persistor-api \
            "$VITRAGE_PERSISTOR_BIN_DIR/uwsgi --ini $VITRAGE_PERSISTOR_UWSGI_CONF"
        echo "Waiting for vitrage-persistor-api to start..."
        if ! wait_for_service "$SERVICE_TIMEOUT" \
                "http://$VITRAGE_PERSISTOR_SERVICE_HOST:$VITRAGE_PERSISTOR_SERVICE_PORT/healthcheck"
        then
            die $LINENO "vitrage-persistor-api did not start"
        fi
    fi
}

function swap_vitrage_graph {
    # Vitrage's plugin has just started vitrage-graph (its "stack extra"
    # ran before ours). Restart the same devstack service, under the same
    # name (so Vitrage's unstack still stops it and its log stays where
    # it was), with vitrage-persistor-graph: the same arguments, Vitrage's
    # own main, plus the hooks that publish every event to the agent. No
    # Vitrage file is edited.
    if ! is_service_enabled vitrage-graph; then
        return
    fi
    stop_process vitrage-graph
    run_process vitrage-graph \
        "$VITRAGE_PERSISTOR_BIN_DIR/vitrage-persistor-graph --config-file $VITRAGE_CONF"
    if [[ "${USE_SYSTEMD:-False}" == "True" ]]; then
        # as Vitrage's plugin does: stop the graph's workers with it
        iniset -sudo "$SYSTEMD_DIR/devstack@vitrage-graph.service" \
            Service KillMode control-group
        $SYSTEMCTL daemon-reload
    fi
}

function configure_tempest_for_vitrage_persistor {
    if ! is_service_enabled tempest; then
        return
    fi
    iniset "$TEMPEST_CONFIG" service_available vitrage_persistor True
    iniset "$TEMPEST_CONFIG" vitrage_persistor auth_strategy \
        "$VITRAGE_PERSISTOR_AUTH_STRATEGY"
    iniset "$TEMPEST_CONFIG" vitrage_persistor endpoint \
        "http://$VITRAGE_PERSISTOR_SERVICE_HOST:$VITRAGE_PERSISTOR_SERVICE_PORT"
    # the tests publish their own events to the agent's broker
    iniset "$TEMPEST_CONFIG" vitrage_persistor transport_url \
        "$(iniget "$VITRAGE_PERSISTOR_CONF" DEFAULT transport_url)"
    iniset "$TEMPEST_CONFIG" vitrage_persistor topic "$VITRAGE_PERSISTOR_TOPIC"
}

function stop_vitrage_persistor {
    local service
    for service in vitrage-persistor-api vitrage-persistor-agent; do
        stop_process "$service"
    done
}

function drop_vitrage_persistor_database {
    # devstack has no drop_database; recreate_database made it, the
    # connection in our config names it. The project's own Python (the
    # one the services run with) has SQLAlchemy and the DB drivers.
    if [ ! -f "$VITRAGE_PERSISTOR_CONF" ]; then
        return 0
    fi
    "$VITRAGE_PERSISTOR_PYTHON" - "$VITRAGE_PERSISTOR_CONF" <<'PY'
import configparser
import sys

import sqlalchemy as sa

parser = configparser.RawConfigParser()
parser.read(sys.argv[1])
url = sa.engine.make_url(parser.get('database', 'connection'))
if url.get_backend_name() == 'sqlite':
    sys.exit(0)
server = url.set(database='postgres' if url.get_backend_name() ==
                 'postgresql' else None)
engine = sa.create_engine(server, isolation_level='AUTOCOMMIT')
with engine.connect() as conn:
    name = engine.dialect.identifier_preparer.quote(url.database)
    conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % name))
print('dropped database %s' % url.database)
PY
}

function cleanup_vitrage_persistor {
    drop_vitrage_persistor_database
    sudo rm -rf "$VITRAGE_PERSISTOR_CONF_DIR" "$VITRAGE_PERSISTOR_STATE_PATH"
}

if is_service_enabled vitrage-persistor-agent vitrage-persistor-api; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing vitrage-persistor"
        install_vitrage_persistor
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring vitrage-persistor"
        configure_vitrage_persistor
        configure_vitrage_persistor_broker
        create_vitrage_persistor_accounts
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting vitrage-persistor"
        init_vitrage_persistor
        start_vitrage_persistor
        swap_vitrage_graph
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        echo_summary "Configuring tempest for vitrage-persistor"
        configure_tempest_for_vitrage_persistor
    fi

    if [[ "$1" == "unstack" ]]; then
        echo_summary "Stopping vitrage-persistor"
        stop_vitrage_persistor
    fi

    if [[ "$1" == "clean" ]]; then
        echo_summary "Cleaning vitrage-persistor"
        cleanup_vitrage_persistor
    fi
fi
