#!/bin/bash
# devstack plugin of vitrage-persistor, with aodh's phases:
#   stack install      install the package (with the vitrage extra)
#   stack post-config  write vitrage-persistor.conf (messaging, database,
#                      API auth) and the hooks snippet for vitrage.conf
#   stack extra        create the database schema and start the services
#   stack test-config  tempest options
#   unstack            stop the services
#   clean              remove config, state and the database

function install_vitrage_persistor {
    setup_develop "$VITRAGE_PERSISTOR_DIR" vitrage
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
        # vitrage-persistor-graph; see etc/vitrage-persistor.
        iniset "$VITRAGE_CONF" persistor topic "$VITRAGE_PERSISTOR_TOPIC"
        iniset "$VITRAGE_CONF" persistor_hooks enabled True
    fi
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
    run_process vitrage-persistor-api \
        "$VITRAGE_PERSISTOR_BIN_DIR/vitrage-persistor-api --config-file $VITRAGE_PERSISTOR_CONF"
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
}

function stop_vitrage_persistor {
    local service
    for service in vitrage-persistor-api vitrage-persistor-agent; do
        stop_process "$service"
    done
}

function cleanup_vitrage_persistor {
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
