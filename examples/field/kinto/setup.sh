#!/usr/bin/env bash
# Field-trial target: Kinto 26.5.0 (https://kinto.readthedocs.io/), Mozilla's JSON storage
# service; Python 3 / Pyramid; licence Apache-2.0.
#
# Downloads (once, into ${TFZ_FIELD_CACHE:-~/.cache/tenantfuzz-field}/kinto/venv): the PyPI
# package kinto==26.5.0 and its dependencies (pyramid, cornice, waitress, bcrypt, sqlalchemy,
# jsonschema, ...; about 75 MB installed). Needs python3 (>= 3.10) with the venv module and
# the `patch` and `curl` commands; nothing else (memory backends: no database server).
#
#   setup.sh install          create the venv and install Kinto
#   setup.sh start [PATCH]    (re)start Kinto on 127.0.0.1:18101 with an empty database,
#                             PATCH (a mutants/*.patch) applied to the installed package;
#                             seeds the accounts alice, bob and admin and alice's public
#                             collection; saves the served OpenAPI as openapi.json here
#   setup.sh stop             stop Kinto and revert the patch
#
# Storage, cache and permissions use Kinto's memory backends, so every start is a fresh
# database. Accounts (kinto.plugins.accounts) authenticate with HTTP basic.
set -euo pipefail

KINTO_VERSION=26.5.0
PORT=18101
HOST=127.0.0.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/kinto"
VENV="$CACHE/venv"
PIDFILE="$CACHE/kinto.pid"
LOG="$CACHE/kinto.log"
APPLIED="$CACHE/applied.patch"
INI="$CACHE/kinto.ini"
BASE="http://$HOST:$PORT/v1"

# Throwaway passwords of the seeded accounts (the config uses the same).
ALICE_PASSWORD=alice-field-pass-1
BOB_PASSWORD=bob-field-pass-1
ADMIN_PASSWORD=admin-field-pass-1

site_packages() {
    "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "kinto: $1 is missing; installing the Debian package $2 (apt-get install -y $2)"
        apt-get install -y "$2" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "kinto: needs $1: apt-get install $2" >&2; exit 1; }
}

cmd_install() {
    need python3 python3
    need patch patch
    need curl curl
    python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || { echo "kinto: needs python3 >= 3.10" >&2; exit 1; }
    mkdir -p "$CACHE"
    if [ -x "$VENV/bin/kinto" ] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kinto') != '$KINTO_VERSION')" 2>/dev/null; then
        return 0
    fi
    if ! [ -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || { echo "kinto: needs the venv module: apt-get install python3-venv" >&2; exit 1; }
    fi
    echo "kinto: installing kinto==$KINTO_VERSION into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "kinto==$KINTO_VERSION"
}

write_ini() {
    cat >"$INI" <<EOF
[server:main]
use = egg:waitress#main
host = $HOST
port = $PORT
threads = 8

[app:main]
use = egg:kinto
kinto.includes = kinto.plugins.accounts
kinto.storage_backend = kinto.core.storage.memory
kinto.storage_url =
kinto.cache_backend = kinto.core.cache.memory
kinto.cache_url =
kinto.permission_backend = kinto.core.permission.memory
kinto.permission_url =
kinto.userid_hmac_secret = tenantfuzz-field-kinto-throwaway-secret
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
# Anyone registers an account with PUT /accounts/{id}; account:admin administers them all.
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
# Every authenticated user may create buckets (and owns the buckets it creates).
kinto.bucket_create_principals = system.Authenticated

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = plain
[logger_root]
level = INFO
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = plain
[formatter_plain]
format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s
EOF
}

# Remove the bytecode of the files a patch touches, so a revert is never masked by a stale .pyc.
drop_pyc() {
    local sp="$1" patchfile="$2" f
    grep -E '^\+\+\+ ' "$patchfile" | awk '{print $2}' | sed -E 's#^[^/]+/##' | while read -r f; do
        rm -f "$sp/$(dirname "$f")/__pycache__/$(basename "$f" .py)".*.pyc
    done
}

revert_patch() {
    [ -f "$APPLIED" ] || return 0
    local sp
    sp="$(site_packages)"
    if patch -R -p1 -s -f --dry-run -d "$sp" <"$APPLIED" >/dev/null 2>&1; then
        patch -R -p1 -s -f -d "$sp" <"$APPLIED"
        echo "kinto: reverted $(head -c 200 "$APPLIED.name" 2>/dev/null || echo patch)"
    else
        echo "kinto: the recorded patch does not revert cleanly; reinstalling kinto" >&2
        "$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "kinto==$KINTO_VERSION"
    fi
    drop_pyc "$sp" "$APPLIED"
    rm -f "$APPLIED" "$APPLIED.name"
}

cmd_stop() {
    if [ -f "$PIDFILE" ]; then
        local pid
        pid="$(cat "$PIDFILE")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$PIDFILE"
    fi
    [ -d "$CACHE" ] && [ -x "$VENV/bin/python" ] && revert_patch
    return 0
}

# curl a JSON request; prints the status code, fails on anything but the expected ones.
call() {
    local expect="$1" method="$2" path="$3" auth="$4" body="${5:-}"
    local args=(-s -o "$CACHE/seed.out" -w '%{http_code}' -X "$method" "$BASE$path")
    [ -n "$auth" ] && args+=(-u "$auth")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
    local code
    code="$(curl "${args[@]}")"
    case " $expect " in
        *" $code "*) ;;
        *) echo "kinto: seeding $method $path answered $code: $(head -c 300 "$CACHE/seed.out")" >&2; exit 1 ;;
    esac
}

cmd_start() {
    local patchfile="${1:-}"
    cmd_install
    cmd_stop
    if [ -n "$patchfile" ]; then
        [ -f "$patchfile" ] || [ ! -f "$HERE/$patchfile" ] || patchfile="$HERE/$patchfile"
        [ -f "$patchfile" ] || { echo "kinto: no such patch: $patchfile" >&2; exit 1; }
        patchfile="$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")"
        local sp
        sp="$(site_packages)"
        patch -p1 -s -f --dry-run -d "$sp" <"$patchfile" >/dev/null \
            || { echo "kinto: $patchfile does not apply to $sp" >&2; exit 1; }
        patch -p1 -s -f -d "$sp" <"$patchfile"
        cp "$patchfile" "$APPLIED"
        echo "$patchfile" >"$APPLIED.name"
        drop_pyc "$sp" "$patchfile"
        echo "kinto: applied $patchfile"
    fi
    write_ini
    : >"$LOG"
    setsid "$VENV/bin/kinto" start --ini "$INI" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    local ok=""
    for _ in $(seq 1 360); do
        if curl -sf -m 2 -o /dev/null "$BASE/__lbheartbeat__"; then ok=1; break; fi
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$ok" ]; then
        echo "kinto: did not answer on $BASE within 180 s; log: $LOG" >&2
        tail -20 "$LOG" >&2
        cmd_stop
        exit 1
    fi

    # Accounts: each registers itself (anonymous PUT), as the docs describe.
    call "201" PUT /accounts/alice "" "{\"data\":{\"password\":\"$ALICE_PASSWORD\"}}"
    call "201" PUT /accounts/bob "" "{\"data\":{\"password\":\"$BOB_PASSWORD\"}}"
    call "201" PUT /accounts/admin "" "{\"data\":{\"password\":\"$ADMIN_PASSWORD\"}}"
    # Alice's public collection: a bucket of hers with a collection everyone may read.
    call "201" PUT /buckets/alice-public "alice:$ALICE_PASSWORD" '{"data":{"title":"Alice public bucket"}}'
    call "201" PUT /buckets/alice-public/collections/news "alice:$ALICE_PASSWORD" \
        '{"data":{"title":"Alice public news"},"permissions":{"read":["system.Everyone"]}}'
    call "201" POST /buckets/alice-public/collections/news/records "alice:$ALICE_PASSWORD" \
        '{"data":{"title":"Hello world, from alice"}}'

    : >"$CACHE/run.env"
    curl -sf -m 10 "$BASE/__api__" -o "$HERE/openapi.json.tmp" && mv "$HERE/openapi.json.tmp" "$HERE/openapi.json"
    echo "kinto: ready on $BASE (pid $(cat "$PIDFILE"), log $LOG)"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "${1:-}" ;;
    stop) cmd_stop ;;
    *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
