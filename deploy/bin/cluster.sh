#!/usr/bin/env bash
# A three-broker KRaft cluster on this machine with the four services on it (make run BROKERS=3).
#
#   deploy/bin/cluster.sh start   start three nodes (brokers and controllers), create the topics at
#                                 replication factor 3 (min.insync.replicas 2), start the services, demo data
#   deploy/bin/cluster.sh stop    stop the services and the three nodes
#
# Nodes 1-3 on 127.0.0.1:9492, 9592, 9692 (controllers on the next port of each), state in var/cluster/node-N,
# the jars of var/kafka/libs; databases on make stack-up's PostgreSQL server under the prefix "cluster";
# the services on 8001-8004 with CLUETRAIL_WORKERS (2) worker processes each: replicas of their consumers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAR="$ROOT/var/cluster"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
PORTS=(9492 9592 9692)
export CLUETRAIL_ENVIRONMENT="${CLUETRAIL_ENVIRONMENT:-local}"
export CLUETRAIL_KAFKA_BOOTSTRAP="127.0.0.1:9492,127.0.0.1:9592,127.0.0.1:9692"
export CLUETRAIL_KAFKA_REPLICATION_FACTOR=3
export CLUETRAIL_DATABASE_PREFIX=cluster
export CLUETRAIL_WORKERS="${CLUETRAIL_WORKERS:-2}"
export SERVICES_VAR="$VAR"

say() { printf 'cluster: %s\n' "$*"; }

node() {
  local id="$1" port="${PORTS[$(($1 - 1))]}"
  shift
  CLUETRAIL_VAR="$VAR/node-$id" KAFKA_LIBS="$ROOT/var/kafka/libs" KAFKA_PORT="$port" \
    KAFKA_CONTROLLER_PORT="$((port + 1))" KAFKA_NODE_ID="$id" KAFKA_REPLICATION=3 \
    KAFKA_VOTERS="1@127.0.0.1:$((PORTS[0] + 1)),2@127.0.0.1:$((PORTS[1] + 1)),3@127.0.0.1:$((PORTS[2] + 1))" \
    KAFKA_CLUSTER_ID="$(cat "$VAR/cluster.id")" "$ROOT/deploy/bin/kafka.sh" "$@"
}

cmd_start() {
  "$ROOT/deploy/bin/kafka.sh" fetch
  "$ROOT/deploy/bin/postgres.sh" start
  mkdir -p "$VAR"
  # A cluster id as Kafka's own random-uuid makes one: 16 random bytes in URL-safe base64, never starting
  # with "-" (the storage tool would take it for an option and refuse to format).
  [[ -s "$VAR/cluster.id" ]] || "$PYTHON" -c \
    'import base64, uuid; ids = iter(lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="), None); print(next(i for i in ids if not i.startswith("-")))' >"$VAR/cluster.id"
  # Together: a node is ready only once a quorum of controllers is up.
  local id pids=() rc=0
  for id in 1 2 3; do
    node "$id" start &
    pids+=($!)
  done
  for id in "${pids[@]}"; do wait "$id" || rc=$?; done
  ((rc == 0)) || { say "a node did not start; deploy/bin/cluster.sh stop stops the others"; exit "$rc"; }
  "$PYTHON" -m cluetrail.cli stack init
  "$ROOT/deploy/bin/services.sh" start
  "$PYTHON" -m cluetrail.cli demo load --file "$VAR/demo-clues.jsonl"
  "$ROOT/deploy/bin/services.sh" urls
  say "brokers $CLUETRAIL_KAFKA_BOOTSTRAP (replication factor 3, min.insync.replicas 2); kill one, the rest go on"
}

cmd_stop() {
  local rc=0 id
  "$ROOT/deploy/bin/services.sh" stop || rc=$?
  for id in 1 2 3; do
    [[ -d "$VAR/node-$id" ]] && { node "$id" stop || rc=$?; }
  done
  return "$rc"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) printf 'usage: %s start|stop\n' "$0" >&2; exit 2 ;;
esac
