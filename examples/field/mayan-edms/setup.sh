#!/usr/bin/env bash
# tenantfuzz field trial: Mayan EDMS
#
# Application: Mayan EDMS 4.12.2 (https://www.mayan-edms.com), electronic document management,
#              Django + Django REST framework, OpenAPI 3.0 from drf-spectacular.
# Licence:     GPL-2.0-only
# Source:      PyPI mayan-edms==4.12.2, installed into a Python 3.11 venv in the cache.
# Downloads:   PyPI: mayan-edms and its pinned dependencies (Django 5.2, DRF, celery, boto3,
#              google-cloud-storage, elasticsearch, openai, gevent, ...), about 250 MB in the
#              venv. Debian (only when missing; installed when running as root with apt):
#              libldap2-dev libsasl2-dev gcc (to build python-ldap, a dependency of
#              django-auth-ldap). No JavaScript dependencies (the API needs none).
# Runs:        gunicorn (1 worker, 8 threads) on 127.0.0.1:18108, SQLite database in the cache
#              (a fresh copy of a seeded template on every start), Celery tasks run inline
#              (CELERY_TASK_ALWAYS_EAGER, no broker), Django search backend (no index),
#              REST API throttling off (test instance).
#
# Accounts: seed.py (beside this script) makes admin, alice (group acme) and bob (group
#              globex) with their roles and ACLs; passwords go to <cache>/run.env.
#
#   setup.sh install          idempotent install, builds the seeded database template once
#   setup.sh start [PATCH]    fresh database, PATCH applied to site-packages, server started
#   setup.sh stop             server stopped, patch reverted
set -euo pipefail

TARGET=mayan-edms
VERSION=4.12.2
PORT=18108
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/$TARGET"
VENV="$CACHE/venv"
MEDIA="$CACHE/media"               # the live MEDIA_ROOT (database, files, config.yml)
# $CACHE/media-base: MEDIA_ROOT right after the initial setup (migrations), before the seed
TEMPLATE="$CACHE/media-template"   # MEDIA_ROOT right after initial setup + seed
LOGS="$CACHE/logs"
PIDFILE="$CACHE/server.pid"
APPLIED="$CACHE/applied.patch"
RUNENV="$CACHE/run.env"
BASE="http://127.0.0.1:$PORT"

ADMIN_PASSWORD=admin-field-pw-18108
ALICE_PASSWORD=alice-field-pw-18108
BOB_PASSWORD=bob-field-pw-18108

log() { echo "[$TARGET] $*" >&2; }

find_python() {
    local c
    for c in python3.11 /root/.pyenv/versions/3.11*/bin/python3.11 /usr/bin/python3.11; do
        if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
    done
    return 1
}

site_packages() { echo "$VENV/lib/python3.11/site-packages"; }

mayan_env() {
    export PYTHONPATH="$CACHE/pylib"
    export DJANGO_SETTINGS_MODULE=tfz_mayan_settings
    export MAYAN_MEDIA_ROOT="$MEDIA"
    export MAYAN_STATIC_ROOT="$CACHE/static"
    export MAYAN_SEARCH_BACKEND=mayan.apps.dynamic_search.backends.django.DjangoSearchBackend
    export MAYAN_REST_API_THROTTLING_ENABLED=false
    export MAYAN_DATABASES="{'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': '$MEDIA/db.sqlite3', 'OPTIONS': {'timeout': 30}}}"
    export PYTHONWARNINGS=ignore
    export TFZ_ADMIN_PASSWORD="$ADMIN_PASSWORD" TFZ_ALICE_PASSWORD="$ALICE_PASSWORD" TFZ_BOB_PASSWORD="$BOB_PASSWORD"
}

write_settings_module() {
    mkdir -p "$CACHE/pylib"
    cat > "$CACHE/pylib/tfz_mayan_settings.py" <<'EOF'
# tenantfuzz field trial: Mayan EDMS production settings, with Celery tasks run inline
# (no broker, no worker) so that API actions that queue tasks finish in the request.
from mayan.settings.production import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = 'memory://'
CELERY_RESULT_BACKEND = None
EOF
}

seed_stamp() {
    { echo "$VERSION"; cat "$HERE/seed.py"; cat "$CACHE/pylib/tfz_mayan_settings.py"; } | sha256sum | cut -d' ' -f1
}

need_debs() {
    local missing=() p
    for p in libldap2-dev libsasl2-dev gcc; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian packages: ${missing[*]} (apt-get install, running as root)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
    else
        echo "needs ${missing[*]}: apt-get install ${missing[*]}" >&2
        exit 1
    fi
}

cmd_install() {
    mkdir -p "$CACHE" "$LOGS"
    local py
    py="$(find_python)" || { echo "needs Python 3.11: apt-get install python3.11 (or pyenv)" >&2; exit 1; }
    if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mayan-edms') != '$VERSION')" 2>/dev/null; then
        need_debs
        log "creating venv and installing mayan-edms==$VERSION (several minutes)"
        [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip >/dev/null
        "$VENV/bin/pip" install -q "mayan-edms==$VERSION" > "$LOGS/pip-install.log" 2>&1 || {
            tail -20 "$LOGS/pip-install.log" >&2; exit 1; }
    fi
    write_settings_module
    mayan_env
    if [ ! -f "$CACHE/static/.collected" ]; then
        log "collecting static files"
        "$VENV/bin/mayan-edms.py" collectstatic --noinput > "$LOGS/collectstatic.log" 2>&1 || {
            tail -20 "$LOGS/collectstatic.log" >&2; exit 1; }
        touch "$CACHE/static/.collected"
    fi
    local stamp
    stamp="$(seed_stamp)"
    if [ "$(cat "$TEMPLATE/.seed-stamp" 2>/dev/null)" != "$stamp" ]; then
        cmd_stop >/dev/null 2>&1 || true
        rm -rf "$MEDIA" "$TEMPLATE.new"
        if [ "$(cat "$CACHE/media-base/.version" 2>/dev/null)" != "$VERSION" ]; then
            log "initial setup of an empty database (migrations, about 3 minutes)"
            "$VENV/bin/mayan-edms.py" common_initial_setup --force --no-dependencies \
                > "$LOGS/initialsetup.log" 2>&1 || { tail -30 "$LOGS/initialsetup.log" >&2; exit 1; }
            rm -rf "$CACHE/media-base"
            cp -a "$MEDIA" "$CACHE/media-base"
            echo "$VERSION" > "$CACHE/media-base/.version"
        else
            cp -a "$CACHE/media-base" "$MEDIA"
        fi
        log "seeding the database template"
        "$VENV/bin/mayan-edms.py" shell < "$HERE/seed.py" > "$LOGS/seed.log" 2>&1 || {
            tail -30 "$LOGS/seed.log" >&2; exit 1; }
        grep -q '^seeded' "$LOGS/seed.log" || { tail -30 "$LOGS/seed.log" >&2; exit 1; }
        cp -a "$MEDIA" "$TEMPLATE.new"
        echo "$stamp" > "$TEMPLATE.new/.seed-stamp"
        rm -rf "$TEMPLATE"
        mv "$TEMPLATE.new" "$TEMPLATE"
    fi
    log "installed: $VENV (mayan-edms $VERSION), template $TEMPLATE"
}

revert_patch() {
    if [ -f "$APPLIED" ]; then
        log "reverting $(head -1 "$APPLIED.name" 2>/dev/null || echo patch)"
        patch -R -p1 -s -d "$(site_packages)" < "$APPLIED"
        rm -f "$APPLIED" "$APPLIED.name"
    fi
}

cmd_stop() {
    if [ -f "$PIDFILE" ]; then
        local pid
        pid="$(cat "$PIDFILE")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$PIDFILE"
    fi
    revert_patch
}

cmd_start() {
    local patchfile="${1:-}"
    [ -x "$VENV/bin/mayan-edms.py" ] && [ -f "$TEMPLATE/.seed-stamp" ] || cmd_install
    write_settings_module
    [ "$(cat "$TEMPLATE/.seed-stamp" 2>/dev/null)" = "$(seed_stamp)" ] || cmd_install
    cmd_stop
    if [ -n "$patchfile" ]; then
        patchfile="$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")"
        [ -f "$patchfile" ] || { echo "no such patch: $patchfile" >&2; exit 1; }
        patch -p1 -s --dry-run -d "$(site_packages)" < "$patchfile" >/dev/null
        patch -p1 -s -d "$(site_packages)" < "$patchfile"
        cp "$patchfile" "$APPLIED"
        echo "$patchfile" > "$APPLIED.name"
        log "applied $patchfile"
    fi
    if curl -s -o /dev/null --max-time 2 "$BASE/"; then
        echo "port $PORT is in use by another process" >&2; exit 1
    fi
    rm -rf "$MEDIA"
    cp -a "$TEMPLATE" "$MEDIA"
    mkdir -p "$LOGS"
    mayan_env
    cd "$CACHE"
    setsid "$VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 1 --threads 8 \
        --timeout 120 --no-control-socket --access-logfile "$LOGS/access.log" \
        mayan.wsgi > "$LOGS/server.log" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    local ok=
    for _ in $(seq 1 180); do
        if curl -s -o /dev/null --max-time 5 -X POST "$BASE/api/v4/auth/token/obtain/" \
            -H 'Accept: application/json' -H 'Content-Type: application/json' \
            -d "{\"username\":\"alice\",\"password\":\"$ALICE_PASSWORD\"}" -w '%{http_code}' | grep -q '^200$'; then
            ok=1; break
        fi
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
        sleep 1
    done
    if [ -z "$ok" ]; then
        tail -30 "$LOGS/server.log" >&2
        echo "Mayan EDMS did not come up on $BASE" >&2
        exit 1
    fi
    curl -sf --max-time 60 -H 'Accept: application/json' "$BASE/api/swagger.json" -o "$HERE/openapi.json.tmp"
    mv "$HERE/openapi.json.tmp" "$HERE/openapi.json"
    cat > "$RUNENV" <<EOF
MAYAN_ADMIN_PASSWORD=$ADMIN_PASSWORD
MAYAN_ALICE_PASSWORD=$ALICE_PASSWORD
MAYAN_BOB_PASSWORD=$BOB_PASSWORD
EOF
    log "ready on $BASE (spec: $HERE/openapi.json, env: $RUNENV)"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "${1:-}" ;;
    stop) cmd_stop ;;
    *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
