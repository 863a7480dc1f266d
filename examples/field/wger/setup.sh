#!/usr/bin/env bash
# Field-trial target: wger Workout Manager 2.1 (PyPI `wger==2.1`, October 2022), a Django 3.2 +
# Django REST framework application. Licence: AGPL-3.0-or-later.
#
# What it downloads (into ${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/wger/, never into the
# repository): a Python 3.11 venv with wger 2.1 and its pinned dependencies from PyPI (Django
# 3.2.25, djangorestframework 3.15.1, Pillow 9.2.0, reportlab 3.6.11 (built from its sdist: needs
# gcc and the Python headers), ... about 240 MB installed, 40 MB downloaded), plus uritemplate,
# inflection and PyYAML, which DRF's own OpenAPI schema generator needs. Nothing is downloaded at
# run time: wger's online fixtures (ingredients from its data repository), exercise image/video
# downloads and the exercise sync are never run; the exercise, muscle, equipment and ingredient
# fixtures shipped inside the wheel are loaded instead.
#
# wger 2.1 serves no OpenAPI document of its own; `start` writes openapi.json with Django REST
# framework's schema generator (`manage.py generateschema --format openapi-json`) run on the
# installed (and, for a mutant, patched) application: the document a DRF schema view would serve.
#
# The `wger` CLI (wger create-settings / bootstrap) does not run on Python 3.11 (its pinned
# invoke 1.7.3 calls inspect.getargspec), and `bootstrap` runs yarn; this script does the same
# steps itself: the settings file from wger's own settings.tpl, `migrate`, `loaddata`.
#
#   setup.sh install          venv + packages + a migrated template database with the fixtures
#   setup.sh start [PATCH]    fresh database, optional mutant patch, server on 127.0.0.1:18106
#   setup.sh stop             stop the server, revert the patch
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${TFZ_FIELD_CACHE:-$HOME/.cache/tenantfuzz-field}/wger
VENV=$CACHE/venv
PY=$VENV/bin/python
SITE=$VENV/lib/python3.11/site-packages     # the patch root: mutants patch wger/... under it
CONF=$CACHE/conf
PORT=18106
BASE=http://127.0.0.1:$PORT
PIDFILE=$CACHE/server.pid
LOG=$CACHE/server.log
APPLIED=$CACHE/applied.patch
STAMP=$CACHE/.installed-v1

export PYTHONPATH=$CONF
export DJANGO_SETTINGS_MODULE=settings
export PYTHONWARNINGS=ignore

log() { echo "[wger] $*" >&2; }

constraints() {
  # The versions pip resolved for wger 2.1 on Python 3.11 (wger pins most of them itself).
  cat <<'EOF'
asgiref==3.13.0
bleach==5.0.1
certifi==2026.10.19.post1
charset-normalizer==2.1.1
Django==3.2.25
django-activity-stream==1.4.2
django-appconf==1.2.0
django-bootstrap-breadcrumbs==0.9.2
django-compressor==4.4
django-cors-headers==3.13.0
django-crispy-forms==1.14.0
django-email-verification==0.1.0
django-environ==0.9.0
django-extensions==3.2.3
django-filter==22.1
django-formtools==2.5.1
django-recaptcha==3.0.0
django-simple-history==3.6.0
django-sortedm2m==3.1.1
django-storages==1.14.6
djangorestframework==3.15.1
easy-thumbnails==2.8.3
fontawesomefree==6.1.2
icalendar==4.1.0
idna==3.21
inflection==0.5.1
invoke==1.7.3
Pillow==9.2.0
python-dateutil==4.0.0
pytz==2026.6
PyYAML==6.0.4
rcssmin==1.1.1
reportlab==3.6.11
requests==2.28.1
rjsmin==1.2.1
six==1.17.0
sqlparse==0.6.1
tinycss2==1.1.1
tzdata==2026.6
uritemplate==4.2.0
urllib3==1.26.20
webencodings==0.6.1
wger==2.1
EOF
}

need() { # need COMMAND DEBIAN-PACKAGE
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "needs $2: installing it with apt-get (running as root)"
      apt-get install -y "$2" >/dev/null || { log "needs $2: apt-get install $2"; exit 1; }
    else
      log "needs $2: apt-get install $2"; exit 1
    fi
  fi
}

find_python() {
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$p"; return 0
    fi
  done
  return 1
}

write_settings() {
  mkdir -p "$CONF" "$CACHE/media"
  "$PY" - "$CACHE" "$PORT" <<'EOF'
import os, sys, secrets, wger
cache, port = sys.argv[1], sys.argv[2]
tpl = open(os.path.join(os.path.dirname(wger.__file__), 'settings.tpl')).read()
s = tpl.format(dbname=cache + '/db.sqlite', dbpath=cache + '/db.sqlite', dbengine='sqlite3',
               dbuser='', dbpassword='', dbhost='', dbport='',
               default_key=secrets.token_hex(25), siteurl=f'http://127.0.0.1:{port}',
               media_folder_path=cache + '/media')
s += f'''
# --- tenantfuzz field trial overrides ---
import os as _os
DATABASES['default']['NAME'] = _os.environ.get('WGER_DB', {cache + '/db.sqlite'!r})
DATABASES['default']['OPTIONS'] = {{'timeout': 30}}
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
EMAIL_PAGE_DOMAIN = SITE_URL
'''
open(os.path.join(cache, 'conf', 'settings.py'), 'w').write(s)
EOF
}

build_template() {
  local tmp=$CACHE/template.sqlite.tmp
  rm -f "$tmp"
  log "migrating a template database (about a minute)"
  WGER_DB=$tmp "$PY" -m django migrate -v0 >/dev/null
  log "loading the fixtures shipped in the wheel (exercises, muscles, equipment, ingredients: about a minute)"
  WGER_DB=$tmp "$PY" - <<'EOF'
import json, os, tempfile
import django
django.setup()
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
import wger
from django.contrib.auth.models import User
root = os.path.dirname(wger.__file__)
# wger's own load_fixtures task, in its order. The exercise fixtures in the 2.1 wheel still
# carry a `status` field (and miss creation dates) that 2.1's models no longer have, so unknown
# fields are dropped and missing automatic dates filled before loading them.
names = ['gym', 'languages', 'groups', 'users', 'licenses', 'days_of_week',
         'setting_repetition_units', 'setting_weight_units', 'language_config', 'gym_config',
         'equipment', 'muscles', 'categories', 'exercise-base-data', 'exercises',
         'gym-config', 'gym-adminconfig', 'ingredients']
for name in names:
    path = None
    for d, _, files in os.walk(root):
        if d.endswith('/fixtures') and name + '.json' in files:
            path = os.path.join(d, name + '.json'); break
    data = json.load(open(path))
    for o in data:
        m = apps.get_model(o['model'])
        for k in list(o['fields']):
            try:
                m._meta.get_field(k)
            except FieldDoesNotExist:
                del o['fields'][k]
        for f in m._meta.concrete_fields:
            if (getattr(f, 'auto_now_add', False) or getattr(f, 'auto_now', False)) and f.name not in o['fields']:
                o['fields'][f.name] = '2022-10-01' if f.get_internal_type() == 'DateField' else '2022-10-01T00:00:00Z'
    t = tempfile.NamedTemporaryFile('w', suffix='.json', delete=False)
    json.dump(data, t); t.close()
    call_command('loaddata', t.name, verbosity=0)
    os.unlink(t.name)
EOF
  mv "$tmp" "$CACHE/template.sqlite"
}

cmd_install() {
  need gcc build-essential
  need patch patch
  need curl curl
  local pybin
  pybin=$(find_python) || { log "needs Python 3.11 (python3.11 on PATH)"; exit 1; }
  "$pybin" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    || { log "needs the Python 3.11 headers: apt-get install python3.11-dev"; exit 1; }
  mkdir -p "$CACHE"
  if [ -f "$STAMP" ] && [ -f "$CACHE/template.sqlite" ] && [ -x "$PY" ]; then
    log "already installed in $CACHE"; return 0
  fi
  [ -x "$PY" ] || "$pybin" -m venv "$VENV"
  constraints >"$CACHE/constraints.txt"
  log "installing wger 2.1 into $VENV (a few minutes the first time: reportlab is built)"
  "$VENV/bin/pip" install -q --disable-pip-version-check --prefer-binary -c "$CACHE/constraints.txt" \
    wger==2.1 uritemplate inflection PyYAML >"$CACHE/pip.log" 2>&1 \
    || { tail -20 "$CACHE/pip.log" >&2; log "pip install failed (log: $CACHE/pip.log)"; exit 1; }
  write_settings
  build_template
  touch "$STAMP"
  log "installed"
}

revert_patch() {
  if [ -f "$APPLIED" ]; then
    log "reverting $(head -c 200 "$CACHE/applied.name" 2>/dev/null || echo 'the applied patch')"
    patch -R -p1 -s -d "$SITE" <"$APPLIED" || { log "could not revert $APPLIED"; exit 1; }
    drop_bytecode "$APPLIED"
    rm -f "$APPLIED" "$CACHE/applied.name"
  fi
}

drop_bytecode() { # remove the cached bytecode of the files a patch touches
  local f
  for f in $(sed -n 's#^+++ [^/]*/\([^[:space:]]*\).*#\1#p' "$1"); do
    rm -f "$SITE/$(dirname "$f")/__pycache__/$(basename "$f" .py)".*.pyc
  done
}

cmd_stop() {
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
  revert_patch
}

cmd_start() {
  local patchfile=${1:-}
  [ -f "$STAMP" ] || cmd_install
  cmd_stop
  if [ -n "$patchfile" ]; then
    patchfile=$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")
    [ -f "$patchfile" ] || { log "no such patch: $patchfile"; exit 1; }
    patch -p1 -s --dry-run -d "$SITE" <"$patchfile" >/dev/null || { log "$patchfile does not apply to $SITE"; exit 1; }
    patch -p1 -s -d "$SITE" <"$patchfile"
    cp "$patchfile" "$APPLIED"; echo "$patchfile" >"$CACHE/applied.name"
    drop_bytecode "$APPLIED"
    log "applied $patchfile"
  fi
  cp "$CACHE/template.sqlite" "$CACHE/db.sqlite"
  # the accounts: alice and bob (ordinary users, one tenant each) and admin (wger's staff user)
  local ap=alice-wger-pass-1 bp=bob-wger-pass-1 rp=admin-wger-pass-1
  local tokens
  tokens=$("$PY" - "$ap" "$bp" "$rp" <<'EOF'
import sys, datetime
import django
django.setup()
from django.contrib.auth.models import User
from wger.manager.models import Workout
from wger.nutrition.models import NutritionPlan
from wger.weight.models import WeightEntry
ap, bp, rp = sys.argv[1:4]
admin = User.objects.get(username='admin')
admin.set_password(rp); admin.email = 'admin@example.test'; admin.is_superuser = True; admin.save()
for name, pw, kg in (('alice', ap, 61), ('bob', bp, 82)):
    u = User.objects.create_user(name, f'{name}@example.test', pw)
    Workout.objects.create(user=u, name=f'{name} seed workout', description=f'{name} private routine')
    NutritionPlan.objects.create(user=u, description=f'{name} seed plan', language_id=2)
    WeightEntry.objects.create(user=u, weight=kg, date=datetime.date(2022, 10, 1))
# DRF tokens (what POST /api/v2/login/ hands out: alice's login returns the same key)
from wger.utils.api_token import create_token
for name in ('alice', 'bob', 'admin'):
    print(f'WGER_{name.upper()}_TOKEN={create_token(User.objects.get(username=name)).key}')
EOF
)
  (umask 077; printf 'WGER_ALICE_PASSWORD=%s\nWGER_BOB_PASSWORD=%s\nWGER_ADMIN_PASSWORD=%s\n%s\n' "$ap" "$bp" "$rp" "$tokens" >"$CACHE/run.env")
  : >"$LOG"
  setsid "$PY" -m django runserver --noreload "127.0.0.1:$PORT" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  # the OpenAPI document DRF's generator makes of the running code (written while it starts)
  "$PY" -m django generateschema --format openapi-json --file "$HERE/openapi.json.tmp" >/dev/null 2>"$CACHE/schema.log" \
    || { cat "$CACHE/schema.log" >&2; log "schema generation failed"; exit 1; }
  mv "$HERE/openapi.json.tmp" "$HERE/openapi.json"
  local i
  for i in $(seq 1 180); do
    if curl -fsS -o /dev/null "$BASE/api/v2/version/"; then
      log "ready on $BASE (log: $LOG)"; return 0
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -30 "$LOG" >&2; log "the server exited"; exit 1; }
    sleep 1
  done
  tail -30 "$LOG" >&2; log "not ready after 180 s"; exit 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install | start [PATCH] | stop" >&2; exit 2 ;;
esac
