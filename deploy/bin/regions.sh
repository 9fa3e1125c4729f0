#!/usr/bin/env bash
# Two regions on this machine (docs/regions.md): 安徽 (anhui) and 宁夏 (ningxia), each a Kafka cluster with its
# own four services and databases, joined by MirrorMaker 2 both ways.
#
#   deploy/bin/regions.sh start   start both regions, MirrorMaker and the services; load demo data in each
#   deploy/bin/regions.sh stop    stop the services of both regions, MirrorMaker and ningxia's broker
#   deploy/bin/regions.sh urls    where each region's services answer
#
#   region    broker            services    databases          state
#   anhui     127.0.0.1:9292    8001-8004   anhui_<service>    var/regions/anhui
#   ningxia   127.0.0.1:9392    8101-8104   ningxia_<service>  var/regions/ningxia
#
# Each region has a broker of its own (not make stack-up's, whose one-region topics would mix in); both
# use the one PostgreSQL server (deploy/bin/postgres.sh, started here if need be) and the regions file
# deploy/regions/anhui-ningxia.json; each region's X25519 key pair is made once into var/regions/keys.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VAR="$ROOT/var/regions"
KEYS="$VAR/keys"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
ALIASES=(anhui ningxia)
declare -A BROKER=([anhui]=9292 [ningxia]=9392)
declare -A PORTS=([anhui]=8001 [ningxia]=8101)
export CLUETRAIL_ENVIRONMENT="${CLUETRAIL_ENVIRONMENT:-local}"
export CLUETRAIL_REGIONS_FILE="$ROOT/deploy/regions/anhui-ningxia.json"
export CLUETRAIL_REGION_KEYS_FILE="$KEYS/public-keys.json"

say() { printf 'regions: %s\n' "$*"; }

cluetrail() { "$PYTHON" -m cluetrail.cli "$@"; }

# Runs "$@" with the environment of region $1.
in_region() {
  local alias="$1" base="${PORTS[$1]}"
  shift
  CLUETRAIL_REGION="$alias" \
    CLUETRAIL_KAFKA_BOOTSTRAP="127.0.0.1:${BROKER[$alias]}" \
    CLUETRAIL_DATABASE_PREFIX="$alias" \
    CLUETRAIL_REGION_PRIVATE_KEY="$(cat "$KEYS/$alias.key")" \
    CLUETRAIL_INTAKE_URL="http://127.0.0.1:$base" \
    CLUETRAIL_REPORTING_URL="http://127.0.0.1:$((base + 2))" \
    SERVICES_VAR="$VAR/$alias" \
    SERVICES_PORT_BASE="$base" \
    "$@"
}

# deploy/bin/kafka.sh for region $1's broker (the jars fetched once into var/kafka/libs).
broker() {
  local alias="$1"
  shift
  CLUETRAIL_VAR="$VAR/$alias" KAFKA_LIBS="$ROOT/var/kafka/libs" \
    KAFKA_PORT="${BROKER[$alias]}" KAFKA_CONTROLLER_PORT="$((BROKER[$alias] + 1))" "$ROOT/deploy/bin/kafka.sh" "$@"
}

mirror() {
  CLUETRAIL_VAR="$VAR" MM2_LIBS="$ROOT/var/mm2/libs" MM2_REST_PORT=38083 \
    MM2_CLUSTERS="anhui=127.0.0.1:${BROKER[anhui]},ningxia=127.0.0.1:${BROKER[ningxia]}" \
    MM2_TOPICS='cluetrail\.(case-events|notices|anchors)' "$ROOT/deploy/bin/mm2.sh" "$@"
}

cmd_start() {
  local alias
  "$ROOT/deploy/bin/kafka.sh" fetch
  "$ROOT/deploy/bin/postgres.sh" start
  for alias in "${ALIASES[@]}"; do
    broker "$alias" start
  done
  cluetrail region keys "${ALIASES[@]}" --dir "$KEYS"
  for alias in "${ALIASES[@]}"; do
    say "$alias: topics (with those MirrorMaker brings from the other region) and databases"
    in_region "$alias" cluetrail stack init
  done
  mirror start
  for alias in "${ALIASES[@]}"; do
    say "$alias: services"
    in_region "$alias" "$ROOT/deploy/bin/services.sh" start
  done
  for alias in "${ALIASES[@]}"; do
    say "$alias: demo data"
    in_region "$alias" cluetrail demo load --file "$VAR/$alias/demo-clues.jsonl"
  done
  cmd_urls
}

cmd_stop() {
  local alias rc=0
  for alias in "${ALIASES[@]}"; do
    [[ -f "$KEYS/$alias.key" ]] || continue
    in_region "$alias" "$ROOT/deploy/bin/services.sh" stop || rc=$?
  done
  mirror stop || rc=$?
  for alias in "${ALIASES[@]}"; do
    broker "$alias" stop || rc=$?
  done
  return "$rc"
}

cmd_urls() {
  local alias
  for alias in "${ALIASES[@]}"; do
    printf '\n%s (broker 127.0.0.1:%s)\n' "$alias" "${BROKER[$alias]}"
    in_region "$alias" "$ROOT/deploy/bin/services.sh" urls
  done
  printf '\nMirrorMaker 2: log var/regions/mm2/mm2.log; audit both: %s\n' \
    "cluetrail audit verify --region anhui=127.0.0.1:9292 --region ningxia=127.0.0.1:9392"
  printf 'Hand a case across: a token of 瑶海区 lead office (anhui), POST /v1/cases/<id>/handoff on :8002 with\n'
  printf '{"to_jurisdiction": "640302", "reason": "..."}; 利通区 accepts on :8102 (docs/regions.md).\n'
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  urls) cmd_urls ;;
  *) printf 'usage: %s start|stop|urls\n' "$0" >&2; exit 2 ;;
esac
