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
#
# Quorum queues (rabbit_quorum_queue = true): run it with
# DEAD_LETTER_STRATEGY=at-least-once (RabbitMQ >= 3.10), which adds
# "dead-letter-strategy": "at-least-once" and "overflow": "reject-publish";
# without them a quorum queue dead-letters at most once. Not for classic
# queues: on RabbitMQ 3.10 a classic queue with these keys dead-letters
# nothing at all (measured).
# RABBITMQCTL names the command (default rabbitmqctl), for instance
# "tools/rabbitmq-cluster.sh ctl DIR 1" for the test cluster.
set -euo pipefail

VHOST=${1:-/}
TOPIC=${2:-vitrage_persistor}
EXCHANGE=${3:-vitrage_persistor.dead}
PRIORITY=${4:-10}
STRATEGY=${DEAD_LETTER_STRATEGY:-}
read -r -a CTL <<<"${RABBITMQCTL:-rabbitmqctl}"
PATTERN="^${TOPIC//./\\.}\\.sample\$"

DEFINITION="\"dead-letter-exchange\": \"$EXCHANGE\""
if [ -n "$STRATEGY" ]; then
    # at-least-once needs overflow = reject-publish (it only acts with a
    # max-length, which this policy does not set)
    DEFINITION="$DEFINITION, \"dead-letter-strategy\": \"$STRATEGY\","
    DEFINITION="$DEFINITION \"overflow\": \"reject-publish\""
fi

"${CTL[@]}" set_policy -p "$VHOST" --apply-to queues --priority "$PRIORITY" \
    vitrage-persistor-dlx "$PATTERN" "{$DEFINITION}"
