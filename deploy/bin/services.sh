#!/usr/bin/env bash
# The four cluetrail services as background processes of the local stack.
#
#   deploy/bin/services.sh start    launch intake, triage, reporting, notify; wait for GET /readyz
#   deploy/bin/services.sh stop     SIGTERM, SIGKILL whatever is left after 20 s
#   deploy/bin/services.sh status   exit 0 when all four run
#   deploy/bin/services.sh urls     where they answer
#
# Logs: var/log/<name>.log, pids: var/run/<name>.pid. Services read their settings from the
# CLUETRAIL_* environment, which is passed through unchanged; CLUETRAIL_ENVIRONMENT is local unless set
# (this is the local stack, with the development keys).
# Environment: SERVICES_START_TIMEOUT seconds (60), PYTHON (.venv/bin/python);
# SERVICES_VAR (var): where log/ and run/ go; SERVICES_PORT_BASE (8001): intake's port, triage, reporting
# and notify on the next three (a second region of `make run REGIONS=2` runs its four on 8101-8104).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICES_VAR="${SERVICES_VAR:-$ROOT/var}"
LOGDIR="$SERVICES_VAR/log"
PIDDIR="$SERVICES_VAR/run"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SERVICES_START_TIMEOUT="${SERVICES_START_TIMEOUT:-60}"
export CLUETRAIL_ENVIRONMENT="${CLUETRAIL_ENVIRONMENT:-local}"
STOP_TIMEOUT=20
NAMES=(intake triage reporting notify)
BASE="${SERVICES_PORT_BASE:-8001}"
declare -A PORT=([intake]=$BASE [triage]=$((BASE + 1)) [reporting]=$((BASE + 2)) [notify]=$((BASE + 3)))

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

alive() {
  local state
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

pid_of() { cat "$PIDDIR/$1.pid" 2>/dev/null; }

is_running() {
  local pid
  pid="$(pid_of "$1")" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-m services.$1"
}

url_of() { printf 'http://127.0.0.1:%s' "${PORT[$1]}"; }

port_open() {
  python3 - "$1" <<'EOF'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
EOF
}

# Exit 0 when GET <url>/readyz answers 200.
ready() {
  python3 - "$(url_of "$1")/readyz" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

log_tail() {
  local log="$LOGDIR/$1.log"
  if [[ -f "$log" ]]; then
    printf -- '----- last 40 lines of %s -----\n' "${log#"$ROOT"/}" >&2
    tail -n 40 "$log" >&2
    printf -- '-----\n' >&2
  fi
}

cmd_start() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; run 'make venv' first"
  mkdir -p "$LOGDIR" "$PIDDIR"
  local name pid pending=()
  for name in "${NAMES[@]}"; do
    if is_running "$name"; then
      say "$name already running (pid $(pid_of "$name"))"
      pending+=("$name")
      continue
    fi
    rm -f "$PIDDIR/$name.pid"
    if port_open "${PORT[$name]}"; then
      die "port ${PORT[$name]} on 127.0.0.1 is taken by another process; $name cannot start"
    fi
    [[ -f "$LOGDIR/$name.log" ]] && mv -f "$LOGDIR/$name.log" "$LOGDIR/$name.log.1"
    # setsid: the service outlives the calling shell and is not hit by its Ctrl-C.
    # The workspace's inbox reads the notices awaiting acknowledgement from this notify.
    (cd "$ROOT" && export "CLUETRAIL_${name^^}_PORT=${PORT[$name]}" \
      && export "CLUETRAIL_TRIAGE_NOTIFY_URL=${CLUETRAIL_TRIAGE_NOTIFY_URL:-$(url_of notify)}" \
      && exec setsid nohup "$PYTHON" -m "services.$name" </dev/null >>"$LOGDIR/$name.log" 2>&1) &
    pid=$!
    echo "$pid" >"$PIDDIR/$name.pid"
    say "started $name (pid $pid), log ${LOGDIR#"$ROOT"/}/$name.log"
    pending+=("$name")
  done

  local started=$SECONDS deadline=$((SECONDS + SERVICES_START_TIMEOUT)) still
  while ((${#pending[@]} > 0)); do
    still=()
    for name in "${pending[@]}"; do
      if ! is_running "$name"; then
        rm -f "$PIDDIR/$name.pid"
        log_tail "$name"
        die "$name exited during startup"
      fi
      if ready "$name"; then
        say "$name ready at $(url_of "$name")"
      else
        still+=("$name")
      fi
    done
    pending=(${still[@]+"${still[@]}"})
    ((${#pending[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for name in "${pending[@]}"; do log_tail "$name"; done
      die "not ready after ${SERVICES_START_TIMEOUT} s: ${pending[*]} ('deploy/bin/services.sh stop' stops them all)"
    fi
    sleep 0.5
  done
  say "all ready in $((SECONDS - started)) s"
  receiver_start
}

# The stand-in for the police and lead offices' systems that the demo recipients point at (port 8009):
# it checks each notice's signature and prints it to var/log/demo-receiver.log.
receiver_start() {
  local pid
  pid="$(cat "$PIDDIR/demo-receiver.pid" 2>/dev/null)" || pid=""
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then
    return 0
  fi
  if port_open 8009; then
    say "the demo receiver's port 8009 is taken (another region's receiver?); not starting one"
    return 0
  fi
  (cd "$ROOT" && exec setsid nohup "$PYTHON" -m services.notify.demo_receiver --port 8009 \
    --recipients deploy/notify/recipients.json </dev/null >>"$LOGDIR/demo-receiver.log" 2>&1) &
  echo "$!" >"$PIDDIR/demo-receiver.pid"
  say "started the demo receiver (pid $!) on 127.0.0.1:8009, log ${LOGDIR#"$ROOT"/}/demo-receiver.log"
}

receiver_stop() {
  local pid
  pid="$(cat "$PIDDIR/demo-receiver.pid" 2>/dev/null)" || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
  rm -f "$PIDDIR/demo-receiver.pid"
}

cmd_stop() {
  receiver_stop
  local name pid running=()
  for name in "${NAMES[@]}"; do
    if is_running "$name"; then
      pid="$(pid_of "$name")"
      kill -TERM "$pid" 2>/dev/null || true
      running+=("$name")
    else
      rm -f "$PIDDIR/$name.pid"
    fi
  done
  if ((${#running[@]} == 0)); then
    say "none running"
    return 0
  fi
  say "stopping ${running[*]}"
  local deadline=$((SECONDS + STOP_TIMEOUT)) left
  while :; do
    left=()
    for name in "${running[@]}"; do
      alive "$(pid_of "$name")" && left+=("$name")
    done
    ((${#left[@]} == 0 || SECONDS >= deadline)) && break
    sleep 0.3
  done
  for name in ${left[@]+"${left[@]}"}; do
    say "$name still running after ${STOP_TIMEOUT} s, sending SIGKILL"
    kill -KILL "$(pid_of "$name")" 2>/dev/null || true
  done
  for name in "${running[@]}"; do
    rm -f "$PIDDIR/$name.pid"
  done
  say "stopped"
}

cmd_status() {
  local name rc=0
  for name in "${NAMES[@]}"; do
    if is_running "$name"; then
      printf '%-10s running  pid %-8s %s\n' "$name" "$(pid_of "$name")" "$(url_of "$name")"
    else
      printf '%-10s stopped\n' "$name"
      rc=3
    fi
  done
  return "$rc"
}

cmd_urls() {
  local name
  for name in "${NAMES[@]}"; do
    printf '%-10s %s\n' "$name" "$(url_of "$name")"
  done
  printf '%-10s %s\n' "docs" "$(url_of intake)/docs (each service serves its OpenAPI at /docs)"
  [[ -f "$LOGDIR/demo-receiver.log" ]] && printf '%-10s %s\n' "notices" "${LOGDIR#"$ROOT"/}/demo-receiver.log (what the police and lead offices received)" || true
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  urls) cmd_urls ;;
  *)
    echo "usage: $0 {start|stop|status|urls}" >&2
    exit 2
    ;;
esac
