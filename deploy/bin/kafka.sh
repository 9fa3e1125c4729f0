#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft: broker + controller in one JVM) for local runs and tests.
#
#   deploy/bin/kafka.sh fetch    copy the pinned jars (deploy/kafka/pom.xml) into var/kafka/libs
#   deploy/bin/kafka.sh start    configure, format on first start, launch, wait until ready
#   deploy/bin/kafka.sh stop     SIGTERM, then SIGKILL after 30 s
#   deploy/bin/kafka.sh status   exit 0 when running
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP_OPTS (-Xms256m -Xmx1g),
# KAFKA_START_TIMEOUT seconds (90), JAVA (java), MVN (mvn).
# CLUETRAIL_VAR (var): the state directory; the broker keeps its data, log and pid in $CLUETRAIL_VAR/kafka.
# KAFKA_LIBS ($CLUETRAIL_VAR/kafka/libs): where the jars are. A second broker of the same work tree (the
# fault suite's: CLUETRAIL_VAR=var/faults KAFKA_LIBS=var/kafka/libs, on other ports) shares the jars
# fetched once instead of fetching them again.
# KAFKA_TLS_DIR (unset): serve clients over TLS with client certificates required (mutual TLS, as a Strimzi
# listener with `authentication: {type: tls}`): the directory holds broker.pem (the broker's private key and
# certificate chain, PEM) and ca.pem (the authority clients' certificates must be signed by). The nodes of a
# cluster speak the same listener to each other.
# KAFKA_SUPER_USERS (unset; with KAFKA_TLS_DIR): hold every client to ACLs (StandardAuthorizer; no ACL, no
# access) but these principals, ';'-separated, e.g. "User:CN=broker;User:ANONYMOUS" (the nodes themselves: the
# broker's certificate, and the plain controller listener, where nobody has a name).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/deploy/kafka/pom.xml"
STATE="${CLUETRAIL_VAR:-$ROOT/var}"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
VAR="$STATE/kafka"
LIBS="${KAFKA_LIBS:-$VAR/libs}"
[[ "$LIBS" == /* ]] || LIBS="$PWD/$LIBS"
STAMP="$LIBS/.pom.sha256"
DATA="$VAR/data"
CONF="$VAR/server.properties"
LOG4J_CONF="$VAR/log4j.properties"
CLUSTER_ID_FILE="$VAR/cluster.id"
LOG="$VAR/kafka.log"
PIDFILE="$VAR/kafka.pid"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
# A node of a cluster of several (deploy/bin/cluster.sh): its id, the controller quorum of all nodes
# (id@host:port,...), the cluster id they share, and the replication factor of Kafka's internal topics and
# of topics created without one (min.insync.replicas is one less, at least 1).
KAFKA_NODE_ID="${KAFKA_NODE_ID:-1}"
KAFKA_VOTERS="${KAFKA_VOTERS:-${KAFKA_NODE_ID}@127.0.0.1:${KAFKA_CONTROLLER_PORT}}"
KAFKA_CLUSTER_ID="${KAFKA_CLUSTER_ID:-}"
KAFKA_REPLICATION="${KAFKA_REPLICATION:-1}"
KAFKA_MIN_ISR=$((KAFKA_REPLICATION > 1 ? KAFKA_REPLICATION - 1 : 1))
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_TLS_DIR="${KAFKA_TLS_DIR:-}"
KAFKA_SUPER_USERS="${KAFKA_SUPER_USERS:-}"
CLIENT_PROTOCOL=PLAINTEXT
[[ -n "$KAFKA_TLS_DIR" ]] && CLIENT_PROTOCOL=SSL
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

say() { printf 'kafka: %s\n' "$*"; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install $2 (Debian: apt-get install -y $2)"
}

pom_sum() { sha256sum "$POM" | cut -d' ' -f1; }

libs_current() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(pom_sum)" ]] && compgen -G "$LIBS/kafka_*.jar" >/dev/null
}

cmd_fetch() {
  if libs_current; then
    say "jars up to date in ${LIBS#"$ROOT"/}"
    return 0
  fi
  need "$MVN" maven
  need "$JAVA" openjdk-17-jdk-headless
  if is_running; then
    die "broker is running (pid $(cat "$PIDFILE")); stop it before replacing its jars"
  fi
  say "fetching jars listed in ${POM#"$ROOT"/} (Maven Central, cached in ~/.m2)"
  local started=$SECONDS tmp="$LIBS.tmp"
  mkdir -p "$VAR" "$(dirname "$LIBS")"
  rm -rf "$tmp"
  # Maven's output goes to a file: shown only on failure (it also keeps stray
  # terminal escape codes of some Maven builds out of the console).
  if ! "$MVN" -B -ntp -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$VAR/fetch.log" 2>&1; then
    grep -E 'ERROR|BUILD' "$VAR/fetch.log" | tail -n 30 >&2 || tail -n 30 "$VAR/fetch.log" >&2
    die "Maven could not fetch the jars; full output in ${VAR#"$ROOT"/}/fetch.log"
  fi
  compgen -G "$tmp/kafka_*.jar" >/dev/null || die "Maven did not produce the kafka jar in $tmp"
  pom_sum >"$tmp/.pom.sha256"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  say "$(find "$LIBS" -name '*.jar' | wc -l) jars in ${LIBS#"$ROOT"/} ($((SECONDS - started)) s)"
}

# A live process, not a zombie waiting to be reaped.
alive() {
  local state
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# True when the pid file names a live Kafka JVM started from this work tree.
is_running() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONF"
}

# The client port the running broker was configured with.
running_port() {
  sed -n 's|^listeners=CLIENT://127.0.0.1:\([0-9]*\),.*|\1|p' "$CONF" 2>/dev/null
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

log_tail() {
  if [[ -f "$LOG" ]]; then
    printf -- '----- last 40 lines of %s -----\n' "${LOG#"$ROOT"/}" >&2
    tail -n 40 "$LOG" >&2
    printf -- '-----\n' >&2
  fi
}

java_cp() { "$JAVA" -cp "$LIBS/*" -Dlog4j.configuration="file:$LOG4J_CONF" "$@"; }

write_config() {
  mkdir -p "$DATA"
  cat >"$CONF" <<EOF
# Written by deploy/bin/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=${KAFKA_NODE_ID}
controller.quorum.voters=${KAFKA_VOTERS}
listeners=CLIENT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORT}
advertised.listeners=CLIENT://127.0.0.1:${KAFKA_PORT}
listener.security.protocol.map=CLIENT:${CLIENT_PROTOCOL},CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
log.dirs=${DATA}

# One node: internal topics cannot be replicated; a node of a cluster replicates them KAFKA_REPLICATION times.
offsets.topic.replication.factor=${KAFKA_REPLICATION}
transaction.state.log.replication.factor=${KAFKA_REPLICATION}
transaction.state.log.min.isr=${KAFKA_MIN_ISR}
default.replication.factor=${KAFKA_REPLICATION}
min.insync.replicas=${KAFKA_MIN_ISR}

# Topics are created explicitly by the application (with their own retention).
num.partitions=6
auto.create.topics.enable=false

# No point waiting for more group members to join on a development machine.
group.initial.rebalance.delay.ms=0
EOF
  if [[ -n "$KAFKA_TLS_DIR" ]]; then
    [[ -f "$KAFKA_TLS_DIR/broker.pem" && -f "$KAFKA_TLS_DIR/ca.pem" ]] \
      || die "KAFKA_TLS_DIR=$KAFKA_TLS_DIR needs broker.pem (key and certificate chain) and ca.pem"
    cat >>"$CONF" <<EOF

# Clients (and the other nodes) present a certificate signed by ca.pem (KAFKA_TLS_DIR).
ssl.keystore.type=PEM
ssl.keystore.location=${KAFKA_TLS_DIR}/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=${KAFKA_TLS_DIR}/ca.pem
ssl.client.auth=required
EOF
    if [[ -n "$KAFKA_SUPER_USERS" ]]; then
      cat >>"$CONF" <<EOF

# Every client is held to its ACLs (KAFKA_SUPER_USERS excepted).
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=${KAFKA_SUPER_USERS}
EOF
    fi
  fi
  cat >"$LOG4J_CONF" <<'EOF'
# Written by deploy/bin/kafka.sh; the broker's stdout goes to kafka.log beside this file.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

format_storage() {
  if [[ -f "$DATA/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  if [[ -n "$KAFKA_CLUSTER_ID" ]]; then
    cluster_id="$KAFKA_CLUSTER_ID"
  elif [[ -s "$CLUSTER_ID_FILE" ]]; then
    cluster_id="$(cat "$CLUSTER_ID_FILE")"
  else
    cluster_id="$(java_cp kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "could not generate a cluster id"
    printf '%s\n' "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  say "formatting storage in ${DATA#"$ROOT"/} (cluster id $cluster_id)"
  java_cp kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF" >>"$LOG" 2>&1 \
    || { log_tail; die "formatting storage failed"; }
}

cmd_start() {
  if is_running; then
    local port
    port="$(running_port)"
    if [[ -n "$port" && "$port" != "$KAFKA_PORT" ]]; then
      die "already running on 127.0.0.1:$port, not on KAFKA_PORT=$KAFKA_PORT; stop it first"
    fi
    say "already running (pid $(cat "$PIDFILE"), 127.0.0.1:${port:-$KAFKA_PORT})"
    return 0
  fi
  rm -f "$PIDFILE"
  need "$JAVA" openjdk-17-jdk-headless
  libs_current || cmd_fetch
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $p on 127.0.0.1 is already taken by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    fi
  done
  mkdir -p "$VAR"
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  : >"$LOG"
  write_config
  format_storage

  local started=$SECONDS
  # setsid: the broker outlives the calling shell and is not hit by its Ctrl-C.
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
  setsid nohup "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$LOG4J_CONF" -Dkafka.logs.dir="$VAR" \
    -cp "$LIBS/*" kafka.Kafka "$CONF" </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  say "starting broker (pid $pid) on 127.0.0.1:${KAFKA_PORT}, log ${LOG#"$ROOT"/}"

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      rm -f "$PIDFILE"
      log_tail
      die "broker exited during startup"
    fi
    if grep -q 'Kafka Server started' "$LOG" && port_open "$KAFKA_PORT"; then
      say "ready in $((SECONDS - started)) s"
      return 0
    fi
    sleep 0.5
  done
  log_tail
  die "broker not ready after ${KAFKA_START_TIMEOUT} s (still running as pid $pid; 'deploy/bin/kafka.sh stop' to stop it)"
}

cmd_stop() {
  if ! is_running; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  say "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if alive "$pid"; then
    say "still running after 30 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.2; done
  fi
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  if is_running; then
    say "running (pid $(cat "$PIDFILE"), 127.0.0.1:$(running_port))"
    return 0
  fi
  say "not running"
  return 3
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 {fetch|start|stop|status}" >&2
    exit 2
    ;;
esac
