#!/usr/bin/env bash
# Field-trial target: JupyterHub 6.1.1 (https://jupyter.org/hub), BSD-3-Clause, Python / Tornado.
#
# Downloads (into ${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/jupyterhub/):
#   - a Python 3 venv with PyPI jupyterhub==6.1.1 and its dependencies (~200 MB installed)
#   - npm configurable-http-proxy@5.3.0 (the hub's default proxy, ~9 MB)
#   - the jupyterhub==6.1.1 sdist from PyPI (~19 MB), only to extract the REST API's
#     OpenAPI description (docs/source/_static/rest-api.yml), which the wheel does not ship
# Needs: python3 (with venv), node + npm, patch.
#
# Layout: public proxy on 127.0.0.1:18105 (base URL http://127.0.0.1:18105/hub/api),
# hub on 127.0.0.1:18115, proxy API on 127.0.0.1:18125. Fresh sqlite database per start.
# Users: admin (hub admin), alice + carol (group acme), bob (group globex); alice and bob
# are their group's lead (admin:users on their own group). Spawning is out of scope.
#
#   setup.sh install | start [PATCH] | stop
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/jupyterhub"
VENV="$CACHE/venv"
RUN="$CACHE/run"
JH_VERSION=6.1.1
CHP_VERSION=5.3.0
PUBLIC_PORT=18105
HUB_PORT=18115
PROXY_API_PORT=18125
BASE="http://127.0.0.1:$PUBLIC_PORT/hub/api"
USER_PASSWORD="field-user-pass-1"
ADMIN_PASSWORD="field-admin-password-0123456789abcdef"
PROXY_TOKEN="field-proxy-token-jupyterhub-1"

site_packages() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

need() {
  local cmd=$1 pkg=$2
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "needs $pkg: apt-get install $pkg" >&2
    exit 1
  fi
}

install() {
  need python3 python3
  need node nodejs
  need npm npm
  need patch patch
  need curl curl
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "needs python3-venv: apt-get install python3-venv" >&2
    exit 1
  fi
  mkdir -p "$CACHE"
  if [ ! -x "$VENV/bin/jupyterhub" ] || ! "$VENV/bin/python" -c "import jupyterhub, sys; sys.exit(jupyterhub.__version__ != '$JH_VERSION')" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "jupyterhub==$JH_VERSION"
  fi
  if [ ! -x "$CACHE/proxy/node_modules/.bin/configurable-http-proxy" ]; then
    mkdir -p "$CACHE/proxy"
    (cd "$CACHE/proxy" && npm install --no-audit --no-fund --silent --save-exact "configurable-http-proxy@$CHP_VERSION")
  fi
  if [ ! -s "$CACHE/rest-api.yml" ]; then
    mkdir -p "$CACHE/dl"
    if [ ! -s "$CACHE/dl/jupyterhub-$JH_VERSION.tar.gz" ]; then
      # pip prepares the sdist's metadata in an isolated build env (fetches setuptools)
      "$VENV/bin/pip" download -q --no-binary :all: --no-deps "jupyterhub==$JH_VERSION" -d "$CACHE/dl"
    fi
    tar -xzf "$CACHE/dl/jupyterhub-$JH_VERSION.tar.gz" -C "$CACHE/dl" \
      "jupyterhub-$JH_VERSION/docs/source/_static/rest-api.yml"
    cp "$CACHE/dl/jupyterhub-$JH_VERSION/docs/source/_static/rest-api.yml" "$CACHE/rest-api.yml"
  fi
  echo "jupyterhub $JH_VERSION installed in $CACHE"
}

write_config() {
  mkdir -p "$RUN"
  cat >"$RUN/jupyterhub_config.py" <<EOF
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = $PUBLIC_PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = $HUB_PORT
c.JupyterHub.db_url = "sqlite:///$RUN/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "$RUN/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "$RUN/jupyterhub.pid"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:$PROXY_API_PORT"
c.ConfigurableHTTPProxy.auth_token = "$PROXY_TOKEN"
c.ConfigurableHTTPProxy.command = ["$CACHE/proxy/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = "$RUN/jupyterhub-proxy.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = "$USER_PASSWORD"
c.SharedPasswordAuthenticator.admin_password = "$ADMIN_PASSWORD"
c.Authenticator.allowed_users = {"alice", "bob", "carol"}
c.Authenticator.admin_users = {"admin"}
# two tenants: the acme and globex groups; members see their own group, the lead
# manages its group's users
c.JupyterHub.load_groups = {
    "acme": {"users": ["alice", "carol"]},
    "globex": {"users": ["bob"]},
}
c.JupyterHub.load_roles = [
    {"name": "acme-member", "groups": ["acme"],
     "scopes": ["read:users!group=acme", "list:users!group=acme", "read:groups!group=acme"]},
    {"name": "globex-member", "groups": ["globex"],
     "scopes": ["read:users!group=globex", "list:users!group=globex", "read:groups!group=globex"]},
    {"name": "acme-lead", "users": ["alice"], "scopes": ["admin:users!group=acme"]},
    {"name": "globex-lead", "users": ["bob"], "scopes": ["admin:users!group=globex"]},
]
EOF
}

revert_patch() {
  if [ -s "$CACHE/applied.patch" ]; then
    local sp
    sp="$(site_packages)"
    patch -R -p1 -s -d "$sp" <"$CACHE/applied.patch" || {
      echo "could not revert $CACHE/applied.patch" >&2
      return 1
    }
    find "$sp/jupyterhub" -name '__pycache__' -prune -exec rm -rf {} + 2>/dev/null || true
  fi
  rm -f "$CACHE/applied.patch"
}

kill_pidfile() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  kill_pidfile "$CACHE/hub.pgid"
  kill_pidfile "$RUN/jupyterhub.pid"   # the hub's own pid file, in case hub.pgid was lost
  kill_pidfile "$RUN/jupyterhub-proxy.pid"
  revert_patch
  echo "jupyterhub stopped"
}

mint_token() {  # user password -> token, via the documented username/password body auth
  local user=$1 pass=$2
  curl -sf -X POST "$BASE/users/$user/tokens" -H 'Content-Type: application/json' \
    -d "{\"auth\": {\"username\": \"$user\", \"password\": \"$pass\"}, \"note\": \"tenantfuzz field seed\"}" |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

start() {
  local patch_file="${1:-}"
  [ -x "$VENV/bin/jupyterhub" ] || install
  stop >/dev/null
  if [ -n "$patch_file" ]; then
    patch_file="$(cd "$(dirname "$patch_file")" && pwd)/$(basename "$patch_file")"
    local sp
    sp="$(site_packages)"
    patch -p1 -s -d "$sp" <"$patch_file"
    cp "$patch_file" "$CACHE/applied.patch"
    find "$sp/jupyterhub" -name '__pycache__' -prune -exec rm -rf {} + 2>/dev/null || true
  fi
  mkdir -p "$RUN"
  rm -f "$CACHE/hub.pgid" "$RUN/jupyterhub.sqlite" "$RUN/jupyterhub_cookie_secret" "$RUN/jupyterhub-proxy.pid" "$RUN/jupyterhub.pid"
  write_config
  # setsid makes the bash below a session (and process group) leader; it records its pid
  # and becomes the hub, so hub.pgid names the hub's process group
  (cd "$RUN" && PATH="$VENV/bin:$PATH" setsid --fork bash -c \
    'echo $$ >"$1"; exec "$2/bin/jupyterhub" -f "$3"' _ "$CACHE/hub.pgid" "$VENV" "$RUN/jupyterhub_config.py" \
    >"$CACHE/jupyterhub.log" 2>&1 </dev/null)
  for _ in $(seq 1 50); do [ -s "$CACHE/hub.pgid" ] && break; sleep 0.1; done
  local ok=
  for _ in $(seq 1 180); do
    if curl -sf "$BASE/" >/dev/null 2>&1; then ok=1; break; fi
    if ! kill -0 "$(cat "$CACHE/hub.pgid")" 2>/dev/null; then break; fi
    sleep 1
  done
  if [ -z "$ok" ]; then
    echo "jupyterhub did not come up; see $CACHE/jupyterhub.log" >&2
    tail -20 "$CACHE/jupyterhub.log" >&2 || true
    exit 1
  fi
  local t_admin t_alice t_bob t_carol
  t_admin="$(mint_token admin "$ADMIN_PASSWORD")"
  t_alice="$(mint_token alice "$USER_PASSWORD")"
  t_bob="$(mint_token bob "$USER_PASSWORD")"
  t_carol="$(mint_token carol "$USER_PASSWORD")"
  (umask 077; cat >"$CACHE/run.env") <<EOF
JH_ADMIN_TOKEN=$t_admin
JH_ALICE_TOKEN=$t_alice
JH_BOB_TOKEN=$t_bob
JH_CAROL_TOKEN=$t_carol
EOF
  cp "$CACHE/rest-api.yml" "$HERE/openapi.yaml" && chmod 644 "$HERE/openapi.yaml"
  echo "jupyterhub ready on $BASE${patch_file:+ (patched: $(basename "$patch_file"))}"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
