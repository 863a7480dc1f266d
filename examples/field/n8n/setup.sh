#!/usr/bin/env bash
# Field-trial target: n8n (workflow automation), npm package n8n@1.123.81 (the newest 1.x that
# runs on Node.js 20; 2.x needs Node 24).
# Licence: Sustainable Use License (fair-code, source-available; not OSI open source) for the
# core, plus the n8n Enterprise License for *.ee.* files (not enabled here: no licence key).
# Downloads: npm n8n@1.123.81 and its ~1,900 dependencies (~1.8 GB in node_modules, ~400 MB of
# tarballs), with xlsx overridden to the registry's xlsx@0.18.5 (n8n-nodes-base pins a tarball on
# a vendor CDN outside the package registries). Install scripts are skipped; only the
# sqlite3 native module is compiled from the package's bundled sources (needs make, g++, python3
# and Node's headers in /usr/include/node). Nothing else is built or downloaded.
#
# Runs on 127.0.0.1:18104 with SQLite in a fresh N8N_USER_FOLDER per start, telemetry,
# version notifications, templates and community packages off (no outside connections).
# Seeds: the owner (admin@n8n.test) and two members, alice and bob, invited by the owner; each
# gets a public-API key (X-N8N-API-KEY), written to <cache>/run.env.
#
#   setup.sh install | start [mutants/X.patch] | stop
set -euo pipefail

TARGET=n8n
VERSION=1.123.81
PORT=18104
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/$TARGET"
APP="$CACHE/app"
PKG="$APP/node_modules/n8n"          # patches apply with: patch -p1 -d "$PKG"
DATA="$CACHE/data"                   # N8N_USER_FOLDER, fresh each start
TEMPLATE="$CACHE/template"           # a user folder after owner setup + seeding (fast restarts)
PIDFILE="$CACHE/n8n.pid"
LOG="$CACHE/n8n.log"
PATCHREC="$CACHE/applied.patch"
RUNENV="$CACHE/run.env"
BASE="http://127.0.0.1:$PORT"

OWNER_EMAIL=admin@n8n.test
OWNER_PASSWORD='Owner-Passw0rd-1'
ALICE_EMAIL=alice@n8n.test
ALICE_PASSWORD='Alice-Passw0rd-1'
BOB_EMAIL=bob@n8n.test
BOB_PASSWORD='Bob-Passw0rd-1'

log() { echo "[$TARGET] $*" >&2; }

need_tools() {
  local missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v make >/dev/null || missing+=(make)
  command -v g++ >/dev/null || missing+=(g++)
  command -v python3 >/dev/null || missing+=(python3)
  command -v curl >/dev/null || missing+=(curl)
  command -v patch >/dev/null || missing+=(patch)
  command -v jq >/dev/null || missing+=(jq)
  if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      log "installing missing Debian packages: ${missing[*]} (apt-get install)"
      apt-get install -y "${missing[@]}" >/dev/null
    else
      log "needs ${missing[*]}: apt-get install ${missing[*]}"
      exit 1
    fi
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if ((major < 20)); then log "needs Node.js >= 20.19 (have $(node --version))"; exit 1; fi
  if [[ ! -f /usr/include/node/node_api.h && ! -d "$HOME/.cache/node-gyp" ]]; then
    log "needs Node.js headers (/usr/include/node) to build sqlite3: apt-get install libnode-dev"
    exit 1
  fi
}

cmd_install() {
  need_tools
  mkdir -p "$APP"
  if [[ -f "$PKG/package.json" ]] && [[ $(node -p "require('$PKG/package.json').version") == "$VERSION" ]] \
     && [[ -f "$APP/node_modules/sqlite3/build/Release/node_sqlite3.node" ]]; then
    log "n8n@$VERSION already installed in $APP"
    return 0
  fi
  cat >"$APP/package.json" <<'EOF'
{"name":"n8n-field","private":true,"overrides":{"xlsx":"npm:xlsx@0.18.5"}}
EOF
  log "npm install n8n@$VERSION into $APP (several minutes, ~1.8 GB)"
  (cd "$APP" && npm install --no-audit --no-fund --ignore-scripts "n8n@$VERSION" >"$CACHE/npm-install.log" 2>&1) \
    || { log "npm install failed, see $CACHE/npm-install.log"; exit 1; }
  local gyp
  gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f $gyp ]] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  log "building sqlite3 (node-gyp, bundled sqlite sources)"
  local nodedir=()
  [[ -f /usr/include/node/node_api.h ]] && nodedir=(--nodedir=/usr)
  (cd "$APP/node_modules/sqlite3" && node "$gyp" rebuild "${nodedir[@]}" -j 2 >"$CACHE/sqlite3-build.log" 2>&1) \
    || { log "sqlite3 build failed, see $CACHE/sqlite3-build.log"; exit 1; }
  log "installed"
}

revert_patch() {
  if [[ -f $PATCHREC ]]; then
    log "reverting $(head -c 200 "$PATCHREC" | head -1)"
    patch -R -p1 -s -d "$PKG" <"$PATCHREC.diff" || log "warning: could not revert the earlier patch"
    rm -f "$PATCHREC" "$PATCHREC.diff"
  fi
}

stop_server() {
  if [[ -f $PIDFILE ]]; then
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
}

cmd_stop() {
  stop_server
  revert_patch
}

n8n_env() {
  export N8N_USER_FOLDER="$DATA"
  export N8N_PORT=$PORT N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1 N8N_PROTOCOL=http
  export N8N_EDITOR_BASE_URL="$BASE" WEBHOOK_URL="$BASE/"
  export N8N_ENCRYPTION_KEY=tenantfuzz-field-n8n-encryption-key
  export DB_TYPE=sqlite N8N_SECURE_COOKIE=false
  # a pool of read connections (WAL): with one shared connection, concurrent requests lose
  # freshly created workflows now and then (create answers 200, the next read 404)
  export DB_SQLITE_POOL_SIZE=2
  export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false
  export N8N_TEMPLATES_ENABLED=false N8N_PERSONALIZATION_ENABLED=false
  export N8N_HIRING_BANNER_ENABLED=false N8N_COMMUNITY_PACKAGES_ENABLED=false
  export N8N_LICENSE_AUTO_RENEW_ENABLED=false N8N_AI_ENABLED=false
  export N8N_PUBLIC_API_DISABLED=false N8N_PUBLIC_API_SWAGGERUI_DISABLED=true
  export N8N_RUNNERS_ENABLED=false N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false
  export N8N_BLOCK_ENV_ACCESS_IN_NODE=true N8N_GIT_NODE_DISABLE_BARE_REPOS=true
  export EXTERNAL_FRONTEND_HOOKS_URLS= N8N_DIAGNOSTICS_CONFIG_FRONTEND= N8N_DIAGNOSTICS_CONFIG_BACKEND=
  export N8N_DEFAULT_BINARY_DATA_MODE=filesystem N8N_LOG_LEVEL=info
  # isolated-vm's install script is skipped (it would fetch a prebuilt binary): legacy engine
  export N8N_EXPRESSION_ENGINE=legacy
  export GENERIC_TIMEZONE=UTC TZ=UTC NODE_ENV=production
  export N8N_PUBLIC_API_ENDPOINT=api
}

# curl helpers against the internal REST API, with a cookie jar per user
rest() { # jar method path [json]
  local jar=$1 method=$2 path=$3 body=${4:-}
  if [[ -n $body ]]; then
    curl -sS --max-time 30 -b "$jar" -c "$jar" -X "$method" -H 'Content-Type: application/json' \
      -H "browser-id: tfz-seed" --data "$body" "$BASE/rest$path"
  else
    curl -sS --max-time 30 -b "$jar" -c "$jar" -X "$method" -H "browser-id: tfz-seed" "$BASE/rest$path"
  fi
}

login() { # jar email password
  rest "$1" POST /login "$(jq -nc --arg e "$2" --arg p "$3" '{emailOrLdapLoginId:$e, password:$p}')" >/dev/null
}

mint_key() { # jar label -> raw key
  local scopes
  scopes=$(rest "$1" GET /api-keys/scopes | jq -c '.data')
  rest "$1" POST /api-keys "$(jq -nc --arg l "$2" --argjson s "$scopes" '{label:$l, scopes:$s, expiresAt:null}')" \
    | jq -r '.data.rawApiKey'
}

seed() {
  local tmp; tmp=$(mktemp -d)
  local oj="$tmp/owner" aj="$tmp/alice" bj="$tmp/bob"
  rest "$oj" POST /owner/setup "$(jq -nc --arg e $OWNER_EMAIL --arg p "$OWNER_PASSWORD" \
      '{email:$e, firstName:"Olivia", lastName:"Owner", password:$p}')" >"$tmp/setup.json"
  jq -e '.data.id' "$tmp/setup.json" >/dev/null || { log "owner setup failed: $(cat "$tmp/setup.json")"; return 1; }
  local owner_id; owner_id=$(jq -r '.data.id' "$tmp/setup.json")
  rest "$oj" POST /invitations "$(jq -nc --arg a $ALICE_EMAIL --arg b $BOB_EMAIL \
      '[{email:$a, role:"global:member"},{email:$b, role:"global:member"}]')" >"$tmp/inv.json"
  local alice_id bob_id
  alice_id=$(jq -r --arg e $ALICE_EMAIL '.data[] | select(.user.email==$e) | .user.id' "$tmp/inv.json")
  bob_id=$(jq -r --arg e $BOB_EMAIL '.data[] | select(.user.email==$e) | .user.id' "$tmp/inv.json")
  [[ -n $alice_id && -n $bob_id ]] || { log "invitations failed: $(cat "$tmp/inv.json")"; return 1; }
  rest "$aj" POST "/invitations/$alice_id/accept" "$(jq -nc --arg i "$owner_id" --arg p "$ALICE_PASSWORD" \
      '{inviterId:$i, firstName:"Alice", lastName:"Anders", password:$p}')" >"$tmp/acc-a.json"
  rest "$bj" POST "/invitations/$bob_id/accept" "$(jq -nc --arg i "$owner_id" --arg p "$BOB_PASSWORD" \
      '{inviterId:$i, firstName:"Bob", lastName:"Berg", password:$p}')" >"$tmp/acc-b.json"
  jq -e '.data.id' "$tmp/acc-a.json" "$tmp/acc-b.json" >/dev/null \
    || { log "accepting the invitations failed: $(cat "$tmp/acc-a.json" "$tmp/acc-b.json")"; return 1; }
  login "$aj" $ALICE_EMAIL "$ALICE_PASSWORD"
  login "$bj" $BOB_EMAIL "$BOB_PASSWORD"
  local ok ak bk
  ok=$(mint_key "$oj" owner-key); ak=$(mint_key "$aj" alice-key); bk=$(mint_key "$bj" bob-key)
  [[ $ok == ey* && $ak == ey* && $bk == ey* ]] || { log "minting API keys failed"; return 1; }
  # each member starts with one workflow of their own (what a real member has; it also makes
  # their GET /workflows answers differ)
  local who key
  for who in alice bob; do
    [[ $who == alice ]] && key=$ak || key=$bk
    curl -fsS --max-time 30 -X POST -H "X-N8N-API-KEY: $key" -H 'Content-Type: application/json' \
      --data "$(jq -nc --arg n "$who's first workflow" '{name:$n, nodes:[], connections:{}, settings:{}}')" \
      "$BASE/api/v1/workflows" >/dev/null || { log "seeding $who's workflow failed"; return 1; }
  done
  {
    echo "N8N_OWNER_API_KEY=$ok"
    echo "N8N_ALICE_API_KEY=$ak"
    echo "N8N_BOB_API_KEY=$bk"
    echo "N8N_OWNER_EMAIL=$OWNER_EMAIL"
    echo "N8N_OWNER_PASSWORD=$OWNER_PASSWORD"
    echo "N8N_ALICE_PASSWORD=$ALICE_PASSWORD"
    echo "N8N_BOB_PASSWORD=$BOB_PASSWORD"
  } >"$DATA/seed.env"
  rm -rf "$tmp"
}

launch() {
  n8n_env
  : >"$LOG"
  setsid node "$PKG/bin/n8n" start >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local i
  for i in $(seq 1 180); do
    # /healthz answers before the migrations end; /rest/settings only when the routes are up
    if curl -fsS --max-time 2 "$BASE/rest/settings" 2>/dev/null | jq -e '.data.userManagement' >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { log "n8n exited; see $LOG"; tail -20 "$LOG" >&2; return 1; }
    sleep 1
  done
  log "n8n did not become ready in 180 s; see $LOG"; return 1
}

cmd_start() {
  local patchfile=${1:-}
  [[ -f "$PKG/package.json" ]] || { log "not installed: run setup.sh install"; exit 1; }
  stop_server
  revert_patch
  if [[ -n $patchfile ]]; then
    [[ -f $patchfile ]] || { log "no such patch: $patchfile"; exit 1; }
    patchfile=$(readlink -f "$patchfile")
    patch -p1 -s -d "$PKG" --dry-run <"$patchfile" >/dev/null || { log "patch does not apply: $patchfile"; exit 1; }
    patch -p1 -s -d "$PKG" <"$patchfile"
    echo "$patchfile" >"$PATCHREC"; cp "$patchfile" "$PATCHREC.diff"
    log "applied $patchfile"
  fi
  cp "$PKG/dist/public-api/v1/openapi.yml" "$HERE/openapi.yml"
  rm -rf "$DATA"
  if [[ -f "$TEMPLATE/seed.env" ]]; then
    cp -a "$TEMPLATE" "$DATA"
    launch
  else
    mkdir -p "$DATA"
    launch
    seed
    # keep a stopped copy of the seeded user folder for the next starts
    stop_server
    rm -rf "$TEMPLATE"; cp -a "$DATA" "$TEMPLATE"
    rm -rf "$DATA"; cp -a "$TEMPLATE" "$DATA"
    launch
  fi
  cp "$DATA/seed.env" "$RUNENV"
  # the public API answers with the key: the app is ready for the campaign
  local key; key=$(grep '^N8N_ALICE_API_KEY=' "$RUNENV" | cut -d= -f2-)
  curl -fsS --max-time 10 -H "X-N8N-API-KEY: $key" "$BASE/api/v1/workflows" >/dev/null \
    || { log "the public API does not answer alice's key"; exit 1; }
  log "ready on $BASE (public API $BASE/api/v1), run.env in $RUNENV"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
