#!/usr/bin/env bash
# A private PostgreSQL server for local runs and tests, with its cluster in var/pg
# ($CLUETRAIL_VAR/pg: CLUETRAIL_VAR moves the state directory, e.g. the fault suite's var/faults).
#
#   deploy/bin/postgres.sh start    install PostgreSQL if missing, initdb on first start, start,
#                                   ensure role and database cluetrail (password cluetrail)
#   deploy/bin/postgres.sh stop     fast shutdown
#   deploy/bin/postgres.sh status   exit 0 when running
#
# It listens on 127.0.0.1:${PGPORT:-55432} (never the system server's 5432) and on a unix socket
# in var/pg/run. Invoked as root, the server runs as the 'postgres' system user, which must be able
# to reach the work tree: directories inside the work tree get o+x; for directories above it this
# is done only when CI=true, otherwise the script explains what to change.
#
# Environment: PGPORT (55432), PG_START_TIMEOUT seconds (60), CLUETRAIL_VAR (var).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${CLUETRAIL_VAR:-$ROOT/var}"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
VAR="$STATE/pg"
DATA="$VAR/data"
RUN="$VAR/run"
LOG="$VAR/pg.log"
# A unix socket path may not exceed 107 bytes; deep work trees get their socket under /tmp (named after
# the work tree, and after the state directory too when CLUETRAIL_VAR moves it).
if ((${#RUN} + 16 > 107)); then
  RUN="/tmp/cluetrail-pg-$(printf '%s' "$ROOT${CLUETRAIL_VAR:+:$VAR}" | sha256sum | cut -c1-12)"
fi
PGPORT="${PGPORT:-55432}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
APP_ROLE=cluetrail
APP_PASSWORD=cluetrail
APP_DB=cluetrail
SUPERUSER=postgres

say() { printf 'postgres: %s\n' "$*"; }
die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

# The newest installed server binaries (Debian keeps them out of PATH).
find_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
    if [[ -z "$best" ]] || (($(basename "$(dirname "$d")") > $(basename "$(dirname "$best")"))); then
      best="$d"
    fi
  done
  if [[ -z "$best" ]] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    best="$(dirname "$(command -v pg_ctl)")"
  fi
  printf '%s' "$best"
}

ensure_installed() {
  BINDIR="$(find_bindir)"
  [[ -n "$BINDIR" ]] && return 0
  [[ "$(id -u)" == 0 ]] || die "PostgreSQL server binaries not found; install them (Debian: sudo apt-get install -y postgresql)"
  say "PostgreSQL not found, installing the Debian package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BINDIR="$(find_bindir)"
  [[ -n "$BINDIR" ]] || die "installed postgresql but found no initdb/pg_ctl in /usr/lib/postgresql/*/bin"
}

# Run a command as the OS user that owns the cluster, from a directory that user can enter.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd "$VAR" && runuser -u "$OWNER" -- "$@")
  else
    (cd "$VAR" && "$@")
  fi
}

pick_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    id -u postgres >/dev/null 2>&1 \
      || die "no 'postgres' system user (it comes with the Debian postgresql package)"
    OWNER=postgres
  else
    OWNER="$(id -un)"
  fi
}

# Root only: the server process (as $OWNER) must be able to traverse every directory down to var/pg.
ensure_traversable() {
  [[ "$(id -u)" == 0 ]] || return 0
  local dir="$VAR" blocked=()
  while [[ "$dir" != / ]]; do
    dir="$(dirname "$dir")"
    if ! runuser -u "$OWNER" -- test -x "$dir" 2>/dev/null; then
      if [[ "$dir" == "$ROOT" || "$dir" == "$ROOT"/* ]]; then
        chmod o+x "$dir"
      else
        blocked+=("$dir")
      fi
    fi
  done
  ((${#blocked[@]} == 0)) && return 0
  if [[ "${CI:-}" == true ]]; then
    say "letting user $OWNER traverse ${blocked[*]} (chmod o+x)"
    chmod o+x "${blocked[@]}"
  else
    die "user $OWNER cannot reach $VAR: run 'chmod o+x ${blocked[*]}' (traverse only) or move the work tree"
  fi
}

is_running() {
  [[ -f "$DATA/PG_VERSION" ]] || return 1
  as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# The port of the running server (line 4 of postmaster.pid).
running_port() {
  sed -n 4p "$DATA/postmaster.pid" 2>/dev/null
}

log_tail() {
  if [[ -f "$LOG" ]]; then
    printf -- '----- last 40 lines of %s -----\n' "${LOG#"$ROOT"/}" >&2
    tail -n 40 "$LOG" >&2
    printf -- '-----\n' >&2
  fi
}

port_open() {
  python3 - "$1" <<'EOF'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
EOF
}

init_cluster() {
  if [[ -f "$DATA/PG_VERSION" ]]; then
    local have want
    have="$(cat "$DATA/PG_VERSION")"
    want="$("$BINDIR/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
    [[ "$have" == "$want" ]] \
      || die "cluster in ${DATA#"$ROOT"/} is PostgreSQL $have but the server is $want; remove ${VAR#"$ROOT"/} to start afresh"
    return 0
  fi
  say "creating a cluster in ${DATA#"$ROOT"/}"
  rm -rf "$DATA"
  as_owner "$BINDIR/initdb" -D "$DATA" -U "$SUPERUSER" --encoding=UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$VAR/initdb.log" 2>&1 \
    || { cat "$VAR/initdb.log" >&2; die "initdb failed"; }
  echo "include_if_exists = 'cluetrail.conf'" >>"$DATA/postgresql.conf"
}

# Settings rewritten on every start, so PGPORT can change between runs.
write_config() {
  cat >"$DATA/cluetrail.conf" <<EOF
# Written by deploy/bin/postgres.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = ${PGPORT}
unix_socket_directories = '${RUN}'
max_connections = 200
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
# The services create their tables empty and fill them at once (a new deployment, every test, the bench).
# PostgreSQL plans their statements for tables as it last analyzed them: until autovacuum's round comes
# (a minute by default), a lookup by key may still scan the table planned when it was empty, each time
# longer. Rounds every 10 s keep the plans within seconds of the tables (docs/performance.md).
autovacuum_naptime = 10s
EOF
  chown "$OWNER" "$DATA/cluetrail.conf"
}

psql_super() {
  as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PGPORT" -U "$SUPERUSER" "$@"
}

ensure_app_role_and_db() {
  psql_super -d postgres >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    CREATE ROLE ${APP_ROLE} LOGIN CREATEDB SUPERUSER PASSWORD '${APP_PASSWORD}';
  ELSE
    ALTER ROLE ${APP_ROLE} LOGIN CREATEDB SUPERUSER PASSWORD '${APP_PASSWORD}';
  END IF;
END
\$\$;
EOF
  if [[ "$(psql_super -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '${APP_DB}'")" != 1 ]]; then
    psql_super -d postgres -c "CREATE DATABASE ${APP_DB} OWNER ${APP_ROLE}"
    say "created database ${APP_DB}"
  fi
}

cmd_start() {
  ensure_installed
  pick_owner
  mkdir -p "$VAR" "$RUN"
  if [[ "$(id -u)" == 0 ]]; then
    chown -R "$OWNER" "$VAR" "$RUN"
  fi
  chmod 700 "$VAR"
  ensure_traversable
  if is_running; then
    local port
    port="$(running_port)"
    if [[ -n "$port" && "$port" != "$PGPORT" ]]; then
      die "already running on 127.0.0.1:$port, not on PGPORT=$PGPORT; stop it first"
    fi
    say "already running (127.0.0.1:${PGPORT})"
    ensure_app_role_and_db
    return 0
  fi
  if port_open "$PGPORT"; then
    die "port $PGPORT on 127.0.0.1 is already taken by another process (set PGPORT)"
  fi
  init_cluster
  write_config
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  local started=$SECONDS
  say "starting PostgreSQL $(basename "$(dirname "$BINDIR")") on 127.0.0.1:${PGPORT}, log ${LOG#"$ROOT"/}"
  if ! as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$PG_START_TIMEOUT" -s start; then
    log_tail
    die "server did not start"
  fi
  ensure_app_role_and_db
  say "ready in $((SECONDS - started)) s (postgresql://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${PGPORT}/${APP_DB})"
}

cmd_stop() {
  BINDIR="$(find_bindir)"
  if [[ -z "$BINDIR" || ! -f "$DATA/PG_VERSION" ]]; then
    say "not running"
    return 0
  fi
  pick_owner
  if ! is_running; then
    say "not running"
    return 0
  fi
  say "stopping"
  if ! as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 30 -s stop; then
    say "fast shutdown timed out, using immediate"
    as_owner "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 30 -s stop
  fi
  say "stopped"
}

cmd_status() {
  BINDIR="$(find_bindir)"
  if [[ -n "$BINDIR" && -f "$DATA/PG_VERSION" ]]; then
    pick_owner
    if is_running; then
      say "running (127.0.0.1:$(running_port))"
      return 0
    fi
  fi
  say "not running"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
    ;;
esac
