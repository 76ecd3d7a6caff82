#!/usr/bin/env bash
# Backup of one Sentinel master group: BGSAVE on the master the Sentinels agree on (or on a
# chosen replica), wait until that save really finished, fetch an RDB over the network with
# `redis-cli --rdb`, verify it with redis-check-rdb, name it after the master and the time,
# and keep the last N.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

backup_dir=${OPS_BACKUP_DIR:-} keep=7 from=master save_timeout=600 fetch_timeout=600

script_usage() {
  cat <<'EOF'
Usage: backup.sh --dir DIR [OPTIONS]

Backs up one Sentinel master group:
  1. takes the master `check` agrees on (every answering Sentinel must name it, else it
     refuses);
  2. picks the node to save: the master, a linked replica, or the one given by --from;
  3. BGSAVE (SCHEDULE) there, after any save in progress finished and once the server's
     clock (TIME) is past its LASTSAVE; waits until rdb_bgsave_in_progress:0,
     rdb_last_bgsave_status:ok and LASTSAVE advanced past its value before [--save-timeout];
  4. fetches a snapshot over the network (redis-cli --rdb, a replication SYNC of that node:
     no shell or file access on the server needed) [--fetch-timeout];
  5. verifies it with redis-check-rdb and names it DIR/MASTERNAME-YYYYMMDDTHHMMSSZ.rdb (UTC,
     mode 600);
  6. deletes the oldest MASTERNAME-*.rdb files in DIR beyond the last --keep.
The report (file, node, size, keys) goes to stdout, progress to stderr.

Options:
  --dir DIR             where backups go (created if missing). Default: $OPS_BACKUP_DIR
  --keep N              keep the last N backups of this master name (default 7)
  --from NODE           master (default), replica (the first linked one), or HOST:PORT of a
                        node of the group
  --save-timeout S      bound of the wait for a save in progress and for BGSAVE (default 600)
  --fetch-timeout S     bound of the network transfer (default 600)
EOF
  common_usage
  cat <<'EOF'

Exit status: 0 done, 1 a step failed or timed out (the message says which), 2 refused (no
master agreed by the Sentinels, or the chosen node is not usable), 3 usage or configuration
error. A failed backup never replaces or deletes an existing one.

Example:
  REDIS_SENTINEL_HOSTS=127.0.0.1:17003 REDIS_SENTINEL_MASTER=aragora-master \
  REDIS_PASSWORD_FILE=./password ops/backup.sh --dir /var/backups/redis --keep 14
EOF
}
script_option() {
  case "$1" in
    --dir) backup_dir=$2 ;;
    --keep) need_uint "$1" "$2" 1 100000 && keep=$((10#$2)) ;;
    --from) from=$2 ;;
    --save-timeout) need_uint "$1" "$2" 1 86400 && save_timeout=$((10#$2)) ;;
    --fetch-timeout) need_uint "$1" "$2" 1 86400 && fetch_timeout=$((10#$2)) ;;
    *) return 1 ;;
  esac
}
ops_parse "$@"
[ -n "$backup_dir" ] || usage_error "no backup directory: give --dir DIR or set OPS_BACKUP_DIR"
case "$from" in
  master | replica) ;;
  *) [[ $from =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$ ]] ||
    usage_error "--from must be master, replica or HOST:PORT, got '$from'" ;;
esac
[[ $master_name =~ ^[A-Za-z0-9._-]+$ ]] ||
  die 3 "the master name '$master_name' would not make a safe file name (letters, digits, . _ - only)"
command -v redis-check-rdb >/dev/null || die 3 "redis-check-rdb not found on PATH (Debian: apt-get install redis-tools)"
umask 077
mkdir -p -- "$backup_dir" || die 3 "cannot create the backup directory '$backup_dir'"
[ -w "$backup_dir" ] || die 3 "the backup directory '$backup_dir' is not writable"
backup_dir=$(cd -- "$backup_dir" && pwd -P)

partial=""
script_cleanup() { [ -z "$partial" ] || rm -f -- "$partial"; }
fail() { die 1 "FAILED at '$1': $2"; }

# ---------------------------------------------------------------- which node
sentinels_agree || die 2 "REFUSED: $why"
master=$agreed
log "master of $master_name: $master (named by $agreed_by Sentinels)"
read_replicas || die 2 "REFUSED: $why"
case "$from" in
  master)
    node=$master role=master
    is_master "$node" || die 2 "REFUSED: $why"
    ;;
  replica)
    node=""
    for r in "${replicas[@]}"; do
      if replica_ok "$r" "$master"; then
        node=$r
        break
      fi
      log "replica $r not usable: $why"
    done
    [ -n "$node" ] || die 2 "REFUSED: no replica of $master_name is linked to $master"
    role=replica
    ;;
  *)
    node=$from
    if [ "$node" = "$master" ]; then
      role=master
    else
      case " ${replicas[*]} " in
        *" $node "*) ;;
        *) die 3 "--from $node is not a node of $master_name (master $master, replicas ${replicas[*]:-none})" ;;
      esac
      replica_ok "$node" "$master" || die 2 "REFUSED: --from $node: $why"
      role=replica
    fi
    ;;
esac
log "saving on the $role $node"

# ---------------------------------------------------------------- BGSAVE
declare -A pers=()
persistence() { # -> pers[] from INFO persistence of the node
  local out
  if ! out=$(data "$node" INFO persistence); then
    why="$node does not answer: $(last_error)"
    return 1
  fi
  parse_info "$out"
  pers=()
  local k
  for k in "${!kv[@]}"; do pers[$k]=${kv[$k]}; done
}
no_save_running() {
  persistence || return 1
  [ "${pers[rdb_bgsave_in_progress]:-}" = 0 ] || {
    why="$node: a save is in progress (rdb_bgsave_in_progress:${pers[rdb_bgsave_in_progress]:-?})"
    return 1
  }
}
lastsave() { data "$node" LASTSAVE; }
clock_past() { # the server's clock (TIME, seconds) is past $1, so a new save gets a later LASTSAVE
  local out s
  out=$(data "$node" TIME) || {
    why="$node: TIME: $(last_error)"
    return 1
  }
  read -r s <<<"$out"
  [ "${s:-0}" -gt "$1" ] || {
    why="$node: server time $s not yet past LASTSAVE $1"
    return 1
  }
}
status_before=""
save_done() {
  local ls
  persistence || return 1
  ls=$(lastsave) || {
    why="$node: LASTSAVE: $(last_error)"
    return 1
  }
  if [ "${pers[rdb_bgsave_in_progress]:-}" != 0 ]; then
    why="$node: rdb_bgsave_in_progress:${pers[rdb_bgsave_in_progress]:-?} (for ${pers[rdb_current_bgsave_time_sec]:-?} s)"
    return 1
  fi
  if [ "$ls" -le "$lastsave_before" ]; then
    if [ "${pers[rdb_last_bgsave_status]:-}" = err ] && [ "$status_before" = ok ]; then
      fail "BGSAVE" "$node: the save failed (rdb_last_bgsave_status:err; see the server's log)"
    fi
    why="$node: LASTSAVE $ls not yet past $lastsave_before (rdb_last_bgsave_status:${pers[rdb_last_bgsave_status]:-?})"
    return 1
  fi
  if [ "${pers[rdb_last_bgsave_status]:-}" != ok ]; then
    fail "BGSAVE" "$node: LASTSAVE advanced but rdb_last_bgsave_status:${pers[rdb_last_bgsave_status]:-?}"
  fi
}

wait_until "no save in progress on $node" "$save_timeout" no_save_running || fail "BGSAVE" "$why"
lastsave_before=$(lastsave) || fail "BGSAVE" "$node: LASTSAVE: $(last_error)"
status_before=${pers[rdb_last_bgsave_status]:-}
wait_until "server clock past LASTSAVE $lastsave_before" 5 clock_past "$lastsave_before" || fail "BGSAVE" "$why"
update_now
t_save=$now_ms
reply=$(data "$node" BGSAVE SCHEDULE) || fail "BGSAVE" "$node: $(last_error)"
log "BGSAVE on $node: $reply"
wait_until "the save on $node finished (LASTSAVE past $lastsave_before, status ok)" "$save_timeout" save_done ||
  fail "BGSAVE" "$why"
t_saved=$(since "$t_save")

# ---------------------------------------------------------------- fetch and verify
stamp="" final=""
name_free() { # a file name from this second that no backup has yet
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  final="$backup_dir/$master_name-$stamp.rdb"
  [ ! -e "$final" ] || {
    why="$final already exists"
    return 1
  }
}
wait_until "a free file name" 3 name_free || fail "name the backup" "$why"
partial="$backup_dir/.$master_name-$stamp.rdb.partial.$$"
update_now
t_fetch=$now_ms
rc=0
rcli_timeout=$fetch_timeout data "$node" --rdb "$partial" >/dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
  msg=$(grep -v '^sending \|^SYNC sent' "$ops_tmp/cli.err" | tail -n 1 || true)
  fail "fetch" "redis-cli --rdb from $node exited $rc: ${msg:-no message}"
fi
[ -s "$partial" ] || fail "fetch" "redis-cli --rdb from $node wrote an empty file"
t_fetched=$(since "$t_fetch")
size=$(stat -c %s -- "$partial")
if ! verify=$(redis-check-rdb "$partial" 2>&1); then
  fail "verify" "redis-check-rdb rejects the file fetched from $node: $(grep -m1 -A1 'RDB ERROR' <<<"$verify" | tail -n 1)"
fi
grep -q 'RDB looks OK' <<<"$verify" || fail "verify" "redis-check-rdb did not say 'RDB looks OK': $(tail -n 3 <<<"$verify")"
keys=$(sed -n 's/^\[info\] \([0-9]*\) keys read$/\1/p' <<<"$verify")
chmod 600 -- "$partial"
mv -n -- "$partial" "$final"
[ ! -e "$partial" ] || fail "name the backup" "$final appeared meanwhile; the fetched file was not kept"
partial=""
log "verified (redis-check-rdb: RDB looks OK, ${keys:-?} keys) and saved as $final"

# ---------------------------------------------------------------- retention
all=()
shopt -s nullglob
for f in "$backup_dir/$master_name"-*.rdb; do
  f=${f##*/}
  [[ ${f#"$master_name"-} =~ ^[0-9]{8}T[0-9]{6}Z\.rdb$ ]] && all+=("$f") # ours only
done
shopt -u nullglob
removed=()
if [ "${#all[@]}" -gt "$keep" ]; then
  for f in "${all[@]:0:${#all[@]}-keep}"; do
    rm -f -- "${backup_dir:?}/$f"
    removed+=("$f")
  done
  log "retention: kept the last $keep, removed ${removed[*]}"
fi

cat <<EOF
backup of $master_name: done
  file                    $final
  saved on                $node ($role)
  size                    $size bytes, ${keys:-?} keys (redis-check-rdb: RDB looks OK)
  BGSAVE finished         $t_saved s after it started (LASTSAVE $lastsave_before -> $(lastsave || echo '?'))
  fetched                 in $t_fetched s (redis-cli --rdb)
  kept                    $((${#all[@]} - ${#removed[@]})) backup(s) of $master_name in $backup_dir (--keep $keep)
  total                   $(since "$start_ms") s
EOF
