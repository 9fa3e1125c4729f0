#!/bin/sh
# cluetrail-entrypoint SERVICE   runs that service (intake, triage, reporting, notify)
# cluetrail-entrypoint           runs $CLUETRAIL_SERVICE
# cluetrail-entrypoint CMD ...   runs CMD, e.g. `cluetrail stack init` or `cluetrail audit verify`
set -eu
service="${1:-$CLUETRAIL_SERVICE}"
case "$service" in
  intake | triage | reporting | notify)
    [ "$#" -gt 0 ] && shift
    exec python -m "services.$service" "$@"
    ;;
  *) exec "$@" ;;
esac
