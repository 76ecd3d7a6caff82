#!/usr/bin/env bash
# Starts and stops a real local Redis Sentinel topology on 127.0.0.1 from
# redis-server and redis-sentinel processes, rendered from scripts/topology/*.conf.tmpl.
# Used by the demo, the C++ integration tests (which parse its stdout) and the
# benchmarks. Run with --help for the interface.
#
# stdout carries only the KEY=VALUE lines of topology.env (on a successful
# start); every progress or error message goes to stderr.
# Exit codes (scripts/lib/base.sh): 0 ok, 1 failure or timeout, 2 a port or DIR busy
# (nothing started), 3 usage error.
set -euo pipefail
prog=topology
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
# shellcheck source=lib/topology-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/topology-env.sh"
# shellcheck source=lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"
umask 077 # every file and directory written here is private (configs hold the password)

root=$rse_root
redis_tmpl="$root/scripts/topology/redis.conf.tmpl"
sentinel_tmpl="$root/scripts/topology/sentinel.conf.tmpl"

readonly host=127.0.0.1
readonly cli_timeout=2     # seconds, per redis-cli call (a SIGSTOPped node must not hang us)
readonly term_wait_ms=10000 # SIGTERM grace (Redis 7 masters may wait up to shutdown-timeout=10 s for replicas)
readonly kill_wait_ms=5000  # after SIGKILL

script_usage() {
  cat <<'EOF'
Usage:
  topology.sh start --dir DIR [--groups N] [--base-port P] [--master-name NAME]
                    [--password-file F] [--down-after-ms MS] [--failover-timeout-ms MS]
                    [--quorum Q] [--wait-seconds S] [--server-bin PATH] [--sentinel-bin PATH]
  topology.sh stop --dir DIR
  topology.sh stop-node --dir DIR --port P
  topology.sh start-node --dir DIR --port P [--wait-seconds S]
  topology.sh wait-healthy --dir DIR [--wait-seconds S] [--exporter-bin PATH]
  topology.sh --help

Local Redis Sentinel topology on 127.0.0.1: N master groups of 3 data nodes
(1 master + 2 replicas) and 3 Sentinels monitoring every group.
  group i (1-based): master on P+3(i-1), replicas on P+3(i-1)+1 and +2
  Sentinels:         P+3N, P+3N+1, P+3N+2
  master name:       NAME if N is 1, else NAME-i
Each node lives in DIR/node-PORT (config, pidfile, log, working dir).

start         check every port is free (exit 2 naming the busy port otherwise),
              render configs, start all nodes and wait (bounded) until every
              Sentinel sees each master with flags 'master', 2 replicas and 2
              other Sentinels, and each master has 2 online replicas. Then
              write DIR/topology.env and print the same KEY=VALUE lines:
                REDIS_SENTINEL_HOSTS, REDIS_SENTINEL_MASTER, TOPOLOGY_MASTERS,
                TOPOLOGY_DATA_PORTS, TOPOLOGY_SENTINEL_PORTS, TOPOLOGY_DIR
              On timeout print the failing conditions, stop everything, exit 1.
stop          stop every node of DIR (SIGCONT, SIGTERM, bounded wait, SIGKILL);
              idempotent, exit 0 when nothing runs.
stop-node     stop the one node listening on --port (data node or Sentinel).
start-node    restart that node from its existing config; wait until it answers PING.
wait-healthy  wait until `redis_sentinel_exporter check --output json` (the
              exporter's one definition of the agreed master and healthy) says
              healthy, with every Sentinel naming each group's master and its
              2 replicas linked; after a failover too. The binary:
              --exporter-bin, else $EXPORTER_BIN, else PATH, else build/.
              Without one it only waits until every node answers PING (and
              says so). Needs the DIR/topology.env of a successful start.

Options (defaults):
  --groups N                1
  --base-port P             17000
  --master-name NAME        aragora-master
  --password-file F         first line of F is the data nodes' password; else the
                            REDIS_PASSWORD environment variable; else no auth.
                            The password only goes into the mode-600 configs.
  --down-after-ms MS        5000   (sentinel down-after-milliseconds)
  --failover-timeout-ms MS  60000  (sentinel failover-timeout)
  --quorum Q                2
  --wait-seconds S          60     (deadline for start, start-node, wait-healthy)
  --server-bin PATH         redis-server    (start) the data nodes' server, e.g. valkey-server
  --sentinel-bin PATH       redis-sentinel  (start) the Sentinels', e.g. valkey-sentinel; each
                                            node's is kept in DIR/node-PORT/bin for start-node
  --exporter-bin PATH              (wait-healthy) the exporter whose check decides
Exit codes: 0 ok, 1 failure or timeout, 2 a port or DIR busy (nothing started),
3 usage error.
EOF
}

# ---------------------------------------------------------------- options ---
[ $# -ge 1 ] || {
  script_usage >&2
  exit "$EX_USAGE"
}
cmd=$1
shift
case "$cmd" in
  -h | --help | help)
    script_usage
    exit 0
    ;;
  start | stop | stop-node | start-node | wait-healthy) ;;
  *) usage_error "unknown command '$cmd'" ;;
esac

dir="" groups=1 base_port=17000 master_name=aragora-master password_file=""
down_after_ms=5000 failover_timeout_ms=60000 quorum=2 wait_seconds=60 node_port="" exporter_opt=""
server_bin=redis-server sentinel_bin=redis-sentinel

allowed_opts() { # which options each command accepts
  case "$cmd" in
    start) echo "--dir --groups --base-port --master-name --password-file --down-after-ms --failover-timeout-ms --quorum --wait-seconds --server-bin --sentinel-bin" ;;
    stop) echo "--dir" ;;
    stop-node) echo "--dir --port" ;;
    start-node) echo "--dir --port --wait-seconds" ;;
    wait-healthy) echo "--dir --wait-seconds --exporter-bin" ;;
  esac
}
allowed=" $(allowed_opts) "
script_option() {
  [[ $allowed == *" $1 "* ]] || usage_error "option $1 is not valid for '$cmd'"
  case "$1" in
    --dir) dir=$2 ;;
    --groups) groups=$2 ;;
    --base-port) base_port=$2 ;;
    --master-name) master_name=$2 ;;
    --password-file) password_file=$2 ;;
    --down-after-ms) down_after_ms=$2 ;;
    --failover-timeout-ms) failover_timeout_ms=$2 ;;
    --quorum) quorum=$2 ;;
    --wait-seconds) wait_seconds=$2 ;;
    --port) node_port=$2 ;;
    --exporter-bin) exporter_opt=$2 ;;
    --server-bin) server_bin=$2 ;;
    --sentinel-bin) sentinel_bin=$2 ;;
    *) return 1 ;;
  esac
}
parse_options "$@"

[ -n "$dir" ] || usage_error "--dir DIR is required"
need_uint --wait-seconds "$wait_seconds" 1 86400
wait_seconds=$((10#$wait_seconds))
if [[ $cmd == start ]]; then
  need_uint --groups "$groups" 1 10000
  need_uint --base-port "$base_port" 1 65535
  need_uint --down-after-ms "$down_after_ms" 100 86400000
  need_uint --failover-timeout-ms "$failover_timeout_ms" 100 86400000
  need_uint --quorum "$quorum" 1 3
  groups=$((10#$groups)) base_port=$((10#$base_port)) quorum=$((10#$quorum))
  down_after_ms=$((10#$down_after_ms)) failover_timeout_ms=$((10#$failover_timeout_ms))
  [[ $master_name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
    usage_error "--master-name may only contain letters, digits, '.', '_' and '-'"
  [ $((base_port + 3 * groups + 2)) -le 65535 ] ||
    usage_error "ports $base_port..$((base_port + 3 * groups + 2)) exceed 65535"
fi
if [[ $cmd == stop-node || $cmd == start-node ]]; then
  [ -n "$node_port" ] || usage_error "--port P is required"
  need_uint --port "$node_port" 1 65535
  node_port=$((10#$node_port))
fi

# DIR: absolute, canonical (it is compared with /proc/PID/cwd), no characters
# that would need quoting in configs, globs or topology.env.
[[ $dir =~ ^[A-Za-z0-9._/+-]+$ ]] || usage_error "DIR '$dir' may only contain letters, digits and . _ / + -"
[[ $cmd == start ]] && mkdir -p -- "$dir"
if [ ! -d "$dir" ]; then
  if [[ $cmd == stop ]]; then
    log "nothing running in $dir (no such directory)"
    exit 0
  fi
  usage_error "directory '$dir' does not exist"
fi
dir=$(cd -- "$dir" && pwd -P)
[[ $dir =~ ^/[A-Za-z0-9._/+-]*$ ]] ||
  usage_error "DIR '$dir' may only contain letters, digits and . _ / + -"

for tool in "$server_bin" "$sentinel_bin" redis-cli timeout find; do
  command -v "$tool" >/dev/null || die 1 "$tool not found (run scripts/install-deps.sh)"
done

# ---------------------------------------------------------------- password --
# Never put the password into an argument list or into output: it is read here,
# written into mode-600 configs by bash builtins / a sed script read from a
# pipe, and handed to redis-cli through REDISCLI_AUTH in its environment only.
password=""
env_password=${REDIS_PASSWORD:-}
unset REDIS_PASSWORD REDISCLI_AUTH # keep it out of the daemons' environment

check_password() {
  [ -n "$password" ] || return 0
  # Redis 7.0 Sentinel rewrites "sentinel auth-pass" unquoted and then cannot
  # re-read its own config if the password has whitespace or quotes.
  if ! [[ $password =~ ^[[:graph:]]+$ ]] || [[ $password == *[\"\']* ]]; then
    die "$EX_USAGE" "the password may only contain printable ASCII characters without whitespace or quotes"
  fi
}
load_password_for_start() {
  if [ -n "$password_file" ]; then
    [ -r "$password_file" ] || die "$EX_USAGE" "cannot read password file '$password_file'"
    IFS= read -r password <"$password_file" || true
    password=${password%$'\r'}
    [ -n "$password" ] || die "$EX_USAGE" "password file '$password_file' has an empty first line"
  else
    password=$env_password
  fi
  check_password
}
# Redis rewrites configs (CONFIG REWRITE after a failover) with the value in
# double quotes, backslash-escaped; read it back from a data node's config.
load_password_from_dir() {
  local conf line val
  password=""
  for conf in "$dir"/node-*/redis.conf; do
    [ -f "$conf" ] || continue
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in
        'requirepass '*) val=${line#requirepass } ;;
        *) continue ;;
      esac
      val=${val%$'\r'}
      if [[ $val == \"*\" && ${#val} -ge 2 ]]; then
        val=${val:1:${#val}-2}
        val=${val//\\\\/$'\001'}
        val=${val//\\\"/\"}
        val=${val//$'\001'/\\}
      fi
      password=$val
      return 0
    done <"$conf"
    return 0 # first data node config decides
  done
}

# ---------------------------------------------------------------- layout ----
masters=() data_ports=() sentinel_ports=()
compute_layout() {
  local i
  masters=() data_ports=() sentinel_ports=()
  for ((i = 1; i <= groups; i++)); do
    if [ "$groups" -eq 1 ]; then masters+=("$master_name"); else masters+=("$master_name-$i"); fi
    data_ports+=($((base_port + 3 * (i - 1))) $((base_port + 3 * (i - 1) + 1)) $((base_port + 3 * (i - 1) + 2)))
  done
  sentinel_ports=($((base_port + 3 * groups)) $((base_port + 3 * groups + 1)) $((base_port + 3 * groups + 2)))
}

# Reads DIR/topology.env (written by a successful start) without sourcing it.
load_layout_from_env() {
  local f="$dir/topology.env"
  [ -f "$f" ] || die 1 "$f not found: was 'start' successful for this DIR?"
  read_topology_env <"$f" || die 1 "$f is malformed"
  masters=("${tenv_masters[@]}") data_ports=("${tenv_data_ports[@]}") sentinel_ports=("${tenv_sentinel_ports[@]}")
  groups=${#masters[@]}
}

# ---------------------------------------------------------------- redis-cli -
cli_data() { # port args...   (authenticates with the data nodes' password)
  local port=$1
  shift
  if [ -n "$password" ]; then
    REDISCLI_AUTH=$password timeout "$cli_timeout" redis-cli -h "$host" -p "$port" "$@" </dev/null
  else
    timeout "$cli_timeout" redis-cli -h "$host" -p "$port" "$@" </dev/null
  fi
}
cli_sentinel() { # port args...   (Sentinels have no password)
  local port=$1
  shift
  timeout "$cli_timeout" redis-cli -h "$host" -p "$port" "$@" </dev/null
}
node_pings() { # port -> 0 if the node answers PONG
  local out conf
  conf="$dir/node-$1/sentinel.conf"
  if [ -f "$conf" ]; then
    out=$(cli_sentinel "$1" PING 2>/dev/null) || return 1
  else
    out=$(cli_data "$1" PING 2>/dev/null) || return 1
  fi
  [ "$out" = PONG ]
}

# ---------------------------------------------------------------- processes -
# A PID counts as a node of DIR on PORT only if its cmdline is really
# redis-server / redis-sentinel (or Valkey's) and names that port (title
# "127.0.0.1:PORT", or the config path before the title is set). Zombies have
# an empty cmdline.
is_node_pid() { # pid port
  local pid=$1 port=$2 cmdline="" arg
  local -a args=()
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { mapfile -d '' -t args <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ "${#args[@]}" -ge 1 ] || return 1
  for arg in "${args[@]}"; do cmdline+="$arg "; done
  [[ $cmdline =~ ^([^\ ]*/)?(redis|valkey)-(server|sentinel)\  ]] || return 1
  [[ $cmdline == *":$port "* || $cmdline == *"/node-$port/"* ]]
}

# Sets node_pids (pid -> port) for live nodes of DIR; with a port argument
# only that node. Sources: the pidfiles, plus any redis process whose working
# directory is a node dir of DIR (covers a node that has no pidfile yet).
declare -A node_pids=()
collect_node_pids() {
  local only=${1:-} pf pid port nd line
  node_pids=()
  for pf in "$dir"/node-*/redis.pid; do
    [ -f "$pf" ] || continue
    nd=${pf%/redis.pid}
    port=${nd##*/node-}
    [ -z "$only" ] || [ "$port" = "$only" ] || continue
    pid=""
    read -r pid <"$pf" 2>/dev/null || true
    if is_node_pid "$pid" "$port"; then node_pids[$pid]=$port; else rm -f -- "$pf"; fi
  done
  while IFS=' ' read -r pid nd; do
    pid=${pid#/proc/}
    port=${nd##*/node-}
    [[ $port =~ ^[0-9]+$ ]] || continue
    [ -z "$only" ] || [ "$port" = "$only" ] || continue
    if is_node_pid "$pid" "$port"; then node_pids[$pid]=$port; fi
  done < <(find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$dir/node-${only:-*}" -printf '%h %l\n' 2>/dev/null || true)
}

# Stops the given "pid:port" entries: SIGCONT (in case a test SIGSTOPped it),
# SIGTERM, bounded wait, SIGKILL, bounded wait. Returns 1 if any survive.
terminate() {
  local e pid port deadline
  local -a left=("$@") still=()
  [ "${#left[@]}" -gt 0 ] || return 0
  for e in "${left[@]}"; do kill -CONT "${e%%:*}" 2>/dev/null || true; done
  for e in "${left[@]}"; do kill -TERM "${e%%:*}" 2>/dev/null || true; done
  update_now
  deadline=$((now_ms + term_wait_ms))
  local sig=TERM
  while :; do
    still=()
    for e in "${left[@]}"; do
      pid=${e%%:*} port=${e#*:}
      if is_node_pid "$pid" "$port"; then still+=("$e"); fi
    done
    left=("${still[@]}")
    [ "${#left[@]}" -gt 0 ] || return 0
    update_now
    if [ "$now_ms" -ge "$deadline" ]; then
      if [ "$sig" = KILL ]; then
        for e in "${left[@]}"; do log "process ${e%%:*} (port ${e#*:}) survived SIGKILL"; done
        return 1
      fi
      sig=KILL
      for e in "${left[@]}"; do
        log "port ${e#*:}: pid ${e%%:*} ignored SIGTERM, sending SIGKILL"
        kill -KILL "${e%%:*}" 2>/dev/null || true
      done
      deadline=$((now_ms + kill_wait_ms))
    fi
    sleep 0.05
  done
}

stop_all() { # stops Sentinels first (no failovers while data nodes go), then data nodes
  local pid rc=0 nd
  local -a sent=() data=()
  collect_node_pids
  for pid in "${!node_pids[@]}"; do
    nd="$dir/node-${node_pids[$pid]}"
    if [ -f "$nd/sentinel.conf" ]; then sent+=("$pid:${node_pids[$pid]}"); else data+=("$pid:${node_pids[$pid]}"); fi
  done
  if [ $((${#sent[@]} + ${#data[@]})) -eq 0 ]; then
    log "nothing running in $dir"
    return 0
  fi
  log "stopping ${#sent[@]} sentinel(s) and ${#data[@]} data node(s) in $dir"
  terminate "${sent[@]}" || rc=1
  terminate "${data[@]}" || rc=1
  collect_node_pids # also removes the pidfiles of killed nodes
  if [ "${#node_pids[@]}" -gt 0 ]; then
    log "still running: pids ${!node_pids[*]}"
    rc=1
  fi
  return "$rc"
}

launch_node() { # port -> starts the node's server (DIR/node-PORT/bin) from its config
  local nd conf bin
  nd="$dir/node-$1"
  if [ -f "$nd/sentinel.conf" ]; then
    conf="$nd/sentinel.conf" bin=redis-sentinel
  elif [ -f "$nd/redis.conf" ]; then
    conf="$nd/redis.conf" bin=redis-server
  else
    die "$EX_FAILED" "no node config in $nd"
  fi
  if [ -f "$nd/bin" ]; then read -r bin <"$nd/bin"; fi
  # daemonize yes: returns once the daemon forked; stdout must stay clean.
  "$bin" "$conf" </dev/null >&2 || {
    log "port $1: $bin failed to start (see $nd/redis.log)"
    return 1
  }
}

show_log_tail() {
  local f
  f="$dir/node-$1/redis.log"
  [ -f "$f" ] || return 0
  log "last lines of $f:"
  tail -n 5 -- "$f" | sed 's/^/    /' >&2 || true
}

# ---------------------------------------------------------------- rendering -
sed_escaped=""
sed_escape() { # value -> sed_escaped, safe as a s|...|HERE|g replacement
  local v=$1
  v=${v//\\/\\\\}
  v=${v//&/\\&}
  v=${v//|/\\|}
  sed_escaped=$v
}
sed_script() { # KEY=VALUE... -> sed program on stdout (printf is a builtin: no argv leak)
  local kv
  # The password goes last, so that tokens inside it are never substituted.
  for kv in "$@" REDIS_PASSWORD="$pw_conf"; do
    sed_escape "${kv#*=}"
    printf 's|@%s@|%s|g\n' "${kv%%=*}" "$sed_escaped"
  done
}
render() { # input-file KEY=VALUE...  -> rendered text on stdout
  local in=$1
  shift
  sed -f <(sed_script "$@") -- "$in"
}

pw_conf="" # the password escaped for a double-quoted Redis config string
render_configs() {
  local i j port nd role_master if_auth if_replica header block
  local -a blocks=()
  if_auth="# " pw_conf=""
  if [ -n "$password" ]; then
    if_auth=""
    pw_conf=${password//\\/\\\\}
    pw_conf=${pw_conf//\"/\\\"}
  fi
  local -a common=(BIND="$host" PROTECTED_MODE=yes DAEMONIZE=yes IF_AUTH="$if_auth")

  for ((i = 0; i < groups; i++)); do
    role_master=${data_ports[3 * i]}
    for ((j = 0; j < 3; j++)); do
      port=${data_ports[3 * i + j]}
      nd="$dir/node-$port"
      if_replica=""
      [ "$j" -gt 0 ] || if_replica="# "
      render "$redis_tmpl" "${common[@]}" PORT="$port" PIDFILE="$nd/redis.pid" LOGFILE="$nd/redis.log" \
        DIR="$nd" IF_REPLICA="$if_replica" MASTER_HOST="$host" \
        MASTER_PORT="$role_master" >"$nd/redis.conf"
    done
  done

  # Sentinel template: node-wide header plus a per-group block between markers.
  header=$(sed '/^# GROUP BEGIN$/,/^# GROUP END$/d' -- "$sentinel_tmpl")
  block=$(sed -n '/^# GROUP BEGIN$/,/^# GROUP END$/{/^# GROUP \(BEGIN\|END\)$/!p;}' -- "$sentinel_tmpl")
  [ -n "$block" ] || die 1 "$sentinel_tmpl has no '# GROUP BEGIN' ... '# GROUP END' block"
  for ((i = 0; i < groups; i++)); do
    blocks+=("$(render <(printf '%s\n' "$block") "${common[@]}" MASTER_NAME="${masters[i]}" \
      MASTER_HOST="$host" MASTER_PORT="${data_ports[3 * i]}" QUORUM="$quorum" \
      DOWN_AFTER_MS="$down_after_ms" FAILOVER_TIMEOUT_MS="$failover_timeout_ms" PARALLEL_SYNCS=1)")
  done
  for port in "${sentinel_ports[@]}"; do
    nd="$dir/node-$port"
    {
      render <(printf '%s\n' "$header") "${common[@]}" PORT="$port" PIDFILE="$nd/redis.pid" \
        LOGFILE="$nd/redis.log" DIR="$nd" RESOLVE_HOSTNAMES=yes ANNOUNCE_HOSTNAMES=yes
      printf '%s\n' "${blocks[@]}"
    } >"$nd/sentinel.conf"
  done
}

# ---------------------------------------------------------------- health ----
# The layout `start` made, as made: each Sentinel names the group's first node as its master
# and sees the group whole, each master has its two replicas online. This is readiness of a
# fresh topology, not health: after a failover the master is another node, and what is
# healthy then is the exporter's to say (check_json_healthy, for wait-healthy).
# Each check appends human-readable failures to health_fail; with full=0 it
# returns at the first failure (cheap polling), with full=1 it collects all.
health_fail=()

check_masters() { # full
  local full=$1 i port info line n_online slaves_ok role connected members p
  for ((i = 0; i < groups; i++)); do
    port=${data_ports[3 * i]}
    members=" ${data_ports[3 * i]} ${data_ports[3 * i + 1]} ${data_ports[3 * i + 2]} "
    if ! info=$(cli_data "$port" INFO replication 2>/dev/null); then
      health_fail+=("${masters[i]}: master 127.0.0.1:$port does not answer INFO")
    else
      role="" connected="" n_online=0 slaves_ok=1
      while IFS= read -r line; do
        line=${line%$'\r'}
        case "$line" in
          role:*) role=${line#role:} ;;
          connected_slaves:*) connected=${line#connected_slaves:} ;;
          slave[0-9]*:*state=online*)
            p=${line#*port=}
            p=${p%%,*}
            if [[ $members == *" $p "* && $p != "$port" ]]; then n_online=$((n_online + 1)); else slaves_ok=0; fi
            ;;
        esac
      done <<<"$info"
      if [ "$role" != master ]; then
        health_fail+=("${masters[i]}: 127.0.0.1:$port reports role:${role:-?} (want master)")
      elif [ "$connected" != 2 ] || [ "$n_online" -ne 2 ] || [ "$slaves_ok" -ne 1 ]; then
        health_fail+=("${masters[i]}: master 127.0.0.1:$port has connected_slaves:${connected:-?}, $n_online of the group's replicas state=online (want 2)")
      fi
    fi
    [ "$full" = 1 ] || [ "${#health_fail[@]}" -eq 0 ] || return 1
  done
  [ "${#health_fail[@]}" -eq 0 ]
}

check_sentinels() { # full
  local full=$1 s i out name flags ns no addr want line
  local -A m_flags=() m_ns=() m_no=()
  for s in "${sentinel_ports[@]}"; do
    m_flags=() m_ns=() m_no=()
    if ! out=$(cli_sentinel "$s" SENTINEL MASTERS 2>/dev/null); then
      health_fail+=("sentinel 127.0.0.1:$s does not answer")
      [ "$full" = 1 ] || return 1
      continue
    fi
    # Raw output: one line per element, key/value pairs, each master starts with "name".
    while IFS=' ' read -r name flags ns no; do
      m_flags[$name]=$flags m_ns[$name]=$ns m_no[$name]=$no
    done < <(awk '
      NR % 2 == 1 { k = $0; next }
      k == "name" { if (n != "") print n, f, ns, no; n = $0; f = "?"; ns = "?"; no = "?" }
      k == "flags" { f = $0 }
      k == "num-slaves" { ns = $0 }
      k == "num-other-sentinels" { no = $0 }
      END { if (n != "") print n, f, ns, no }' <<<"$out")
    # Address per master, as clients get it.
    i=0
    while IFS= read -r line; do
      line=${line%$'\r'}
      addr=${line//\"/}
      addr=${addr/,/:}
      [ "$line" = NULL ] && addr=""
      name=${masters[i]:-}
      i=$((i + 1))
      [ -n "$name" ] || continue
      if [ -z "${m_flags[$name]+x}" ]; then
        health_fail+=("sentinel 127.0.0.1:$s does not monitor $name")
        continue
      fi
      [ "${m_flags[$name]}" = master ] ||
        health_fail+=("sentinel 127.0.0.1:$s: $name flags=${m_flags[$name]} (want exactly master)")
      [ "${m_ns[$name]}" = 2 ] ||
        health_fail+=("sentinel 127.0.0.1:$s: $name num-slaves=${m_ns[$name]} (want 2)")
      [ "${m_no[$name]}" = 2 ] ||
        health_fail+=("sentinel 127.0.0.1:$s: $name num-other-sentinels=${m_no[$name]} (want 2)")
      want="$host:${data_ports[3 * (i - 1)]}"
      [ "$addr" = "$want" ] ||
        health_fail+=("sentinel 127.0.0.1:$s: $name master address ${addr:-none} (want $want)")
    done < <(printf 'SENTINEL GET-MASTER-ADDR-BY-NAME %s\n' "${masters[@]}" |
      timeout "$cli_timeout" redis-cli --csv -h "$host" -p "$s" 2>/dev/null || true)
    [ "$i" -ge "$groups" ] || health_fail+=("sentinel 127.0.0.1:$s: GET-MASTER-ADDR-BY-NAME answered $i of $groups")
    [ "$full" = 1 ] || [ "${#health_fail[@]}" -eq 0 ] || return 1
  done
  [ "${#health_fail[@]}" -eq 0 ]
}

check_healthy() { # full ; Sentinels first: few calls, slowest to converge
  health_fail=()
  check_sentinels "$1" || [ "$1" = 1 ] || return 1
  check_masters "$1" || true
  [ "${#health_fail[@]}" -eq 0 ]
}

deadline_ms=0
# wait_for DESCRIPTION FUNCTION ARGS... : polls FUNCTION (which fills health_fail) until it
# succeeds or deadline_ms passes (base.sh's wait_until_ms); on timeout health_fail says why.
polled() {
  health_fail=()
  "$@" && return 0
  why=${health_fail[0]:-}
  return 1
}
wait_poll_s=0.15
wait_for() {
  local what=$1
  shift
  wait_until_ms "$what" "$deadline_ms" polled "$@"
}

# Starts the given nodes, up to 32 at a time (each redis-server call returns
# once its daemon has forked).
launch_nodes() {
  local p j rc=0
  local -a jobs=()
  for p in "$@"; do
    launch_node "$p" &
    jobs+=("$!")
    if [ "${#jobs[@]}" -ge 32 ]; then
      for j in "${jobs[@]}"; do wait "$j" || rc=1; done
      jobs=()
    fi
  done
  for j in "${jobs[@]}"; do wait "$j" || rc=1; done
  return "$rc"
}

# A daemonized Redis writes its pidfile only after it listens: readiness
# without forking a redis-cli per node (matters at 300 nodes).
port_taken=0
started_all() { # ports kept in $pending
  local p pid
  local -a still=() lines=()
  health_fail=()
  for p in "${pending[@]}"; do
    pid=""
    { read -r pid <"$dir/node-$p/redis.pid"; } 2>/dev/null || true
    is_node_pid "$pid" "$p" && continue
    still+=("$p")
    # Fail fast when the daemon already gave up (e.g. bind: address in use).
    { mapfile -t lines <"$dir/node-$p/redis.log"; } 2>/dev/null || lines=()
    [ "${#lines[@]}" -le 3 ] || lines=("${lines[@]: -3}")
    case "${lines[*]}" in
      *"Failed listening on port"* | *aborting* | *"ready to exit"*)
        # Another process took the port after the free-port check: busy, like exit 2.
        case "${lines[*]}" in *"Failed listening on port"*) port_taken=1 ;; esac
        health_fail=("127.0.0.1:$p exited during startup: ${lines[${#lines[@]} - 1]}")
        wait_abort=1 pending=("$p")
        return 1
        ;;
    esac
  done
  pending=("${still[@]}")
  [ "${#pending[@]}" -eq 0 ] && return 0
  health_fail=("127.0.0.1:${pending[0]} is not up yet, no pidfile (${#pending[@]} node(s) pending)")
  return 1
}

pending=()
pings_all() { # ports... kept in $pending; true when every one answered
  local p
  local -a still=()
  health_fail=()
  for p in "${pending[@]}"; do
    node_pings "$p" || still+=("$p")
  done
  pending=("${still[@]}")
  [ "${#pending[@]}" -eq 0 ] && return 0
  health_fail=("127.0.0.1:${pending[0]} does not answer PING (${#pending[@]} node(s) pending)")
  return 1
}

# The exporter's verdict (`check --output json`, docs/check-json.md: the one definition of the
# agreed master and healthy) and, for this layout, every group at full strength: every Sentinel
# answers and names that master, both replicas linked. Reads the JSON, derives nothing.
check_json_healthy() {
  local json rc=0 s m limit=$((cli_timeout + 5))
  local -a args=(check --output json "--redis.timeout=${cli_timeout}s")
  for s in "${sentinel_ports[@]}"; do args+=("--sentinel.addr=$host:$s"); done
  for m in "${masters[@]}"; do args+=("--sentinel.master-name=$m"); done
  health_fail=()
  # The password in the environment of this one child (check reads REDIS_PASSWORD), never argv.
  if [ -n "$password" ]; then
    json=$(REDIS_PASSWORD=$password REDIS_PASSWORD_FILE='' timeout -k 1 "$limit" "$found_exporter" "${args[@]}" \
      2>/dev/null) || rc=$?
  else
    json=$(
      unset REDIS_PASSWORD
      REDIS_PASSWORD_FILE='' timeout -k 1 "$limit" "$found_exporter" "${args[@]}" 2>/dev/null
    ) || rc=$?
  fi
  case "$rc" in
    0 | 1 | 2) ;;
    124 | 137)
      health_fail=("$found_exporter check did not finish within $limit s")
      return 1
      ;;
    *) die "$EX_FAILED" "$found_exporter check could not run (exit $rc)" ;;
  esac
  mapfile -t health_fail < <(jq -r --argjson sentinels "${#sentinel_ports[@]}" --argjson groups "$groups" '
    .critical[], .degraded[],
    (if (.groups | length) != $groups then "check reports \(.groups | length) of \($groups) groups" else empty end),
    (.groups[] | select((.sentinels_agree and .master_votes == $sentinels and .sentinels_up == $sentinels
        and .master_up and .replicas_linked == 2) | not)
      | "\(.master_name): \(.master_votes) of \($sentinels) Sentinels name \(.master // "no master")"
        + " (agree: \(.sentinels_agree)), master up: \(.master_up), \(.replicas_linked) of 2 replicas linked")' \
    <<<"$json" 2>&1 || echo "check printed no check JSON: ${json:0:200}")
  [ "$rc" -eq 0 ] && [ "${#health_fail[@]}" -eq 0 ]
}

report_failures() {
  local n=0 f
  for f in "${health_fail[@]}"; do
    n=$((n + 1))
    if [ "$n" -gt 20 ]; then
      log "  ... and $((${#health_fail[@]} - 20)) more"
      break
    fi
    log "  failed: $f"
  done
}

# ---------------------------------------------------------------- commands --
start_launched=0 start_ok=0
on_start_exit() {
  local rc=$?
  if [ "$start_launched" = 1 ] && [ "$start_ok" != 1 ]; then
    log "start failed: stopping everything it started"
    stop_all || true
  fi
  exit "$rc"
}

launch_and_wait() { # WHAT PORTS...: launch the nodes and wait for their pidfiles, or exit
  local what=$1
  shift
  launch_nodes "$@" || exit 1
  pending=("$@")
  if ! wait_for "$what started" started_all; then
    report_failures
    show_log_tail "${pending[0]}"
    exit $((port_taken ? EX_REFUSED : EX_FAILED))
  fi
}

cmd_start() {
  local t_start p nd busy=() env_file="$dir/topology.env"
  update_now
  t_start=$now_ms
  deadline_ms=$((now_ms + wait_seconds * 1000))
  if [ ! -f "$redis_tmpl" ] || [ ! -f "$sentinel_tmpl" ]; then die 1 "templates not found under $root/scripts/topology"; fi
  load_password_for_start
  compute_layout

  collect_node_pids
  if [ "${#node_pids[@]}" -gt 0 ]; then
    die "$EX_REFUSED" "$dir already has running nodes (ports ${node_pids[*]}); run 'topology.sh stop --dir $dir' first"
  fi
  mapfile -t busy < <(busy_ports "${data_ports[@]}" "${sentinel_ports[@]}")
  if [ "${#busy[@]}" -gt 0 ]; then
    die "$EX_REFUSED" "port ${busy[0]} on $host is already in use${busy[1]:+ (busy: ${busy[*]})}; nothing started"
  fi

  rm -f -- "$env_file"
  local -a nds=()
  for p in "${data_ports[@]}" "${sentinel_ports[@]}"; do nds+=("$dir/node-$p"); done
  rm -rf -- "${nds[@]}"
  mkdir -p -- "${nds[@]}"
  for p in "${data_ports[@]}"; do printf '%s\n' "$server_bin" >"$dir/node-$p/bin"; done
  for p in "${sentinel_ports[@]}"; do printf '%s\n' "$sentinel_bin" >"$dir/node-$p/bin"; done
  render_configs
  log "configs for $groups group(s) written after $(since "$t_start") s: data ports ${data_ports[0]}..${data_ports[${#data_ports[@]} - 1]}, sentinels ${sentinel_ports[*]}, auth $([ -n "$password" ] && echo on || echo off)"

  trap on_start_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_launched=1
  launch_and_wait "data nodes" "${data_ports[@]}"
  log "data nodes started after $(since "$t_start") s"
  if ! wait_for "replication (2 online replicas per master)" check_masters 0; then
    health_fail=()
    check_masters 1 || report_failures
    exit 1
  fi
  launch_and_wait "sentinels" "${sentinel_ports[@]}"
  if ! wait_for "sentinel discovery and topology health" check_healthy 0; then
    check_healthy 1 || report_failures
    exit 1
  fi

  local ss=() m
  for p in "${sentinel_ports[@]}"; do ss+=("$host:$p"); done
  m="${ss[*]}"
  {
    printf 'REDIS_SENTINEL_HOSTS=%s\n' "${m// /,}"
    printf 'REDIS_SENTINEL_MASTER=%s\n' "${masters[0]}"
    printf 'TOPOLOGY_MASTERS="%s"\n' "${masters[*]}"
    printf 'TOPOLOGY_DATA_PORTS="%s"\n' "${data_ports[*]}"
    printf 'TOPOLOGY_SENTINEL_PORTS="%s"\n' "${sentinel_ports[*]}"
    printf 'TOPOLOGY_DIR=%s\n' "$dir"
  } >"$env_file.tmp"
  chmod 644 "$env_file.tmp"
  mv -f -- "$env_file.tmp" "$env_file"
  start_ok=1
  log "topology healthy after $(since "$t_start") s; wrote $env_file"
  cat -- "$env_file"
}

cmd_stop() {
  stop_all || exit 1
}

cmd_stop_node() {
  local nd pid
  nd="$dir/node-$node_port"
  [ -d "$nd" ] || usage_error "no node with port $node_port in $dir"
  collect_node_pids "$node_port"
  if [ "${#node_pids[@]}" -eq 0 ]; then
    log "node $node_port is not running"
    return 0
  fi
  local -a entries=()
  for pid in "${!node_pids[@]}"; do entries+=("$pid:$node_port"); done
  log "stopping node $node_port (pid ${!node_pids[*]})"
  terminate "${entries[@]}" || exit 1
  collect_node_pids "$node_port"
  [ "${#node_pids[@]}" -eq 0 ] || die 1 "node $node_port still running"
  log "node $node_port stopped"
}

cmd_start_node() {
  local nd t0
  nd="$dir/node-$node_port"
  [ -f "$nd/redis.conf" ] || [ -f "$nd/sentinel.conf" ] || usage_error "no node config for port $node_port in $dir"
  load_password_from_dir
  update_now
  t0=$now_ms
  deadline_ms=$((now_ms + wait_seconds * 1000))
  collect_node_pids "$node_port"
  if [ "${#node_pids[@]}" -gt 0 ]; then
    log "node $node_port is already running (pid ${!node_pids[*]})"
  else
    port_busy "$node_port" && die "$EX_REFUSED" "port $node_port on $host is already in use by another process"
    launch_node "$node_port" || exit 1
  fi
  pending=("$node_port")
  if ! wait_for "node $node_port answering PING" pings_all; then
    show_log_tail "$node_port"
    exit 1
  fi
  log "node $node_port up after $(since "$t0") s"
}

cmd_wait_healthy() {
  load_layout_from_env
  load_password_from_dir
  local t0
  update_now
  t0=$now_ms
  deadline_ms=$((now_ms + wait_seconds * 1000))
  if find_exporter "$exporter_opt"; then
    if ! wait_for "topology health (redis_sentinel_exporter check)" check_json_healthy; then
      report_failures
      exit 1
    fi
    log "topology healthy after $(since "$t0") s ($found_exporter check)"
    return 0
  fi
  log "no redis_sentinel_exporter (--exporter-bin, EXPORTER_BIN, PATH, build/): waiting only until every node answers PING"
  pending=("${data_ports[@]}" "${sentinel_ports[@]}")
  if ! wait_for "every node answering PING" pings_all; then
    report_failures
    exit 1
  fi
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  stop-node) cmd_stop_node ;;
  start-node) cmd_start_node ;;
  wait-healthy) cmd_wait_healthy ;;
esac
