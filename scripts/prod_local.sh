#!/usr/bin/env bash
# make prod-local: the production stack without Docker, against local PostgreSQL and Redis.
# gunicorn (deploy/gunicorn.conf.py) + the beacon pool (deploy/gunicorn_beacons.conf.py) + two Celery
# worker processes + beat, PRODUCTION settings.
# Ctrl-C (or SIGTERM to this script) stops everything; if any process dies, all are stopped.
#
# Environment (defaults in brackets): DATABASE_URL [postgres://postgres@127.0.0.1:5432/guide_prod],
# CELERY_BROKER_URL [redis://127.0.0.1:6379/1], PORT [8000], CELERY_WORKERS [2],
# BEACON_PORT [PORT + 1; 0: no beacon pool], BEACON_NICE [10],
# VAR_DIR [var/prod-local], MEDIA_ROOT [$VAR_DIR/media], SECRET_KEY [generated once into $VAR_DIR].
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

export PRODUCTION=1 DEBUG=0
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/guide_prod}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}
export VAR_DIR=${VAR_DIR:-$PWD/var/prod-local}
export MEDIA_ROOT=${MEDIA_ROOT:-$VAR_DIR/media}
export STATIC_ROOT=${STATIC_ROOT:-$VAR_DIR/static}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
# Loopback HTTP has no TLS in front: an https redirect would make the site unreachable here.
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-0}
PORT=${PORT:-8000}
CELERY_WORKERS=${CELERY_WORKERS:-2}
BEACON_PORT=${BEACON_PORT:-$((PORT + 1))}
mkdir -p "$VAR_DIR" "$MEDIA_ROOT"

if [ -z "${SECRET_KEY:-}" ]; then
  # Stable across restarts (sessions survive), never committed: var/ is ignored by git.
  if [ ! -s "$VAR_DIR/secret_key" ]; then
    (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$VAR_DIR/secret_key")
  fi
  SECRET_KEY=$(cat "$VAR_DIR/secret_key")
  export SECRET_KEY
fi

# Create the database if it does not exist yet (a fresh machine, or a test's own name).
"$BIN/python" - <<'PY'
import os
import dj_database_url
import psycopg
from psycopg import sql

cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
if cfg["ENGINE"].endswith("postgresql"):
    params = {"host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432, "user": cfg["USER"], "password": cfg["PASSWORD"] or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg["NAME"],)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
            print(f"prod-local: created database {cfg['NAME']}")
PY
"$BIN/python" manage.py migrate --noinput -v0
"$BIN/python" manage.py collectstatic --noinput -v0
"$BIN/python" manage.py setup_roles >/dev/null

pids=()
stop_all() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 0' INT TERM

"$BIN/gunicorn" -c deploy/gunicorn.conf.py --bind "127.0.0.1:$PORT" guide_site.wsgi &
pids+=($!)
# Listening beacons at a lower CPU priority, for a proxy in front that routes POST /listen here
# as deploy/nginx/guide.conf does; without one, the main pool above serves /listen itself.
# Started from this shell like the rest: CPU priorities only order processes of one session (autogroup).
if [ "$BEACON_PORT" != 0 ]; then
  "$BIN/gunicorn" -c deploy/gunicorn_beacons.conf.py --bind "127.0.0.1:$BEACON_PORT" guide_site.wsgi &
  pids+=($!)
fi
for i in $(seq 1 "$CELERY_WORKERS"); do
  "$BIN/celery" -A guide_site worker -c 1 -n "prodlocal$i@%h" -l info --without-gossip --without-mingle &
  pids+=($!)
done
"$BIN/celery" -A guide_site beat -l info -s "$VAR_DIR/celerybeat-schedule" &
pids+=($!)

beacon_pool="no beacon pool"
[ "$BEACON_PORT" != 0 ] && beacon_pool="beacon pool on 127.0.0.1:$BEACON_PORT"
echo "prod-local: http://127.0.0.1:$PORT/  (gunicorn + $beacon_pool + $CELERY_WORKERS workers + beat; pids ${pids[*]}; Ctrl-C stops)"
# Wait for the first child to exit: a stack missing a piece is not a running stack.
set +e
wait -n "${pids[@]}"
status=$?
echo "prod-local: a process exited (status $status); stopping the others" >&2
exit "$status"
