#!/usr/bin/env bash
# Local services of the shared-registry environment (local-integration): PostgreSQL and an MLflow
# tracking server backed by it, both on 127.0.0.1, data under .services/ of the checkout. The
# server reaches its database as role `mlflow`, which owns database `mlflow` and is not a
# superuser (a cluster made before that role existed is handed over to it on the next `up`).
#
#   scripts/services.sh up       install what is missing, start both, wait for /health (idempotent)
#   scripts/services.sh down     stop only the processes this script started (pid files)
#   scripts/services.sh status   say what runs and where; exit 0 only if the server answers /health
#
# Environment (all optional):
#   SWINGML_SERVICES_DIR   where data, sockets, logs and pid files live   (default <checkout>/.services)
#   SWINGML_MLFLOW_PORT    port of the MLflow server                      (default 5000)
#   SWINGML_MLFLOW_HOST    address the MLflow server binds                 (default 127.0.0.1)
#   SWINGML_PG_PORT        port of PostgreSQL on 127.0.0.1                 (default 55432)
#   SWINGML_MLFLOW_WORKERS server worker processes                         (default 2)
#   SWINGML_MLFLOW_AUTH=1  start the server with `--app-name basic-auth`; the admin user is
#                          MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (which clients read too)
#   PYTHON                 the Python of the project's venv                (default <checkout>/.venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${SWINGML_SERVICES_DIR:-$ROOT/.services}"
MLFLOW_PORT="${SWINGML_MLFLOW_PORT:-5000}"
MLFLOW_HOST="${SWINGML_MLFLOW_HOST:-127.0.0.1}"
PG_PORT="${SWINGML_PG_PORT:-55432}"
WORKERS="${SWINGML_MLFLOW_WORKERS:-2}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
PGDATA="$DIR/pg/data"
PGSOCK="$DIR/pg/run"
PGLOG="$DIR/pg/postgres.log"
MLFLOW_PID="$DIR/mlflow.pid"
MLFLOW_LOG="$DIR/mlflow.log"
URL="http://127.0.0.1:$MLFLOW_PORT"
DB_ROLE=mlflow
DB_URI="postgresql+psycopg://$DB_ROLE@127.0.0.1:$PG_PORT/mlflow"

say() { echo "services: $*" >&2; }
die() { say "error: $*"; exit 1; }

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [[ -n "$found" ]] && echo "$found"
}

# PostgreSQL refuses to run as root: as root its commands run as the `postgres` user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

ensure_postgres() {
    if [[ -z "$(pg_bin)" ]]; then
        [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed; run as root or: apt-get install -y postgresql"
        say "installing PostgreSQL from Debian (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 || {
            apt-get update -q >/dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
        }
        # Debian's package starts a cluster of its own on 5432; this script runs its own.
        service postgresql stop >/dev/null 2>&1 || true
    fi
    [[ -n "$(pg_bin)" ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
}

ensure_python() {
    [[ -x "$PYTHON" ]] || die "no Python at $PYTHON; run \`make install\` first"
    if ! "$PYTHON" -c "import psycopg, flask_wtf" 2>/dev/null; then
        say "installing the project's 'server' extra (psycopg, Flask-WTF)"
        "$PYTHON" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[server]"
    fi
}

pg_running() { [[ -f "$PGDATA/postmaster.pid" ]] && as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

mlflow_pid() {
    [[ -f "$MLFLOW_PID" ]] || return 1
    local pid
    pid="$(cat "$MLFLOW_PID")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

healthy() { "$PYTHON" - "$URL/health" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

port_busy() { "$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

start_postgres() {
    local bin
    bin="$(pg_bin)"
    mkdir -p "$DIR/pg" "$PGSOCK"
    if [[ $EUID -eq 0 ]]; then
        chown -R postgres: "$DIR/pg"
        # the postgres user must be able to reach the folder
        local up="$DIR"
        while [[ "$up" != "/" ]]; do chmod o+x "$up" 2>/dev/null || true; up="$(dirname "$up")"; done
    fi
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        say "initialising PostgreSQL in $PGDATA"
        as_pg "$bin/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 >/dev/null
    fi
    if ! pg_running; then
        port_busy "$PG_PORT" && die "port $PG_PORT on 127.0.0.1 is taken by another program; set SWINGML_PG_PORT"
        # synchronous_commit=off: a crash may lose the last few commits, never consistency; a
        # local registry gains a flush per write.
        as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 \
            -o "-h 127.0.0.1 -p $PG_PORT -k $PGSOCK -c max_connections=200 -c synchronous_commit=off" start >/dev/null ||
            die "PostgreSQL did not start; see $PGLOG"
    fi
    ensure_database "$bin"
}

# The server's database role: `mlflow`, a login role that owns database `mlflow` and nothing
# else, with no superuser, createdb or createrole rights. Idempotent; a database made by an
# earlier version of this script (owned by `postgres`) is handed over, tables and all.
ensure_database() {
    local bin="$1"
    psql_pg() { as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
    if [[ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='$DB_ROLE'")" != 1 ]]; then
        psql_pg -c "CREATE ROLE $DB_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION" >/dev/null
    fi
    local owner
    owner="$(psql_pg -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname='mlflow'")"
    if [[ -z "$owner" ]]; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres -O "$DB_ROLE" mlflow
    elif [[ "$owner" != "$DB_ROLE" ]]; then
        say "handing database mlflow over to role $DB_ROLE (it was owned by $owner)"
        psql_pg -c "ALTER DATABASE mlflow OWNER TO $DB_ROLE" >/dev/null
        psql_pg -d mlflow >/dev/null <<SQL
DO \$\$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') LOOP
    EXECUTE format('ALTER %s public.%I OWNER TO $DB_ROLE', CASE r.relkind WHEN 'v' THEN 'VIEW'
      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname);
  END LOOP;
  -- sequences of a column moved with their table; the others one by one
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S' AND NOT EXISTS (
             SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
    EXECUTE format('ALTER SEQUENCE public.%I OWNER TO $DB_ROLE', r.relname);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' AND t.typtype = 'e' LOOP
    EXECUTE format('ALTER TYPE public.%I OWNER TO $DB_ROLE', r.typname);
  END LOOP;
END \$\$;
SQL
    fi
}

auth_args() {
    [[ "${SWINGML_MLFLOW_AUTH:-0}" == "1" ]] || return 0
    [[ -n "${MLFLOW_TRACKING_USERNAME:-}" && -n "${MLFLOW_TRACKING_PASSWORD:-}" ]] ||
        die "SWINGML_MLFLOW_AUTH=1 needs MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
    cat >"$DIR/basic_auth.ini" <<EOF
[mlflow]
default_permission = READ
database_uri = sqlite:///$DIR/basic_auth.db
admin_username = $MLFLOW_TRACKING_USERNAME
admin_password = $MLFLOW_TRACKING_PASSWORD
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
EOF
    chmod 600 "$DIR/basic_auth.ini"
    # The auth app's CSRF key: one per services folder, kept across restarts.
    [[ -s "$DIR/flask_secret" ]] || (umask 077; "$PYTHON" -c "import secrets; print(secrets.token_hex(32))" >"$DIR/flask_secret")
    echo "--app-name basic-auth"
}

start_mlflow() {
    if mlflow_pid >/dev/null && healthy; then
        return
    fi
    port_busy "$MLFLOW_PORT" && die "port $MLFLOW_PORT on 127.0.0.1 is taken by another program; set SWINGML_MLFLOW_PORT"
    local mlflow_bin
    mlflow_bin="$(dirname "$PYTHON")/mlflow"
    mkdir -p "$DIR/artifacts"
    # The schema is upgraded once per MLflow version (importing mlflow costs seconds).
    local version stamp="$DIR/pg/mlflow-schema"
    version="$("$PYTHON" -c "import importlib.metadata as m; print(m.version('mlflow'))")"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$version" ]]; then
        "$mlflow_bin" db upgrade "$DB_URI" >"$DIR/db-upgrade.log" 2>&1 ||
            die "mlflow db upgrade failed; see $DIR/db-upgrade.log"
        echo "$version" >"$stamp"
    fi
    local extra
    extra="$(auth_args)"
    # A session of its own, so that `down` can stop the server and its workers as one group.
    # Server-side jobs (GenAI evaluation) are not used here; they would start four more workers.
    MLFLOW_FLASK_SERVER_SECRET_KEY="$(cat "$DIR/flask_secret" 2>/dev/null || true)" \
        MLFLOW_AUTH_CONFIG_PATH="$DIR/basic_auth.ini" MLFLOW_DISABLE_TELEMETRY=true \
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
        setsid "$mlflow_bin" server \
        --backend-store-uri "$DB_URI" \
        --artifacts-destination "$DIR/artifacts" \
        --serve-artifacts \
        --host "$MLFLOW_HOST" --port "$MLFLOW_PORT" --workers "$WORKERS" $extra \
        >"$MLFLOW_LOG" 2>&1 </dev/null &
    echo $! >"$MLFLOW_PID"
    local waited=0
    until healthy; do
        if ! mlflow_pid >/dev/null; then
            tail -20 "$MLFLOW_LOG" >&2 || true
            die "mlflow server exited; see $MLFLOW_LOG"
        fi
        ((waited++ < 600)) || die "mlflow server did not answer $URL/health within 60 s; see $MLFLOW_LOG"
        sleep 0.1
    done
}

up() {
    local start=$SECONDS
    mkdir -p "$DIR"
    ensure_python
    ensure_postgres
    start_postgres
    start_mlflow
    echo "$URL" >"$DIR/mlflow.url"
    echo "$DB_URI" >"$DIR/mlflow.backend"  # tests start a basic-auth server on the same database
    say "up in $((SECONDS - start)) s: MLflow $URL on $MLFLOW_HOST (backend $DB_URI, role $DB_ROLE not a superuser, artifacts $DIR/artifacts)"
}

down() {
    local pid
    if pid="$(mlflow_pid)"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
        say "stopped mlflow server (pid $pid)"
    fi
    rm -f "$MLFLOW_PID" "$DIR/mlflow.url" "$DIR/mlflow.backend"
    if [[ -n "$(pg_bin)" ]] && pg_running; then
        as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
        say "stopped PostgreSQL ($PGDATA)"
    fi
}

status() {
    local rc=0
    if pg_running; then say "PostgreSQL: running on 127.0.0.1:$PG_PORT ($PGDATA)"; else say "PostgreSQL: stopped"; rc=1; fi
    if mlflow_pid >/dev/null && healthy; then say "MLflow: $URL healthy (pid $(mlflow_pid))"; else say "MLflow: not answering at $URL"; rc=1; fi
    return $rc
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
