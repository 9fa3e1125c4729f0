#!/usr/bin/env bash
# Kafka MirrorMaker 2 in dedicated mode, replicating the regions' topics both ways (docs/regions.md).
#
#   deploy/bin/mm2.sh fetch    copy the pinned jars (deploy/mm2/pom.xml) into $CLUETRAIL_VAR/mm2/libs
#   deploy/bin/mm2.sh start    write mm2.properties, launch, wait until every flow replicates
#   deploy/bin/mm2.sh stop     SIGTERM, then SIGKILL after 30 s
#   deploy/bin/mm2.sh status   exit 0 when running
#
# Environment:
#   MM2_CLUSTERS   the regions as alias=bootstrap, comma-separated (anhui=127.0.0.1:9092,ningxia=127.0.0.1:9192);
#                  each region's topics reach every other as <alias>.<topic> (DefaultReplicationPolicy)
#   MM2_TOPICS     the topics replicated, a regular expression (cluetrail\.(case-events|notices|anchors))
#   MM2_REST_PORT  the port of the internal REST listener dedicated mode needs for exactly-once (38083)
#   CLUETRAIL_VAR  the state directory (var); MirrorMaker's config, log and pid go to $CLUETRAIL_VAR/mm2
#   MM2_LIBS       where the jars are ($CLUETRAIL_VAR/mm2/libs), MM2_HEAP_OPTS (-Xms128m -Xmx512m), JAVA, MVN
#
# Exactly-once (KIP-618): every target cluster accepts transactional source writes
# (<alias>.exactly.once.source.support=enabled) and the source connectors read committed records only, so a
# MirrorMaker killed mid-batch neither loses nor repeats a record on restart.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/deploy/mm2/pom.xml"
STATE="${CLUETRAIL_VAR:-$ROOT/var}"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
VAR="$STATE/mm2"
LIBS="${MM2_LIBS:-$VAR/libs}"
[[ "$LIBS" == /* ]] || LIBS="$PWD/$LIBS"
STAMP="$LIBS/.pom.sha256"
CONF="$VAR/mm2.properties"
LOG4J_CONF="$VAR/log4j.properties"
LOG="$VAR/mm2.log"
PIDFILE="$VAR/mm2.pid"

MM2_CLUSTERS="${MM2_CLUSTERS:-anhui=127.0.0.1:9092,ningxia=127.0.0.1:9192}"
MM2_TOPICS="${MM2_TOPICS:-cluetrail\\.(case-events|notices|anchors)}"
MM2_REST_PORT="${MM2_REST_PORT:-38083}"
MM2_HEAP_OPTS="${MM2_HEAP_OPTS:--Xms128m -Xmx512m}"
MM2_START_TIMEOUT="${MM2_START_TIMEOUT:-120}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

say() { printf 'mm2: %s\n' "$*"; }
die() { printf 'mm2: error: %s\n' "$*" >&2; exit 1; }

pom_sum() { sha256sum "$POM" | cut -d' ' -f1; }
libs_current() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(pom_sum)" ]] && compgen -G "$LIBS/connect-mirror-*.jar" >/dev/null
}

cmd_fetch() {
  if libs_current; then
    say "jars up to date in ${LIBS#"$ROOT"/}"
    return 0
  fi
  command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found; install maven"
  say "fetching jars listed in ${POM#"$ROOT"/} (Maven Central, cached in ~/.m2)"
  local tmp="$LIBS.tmp"
  mkdir -p "$VAR" "$(dirname "$LIBS")"
  rm -rf "$tmp"
  if ! "$MVN" -B -ntp -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$VAR/fetch.log" 2>&1; then
    grep -E 'ERROR|BUILD' "$VAR/fetch.log" | tail -n 30 >&2 || true
    die "Maven could not fetch the jars; full output in ${VAR#"$ROOT"/}/fetch.log"
  fi
  pom_sum >"$tmp/.pom.sha256"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  say "$(find "$LIBS" -name '*.jar' | wc -l) jars in ${LIBS#"$ROOT"/}"
}

is_running() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CONF"
}

write_config() {
  local aliases=() pair alias
  IFS=',' read -r -a pairs <<<"$MM2_CLUSTERS"
  ((${#pairs[@]} >= 2)) || die "MM2_CLUSTERS names fewer than two regions: $MM2_CLUSTERS"
  mkdir -p "$VAR"
  {
    echo "# Written by deploy/bin/mm2.sh on every start; edit the script or its environment, not this file."
    for pair in "${pairs[@]}"; do
      alias="${pair%%=*}"
      [[ "$alias" =~ ^[a-z][a-z0-9-]*$ ]] || die "region alias '$alias' must be lower case letters, digits, dashes"
      aliases+=("$alias")
      echo "$alias.bootstrap.servers = ${pair#*=}"
      # Transactional writes into this region (exactly-once of the flows that target it).
      echo "$alias.exactly.once.source.support = enabled"
      echo "$alias.consumer.isolation.level = read_committed"
    done
    echo "clusters = $(IFS=','; echo "${aliases[*]}")"
    local source target
    for source in "${aliases[@]}"; do
      for target in "${aliases[@]}"; do
        [[ "$source" == "$target" ]] && continue
        echo "$source->$target.enabled = true"
        echo "$source->$target.topics = $MM2_TOPICS"
        # Only the source connector can run exactly-once; the heartbeat and checkpoint ones ask for it.
        echo "$source->$target.exactly.once.support = requested"
      done
    done
    cat <<EOF
replication.policy.class = org.apache.kafka.connect.mirror.DefaultReplicationPolicy
# One broker per region locally: MirrorMaker's own topics cannot be replicated.
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
# Consumer groups are not carried over: every region's services keep their own positions.
groups = cluetrail-no-group-is-replicated
sync.group.offsets.enabled = false
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 5
dedicated.mode.enable.internal.rest = true
listeners = http://127.0.0.1:${MM2_REST_PORT}
EOF
  } >"$CONF"
  cat >"$LOG4J_CONF" <<'EOF'
# Written by deploy/bin/mm2.sh; MirrorMaker's stdout goes to mm2.log beside this file.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.connect.runtime.WorkerSourceTask=WARN
EOF
}

cmd_start() {
  if is_running; then
    say "already running (pid $(cat "$PIDFILE"))"
    return 0
  fi
  command -v "$JAVA" >/dev/null 2>&1 || die "'$JAVA' not found; install openjdk-17-jdk-headless"
  libs_current || cmd_fetch
  write_config
  : >"$LOG"
  # shellcheck disable=SC2086  # MM2_HEAP_OPTS holds several JVM options
  nohup "$JAVA" $MM2_HEAP_OPTS -Dlog4j.configuration="file:$LOG4J_CONF" -cp "$LIBS/*" \
    org.apache.kafka.connect.mirror.MirrorMaker "$CONF" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  local started=$SECONDS flows
  flows=$(grep -c -- '->.*\.enabled = true' "$CONF")
  # Ready when every flow's source connector has started (it takes up new topics within 5 s after).
  until (($(grep -c 'Started MirrorSourceConnector' "$LOG" || true) >= flows)); do
    is_running || { tail -n 40 "$LOG" >&2; die "MirrorMaker exited; see ${LOG#"$ROOT"/}"; }
    ((SECONDS - started < MM2_START_TIMEOUT)) || { tail -n 40 "$LOG" >&2; die "not replicating after ${MM2_START_TIMEOUT} s"; }
    sleep 1
  done
  say "replicating $flows flows ($((SECONDS - started)) s, pid $(cat "$PIDFILE"), log ${LOG#"$ROOT"/})"
}

cmd_stop() {
  if ! is_running; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  local pid waited=0
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
    sleep 1
    waited=$((waited + 1))
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "stopped"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) is_running ;;
  *) die "usage: $0 fetch|start|stop|status" ;;
esac
