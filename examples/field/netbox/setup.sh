#!/usr/bin/env bash
# Field-trial target: NetBox 4.7.3 (network source of truth), Django 6.1 + Django REST framework.
# Licence: Apache-2.0. Source: PyPI netbox==4.7.3 (the wheel ships the whole application).
#
# What it downloads (everything under ${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/netbox):
#   - NetBox 4.7.3 requires Python >= 3.12; Debian bookworm has 3.11. `install` therefore fetches
#     Debian's source package python3.13 (3.13.5, from Debian trixie, ~23 MB, through apt with a
#     private sources list in the cache: the system's apt sources are not touched) and builds it
#     into <cache>/python (about 10 min on 2 cores, once).
#   - pip: netbox==4.7.3 and its pinned requirements (Django, DRF, drf-spectacular, psycopg[c],
#     strawberry, mkdocs..., about 150 MB installed) into <cache>/venv.
#   - Debian packages it needs (installed with apt-get when running as root): postgresql (15),
#     redis-server, build-essential, libpq-dev and the CPython build headers (libssl-dev,
#     libffi-dev, zlib1g-dev, libbz2-dev, libsqlite3-dev, liblzma-dev, libreadline-dev, uuid-dev).
#
# Services, all on 127.0.0.1: NetBox (gunicorn) :18102, own PostgreSQL cluster :19102 (run as the
# postgres user), own Redis :19202. A migrated and seeded template database (netbox_template) is
# made once by `install`; `start` copies it (createdb -T) into a fresh `netbox` database each time.
#
# Accounts seeded: admin (superuser), alice (tenant acme), bob (tenant globex); alice and bob have
# ObjectPermissions view/add/change/delete on dcim.site, ipam.prefix, ipam.ipaddress, ipam.vlan,
# ipam.vrf constrained to {"tenant__slug": "<their tenant>"} and view on their own tenancy.tenant.
# `start` provisions one v2 API token per user (POST /api/users/tokens/provision/) into run.env.
#
# Usage: setup.sh install | start [mutants/X.patch] | stop
set -euo pipefail

NAME=netbox
NB_VERSION=4.7.3
PY_VERSION=3.13.5
PY_DEB_VERSION=3.13.5-2+deb13u5
PORT=18102
PGPORT=19102
REDIS_PORT=19202
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/$NAME"
PYDIR="$CACHE/python"
PY="$PYDIR/bin/python3.13"
VENV="$CACHE/venv"
SITE="$VENV/lib/python3.13/site-packages"   # patch root: mutants apply with patch -p1 -d $SITE
NBROOT="$CACHE/root"                        # NETBOX_ROOT: conf/configuration.py, media, ...
RUNENV="$CACHE/run.env"
APPLIED="$CACHE/applied.patch"
LOG="$CACHE/netbox.log"
PIDFILE="$CACHE/netbox.pid"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"

ALICE_PASSWORD=alice-field-pass-1
BOB_PASSWORD=bob-field-pass-1
ADMIN_PASSWORD=admin-field-pass-1

log() { echo "[netbox] $*" >&2; }

# PostgreSQL runs as the postgres user, which must reach its data directory. When it cannot
# traverse the cache path (e.g. /root is mode 700), the cluster goes to /tmp instead.
pg_dir() {
  if [ -n "${TFZ_NETBOX_PGDIR:-}" ]; then echo "$TFZ_NETBOX_PGDIR"; return; fi
  mkdir -p "$CACHE"
  if runuser -u postgres -- test -x "$CACHE" 2>/dev/null; then echo "$CACHE/pg"; else echo "/tmp/tfz-field-netbox-pg"; fi
}
PGDIR="$(pg_dir)"
PGDATA="$PGDIR/data"
PGSOCK="$PGDIR/sock"

nbenv() {
  export NETBOX_ROOT="$NBROOT"
  export DJANGO_SETTINGS_MODULE=netbox.settings
  export PYTHONDONTWRITEBYTECODE=
}
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# ---------------------------------------------------------------------------------------------
need_apt() {
  local missing=()
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v gcc >/dev/null && command -v make >/dev/null || missing+=(build-essential)
  command -v patch >/dev/null || missing+=(patch)
  command -v curl >/dev/null || missing+=(curl)
  [ -x /usr/bin/pg_config ] || missing+=(libpq-dev)
  [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  [ -f /usr/include/ffi.h ] || ls /usr/include/*/ffi.h >/dev/null 2>&1 || missing+=(libffi-dev)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  [ -f /usr/include/bzlib.h ] || missing+=(libbz2-dev)
  [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
  [ -f /usr/include/lzma.h ] || missing+=(liblzma-dev)
  [ -d /usr/include/readline ] || missing+=(libreadline-dev)
  [ -f /usr/include/uuid/uuid.h ] || missing+=(uuid-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing Debian packages: ${missing[*]} (apt-get install, running as root)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$CACHE/apt.log" 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update >>"$CACHE/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >>"$CACHE/apt.log" 2>&1; }
      PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    else
      echo "needs ${missing[*]}: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
}

build_python() {
  [ -x "$PY" ] && return 0
  log "building CPython $PY_VERSION from Debian's source package python3.13 (once, ~10 min)"
  local apt="$CACHE/apt-src" src="$CACHE/src"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$src"
  # The machine's own Debian mirror (the first URI its apt sources name), for trixie's sources.
  local mirror
  # (A machine may have only one of the two files: grep's "no such file" must not end the script.)
  mirror="$( { grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
    | grep -v security | head -1 | awk '{print $2}')"
  [ -n "$mirror" ] || { log "no Debian mirror in /etc/apt/sources.list*: cannot fetch python3.13's sources"; exit 1; }
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt/sources.list"
  local A=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
           -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "APT::Sandbox::User=root")
  if [ ! -f "$src/python3.13_$PY_VERSION.orig.tar.xz" ]; then
    apt-get "${A[@]}" update >"$src/apt.log" 2>&1
    (cd "$src" && apt-get "${A[@]}" source --download-only "python3.13=$PY_DEB_VERSION" >>"$src/apt.log" 2>&1 \
      || apt-get "${A[@]}" source --download-only python3.13 >>"$src/apt.log" 2>&1)
  fi
  rm -rf "$src/Python-$PY_VERSION"
  tar -C "$src" -xf "$src/python3.13_$PY_VERSION.orig.tar.xz"
  (cd "$src/Python-$PY_VERSION" \
    && ./configure --prefix="$PYDIR" --without-ensurepip >"$src/configure.log" 2>&1 \
    && make -j2 >"$src/make.log" 2>&1 \
    && make install >"$src/install.log" 2>&1) || { log "CPython build failed, see $src/*.log"; exit 1; }
  "$PY" -c 'import ssl, sqlite3, zlib, bz2, lzma, ctypes, uuid' || { log "CPython built without a needed module"; exit 1; }
}

install_venv() {
  if [ -x "$VENV/bin/netbox" ] && "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('netbox') == '$NB_VERSION'" 2>/dev/null; then
    return 0
  fi
  log "pip install netbox==$NB_VERSION into $VENV"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >"$CACHE/pip.log" 2>&1 || true
  PATH="$PYDIR/bin:$PATH" "$VENV/bin/python" -m pip install "netbox==$NB_VERSION" >>"$CACHE/pip.log" 2>&1 \
    || { log "pip install failed, see $CACHE/pip.log"; exit 1; }
  "$VENV/bin/python" -m pip freeze >"$CACHE/freeze.txt"
}

write_config() {
  mkdir -p "$NBROOT/conf" "$NBROOT/media" "$NBROOT/reports" "$NBROOT/scripts"
  touch "$NBROOT/conf/__init__.py"
  cat >"$NBROOT/conf/configuration.py" <<EOF
# NetBox configuration for the tenantfuzz field trial (throwaway secrets, local services only).
import os
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('NETBOX_DB_NAME', 'netbox'),
        'USER': 'netbox',
        'PASSWORD': 'netbox',
        'HOST': '127.0.0.1',
        'PORT': $PGPORT,
        'CONN_MAX_AGE': 300,
    }
}
REDIS = {
    'tasks': {'HOST': '127.0.0.1', 'PORT': $REDIS_PORT, 'USERNAME': '', 'PASSWORD': '', 'DATABASE': 0, 'SSL': False},
    'caching': {'HOST': '127.0.0.1', 'PORT': $REDIS_PORT, 'USERNAME': '', 'PASSWORD': '', 'DATABASE': 1, 'SSL': False},
}
SECRET_KEY = 'tenantfuzz-field-netbox-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz'
API_TOKEN_PEPPERS = {1: 'tenantfuzz-field-netbox-pepper-0123456789-abcdefghijklmnopqrstuvwxyz'}
CENSUS_REPORTING_ENABLED = False
ISOLATED_DEPLOYMENT = True
RELEASE_CHECK_URL = None
DEBUG = False
TIME_ZONE = 'UTC'
EOF
}

seed_py() {
  cat <<'EOF'
import django
django.setup()
from core.models import ObjectType
from tenancy.models import Tenant
from users.models import User, ObjectPermission
from dcim.models import Site
from ipam.models import Prefix, VLAN, VRF, IPAddress

if not User.objects.filter(username='admin').exists():
    User.objects.create_superuser('admin', 'admin@example.test', 'ADMIN_PASSWORD')
types = [ObjectType.objects.get_by_natural_key(a, m) for a, m in
         [('dcim', 'site'), ('ipam', 'prefix'), ('ipam', 'ipaddress'), ('ipam', 'vlan'), ('ipam', 'vrf')]]
tenant_type = ObjectType.objects.get_by_natural_key('tenancy', 'tenant')
for uname, pw, slug, name, net in [('alice', 'ALICE_PASSWORD', 'acme', 'Acme', 1),
                                    ('bob', 'BOB_PASSWORD', 'globex', 'Globex', 2)]:
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={'name': name})
    user = User.objects.filter(username=uname).first() or User.objects.create_user(uname, f'{uname}@{slug}.test', pw)
    perm, made = ObjectPermission.objects.get_or_create(
        name=f'{slug}-network', defaults={'actions': ['view', 'add', 'change', 'delete'],
                                          'constraints': {'tenant__slug': slug}})
    if made:
        perm.object_types.set(types)
        perm.users.add(user)
    tperm, made = ObjectPermission.objects.get_or_create(
        name=f'{slug}-tenant-view', defaults={'actions': ['view'], 'constraints': {'slug': slug}})
    if made:
        tperm.object_types.set([tenant_type])
        tperm.users.add(user)
    Site.objects.get_or_create(slug=f'{slug}-hq', defaults={'name': f'{name} HQ', 'tenant': tenant})
    VRF.objects.get_or_create(name=f'{slug}-vrf', defaults={'tenant': tenant})
    VLAN.objects.get_or_create(vid=100 + net, name=f'{slug}-vlan', defaults={'tenant': tenant})
    Prefix.objects.get_or_create(prefix=f'10.{net}.0.0/16', defaults={'tenant': tenant})
    IPAddress.objects.get_or_create(address=f'10.{net}.0.1/16', defaults={'tenant': tenant})
print('seeded')
EOF
}

# ---------------------------------------------------------------------------------------------
pg_start() {
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initdb $PGDATA"
    mkdir -p "$PGDIR"
    chown postgres:postgres "$PGDIR"
    runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1
  fi
  mkdir -p "$PGSOCK"; chown postgres:postgres "$PGSOCK"
  if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/postgres.log" -w -t 60 \
      -o "-p $PGPORT -k $PGSOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  fi
  psql_ -d postgres -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='netbox') THEN CREATE ROLE netbox LOGIN SUPERUSER PASSWORD 'netbox'; END IF; END\$\$;"
}

pg_stop() {
  [ -n "$PGBIN" ] && [ -f "$PGDATA/PG_VERSION" ] || return 0
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null || true
  fi
}

redis_start() {
  mkdir -p "$CACHE/redis"
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$CACHE/redis" --save "" --appendonly no \
      --daemonize yes --pidfile "$CACHE/redis/redis.pid" --logfile "$CACHE/redis/redis.log" >/dev/null
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null
}

redis_stop() {
  if [ -f "$CACHE/redis/redis.pid" ]; then
    local pid; pid="$(cat "$CACHE/redis/redis.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$CACHE/redis/redis.pid"
  fi
}

make_template() {
  if [ "$(psql_ -d postgres -c "SELECT 1 FROM pg_database WHERE datname='netbox_template'")" = 1 ] \
     && [ -f "$CACHE/template.ok" ]; then
    return 0
  fi
  log "migrating and seeding the template database (once, a few minutes)"
  psql_ -d postgres -c "DROP DATABASE IF EXISTS netbox_template" -c "CREATE DATABASE netbox_template OWNER netbox"
  nbenv
  NETBOX_DB_NAME=netbox_template "$VENV/bin/netbox" migrate --no-input >"$CACHE/migrate.log" 2>&1 \
    || { log "migrate failed, see $CACHE/migrate.log"; exit 1; }
  seed_py | sed -e "s/'ADMIN_PASSWORD'/'$ADMIN_PASSWORD'/" -e "s/'ALICE_PASSWORD'/'$ALICE_PASSWORD'/" \
               -e "s/'BOB_PASSWORD'/'$BOB_PASSWORD'/" >"$CACHE/seed.py"
  NETBOX_DB_NAME=netbox_template "$VENV/bin/python" "$CACHE/seed.py" >>"$CACHE/migrate.log" 2>&1 \
    || { log "seeding failed, see $CACHE/migrate.log"; exit 1; }
  touch "$CACHE/template.ok"
}

cmd_install() {
  mkdir -p "$CACHE"
  need_apt
  build_python
  install_venv
  write_config
  redis_start
  pg_start
  make_template
  pg_stop
  redis_stop
  log "install done"
}

# ---------------------------------------------------------------------------------------------
revert_patch() {
  if [ -f "$APPLIED" ]; then
    log "reverting $(head -c 200 "$CACHE/applied.name" 2>/dev/null || echo patch)"
    patch -R -p1 -s -d "$SITE" <"$APPLIED" || { log "could not revert $APPLIED"; exit 1; }
    rm -f "$APPLIED" "$CACHE/applied.name"
  fi
}

app_stop() {
  if [ -f "$PIDFILE" ]; then
    local pid; pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
}

cmd_stop() {
  mkdir -p "$CACHE"
  app_stop
  redis_stop
  pg_stop
  revert_patch
}

provision() {  # user password -> "nbt_<key>.<token>"
  curl -sf -X POST "http://127.0.0.1:$PORT/api/users/tokens/provision/" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" \
    | "$VENV/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print("nbt_%s.%s" % (d["key"], d["token"]))'
}

cmd_start() {
  local patchfile="${1:-}"
  [ -x "$VENV/bin/netbox" ] && [ -f "$CACHE/template.ok" ] || { log "not installed: run setup.sh install"; exit 1; }
  cmd_stop
  if [ -n "$patchfile" ]; then
    patchfile="$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")"
    log "applying $patchfile"
    patch -p1 -s -d "$SITE" --dry-run <"$patchfile" >/dev/null || { log "patch does not apply: $patchfile"; exit 1; }
    patch -p1 -s -d "$SITE" <"$patchfile"
    cp "$patchfile" "$APPLIED"; echo "$patchfile" >"$CACHE/applied.name"
  fi
  write_config
  redis_start
  pg_start
  make_template
  psql_ -d postgres -c "DROP DATABASE IF EXISTS netbox WITH (FORCE)" -c "CREATE DATABASE netbox TEMPLATE netbox_template OWNER netbox"
  nbenv
  : >"$LOG"
  cd "$NBROOT"
  # setsid execs gunicorn (a background job is no group leader), so $! is the master and its group
  setsid "$VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 3 --threads 4 --timeout 120 \
      --graceful-timeout 5 --no-control-socket --access-logfile - netbox.wsgi >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  cd "$HERE"
  local ok=
  for _ in $(seq 1 180); do
    if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/status/" 2>/dev/null | grep -qE '^(200|401|403)$'; then ok=1; break; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { log "NetBox exited, see $LOG"; tail -20 "$LOG" >&2; exit 1; }
    sleep 1
  done
  [ -n "$ok" ] || { log "NetBox did not answer within 180 s, see $LOG"; exit 1; }
  local at bt dt
  at="$(provision alice "$ALICE_PASSWORD")"; bt="$(provision bob "$BOB_PASSWORD")"; dt="$(provision admin "$ADMIN_PASSWORD")"
  {
    echo "ALICE_PASSWORD=$ALICE_PASSWORD"
    echo "BOB_PASSWORD=$BOB_PASSWORD"
    echo "ADMIN_PASSWORD=$ADMIN_PASSWORD"
    echo "ALICE_TOKEN=$at"
    echo "BOB_TOKEN=$bt"
    echo "ADMIN_TOKEN=$dt"
  } >"$RUNENV"
  if [ ! -s "$HERE/openapi.json" ]; then
    log "saving the OpenAPI description to $HERE/openapi.json"
    curl -sf --max-time 300 -H "Authorization: Bearer $dt" -H 'Accept: application/json' \
      "http://127.0.0.1:$PORT/api/schema/?format=json" -o "$HERE/openapi.json.tmp" \
      && mv "$HERE/openapi.json.tmp" "$HERE/openapi.json" || { rm -f "$HERE/openapi.json.tmp"; log "could not fetch the schema"; exit 1; }
  fi
  log "ready on http://127.0.0.1:$PORT (run.env: $RUNENV)"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
