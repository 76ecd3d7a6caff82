# shellcheck shell=bash
# shellcheck disable=SC2034 # globals set here are read by the scripts that source this file
# shellcheck disable=SC2016 # $g, $m and $a in single quotes are jq's variables
# Shared code of the operations scripts in ops/ (sourced, not run), on top of the repository's
# bash base (scripts/lib/base.sh: exit codes, logging, time, options, waits). It holds the
# configuration (the exporter's variables), redis-cli wrappers for the actions, the state
# the scripts wait on, the pluggable node actions and the health gate.
#
# What the topology is (the agreed master, each replica's link and lag, healthy or not) is
# never derived here: it is read with jq from `redis_sentinel_exporter check --output json`
# (docs/check-json.md), the exporter's one definition. Bash keeps the actions.
#
# Conventions of every script that sources it:
#   stdout  the final report (and nothing else); stderr  progress and errors.
#   exit    0 done, 1 failed or a step timed out, 2 refused (the topology was not
#           healthy, nothing was changed), 3 usage or configuration error.
# Waits are bounded polls of real state (every 0.2 s), never fixed sleeps.
# The data nodes' password reaches redis-cli only through REDISCLI_AUTH in that
# one child's environment and `check` only through REDIS_PASSWORD in its own;
# it is never an argument. Sentinels are sent no AUTH.

# shellcheck source=../scripts/lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/base.sh"
ops_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root=$rse_root

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
  --check.max-lag-bytes N     a replica whose lag is above N bytes is degraded (check) and not
                              yet caught up (the waits). Lag is the master's view: its
                              master_repl_offset minus the offset the replica last acknowledged
                              (the exporter's definition; default 1048576)
  --cli-timeout S             bound of each redis-cli call and of `check` (default 3)
  --exporter-bin PATH         redis_sentinel_exporter for the health checks. Default:
                              $EXPORTER_BIN, else PATH, else build/ of this repository
  -h, --help                  this help
EOF
}

sentinel_addrs=() master_name="" password="" password_file="" redis_user=""
cli_timeout=3 exporter_bin="" max_lag_bytes=1048576

# ops_parse "$@": the common options here, the rest by script_option NAME VALUE (defined by
# each script; returns 1 for an unknown option). Then ops_configure.
ops_option() {
  case "$1" in
    --sentinel.addr)
      local -a parts=()
      IFS=', ' read -r -a parts <<<"$2"
      sentinel_addrs+=("${parts[@]}")
      ;;
    --sentinel.master-name) master_name=$2 ;;
    --redis.password-file) password_file=$2 ;;
    --redis.user) redis_user=$2 ;;
    --cli-timeout) need_uint "$1" "$2" 1 3600 && cli_timeout=$((10#$2)) ;;
    --check.max-lag-bytes) need_uint "$1" "$2" 0 999999999999 && max_lag_bytes=$((10#$2)) ;;
    --exporter-bin) exporter_bin=$2 ;;
    *) script_option "$1" "$2" ;;
  esac
}
ops_parse() {
  option_handler=ops_option parse_options "$@"
  ops_configure
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
  command -v jq >/dev/null || die 3 "jq not found on PATH (Debian: apt-get install jq)"
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

# ---------------------------------------------------------------- the topology (check JSON)
# run_check: one `check --output json` of the group through ops/health.sh (which finds the
# binary), with --check.max-lag-bytes -> check_rc (0 healthy, 1 degraded, 2 critical),
# check_json, check_reasons (one per line: the critical ones, then the degraded ones).
check_rc=0 check_json="" check_reasons=""
run_check() {
  local a err
  local -a args=(--output=json "--redis.timeout=${cli_timeout}s" "--sentinel.master-name=$master_name"
    "--check.max-lag-bytes=$max_lag_bytes")
  for a in "${sentinel_addrs[@]}"; do args+=("--sentinel.addr=$a"); done
  [ -z "$redis_user" ] || args+=("--redis.user=$redis_user")
  [ -z "$exporter_bin" ] || args+=("--exporter-bin=$exporter_bin")
  check_rc=0
  # The password in the environment of this one child (check reads REDIS_PASSWORD), never argv.
  if [ -n "$password" ]; then
    check_json=$(REDIS_PASSWORD=$password REDIS_PASSWORD_FILE='' timeout -k 1 $((cli_timeout + 5)) \
      bash "$ops_dir/health.sh" "${args[@]}" 2>"$ops_tmp/check.err") || check_rc=$?
  else
    check_json=$(REDIS_PASSWORD_FILE='' timeout -k 1 $((cli_timeout + 5)) \
      bash "$ops_dir/health.sh" "${args[@]}" 2>"$ops_tmp/check.err") || check_rc=$?
  fi
  err=$(<"$ops_tmp/check.err")
  case "$check_rc" in
    0 | 1 | 2) ;;
    124 | 137)
      check_rc=2 check_json=""
      check_reasons="the health check did not finish within $((cli_timeout + 5)) s"
      return 0
      ;;
    *) die 3 "the health check could not run (exit $check_rc): $err" ;;
  esac
  jq -e '.schema == 1' >/dev/null 2>&1 <<<"$check_json" ||
    die 3 "the health check did not print check JSON schema 1 (docs/check-json.md): ${check_json:0:200} $err"
  check_reasons=$(jq -r '.critical[], .degraded[]' <<<"$check_json")
}
reasons_line() { tr '\n' ';' <<<"$check_reasons" | sed 's/;$//; s/;/; /g'; }

# group [JQ ARGS...] QUERY: jq QUERY (raw output) over this master group of the last run_check,
# bound to $g; prints nothing and fails when check does not report the group (or the result
# is null or false: jq -e).
group() {
  local query=${!#}
  jq -er --arg m "$master_name" "${@:1:$#-1}" "(.groups[] | select(.master_name == \$m)) as \$g | $query" \
    <<<"$check_json"
}
have_group() {
  [ -n "$check_json" ] && group '$g.monitored' >/dev/null && return 0
  if [ -n "$check_json" ] && jq -e 'any(.sentinels[]; .up)' >/dev/null <<<"$check_json"; then
    why="no answering Sentinel monitors a master named '$master_name'"
  else
    why=$(reasons_line)
  fi
  return 1
}

sentinels=() # every Sentinel of the group as check found it (given and discovered peers)
discover_sentinels() {
  run_check
  have_group || die 2 "REFUSED: $why"
  mapfile -t sentinels < <(jq -r '.sentinels[].sentinel' <<<"$check_json")
  log "Sentinels of $master_name: ${sentinels[*]}"
}

# sentinels_agree: check's agreed master, named by every answering Sentinel -> agreed, agreed_by
agreed="" agreed_by=""
sentinels_agree() {
  local agree votes up addrs
  agreed=""
  run_check
  have_group || return 1
  IFS=$'\t' read -r agree votes up addrs < <(group '[$g.sentinels_agree, $g.master_votes, $g.sentinels_up,
    ($g.sentinels | map("\(.sentinel) names \(.names // "none")") | join("; "))] | @tsv')
  if [ "$agree" != true ]; then
    why="the Sentinels disagree: $addrs"
    return 1
  fi
  agreed=$(group '$g.master') agreed_by="$votes of $up"
}

# read_replicas: replicas = the data nodes of the group other than the agreed master, as the
# last run_check found them
replicas=()
read_replicas() {
  mapfile -t replicas < <(group '$g.master as $m | $g.nodes[] | select(.addr != $m) | .addr')
}

is_master() { # addr: check sees it up with role:master
  local up="" role cause
  IFS=$'\t' read -r up role cause < <(group --arg a "$1" \
    '$g.nodes[] | select(.addr == $a) | [.up, .role // "unknown", .cause // "-"] | @tsv' 2>/dev/null) || true
  case "$up:$role" in
    true:master) return 0 ;;
    :*) why="$1 is not a node of $master_name" ;;
    false:*) why="$1 does not answer ($cause)" ;;
    *) why="$1 reports role $role, not master" ;;
  esac
  return 1
}

# new_master_agreed OLD: all answering Sentinels name one master other than OLD, and it
# reports role:master -> agreed
new_master_agreed() {
  sentinels_agree || return 1
  if [ "$agreed" = "$1" ]; then
    why="the Sentinels still name $1 ($agreed_by)"
    return 1
  fi
  is_master "$agreed"
}

# replica_ok ADDR MASTER [MAX_LAG]: MASTER is the agreed master and ADDR its replica with the
# link up and (given MAX_LAG) a lag of at most MAX_LAG bytes, all as check sees it (a fresh
# check unless the caller just ran one: replicas_ok).
replica_ok() {
  local addr=$1 master=$2 max=${3:-} fresh=${4:-1} st up role follows link lag cause
  if [ "$fresh" = 1 ]; then
    run_check
    have_group || return 1
  fi
  if [ "$(group '$g.master // ""')" != "$master" ]; then
    why="the Sentinels name $(group '$g.master // "no master"'), not $master"
    return 1
  fi
  st=$(group --arg a "$addr" '$g.nodes[] | select(.addr == $a) |
    [.up, .role // "-", .follows // "-", .link_up // "-", .lag_bytes // "-", .cause // "-"] | @tsv' 2>/dev/null) || {
    why="$addr is not a node of $master_name"
    return 1
  }
  IFS=$'\t' read -r up role follows link lag cause <<<"$st"
  if [ "$up" != true ]; then
    why="$addr does not answer ($cause)"
  elif [ "$role" != replica ]; then
    why="$addr reports role $role, not replica"
  elif [ "$follows" != "$master" ]; then
    why="$addr follows $follows, not $master"
  elif [ "$link" != true ]; then
    why="$addr: its link to $master is down"
  elif [ "$lag" = - ]; then
    why="$master does not list $addr as a replica yet"
  elif [ -n "$max" ] && [ "$lag" -gt "$max" ]; then
    why="$addr lags $lag bytes behind $master (bound $max)"
  else
    return 0
  fi
  return 1
}

replicas_ok() { # master max_lag addr... : every addr is replica_ok in one check
  local master=$1 max=$2 a
  shift 2
  run_check
  have_group || return 1
  for a in "$@"; do
    replica_ok "$a" "$master" "$max" 0 || return 1
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

# ---------------------------------------------------------------- health gate
verdict() { # check exit -> word
  case "$1" in 0) echo healthy ;; 1) echo degraded ;; 2) echo critical ;; *) echo "unknown ($1)" ;; esac
}
healthy() { # for wait_until
  run_check
  [ "$check_rc" -eq 0 ] && return 0
  why="check says $(verdict "$check_rc"): $(reasons_line)"
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
      printf '%s: the full report: ops/health.sh (same flags)\n' "$prog"
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
  read_replicas || return 1
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
