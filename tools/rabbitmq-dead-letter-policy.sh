#!/bin/bash
# Give the agent's queue a dead-letter exchange, so that what
# oslo.messaging rejects before the agent sees it (not JSON, not UTF-8,
# a refused content type) reaches the quarantine instead of being dropped
# by RabbitMQ. See doc/source/persistor.rst, "Poison messages".
#
#   tools/rabbitmq-dead-letter-policy.sh [VHOST [TOPIC [EXCHANGE [PRIORITY]]]]
#
# VHOST defaults to /, TOPIC to vitrage_persistor ([persistor] topic),
# EXCHANGE to vitrage_persistor.dead ([persistor] dead_letter_exchange).
# RabbitMQ applies one policy per queue, the one of highest PRIORITY
# (default 10): if your deployment has a policy matching this queue (for
# example ha-all), add its keys to this definition instead.
set -euo pipefail

VHOST=${1:-/}
TOPIC=${2:-vitrage_persistor}
EXCHANGE=${3:-vitrage_persistor.dead}
PRIORITY=${4:-10}
PATTERN="^${TOPIC//./\\.}\\.sample\$"

rabbitmqctl set_policy -p "$VHOST" --apply-to queues --priority "$PRIORITY" \
    vitrage-persistor-dlx "$PATTERN" \
    "{\"dead-letter-exchange\": \"$EXCHANGE\"}"
