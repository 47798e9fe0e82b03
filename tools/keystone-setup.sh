#!/bin/bash
# A real, local Keystone for the keystone-mode tests, started once per run.
#
#   tools/keystone-setup.sh start DIR   # install (once), configure, start
#   tools/keystone-setup.sh stop DIR    # stop it; DIR stays for reuse
#
# Keystone from PyPI in its own venv ($VP_KEYSTONE_VENV, default
# DIR/venv; it pins other versions than the project), SQLite, fernet
# tokens, `keystone-manage bootstrap`, served by uWSGI with
# --http11-socket on a free 127.0.0.1 port. Then the users the tests need:
#
#   admin           admin on project admin (bootstrap)
#   vp-reader       reader on project vp-a
#   vp-member-b     member on project vp-b
#   vp-norole       role vp_observer (which our policy knows nothing of)
#                   on project vp-a
#
# all with password $VP_KEYSTONE_PASSWORD (default "vp-secret"). When it
# is ready it writes DIR/keystone.json (url, users, project ids); on
# failure DIR/failed, so a test waiting for it stops waiting.
set -euo pipefail

ACTION=${1:?usage: $0 start|stop DIR}
DIR=${2:?usage: $0 start|stop DIR}
PYTHON=${PYTHON:-python3}
VENV=${VP_KEYSTONE_VENV:-$DIR/venv}
PASSWORD=${VP_KEYSTONE_PASSWORD:-vp-secret}
KEYSTONE_VERSION=${VP_KEYSTONE_VERSION:-keystone>=26.0.0}

stop() {
    local pid _
    if [ -f "$DIR/uwsgi.pid" ]; then
        pid=$(cat "$DIR/uwsgi.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$DIR/uwsgi.pid"
    fi
    rm -f "$DIR/keystone.json"
}

if [ "$ACTION" = stop ]; then
    stop
    exit 0
fi
[ "$ACTION" = start ] || { echo "unknown action $ACTION" >&2; exit 2; }

mkdir -p "$DIR"
rm -f "$DIR/failed" "$DIR/keystone.json"
trap 'echo "keystone setup failed, see $DIR/setup.log" > "$DIR/failed"' ERR
exec >> "$DIR/setup.log" 2>&1

stop
# one install at a time into a shared venv
mkdir -p "$(dirname "$VENV")"
exec 9> "$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/uwsgi" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "$KEYSTONE_VERSION" pyuwsgi
fi
flock -u 9

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
CONF=$DIR/keystone.conf
rm -rf "$DIR/keystone.db" "$DIR/fernet-keys" "$DIR/credential-keys"
cat > "$CONF" <<EOF
[DEFAULT]
log_file = $DIR/keystone.log
[database]
connection = sqlite:///$DIR/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $DIR/fernet-keys
[fernet_receipts]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
EOF
MANAGE=("$VENV/bin/keystone-manage" --config-file "$CONF")
"${MANAGE[@]}" db_sync
"${MANAGE[@]}" fernet_setup --keystone-user "$(id -un)" \
    --keystone-group "$(id -gn)"
"${MANAGE[@]}" credential_setup --keystone-user "$(id -un)" \
    --keystone-group "$(id -gn)"
"${MANAGE[@]}" bootstrap --bootstrap-password "$PASSWORD" \
    --bootstrap-admin-url "$URL/v3" --bootstrap-public-url "$URL/v3" \
    --bootstrap-internal-url "$URL/v3" --bootstrap-region-id RegionOne

OS_KEYSTONE_CONFIG_FILES=$CONF "$VENV/bin/uwsgi" \
    --http11-socket "127.0.0.1:$PORT" --module keystone.wsgi.api:application \
    --master --processes 1 --threads 4 --die-on-term \
    --env "OS_KEYSTONE_CONFIG_FILES=$CONF" \
    --pidfile "$DIR/uwsgi.pid" > "$DIR/uwsgi.log" 2>&1 &

"$VENV/bin/python" - "$URL" "$PASSWORD" "$DIR/keystone.json" <<'PY'
"""Wait for Keystone, then create the tests' projects, users and roles."""
import json
import sys
import time
import urllib.error
import urllib.request

url, password, out = sys.argv[1:4]


def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    req = urllib.request.Request(
        url + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={'Content-Type': 'application/json',
                 **({'X-Auth-Token': token} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status not in ok:
            raise RuntimeError('%s %s: %s' % (method, path, resp.status))
        text = resp.read()
        return resp, (json.loads(text) if text else None)


deadline = time.monotonic() + 120
while True:
    try:
        call('GET', '/v3')
        break
    except (OSError, urllib.error.URLError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)

resp, _ = call('POST', '/v3/auth/tokens', {'auth': {
    'identity': {'methods': ['password'], 'password': {'user': {
        'name': 'admin', 'domain': {'id': 'default'},
        'password': password}}},
    'scope': {'project': {'name': 'admin', 'domain': {'id': 'default'}}}}})
token = resp.headers['X-Subject-Token']


def find(kind, name):
    _, body = call('GET', '/v3/%s?name=%s' % (kind, name), token=token)
    return body[kind][0]['id'] if body[kind] else None


def create(kind, name, **extra):
    ident = find(kind, name)
    if ident is None:
        _, body = call('POST', '/v3/' + kind,
                       {kind[:-1]: {'name': name, **extra}}, token=token)
        ident = body[kind[:-1]]['id']
    return ident


projects = {p: create('projects', p, domain_id='default')
            for p in ('vp-a', 'vp-b')}
roles = {r: create('roles', r) for r in ('reader', 'member', 'vp_observer')}
grants = {'vp-reader': ('vp-a', 'reader'), 'vp-member-b': ('vp-b', 'member'),
          'vp-norole': ('vp-a', 'vp_observer')}
users = {}
for user, (project, role) in grants.items():
    users[user] = create('users', user, domain_id='default',
                         password=password)
    call('PUT', '/v3/projects/%s/users/%s/roles/%s' % (
        projects[project], users[user], roles[role]), token=token)
with open(out + '.tmp', 'w') as f:
    json.dump({'url': url, 'auth_url': url + '/v3', 'password': password,
               'region': 'RegionOne', 'admin_project': 'admin',
               'projects': projects, 'users': users,
               'grants': grants}, f, indent=1)
PY
mv "$DIR/keystone.json.tmp" "$DIR/keystone.json"
echo "keystone ready at $URL"
