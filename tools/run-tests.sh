#!/bin/bash
# The project's test command: everything from a fresh clone.
#
#   tools/run-tests.sh [stestr filter...]
#
# 1. creates .venv (or $VP_VENV) and installs the project with its test
#    requirements (the vitrage extra included);
# 2. runs tools/test-setup.sh: PostgreSQL, MariaDB and RabbitMQ running,
#    the openstack_citest user on both databases (needs root or sudo);
# 3. starts a local Keystone for the keystone-mode tempest run
#    (tools/keystone-setup.sh, in the background while the other tests
#    run; VP_KEYSTONE_DIR tells the tests where; stopped at exit);
# 4. runs the unit and functional tests with stestr against those real
#    servers;
# 5. prints "N passed, N failed, N skipped" as its last line and exits
#    non-zero if any test failed or if no test ran.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VP_VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -r requirements.txt -r test-requirements.txt \
    -r doc/requirements.txt
"$VENV/bin/pip" install -q -e '.[vitrage]'

if [ "${VP_SKIP_TEST_SETUP:-0}" != "1" ]; then
    bash tools/test-setup.sh > "${TMPDIR:-/tmp}/vp-test-setup.log" 2>&1 || {
        tail -n 40 "${TMPDIR:-/tmp}/vp-test-setup.log" >&2
        echo "tools/test-setup.sh failed: the real servers are not ready" >&2
        exit 1
    }
fi

export PATH="$PWD/$VENV/bin:$PATH"

# One Keystone for the whole run; its venv (.keystone-venv) is kept. A
# filtered run does without: the test that needs one starts its own.
if [ -z "${VP_KEYSTONE_DIR:-}" ] && [ "$#" -eq 0 ]; then
    VP_KEYSTONE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vp-keystone-XXXXXX")
    export VP_KEYSTONE_DIR
    export VP_KEYSTONE_VENV=${VP_KEYSTONE_VENV:-$PWD/.keystone-venv}
    bash tools/keystone-setup.sh start "$VP_KEYSTONE_DIR" &
    keystone_setup=$!
    # shellcheck disable=SC2317,SC2329  # run by the EXIT trap
    stop_keystone() {
        wait "$keystone_setup" 2>/dev/null || true
        bash tools/keystone-setup.sh stop "$VP_KEYSTONE_DIR"
        rm -rf "$VP_KEYSTONE_DIR"
    }
    trap stop_keystone EXIT
fi

rc=0
stestr run "$@" || rc=$?

totals=$(stestr last 2>/dev/null | sed -n '/^Totals/,/^Sum/p' || true)
count() {
    echo "$totals" | sed -n "s/^ - $1: \([0-9]*\)$/\1/p" | head -n 1
}
passed=$(count Passed)
failed=$(count Failed)
skipped=$(count Skipped)
passed=${passed:-0}
failed=${failed:-0}
skipped=${skipped:-0}
if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then
    rc=1
fi
if [ $((passed + failed)) -eq 0 ]; then
    echo "no test ran" >&2
    rc=1
    [ "$failed" -ne 0 ] || failed=1
fi
if [ "$failed" -ne 0 ]; then
    # the ids again, after the (long) failure details and the totals
    echo "failing tests:"
    stestr failing --list 2>/dev/null | sed 's/^/  /' || true
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
