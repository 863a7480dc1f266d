#!/usr/bin/env bash
# Field-trial target: Directus (headless CMS / data API), npm package directus@11.3.5
# (@directus/api 23.3.2): the newest release whose engines accept Node.js 20 (11.4.0 and later
# need Node 22).
# Licence: Business Source License 1.1 (BUSL-1.1; free for organisations under USD 5M in
# annual finances, converts to GPLv3 after three years). Not OSI open source.
# Downloads: npm directus@11.3.5 and its ~1,100 dependencies (~470 MB in node_modules). npm runs
# the packages' install scripts: sqlite3 and isolated-vm fall back to node-gyp builds from their
# bundled sources (their prebuilt binaries live on GitHub, unreachable here), which needs make,
# g++, python3 and Node's headers in /usr/include/node (~10 minutes on 2 cores). Nothing else.
#
# Runs on 127.0.0.1:18107 with SQLite (a fresh copy of a bootstrapped template database per
# start), telemetry off, no update check (the API is started without the CLI wrapper that does
# it), mail verification off, the marketplace registry pointed at a closed local port, the admin
# app not served. No outside connections.
# Seeds through the REST API, as the admin (seed.mjs): collections `notes` (per user: the Member
# policy reads/updates/deletes only {"user_created": {"_eq": "$CURRENT_USER"}}) and `articles`
# (readable by the Public policy), the Member role/policy, users alice and bob. bob's static
# token is written to <cache>/run.env as BOB_TOKEN. The OpenAPI description is the admin's view
# of GET /server/specs/oas, saved as openapi.json.
#
#   setup.sh install | start [mutants/X.patch] | stop
set -euo pipefail

TARGET=directus
VERSION=11.3.5
PORT=18107
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/$TARGET"
APP="$CACHE/app"
PKG="$APP/node_modules/@directus/api"   # patches apply with: patch -p1 -d "$PKG"
DATA="$CACHE/data"
TEMPLATE="$DATA/template.db"            # bootstrapped once (migrations + first admin)
DB="$DATA/run.db"                       # fresh copy of the template per start
PIDFILE="$CACHE/directus.pid"
LOG="$CACHE/directus.log"
PATCHREC="$CACHE/applied.patch"
RUNENV="$CACHE/run.env"
BASE="http://127.0.0.1:$PORT"

ADMIN_EMAIL=admin@example.com           # Directus validates e-mail TLDs: *.test is refused
ADMIN_PASSWORD='admin-field-pass-1'

log() { echo "[$TARGET] $*" >&2; }

directus_env() {
  export HOST=127.0.0.1 PORT="$PORT" PUBLIC_URL="$BASE"
  export DB_CLIENT=sqlite3 DB_FILENAME="$1"
  export SECRET='tenantfuzz-field-directus-secret' KEY='tenantfuzz-field-directus-key'
  export TELEMETRY=false EMAIL_VERIFY_SETUP=false EMAIL_TRANSPORT=sendmail EMAIL_SENDMAIL_PATH=/bin/false
  export MARKETPLACE_REGISTRY=http://127.0.0.1:9 SERVE_APP=false WEBSOCKETS_ENABLED=false
  export STORAGE_LOCATIONS=local STORAGE_LOCAL_ROOT="$CACHE/uploads" EXTENSIONS_PATH="$CACHE/extensions"
  export LOG_LEVEL=info LOG_STYLE=raw
  mkdir -p "$CACHE/uploads" "$CACHE/extensions"
}

need_tools() {
  local missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v make >/dev/null || missing+=(make)
  command -v g++ >/dev/null || missing+=(g++)
  command -v python3 >/dev/null || missing+=(python3)
  command -v curl >/dev/null || missing+=(curl)
  command -v patch >/dev/null || missing+=(patch)
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
  if ((major < 18)); then log "needs Node.js >= 18 (have $(node --version))"; exit 1; fi
}

natives_ok() {
  (cd "$APP" && node -e "require('sqlite3'); require('argon2')" >/dev/null 2>&1)
}

cmd_install() {
  need_tools
  mkdir -p "$APP" "$DATA"
  if [[ -f "$APP/node_modules/directus/package.json" ]] \
     && [[ $(node -p "require('$APP/node_modules/directus/package.json').version") == "$VERSION" ]] \
     && natives_ok; then
    log "directus@$VERSION already installed in $APP"
  else
    [[ -f "$APP/package.json" ]] || echo '{"name":"directus-field","private":true}' >"$APP/package.json"
    local nodedir=()
    [[ -f /usr/include/node/node_api.h ]] && nodedir=(--nodedir=/usr)
    log "npm install directus@$VERSION into $APP (about 10 minutes: native modules compile)"
    (cd "$APP" && npm install --no-audit --no-fund "${nodedir[@]}" "directus@$VERSION" >"$CACHE/npm-install.log" 2>&1) \
      || { log "npm install failed, see $CACHE/npm-install.log"; exit 1; }
    if ! natives_ok; then
      log "sqlite3 did not build during install; rebuilding it with node-gyp"
      if [[ ! -f /usr/include/node/node_api.h ]]; then
        log "needs Node.js headers (/usr/include/node) to build sqlite3: apt-get install libnode-dev"
        exit 1
      fi
      (cd "$APP" && npm rebuild sqlite3 --nodedir=/usr >"$CACHE/sqlite3-build.log" 2>&1) \
        || { log "sqlite3 build failed, see $CACHE/sqlite3-build.log"; exit 1; }
      natives_ok || { log "sqlite3/argon2 still do not load"; exit 1; }
    fi
  fi
  if [[ ! -f $TEMPLATE ]]; then
    log "bootstrapping the template database $TEMPLATE"
    rm -f "$TEMPLATE.tmp"
    (
      directus_env "$TEMPLATE.tmp"
      export ADMIN_EMAIL ADMIN_PASSWORD
      cd "$APP" && node node_modules/@directus/api/dist/cli/run.js bootstrap >"$CACHE/bootstrap.log" 2>&1
    ) || { log "bootstrap failed, see $CACHE/bootstrap.log"; exit 1; }
    mv "$TEMPLATE.tmp" "$TEMPLATE"
  fi
  log "installed"
}

revert_patch() {
  if [[ -f $PATCHREC ]]; then
    log "reverting $(cat "$PATCHREC")"
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
  log "stopped"
}

cmd_start() {
  local patchfile="${1:-}"
  if [[ -n $patchfile ]]; then
    [[ -f $patchfile ]] || { log "no such patch: $patchfile"; exit 2; }
    patchfile="$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")"
  fi
  [[ -f "$APP/node_modules/directus/package.json" && -f $TEMPLATE ]] || cmd_install
  stop_server
  revert_patch
  if [[ -n $patchfile ]]; then
    log "applying $patchfile"
    patch -p1 -s -d "$PKG" --dry-run <"$patchfile" >/dev/null || { log "patch does not apply: $patchfile"; exit 1; }
    patch -p1 -s -d "$PKG" <"$patchfile"
    cp "$patchfile" "$PATCHREC.diff"
    echo "$patchfile" >"$PATCHREC"
  fi
  cp "$TEMPLATE" "$DB"
  rm -f "$RUNENV"
  (
    directus_env "$DB"
    cd "$APP"
    setsid node node_modules/@directus/api/dist/cli/run.js start >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  )
  log "started pid $(cat "$PIDFILE"), waiting for $BASE/server/ping"
  local ok=0
  for _ in $(seq 1 180); do
    if curl -fsS -m 2 "$BASE/server/ping" >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 1
  done
  if ((ok == 0)); then
    log "Directus did not answer; last log lines:"
    tail -20 "$LOG" >&2
    stop_server
    exit 1
  fi
  node "$HERE/seed.mjs" "$BASE" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$RUNENV" >&2 \
    || { log "seeding failed"; exit 1; }
  local token
  token=$(curl -fsS -m 10 "$BASE/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.access_token))')
  curl -fsS -m 30 "$BASE/server/specs/oas" -H "Authorization: Bearer $token" -o "$HERE/openapi.json.tmp"
  mv "$HERE/openapi.json.tmp" "$HERE/openapi.json"
  log "ready on $BASE (openapi.json saved: the admin's view of /server/specs/oas)"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
