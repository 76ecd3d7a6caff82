# shellcheck shell=bash
# shellcheck disable=SC2034 # the globals set here are read by the scripts that source this file
# The base of the bash scripts in scripts/, ops/ and bench/: exit codes, logging, time,
# option parsing and bounded waits. Sourced, never run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"        (from scripts/)
#   . "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/base.sh"   (from ops/, bench/)
#
# Exit codes, the same in every script (CONTRIBUTING.md):
#   0  done
#   1  failed: a step failed or a bounded wait ran out (the message says which)
#   2  refused: the state does not allow going on (the topology is not healthy, a port or
#      directory is busy); nothing was changed
#   3  usage or configuration error (also `redis_sentinel_exporter check`'s usage error)
# stdout carries a script's result only; progress and errors go to stderr.
[ -z "${rse_base_sourced:-}" ] || return 0
rse_base_sourced=1

readonly EX_OK=0 EX_FAILED=1 EX_REFUSED=2 EX_USAGE=3

export LC_ALL=C
rse_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prog=${prog:-$(basename "$0" .sh)}

# ---------------------------------------------------------------- time
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

# ---------------------------------------------------------------- output
# printable TEXT -> $printable: TEXT with its control bytes as '?' (C0 but newline, DEL, C1 as
# UTF-8: the set http/ascii.h ControlLength defines for the C++ side). Messages carry peers'
# text (error replies, names), which must not drive the terminal.
printable=""
printable() {
  printable=${1//[$'\x01'-$'\x09'$'\x0b'-$'\x1f'$'\x7f']/?}
  printable=${printable//$'\xc2'[$'\x80'-$'\x9f']/?}
}
log() {
  printable "$*"
  printf '%s: [%5ss] %s\n' "$prog" "$(since "$start_ms")" "$printable" >&2
}
die() { # code message...
  local code=$1
  shift
  printable "$*"
  printf '%s: error: %s\n' "$prog" "$printable" >&2
  exit "$code"
}
usage_error() { die "$EX_USAGE" "$* (see --help)"; }
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

# ---------------------------------------------------------------- options
# parse_options "$@": every option takes a value (--opt V or --opt=V) but those named in
# $flag_options (space-separated), which take none (their value is 1); -h/--help prints
# script_usage and exits 0. Each option goes to script_option NAME VALUE (defined by the
# script; or to $option_handler), which returns 1 for an option it does not know.
# Positional arguments are refused.
parse_options() {
  local opt val
  while [ $# -gt 0 ]; do
    opt=$1
    case "$opt" in
      -h | --help)
        script_usage
        exit "$EX_OK"
        ;;
      --*=*)
        val=${opt#*=}
        opt=${opt%%=*}
        shift
        ;;
      --*)
        if [[ " ${flag_options:-} " == *" $opt "* ]]; then
          val=1
          shift
          "${option_handler:-script_option}" "$opt" "$val" || usage_error "unknown option $opt"
          continue
        fi
        [ $# -ge 2 ] || usage_error "option $opt needs a value"
        val=$2
        shift 2
        ;;
      *) usage_error "unexpected argument '$opt'" ;;
    esac
    "${option_handler:-script_option}" "$opt" "$val" || usage_error "unknown option $opt"
  done
}
need_uint() { # option value min max: a usage error unless value is an integer in [min, max]
  if ! [[ $2 =~ ^[0-9]{1,12}$ ]] || [ $((10#$2)) -lt "$3" ] || [ $((10#$2)) -gt "$4" ]; then
    usage_error "$1 must be an integer in [$3, $4], got '$2'"
  fi
}

# ---------------------------------------------------------------- waiting
# wait_until DESCRIPTION TIMEOUT_S FUNCTION ARGS...: polls FUNCTION every wait_poll_s until it
# succeeds (0) or TIMEOUT_S passes (1). FUNCTION sets `why` to what is not yet true (logged
# every 5 s and at the end), and may set wait_abort=1 to give up at once. waited is the time
# the wait took, "12.3".
why="" waited="" wait_abort=0 wait_poll_s=${wait_poll_s:-0.2}
wait_until() {
  local what=$1 limit=$2
  shift 2
  update_now
  wait_until_ms "$what" $((now_ms + limit * 1000)) "$@"
}
wait_until_ms() { # DESCRIPTION DEADLINE_MS FUNCTION ARGS...: as wait_until, to an absolute deadline
  local what=$1 deadline=$2 t0 last
  shift 2
  update_now
  t0=$now_ms last=$now_ms wait_abort=0
  while :; do
    why=""
    if "$@"; then
      waited=$(since "$t0")
      log "$what: ok after $waited s"
      return 0
    fi
    update_now
    if [ "$wait_abort" = 1 ] || [ "$now_ms" -ge "$deadline" ]; then
      waited=$(since "$t0")
      log "$what: not reached after $waited s: ${why:-unknown}"
      return 1
    fi
    if [ $((now_ms - last)) -ge 5000 ]; then
      log "still waiting ($(since "$t0") s) for $what: ${why:-?}"
      last=$now_ms
    fi
    sleep "$wait_poll_s"
  done
}

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

# ---------------------------------------------------------------- the exporter binary
# find_exporter [PATH]: sets found_exporter to the redis_sentinel_exporter to run: PATH (an
# --exporter-bin option) if given, else $EXPORTER_BIN, else the one on PATH, else build/ of
# this repository. Returns 1, found_exporter empty, when there is none; a PATH or
# $EXPORTER_BIN that is not an executable file is a usage error.
found_exporter=""
find_exporter() {
  found_exporter=${1:-${EXPORTER_BIN:-}}
  if [ -n "$found_exporter" ]; then
    if [ ! -x "$found_exporter" ] || [ -d "$found_exporter" ]; then
      die "$EX_USAGE" "the exporter binary '$found_exporter' (--exporter-bin or EXPORTER_BIN) is not an executable file"
    fi
    return 0
  fi
  found_exporter=$(command -v redis_sentinel_exporter) && return 0
  found_exporter=$rse_root/build/redis_sentinel_exporter
  [ -x "$found_exporter" ] && return 0
  found_exporter=""
  return 1
}
