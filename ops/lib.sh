# shellcheck shell=bash
# shellcheck disable=SC2034 # globals set here are read by the scripts that source this file
# Shared code of the operations scripts in ops/ (sourced, not run). It holds the
# configuration (the exporter's variables), redis-cli wrappers, discovery of the
# Sentinels and the agreed master, the state checks the scripts wait on, the
# pluggable node actions and the health gate (the exporter's `check` command).
#
# Conventions of every script that sources it:
#   stdout  the final report (and nothing else); stderr  progress and errors.
#   exit    0 done, 1 failed or a step timed out, 2 refused (the topology was not
#           healthy, nothing was changed), 3 usage or configuration error.
# Waits are bounded polls of real state (every 0.2 s), never fixed sleeps.
# The data nodes' password reaches redis-cli only through REDISCLI_AUTH in that
# one child's environment and `check` only through REDIS_PASSWORD in its own;
# it is never an argument. Sentinels are sent no AUTH.

export LC_ALL=C
ops_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$ops_dir/.." && pwd)"
prog=$(basename "$0" .sh)

# ---------------------------------------------------------------- time and output
now_ms=0
update_now() { # sets now_ms without forking
  local t=${EPOCHREALTIME/./}
  now_ms=$((10#$t / 1000))
}
update_now
start_ms=$now_ms
secs() { # milliseconds -> "12.3"
  local ms=$1
  [ "$ms" -ge 0 ] || ms=0
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
since() { # start_ms -> seconds elapsed since then, "12.3"
  update_now
  secs $((now_ms - $1))
}
join() { # separator items... -> stdout
  local sep=$1 out=""
  shift
  [ $# -gt 0 ] || return 0
  out=$1
  shift
  while [ $# -gt 0 ]; do
    out+=$sep$1
    shift
  done
  printf '%s' "$out"
}
log() { printf '%s: [%5ss] %s\n' "$prog" "$(since "$start_ms")" "$*" >&2; }
die() { # code message...
  local code=$1
  shift
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit "$code"
}
usage_error() { die 3 "$* (see --help)"; }

# ---------------------------------------------------------------- options
common_usage() {
  cat <<'EOF'

Connection (the exporter's flags and variables):
  --sentinel.addr HOST:PORT   a Sentinel to start from; repeatable or comma-separated;
                              its peers are discovered (SENTINEL SENTINELS).
                              Default: $REDIS_SENTINEL_HOSTS
  --sentinel.master-name NAME the master group (exactly one). Default: $REDIS_SENTINEL_MASTER
  --redis.password-file FILE  first line is the data nodes' password.
                              Default: $REDIS_PASSWORD_FILE, else the password in $REDIS_PASSWORD,
                              else no AUTH. Sentinels are never sent AUTH.
  --redis.user USER           ACL user for the data nodes. Default: $REDIS_USER
  --cli-timeout S             bound of each redis-cli call and of `check` (default 3)
  --exporter-bin PATH         redis_sentinel_exporter for the health checks. Default:
                              $EXPORTER_BIN, else PATH, else build/ of this repository
  -h, --help                  this help
EOF
}

sentinel_addrs=() master_name="" password="" password_file="" redis_user=""
cli_timeout=3 exporter_bin=""

# ops_parse "$@": every option takes a value (--opt V or --opt=V); the common ones are
# handled here, the rest by script_option NAME VALUE (defined by each script; returns 1
# for an unknown option). Then ops_configure.
ops_parse() {
  local opt val
  while [ $# -gt 0 ]; do
    opt=$1
    case "$opt" in
      -h | --help)
        script_usage
        exit 0
        ;;
      --*=*)
        val=${opt#*=}
        opt=${opt%%=*}
        shift
        ;;
      --*)
        [ $# -ge 2 ] || usage_error "option $opt needs a value"
        val=$2
        shift 2
        ;;
      *) usage_error "unexpected argument '$opt'" ;;
    esac
    case "$opt" in
      --sentinel.addr)
        local -a parts=()
        IFS=', ' read -r -a parts <<<"$val"
        sentinel_addrs+=("${parts[@]}")
        ;;
      --sentinel.master-name) master_name=$val ;;
      --redis.password-file) password_file=$val ;;
      --redis.user) redis_user=$val ;;
      --cli-timeout) cli_timeout=$val ;;
      --exporter-bin) exporter_bin=$val ;;
      *) script_option "$opt" "$val" || usage_error "unknown option $opt" ;;
    esac
  done
  ops_configure
}

need_uint() { # option value min max
  if ! [[ $2 =~ ^[0-9]{1,9}$ ]] || [ $((10#$2)) -lt "$3" ] || [ $((10#$2)) -gt "$4" ]; then
    usage_error "$1 must be an integer in [$3, $4], got '$2'"
  fi
}

ops_configure() {
  local a
  if [ "${#sentinel_addrs[@]}" -eq 0 ] && [ -n "${REDIS_SENTINEL_HOSTS:-}" ]; then
    IFS=', ' read -r -a sentinel_addrs <<<"$REDIS_SENTINEL_HOSTS"
  fi
  [ "${#sentinel_addrs[@]}" -gt 0 ] || usage_error "no Sentinel given: set REDIS_SENTINEL_HOSTS or --sentinel.addr"
  for a in "${sentinel_addrs[@]}"; do
    [[ $a =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$ ]] ||
      usage_error "Sentinel address '$a' is not HOST:PORT"
  done
  [ -n "$master_name" ] || master_name=${REDIS_SENTINEL_MASTER:-}
  [ -n "$master_name" ] || usage_error "no master name given: set REDIS_SENTINEL_MASTER or --sentinel.master-name"
  [[ $master_name =~ ^[^[:space:],]+$ ]] ||
    usage_error "these scripts work on exactly one master group; got '$master_name'"
  [ -n "$redis_user" ] || redis_user=${REDIS_USER:-}
  need_uint --cli-timeout "$cli_timeout" 1 3600
  cli_timeout=$((10#$cli_timeout))

  [ -n "$password_file" ] || password_file=${REDIS_PASSWORD_FILE:-}
  if [ -n "$password_file" ]; then
    [ -r "$password_file" ] || usage_error "cannot read the password file '$password_file'"
    IFS= read -r password <"$password_file" || true
    password=${password%$'\r'}
    [ -n "$password" ] || usage_error "the password file '$password_file' has an empty first line"
  else
    password=${REDIS_PASSWORD:-}
  fi
  # From here on the password lives in this shell only: no child inherits it
  # unless it is handed to that child (redis-cli, check) explicitly.
  unset REDIS_PASSWORD REDISCLI_AUTH
  command -v redis-cli >/dev/null || die 3 "redis-cli not found on PATH"
  command -v timeout >/dev/null || die 3 "timeout (coreutils) not found on PATH"
}

# ---------------------------------------------------------------- temp files, exit
ops_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ops-$prog.XXXXXX")
ops_exit() {
  local rc=$?
  trap - EXIT
  if declare -F script_cleanup >/dev/null; then script_cleanup "$rc" || true; fi
  rm -rf -- "$ops_tmp"
  exit "$rc"
}
trap ops_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- addresses
host="" port=""
split_addr() { # HOST:PORT or [V6]:PORT -> host, port
  port=${1##*:}
  host=${1%:*}
  host=${host#[}
  host=${host%]}
}
join_addr() { # host port -> stdout
  if [[ $1 == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi
}

# ---------------------------------------------------------------- redis-cli
# rcli KIND ADDR ARGS...: one bounded redis-cli call (-e: error replies fail).
# stdout is the raw reply; on failure last_error says why.
rcli_timeout="" # overrides cli_timeout for one call (e.g. a long --rdb transfer)
rcli() {
  local kind=$1 rc=0 t=${rcli_timeout:-$cli_timeout}
  split_addr "$2"
  shift 2
  local -a base=(redis-cli -e -h "$host" -p "$port")
  if [ "$kind" = data ]; then
    [ -z "$redis_user" ] || base+=(--user "$redis_user")
    if [ -n "$password" ]; then
      REDISCLI_AUTH=$password timeout -k 1 "$t" "${base[@]}" "$@" </dev/null 2>"$ops_tmp/cli.err" || rc=$?
    else
      timeout -k 1 "$t" "${base[@]}" "$@" </dev/null 2>"$ops_tmp/cli.err" || rc=$?
    fi
  else
    timeout -k 1 "$t" "${base[@]}" "$@" </dev/null 2>"$ops_tmp/cli.err" || rc=$?
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    printf 'no answer within %ss\n' "$t" >"$ops_tmp/cli.err"
  fi
  return "$rc"
}
data() { rcli data "$@"; }
sent() { rcli sentinel "$@"; }
last_error() { # the first line redis-cli wrote to stderr, e.g. "Connection refused"
  local line="" l
  if [ -f "$ops_tmp/cli.err" ]; then
    while IFS= read -r l; do
      l=${l%$'\r'}
      [ -n "$l" ] || continue
      line=$l
      break
    done <"$ops_tmp/cli.err"
  fi
  line=${line#Could not connect to Redis at *: }
  printf '%s' "${line:-no answer}"
}

declare -A kv=()
parse_info() { # INFO text -> kv[field]=value
  local line
  kv=()
  while IFS= read -r line; do
    line=${line%$'\r'}
    [[ $line == *:* && $line != \#* ]] || continue
    kv[${line%%:*}]=${line#*:}
  done <<<"$1"
}

# records TEXT FIELD...: a raw array-of-maps reply (SENTINEL REPLICAS/SENTINELS)
# -> one line per entry with the wanted fields separated by tabs.
records() {
  local text=$1
  shift
  awk -v fields="$*" '
    function emit(  i, out) {
      out = ""
      for (i = 1; i <= n; i++) out = out (i > 1 ? "\t" : "") ((F[i] in v) ? v[F[i]] : "")
      print out
    }
    BEGIN { n = split(fields, F, " ") }
    { sub(/\r$/, "") }
    NR % 2 == 1 { k = $0; next }
    k == "name" { if (started) emit(); started = 1; split("", v) }
    { v[k] = $0 }
    END { if (started) emit() }' <<<"$text"
}

ping_ok() { # kind addr
  local out
  out=$(rcli "$1" "$2" PING 2>/dev/null) && [ "$out" = PONG ]
}
run_id_of() { # kind addr -> stdout run_id
  local out
  out=$(rcli "$1" "$2" INFO server) || return 1
  parse_info "$out"
  [ -n "${kv[run_id]:-}" ] || return 1
  printf '%s' "${kv[run_id]}"
}

# ---------------------------------------------------------------- waiting
why="" # each check function sets it to what is not yet true
# wait_until DESCRIPTION TIMEOUT_S FUNCTION ARGS...: polls FUNCTION every 0.2 s until it
# succeeds (0) or TIMEOUT_S passes (1; why then says what was still missing).
waited="" # seconds the last wait_until took
wait_until() {
  local what=$1 limit=$2 t0 last
  shift 2
  update_now
  t0=$now_ms last=$now_ms
  while :; do
    why=""
    if "$@"; then
      waited=$(since "$t0")
      log "$what: ok after $waited s"
      return 0
    fi
    update_now
    if [ $((now_ms - t0)) -ge $((limit * 1000)) ]; then
      waited=$(since "$t0")
      log "$what: not reached within $limit s: ${why:-unknown}"
      return 1
    fi
    if [ $((now_ms - last)) -ge 5000 ]; then
      log "still waiting ($(since "$t0") s) for $what: ${why:-?}"
      last=$now_ms
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- Sentinels
sentinels=() # every Sentinel of the group: the given ones and their peers, one address each
discover_sentinels() {
  local a id out rid ip p known
  local -A seen_id=() seen_addr=()
  local -a unreachable=()
  sentinels=()
  for a in "${sentinel_addrs[@]}"; do
    if ! id=$(sent "$a" SENTINEL MYID); then
      unreachable+=("$a")
      log "Sentinel $a does not answer: $(last_error)"
      continue
    fi
    if [ -z "${seen_id[$id]:-}" ] && [ -z "${seen_addr[$a]:-}" ]; then
      seen_id[$id]=1 seen_addr[$a]=1
      sentinels+=("$a")
    fi
    if ! out=$(sent "$a" SENTINEL SENTINELS "$master_name"); then
      case "$(last_error)" in
        *"No such master"*) die 3 "Sentinel $a does not monitor a master named '$master_name'" ;;
      esac
      log "Sentinel $a: SENTINEL SENTINELS failed: $(last_error)"
      continue
    fi
    while IFS=$'\t' read -r rid ip p; do
      [ -n "$ip" ] || continue
      known=$(join_addr "$ip" "$p")
      if [ -n "${seen_id[$rid]:-}" ] || [ -n "${seen_addr[$known]:-}" ]; then continue; fi
      seen_id[$rid]=1 seen_addr[$known]=1
      sentinels+=("$known")
    done < <(records "$out" runid ip port)
  done
  [ "${#sentinels[@]}" -gt 0 ] || die 2 "no Sentinel answered (tried ${sentinel_addrs[*]}): refusing to go on"
  for a in "${unreachable[@]}"; do
    [ -n "${seen_addr[$a]:-}" ] || sentinels+=("$a") # still ours, though down now
  done
  log "Sentinels of $master_name: ${sentinels[*]}"
}

# sentinels_agree: every reachable Sentinel names the same master -> agreed, agreed_by
agreed="" agreed_by="" master_views=()
sentinels_agree() {
  local s out h p addr first="" n=0 differ=0
  master_views=()
  agreed=""
  for s in "${sentinels[@]}"; do
    if ! out=$(sent "$s" SENTINEL GET-MASTER-ADDR-BY-NAME "$master_name"); then
      master_views+=("$s: no answer ($(last_error))")
      continue
    fi
    { read -r h && read -r p; } <<<"$out" || true
    h=${h%$'\r'} p=${p%$'\r'}
    if [ -n "$h" ] && [ -n "$p" ]; then addr=$(join_addr "$h" "$p"); else addr=none; fi
    master_views+=("$s names $addr")
    n=$((n + 1))
    if [ -z "$first" ]; then first=$addr; elif [ "$addr" != "$first" ]; then differ=1; fi
  done
  if [ "$n" -eq 0 ]; then
    why="no Sentinel answered (${master_views[*]})"
    return 1
  fi
  if [ "$differ" = 1 ]; then
    why="the Sentinels disagree: $(join '; ' "${master_views[@]}")"
    return 1
  fi
  if [ "$first" = none ]; then
    why="no Sentinel names a master for $master_name"
    return 1
  fi
  agreed=$first agreed_by="$n of ${#sentinels[@]}"
}

# replicas_known_by_sentinels: the group's replicas as the first answering Sentinel lists them
replicas=()
replicas_known_by_sentinels() {
  local s out ip p flags
  replicas=()
  for s in "${sentinels[@]}"; do
    out=$(sent "$s" SENTINEL REPLICAS "$master_name") || continue
    while IFS=$'\t' read -r ip p; do
      [ -n "$ip" ] || continue
      replicas+=("$(join_addr "$ip" "$p")")
    done < <(records "$out" ip port)
    return 0
  done
  why="no Sentinel answered SENTINEL REPLICAS"
  return 1
}

# ---------------------------------------------------------------- data-node state
is_master() { # addr: answers INFO replication with role:master
  local out
  if ! out=$(data "$1" INFO replication); then
    why="$1 does not answer: $(last_error)"
    return 1
  fi
  parse_info "$out"
  [ "${kv[role]:-}" = master ] || {
    why="$1 reports role:${kv[role]:-?}, not master"
    return 1
  }
}

# new_master_agreed OLD: all reachable Sentinels name one master other than OLD, and it
# reports role:master -> agreed
new_master_agreed() {
  sentinels_agree || return 1
  if [ "$agreed" = "$1" ]; then
    why="the Sentinels still name $1 ($agreed_by)"
    return 1
  fi
  is_master "$agreed"
}

lag_bytes=0
# replica_ok ADDR MASTER MAX_LAG: ADDR reports role:slave following MASTER with its link up,
# not syncing, and at most MAX_LAG bytes behind: the master's master_repl_offset (read
# first) against the replica's slave_repl_offset (read after).
replica_ok() {
  local addr=$1 master=$2 max=$3 out moff roff follows
  if ! out=$(data "$master" INFO replication); then
    why="the master $master does not answer: $(last_error)"
    return 1
  fi
  parse_info "$out"
  moff=${kv[master_repl_offset]:-}
  if ! out=$(data "$addr" INFO replication); then
    why="$addr does not answer: $(last_error)"
    return 1
  fi
  parse_info "$out"
  if [ "${kv[role]:-}" != slave ]; then
    why="$addr reports role:${kv[role]:-?}, not slave"
    return 1
  fi
  follows=$(join_addr "${kv[master_host]:-?}" "${kv[master_port]:-?}")
  if [ "$follows" != "$master" ]; then
    why="$addr follows $follows, not $master"
    return 1
  fi
  if [ "${kv[master_link_status]:-}" != up ] || [ "${kv[master_sync_in_progress]:-0}" != 0 ]; then
    why="$addr: master_link_status:${kv[master_link_status]:-?}, master_sync_in_progress:${kv[master_sync_in_progress]:-?}"
    return 1
  fi
  roff=${kv[slave_repl_offset]:-}
  if ! [[ $moff =~ ^[0-9]+$ && $roff =~ ^[0-9]+$ ]]; then
    why="$addr: no replication offsets (master ${moff:-?}, replica ${roff:-?})"
    return 1
  fi
  lag_bytes=$((moff - roff))
  [ "$lag_bytes" -ge 0 ] || lag_bytes=0
  if [ "$lag_bytes" -gt "$max" ]; then
    why="$addr is $lag_bytes bytes behind $master (bound $max)"
    return 1
  fi
}

replicas_ok() { # master max_lag addr... : every addr is replica_ok
  local master=$1 max=$2 a
  shift 2
  for a in "$@"; do
    replica_ok "$a" "$master" "$max" || return 1
  done
}

node_down() { # kind addr: does not answer PING
  if ping_ok "$1" "$2"; then
    why="$2 still answers PING"
    return 1
  fi
}
restarted() { # kind addr old_run_id: answers with a run_id other than old_run_id
  local id
  if ! id=$(run_id_of "$1" "$2"); then
    why="$2 does not answer: $(last_error)"
    return 1
  fi
  if [ "$id" = "$3" ]; then
    why="$2 still runs as run_id $3 (not restarted yet)"
    return 1
  fi
}

# ---------------------------------------------------------------- node actions
hook_timeout=120
# run_action WHAT TEMPLATE ADDR ROLE: runs TEMPLATE with bash, bounded by hook_timeout,
# with NODE_ADDR NODE_HOST NODE_PORT NODE_ROLE MASTER_NAME in its environment.
run_action() {
  local what=$1 tmpl=$2 addr=$3 role=$4 rc=0
  split_addr "$addr"
  log "$what $addr ($role): $tmpl"
  NODE_ADDR=$addr NODE_HOST=$host NODE_PORT=$port NODE_ROLE=$role MASTER_NAME=$master_name \
    timeout -k 5 "$hook_timeout" bash -c "$tmpl" </dev/null >&2 || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    why="the $what command did not finish within $hook_timeout s"
    return 1
  fi
  if [ "$rc" -ne 0 ]; then
    why="the $what command exited $rc"
    return 1
  fi
}

# ---------------------------------------------------------------- health (check)
# The verdict is the exporter's `check` command, run through ops/health.sh (which finds the
# binary); exit 0 healthy, 1 degraded, 2 critical, 3 usage error or no binary.
check_rc=0 check_out="" check_reasons=""
run_check() { # one `check` of the group (through ops/health.sh) -> check_rc, check_out, check_reasons
  local a
  local -a args=("--redis.timeout=${cli_timeout}s" "--sentinel.master-name=$master_name")
  for a in "${sentinel_addrs[@]}"; do args+=("--sentinel.addr=$a"); done
  [ -z "$redis_user" ] || args+=("--redis.user=$redis_user")
  [ -z "$exporter_bin" ] || args+=("--exporter-bin=$exporter_bin")
  check_rc=0
  # The password in the environment of this one child (check reads REDIS_PASSWORD), never argv.
  if [ -n "$password" ]; then
    check_out=$(REDIS_PASSWORD=$password REDIS_PASSWORD_FILE='' timeout -k 1 $((cli_timeout + 5)) \
      bash "$ops_dir/health.sh" "${args[@]}" 2>&1) || check_rc=$?
  else
    check_out=$(REDIS_PASSWORD_FILE='' timeout -k 1 $((cli_timeout + 5)) bash "$ops_dir/health.sh" "${args[@]}" 2>&1) ||
      check_rc=$?
  fi
  # The reasons are the "  - ..." lines under the "Critical" and "Degraded" headings.
  check_reasons=$(awk '/^(Critical|Degraded)$/ { p = 1; next } /^[^ ]/ { p = 0 } p && sub(/^  - /, "") { print }' <<<"$check_out")
  case "$check_rc" in
    0 | 1 | 2) ;;
    3) die 3 "the health check could not run: $check_out" ;;
    124 | 137) check_reasons="the health check did not finish within $((cli_timeout + 5)) s" check_rc=2 ;;
    *) die 3 "the health check could not run (exit $check_rc): $check_out" ;;
  esac
}
verdict() { # check exit -> word
  case "$1" in 0) echo healthy ;; 1) echo degraded ;; 2) echo critical ;; *) echo "unknown ($1)" ;; esac
}
healthy() { # for wait_until
  run_check
  [ "$check_rc" -eq 0 ] && return 0
  why="check says $(verdict "$check_rc"): $(tr '\n' ';' <<<"$check_reasons" | sed 's/;$//; s/;/; /g')"
  return 1
}
# require_healthy: refuse (exit 2) unless `check` exits 0; nothing has been changed yet.
require_healthy() {
  run_check
  if [ "$check_rc" -ne 0 ]; then
    {
      printf '%s: REFUSED: the topology is not healthy (check exit %s, %s), nothing was changed:\n' \
        "$prog" "$check_rc" "$(verdict "$check_rc")"
      if [ -n "$check_reasons" ]; then printf '  - %s\n' "${check_reasons//$'\n'/$'\n'  - }"; fi
      printf '%s: the full report (ops/health.sh):\n' "$prog"
      printf '    %s\n' "${check_out//$'\n'/$'\n'    }"
    } >&2
    exit 2
  fi
  log "health check: healthy"
}

# ---------------------------------------------------------------- manual failover
# failover_and_wait TIMEOUT MAX_LAG: SENTINEL FAILOVER on the first Sentinel that accepts it,
# then wait (each phase bounded by TIMEOUT) until every reachable Sentinel names one new
# master that reports role:master, and every other node of the group (the old master too)
# is its linked replica at most MAX_LAG bytes behind. Sets old_master, new_master and the
# phase timings; on failure returns 1 with failed_phase and why.
old_master="" new_master="" group_nodes=() t_accept="" t_agree="" t_link="" failed_phase=""
failover_via=""
failover_accepted() {
  local s out
  local -a refusals=()
  for s in "${sentinels[@]}"; do
    if out=$(sent "$s" SENTINEL FAILOVER "$master_name"); then
      failover_via=$s
      return 0
    fi
    refusals+=("$s: $(last_error)")
  done
  why="no Sentinel accepted SENTINEL FAILOVER: $(join '; ' "${refusals[@]}")"
  return 1
}
failover_and_wait() {
  local limit=$1 maxlag=$2 a
  local -a others=()
  failed_phase="record the master"
  sentinels_agree || return 1
  old_master=$agreed
  log "master of $master_name: $old_master (named by $agreed_by Sentinels)"
  replicas_known_by_sentinels || return 1
  group_nodes=("$old_master" "${replicas[@]}")
  failed_phase="SENTINEL FAILOVER"
  wait_until "SENTINEL FAILOVER accepted" "$limit" failover_accepted || return 1
  t_accept=$waited
  log "SENTINEL FAILOVER $master_name accepted by $failover_via"
  failed_phase="new master agreed"
  wait_until "all reachable Sentinels naming one new master" "$limit" new_master_agreed "$old_master" || return 1
  t_agree=$waited new_master=$agreed
  log "new master: $new_master (named by $agreed_by Sentinels)"
  for a in "${group_nodes[@]}"; do [ "$a" = "$new_master" ] || others+=("$a"); done
  failed_phase="replicas linked to $new_master"
  wait_until "every other node a linked replica of $new_master (${others[*]})" "$limit" \
    replicas_ok "$new_master" "$maxlag" "${others[@]}" || return 1
  t_link=$waited
}
