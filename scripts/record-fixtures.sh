#!/usr/bin/env bash
# Records the RESP replies under tests/fixtures/ from a real local topology
# (1 master, 2 replicas, 3 Sentinels; scripts/topology.sh) byte for byte, with
# build/tests/record_reply. See tests/fixtures/README.md for what each file is.
#
# Usage: scripts/record-fixtures.sh [--out DIR]
#   --out DIR     where to write the .resp files (default: tests/fixtures)
# Environment:
#   RECORD_REPLY  path of a built record_reply (default: build it in $BUILD_DIR)
#   BUILD_DIR     CMake build directory (default: build/ at the repository root)
#
# Everything is recorded into a private temporary directory first and copied
# into --out only when every recording succeeded, so a failed run leaves the
# previous fixture set untouched. The topology is always stopped on exit.
# Exit codes: 0 ok, 1 failure, 3 usage error.
set -euo pipefail
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
# shellcheck source=lib/topology-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/topology-env.sh"
# shellcheck source=lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root=$rse_root
topology="$here/topology.sh"

readonly host=127.0.0.1
readonly master_name=aragora-master
readonly down_after_ms=1000
readonly port_attempts=5
readonly noquorum_deadline_s=30

out_dir="$root/tests/fixtures"
script_usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
script_option() {
  case "$1" in
    --out) out_dir=$2 ;;
    *) return 1 ;;
  esac
}
parse_options "$@"

# ---------------------------------------------------------------- record_reply
record_reply=${RECORD_REPLY:-}
if [ -z "$record_reply" ]; then
  build_dir=${BUILD_DIR:-$root/build}
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    log "configuring $build_dir"
    cmake -S "$root" -B "$build_dir" >&2
  fi
  log "building record_reply"
  cmake --build "$build_dir" --target record_reply >&2
  record_reply="$build_dir/tests/record_reply"
fi
[ -x "$record_reply" ] || die 1 "record_reply not found or not executable: $record_reply"

# ---------------------------------------------------------------- topology ----
work=$(mktemp -d "${TMPDIR:-/tmp}/rse-fixtures.XXXXXX")
topo_dir="$work/topology"
rec_dir="$work/recorded"
mkdir -p "$topo_dir" "$rec_dir"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -d "$topo_dir" ]; then
    "$topology" stop --dir "$topo_dir" || {
      log "could not stop the topology in $topo_dir; left in place for inspection"
      exit 1
    }
  fi
  rm -rf -- "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A random password, written only into a mode-600 file (for topology.sh) and
# handed to record_reply through REDISCLI_AUTH in its environment.
password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
password_file="$work/password"
(
  umask 077
  printf '%s\n' "$password" >"$password_file"
)
chmod 600 "$password_file"

env_out=""
started=0
for ((attempt = 1; attempt <= port_attempts; attempt++)); do
  base_port=$(free_test_ports 6) || die 1 "no free range of 6 test ports"
  log "starting the topology on base port $base_port (attempt $attempt of $port_attempts)"
  # stdout (KEY=VALUE lines) to a file; stderr shown and kept (pipefail: rc is topology.sh's).
  if "$topology" start --dir "$topo_dir" --base-port "$base_port" --master-name "$master_name" \
    --password-file "$password_file" --down-after-ms "$down_after_ms" --wait-seconds 30 \
    2>&1 >"$work/topology.out" | tee "$work/topology.err" >&2; then
    rc=0
  else
    rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    env_out=$(<"$work/topology.out")
    started=1
    break
  fi
  # Exit 2: a port was busy before the start. A port taken between that check
  # and the bind shows up as a node failing with "Address already in use".
  if [ "$rc" -ne "$EX_REFUSED" ] && ! grep -q 'Address already in use' "$work/topology.err"; then
    die 1 "topology.sh start failed (exit $rc)"
  fi
  log "a port is busy; trying another base port"
done
[ "$started" = 1 ] || die 1 "no free base port found in $port_attempts attempts"

read_topology_env <<<"$env_out" || die 1 "cannot read the ports from topology.sh's output"
master_port=${tenv_data_ports[0]} replica_port=${tenv_data_ports[1]}
sentinel_port=${tenv_sentinel_ports[0]} stop_1=${tenv_sentinel_ports[1]} stop_2=${tenv_sentinel_ports[2]}

# ---------------------------------------------------------------- recording ---
# record_to FILE AUTH PORT ARG... : one command, its reply byte for byte in FILE.
record_to() {
  local file=$1 auth=$2 port=$3
  shift 3
  if [ "$auth" = auth ]; then
    REDISCLI_AUTH=$password "$record_reply" "$host" "$port" "$@" >"$file"
  else
    "$record_reply" "$host" "$port" "$@" >"$file"
  fi
}
# expect FILE PREFIX : the reply starts with PREFIX (the situation is the intended one).
expect() {
  local head
  head=$(head -c "${#2}" -- "$rec_dir/$1")
  [ "$head" = "$2" ] || die 1 "$1: expected a reply starting with '$2', got '$(head -c 80 -- "$rec_dir/$1")'"
}
data() { # FILE PORT ARG...   (a data node: authenticates)
  local file=$1
  shift
  record_to "$rec_dir/$file" auth "$@" || die 1 "$file: record_reply failed"
}
sentinel() { # FILE PORT ARG...   (a Sentinel: no password)
  local file=$1
  shift
  record_to "$rec_dir/$file" noauth "$@" || die 1 "$file: record_reply failed"
}

log "recording from master $master_port, replica $replica_port, sentinel $sentinel_port"

# A few keys (one with an expiry) so that INFO shows a keyspace line; then wait
# until the replica has them, so its INFO shows the same keyspace.
data setup-1 "$master_port" SET fixture:plain 1
data setup-2 "$master_port" SET fixture:expiring 2 EX 3600
data setup-3 "$master_port" WAIT 2 5000
expect setup-3 ':2'
rm -f -- "$rec_dir"/setup-*

data info-replication-master.resp "$master_port" INFO replication
expect info-replication-master.resp "\$"
data info-replication-replica.resp "$replica_port" INFO replication
data info-master.resp "$master_port" INFO
data info-replica.resp "$replica_port" INFO
data sentinel-on-data-node.resp "$master_port" SENTINEL MASTERS
expect sentinel-on-data-node.resp '-ERR unknown command'

sentinel info-sentinel.resp "$sentinel_port" INFO sentinel
expect info-sentinel.resp "\$"
sentinel info-replication-on-sentinel.resp "$sentinel_port" INFO replication
sentinel sentinel-masters.resp "$sentinel_port" SENTINEL MASTERS
expect sentinel-masters.resp '*1'
sentinel sentinel-master.resp "$sentinel_port" SENTINEL MASTER "$master_name"
expect sentinel-master.resp '*'
sentinel sentinel-replicas.resp "$sentinel_port" SENTINEL REPLICAS "$master_name"
expect sentinel-replicas.resp '*2'
sentinel sentinel-sentinels.resp "$sentinel_port" SENTINEL SENTINELS "$master_name"
expect sentinel-sentinels.resp '*2'
sentinel sentinel-myid.resp "$sentinel_port" SENTINEL MYID
expect sentinel-myid.resp "\$40" # a 40-character run id
sentinel sentinel-ckquorum-ok.resp "$sentinel_port" SENTINEL CKQUORUM "$master_name"
expect sentinel-ckquorum-ok.resp '+OK 3 usable'
sentinel sentinel-ckquorum-unknown.resp "$sentinel_port" SENTINEL CKQUORUM no-such-master
expect sentinel-ckquorum-unknown.resp '-ERR'
sentinel sentinel-master-unknown.resp "$sentinel_port" SENTINEL MASTER no-such-master
expect sentinel-master-unknown.resp '-ERR'

# Two Sentinels stopped: wait (bounded) until the remaining one flags both
# s_down, which is when CKQUORUM turns to NOQUORUM.
log "stopping sentinels $stop_1 and $stop_2"
"$topology" stop-node --dir "$topo_dir" --port "$stop_1"
"$topology" stop-node --dir "$topo_dir" --port "$stop_2"
deadline=$((SECONDS + noquorum_deadline_s))
while :; do
  sentinel sentinel-ckquorum-noquorum.resp "$sentinel_port" SENTINEL CKQUORUM "$master_name"
  [ "$(head -c 9 -- "$rec_dir/sentinel-ckquorum-noquorum.resp")" = -NOQUORUM ] && break
  [ "$SECONDS" -lt "$deadline" ] ||
    die 1 "sentinel $sentinel_port still has a quorum ${noquorum_deadline_s}s after two Sentinels stopped"
  sleep 0.2
done
expect sentinel-ckquorum-noquorum.resp '-NOQUORUM 1 usable'
sentinel sentinel-sentinels-2-stopped.resp "$sentinel_port" SENTINEL SENTINELS "$master_name"
expect sentinel-sentinels-2-stopped.resp '*2'

# ---------------------------------------------------------------- install -----
mkdir -p -- "$out_dir"
n=0
for f in "$rec_dir"/*.resp; do
  install -m 644 -- "$f" "$out_dir/"
  n=$((n + 1))
done
log "wrote $n fixtures to $out_dir"
