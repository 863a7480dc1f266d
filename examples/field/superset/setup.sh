#!/usr/bin/env bash
# tenantfuzz field trial: Apache Superset 6.1.0 (PyPI apache-superset==6.1.0), Apache-2.0.
# Flask + Flask-AppBuilder 5; REST API under /api/v1, OpenAPI served by FAB at /api/v1/_openapi.
#
# Downloads (into ${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/superset/): a Python 3.11
# venv with apache-superset==6.1.0 and its ~150 dependencies (pandas, numpy, pyarrow, ...),
# pinned by constraints.txt (about 250 MB of wheels, 820 MB installed). No Debian packages
# (the metadata database and the example data are SQLite files). Needs python3.11.
#
#   setup.sh install          venv + a migrated, `superset init`ed template metadata DB with the
#                             accounts admin (Admin), alice and bob (Alpha + sql_lab) and one
#                             SQLite database connection "fielddata" with a dataset "sales"
#   setup.sh start [PATCH]    fresh copy of the template DB, PATCH applied to site-packages,
#                             `superset run` on 127.0.0.1:18103, openapi.json saved here
#   setup.sh stop             kill the server, revert the patch
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/superset"
VENV="$CACHE/venv"
VERSION="6.1.0"
PORT=18103
BASE="http://127.0.0.1:$PORT"
PYVER=3.11
SITE="$VENV/lib/python$PYVER/site-packages"     # the patch root: patch -p1 -d "$SITE"
PIDFILE="$CACHE/server.pid"
LOG="$CACHE/server.log"
PATCHREC="$CACHE/applied.patch"
TEMPLATE="$CACHE/template.db"
ADMIN_PW="admin-field-pw1"
ALICE_PW="alice-field-pw1"
BOB_PW="bob-field-pw1"

export SUPERSET_CONFIG_PATH="$CACHE/superset_config.py"
export FLASK_APP=superset
export SUPERSET_LOG_LEVEL=warning

log() { echo "[superset] $*" >&2; }

write_config() {
  mkdir -p "$CACHE"
  cat > "$SUPERSET_CONFIG_PATH" <<'EOF'
# superset_config.py for the tenantfuzz field trial (written by setup.sh)
import os
_CACHE = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "tfz-field-superset-throwaway-secret-key-0123456789"
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(_CACHE, "superset.db") + "?check_same_thread=false"
WTF_CSRF_ENABLED = True
FAB_API_SWAGGER_UI = True
# the field data source is a SQLite file in the cache
PREVENT_UNSAFE_DB_CONNECTIONS = False
# local, plain http: no HTTPS redirects or login rate limit in the way of a fuzzing run
TALISMAN_ENABLED = False
RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False
EOF
}

make_template() {
  log "building the template metadata database (migrations + superset init, about a minute)"
  rm -f "$CACHE/superset.db" "$TEMPLATE.tmp"
  "$VENV/bin/superset" db upgrade > "$CACHE/upgrade.log" 2>&1
  "$VENV/bin/superset" init > "$CACHE/init.log" 2>&1
  "$VENV/bin/superset" fab create-admin --username admin --firstname Ada --lastname Admin \
    --email admin@example.test --password "$ADMIN_PW" >> "$CACHE/init.log" 2>&1
  "$VENV/bin/superset" fab create-user --role Alpha --username alice --firstname Alice \
    --lastname Acme --email alice@acme.test --password "$ALICE_PW" >> "$CACHE/init.log" 2>&1
  "$VENV/bin/superset" fab create-user --role Alpha --username bob --firstname Bob \
    --lastname Globex --email bob@globex.test --password "$BOB_PW" >> "$CACHE/init.log" 2>&1
  # the example data: a small SQLite database, registered as a connection with one dataset
  rm -f "$CACHE/fielddata.db"
  "$VENV/bin/python" - "$CACHE/fielddata.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("create table sales (id integer primary key, region text, amount real, day text)")
c.executemany("insert into sales (region, amount, day) values (?, ?, ?)",
              [("north", 10.5, "2024-01-01"), ("south", 7.25, "2024-01-02"), ("east", 3.0, "2024-01-03")])
c.commit()
EOF
  "$VENV/bin/python" - "$CACHE/fielddata.db" >> "$CACHE/init.log" 2>&1 <<'EOF'
import sys
from superset.app import create_app
app = create_app()
with app.app_context():
    from superset.extensions import db, security_manager as sm
    from superset.models.core import Database
    from superset.connectors.sqla.models import SqlaTable
    sql_lab = sm.find_role("sql_lab")
    for name in ("alice", "bob"):
        user = sm.find_user(username=name)
        if sql_lab not in user.roles:
            user.roles.append(sql_lab)
    admin = sm.find_user(username="admin")
    database = Database(database_name="fielddata", sqlalchemy_uri="sqlite:///" + sys.argv[1],
                        expose_in_sqllab=True, allow_run_async=False)
    database.created_by = admin
    db.session.add(database)
    db.session.flush()
    table = SqlaTable(table_name="sales", database=database, schema="main")
    table.owners = [admin]
    db.session.add(table)
    db.session.flush()
    table.fetch_metadata()
    db.session.commit()
    sm.add_permission_view_menu("datasource_access", table.get_perm())
    sm.add_permission_view_menu("database_access", database.perm)
    db.session.commit()
    print("seeded", database.id, table.id)
EOF
  cp "$CACHE/superset.db" "$TEMPLATE.tmp"
  cp "$CACHE/fielddata.db" "$CACHE/fielddata.template.db"
  mv "$TEMPLATE.tmp" "$TEMPLATE"
}

do_install() {
  mkdir -p "$CACHE"
  if ! command -v "python$PYVER" > /dev/null 2>&1; then
    echo "needs python$PYVER (with venv): apt-get install python$PYVER python$PYVER-venv, or pyenv install $PYVER" >&2
    exit 1
  fi
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys, rich, cachetools; sys.exit(m.version('apache-superset') != '$VERSION')" 2> /dev/null; then
    log "installing apache-superset==$VERSION into $VENV"
    "python$PYVER" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip setuptools wheel
    "$VENV/bin/pip" install -q "apache-superset==$VERSION" rich cachetools -c "$HERE/constraints.txt"
  fi
  write_config
  if [[ ! -s "$TEMPLATE" ]]; then
    make_template
  fi
  log "installed"
}

revert_patch() {
  if [[ -s "$PATCHREC" ]]; then
    log "reverting $(head -c 200 "$PATCHREC.name" 2> /dev/null || echo patch)"
    patch -R -p1 -s -d "$SITE" < "$PATCHREC" > /dev/null || { log "could not revert the applied patch cleanly"; exit 1; }
  fi
  rm -f "$PATCHREC" "$PATCHREC.name"
}

do_stop() {
  if [[ -s "$PIDFILE" ]]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2> /dev/null; then
      kill -TERM -- "-$pid" 2> /dev/null || kill -TERM "$pid" 2> /dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.2
      done
      kill -KILL -- "-$pid" 2> /dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
  revert_patch
}

do_start() {
  local patchfile="${1:-}"
  [[ -x "$VENV/bin/superset" && -s "$TEMPLATE" ]] || do_install
  write_config
  do_stop
  if [[ -n "$patchfile" ]]; then
    patchfile="$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")"
    log "applying $patchfile"
    patch -p1 -s -d "$SITE" --dry-run < "$patchfile" > /dev/null
    patch -p1 -s -d "$SITE" < "$patchfile"
    cp "$patchfile" "$PATCHREC"
    echo "$patchfile" > "$PATCHREC.name"
  fi
  cp "$TEMPLATE" "$CACHE/superset.db"
  cp "$CACHE/fielddata.template.db" "$CACHE/fielddata.db"
  : > "$LOG"
  setsid "$VENV/bin/superset" run -h 127.0.0.1 -p "$PORT" --with-threads >> "$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  local ok=""
  for _ in $(seq 1 180); do
    if curl -fs -o /dev/null "$BASE/health"; then ok=1; break; fi
    if ! kill -0 "$(cat "$PIDFILE")" 2> /dev/null; then break; fi
    sleep 1
  done
  if [[ -z "$ok" ]]; then
    log "superset did not answer on $BASE; see $LOG"
    tail -20 "$LOG" >&2 || true
    exit 1
  fi
  # the spec: FAB serves it to authenticated callers only
  local token
  token="$(curl -fs "$BASE/api/v1/security/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PW\",\"provider\":\"db\"}" |
    "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  curl -fs "$BASE/api/v1/_openapi" -H "Authorization: Bearer $token" -o "$HERE/openapi.served.json"
  # Superset 6.1.0's spec has 4 dangling $refs (schemas FAB never registered: the request
  # bodies of PUT /api/v1/dashboard/{pk}/colors, /filters, /chart_customizations and a query
  # parameter of GET /api/v1/report/slack_channels/). tenantfuzz refuses such a spec, so
  # openapi.json is the served spec with each dangling $ref replaced by an open object schema.
  "$VENV/bin/python" - "$HERE/openapi.served.json" "$HERE/openapi.json.tmp" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
def resolves(ref):
    cur = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(cur, dict) or part not in cur:
            return False
        cur = cur[part]
    return True
def fix(x):
    if isinstance(x, dict):
        ref = x.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and not resolves(ref):
            return {"type": "object", "description": "dangling $ref " + ref + " in the served spec"}
        return {k: fix(v) for k, v in x.items()}
    if isinstance(x, list):
        return [fix(v) for v in x]
    return x
json.dump(fix(doc), open(sys.argv[2], "w"), indent=1)
EOF
  mv "$HERE/openapi.json.tmp" "$HERE/openapi.json"
  cat > "$CACHE/run.env" <<EOF
SUPERSET_ADMIN_PASSWORD=$ADMIN_PW
SUPERSET_ALICE_PASSWORD=$ALICE_PW
SUPERSET_BOB_PASSWORD=$BOB_PW
EOF
  log "ready on $BASE${patchfile:+ with $(basename "$patchfile")}"
}

case "${1:-}" in
  install) do_install ;;
  start) shift; do_start "${1:-}" ;;
  stop) do_stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
