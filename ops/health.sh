#!/usr/bin/env bash
# Health check of a Sentinel topology: a thin wrapper around `redis_sentinel_exporter check`
# (the one implementation of the verdict). It finds the binary and maps REDIS_PASSWORD_FILE
# to --redis.password-file; every other argument goes to `check` unchanged. The other ops/
# scripts run their health gates through this wrapper.
set -euo pipefail
export LC_ALL=C
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/lib/base.sh
. "$root/scripts/lib/base.sh"

usage() {
  cat <<'EOF'
Usage: health.sh [--exporter-bin PATH] [CHECK FLAGS...]

Runs `redis_sentinel_exporter check` once against the topology and passes its report and
exit status through: 0 healthy, 1 degraded, 2 critical, 3 usage error (also: the binary
was not found).

The binary: --exporter-bin PATH, else $EXPORTER_BIN, else redis_sentinel_exporter on PATH,
else build/redis_sentinel_exporter of this repository.
Configuration is the exporter's: REDIS_SENTINEL_HOSTS, REDIS_SENTINEL_MASTER, REDIS_PASSWORD
(the password itself) or the flags below. REDIS_PASSWORD_FILE (a file whose first line is
the password) becomes --redis.password-file unless that flag is given.

Examples:
  REDIS_SENTINEL_HOSTS=127.0.0.1:17003 REDIS_SENTINEL_MASTER=aragora-master \
  REDIS_PASSWORD_FILE=./password ops/health.sh
  ops/health.sh --output json --sentinel.addr sentinel-1:26379

The flags of `check`:
EOF
}

bin="" show_help=0 have_pw_flag=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --exporter-bin)
      [ $# -ge 2 ] || {
        echo "health: error: --exporter-bin needs a value" >&2
        exit 3
      }
      bin=$2
      shift 2
      continue
      ;;
    --exporter-bin=*) bin=${1#*=} ;;
    -h | --help) show_help=1 ;;
    --redis.password-file | --redis.password-file=*)
      have_pw_flag=1
      args+=("$1")
      ;;
    *) args+=("$1") ;;
  esac
  shift
done

find_exporter "$bin" ||
  die "$EX_USAGE" "redis_sentinel_exporter not found: set EXPORTER_BIN (or --exporter-bin), put it on PATH, or build this repository (cmake -S $root -B $root/build && make -C $root/build)"
bin=$found_exporter

if [ "$show_help" = 1 ]; then
  usage
  exec "$bin" check --help
fi
if [ "$have_pw_flag" = 0 ] && [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  args+=("--redis.password-file=$REDIS_PASSWORD_FILE")
fi
exec "$bin" check "${args[@]}"
