#!/usr/bin/env bash
# ctest "deploy: compose redis/sentinel configs": compose/render-configs.sh (the compose stack's
# one-shot config renderer) turns scripts/topology/*.conf.tmpl into
#  1. the compose layout (container names, port 6379/26379, /data): six private files, no @TOKEN@
#     left, the topology the stack promises (master, two replicas of redis-master, three
#     Sentinels monitoring aragora-master with quorum 2, resolve/announce-hostnames, each its own
#     file); a second run keeps files the nodes have rewritten, FORCE_RENDER=1 renders anew; a
#     password Sentinel could not re-read is refused;
#  2. the same layout on 127.0.0.1 (NODE_HOST=localhost, free ports in 20000-32000), started as
#     real redis-server and redis-sentinel processes: Redis accepts every file, the Sentinels find
#     both replicas and each other by name, and (given the exporter binary) a scrape sees all six
#     nodes up. Everything started is stopped on exit.
# Usage: check-rendered-configs.sh [EXPORTER_BINARY]
set -euo pipefail
check_name=check-rendered-configs
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exporter=${1:-}
for t in redis-server redis-cli timeout; do need_tool "$t" redis-server; done
make_tmp
render="$root/compose/render-configs.sh"
password='Compose-pw_1&|\x' # sed-special characters on purpose

run_render() { # OUT_DIR [VAR=value...] ; password only through the environment
  local out=$1
  shift
  env REDIS_PASSWORD="$password" TEMPLATE_DIR="$root/scripts/topology" OUT_DIR="$out" OWNER="" "$@" \
    sh "$render" 2>>"$tmp/render.log"
}
expect_line() { # FILE LINE : the file has exactly this line
  grep -qxF -- "$2" "$1" || fail "${1#"$tmp"/}: no line '$2'"
}
expect_private() { # FILE NAME : the file exists with mode 600
  [ -f "$1" ] || fail "no $2"
  [ "$(stat -c %a "$1")" = 600 ] || fail "$2 has mode $(stat -c %a "$1"), want 600"
}

# ---------------------------------------------------------------- 1. compose layout --------
out="$tmp/compose"
run_render "$out" || fail "render failed: $(cat "$tmp/render.log")"
data=(redis-master redis-replica-1 redis-replica-2)
sentinels=(sentinel-1 sentinel-2 sentinel-3)
pw_conf='"Compose-pw_1&|\\x"'
for n in "${data[@]}"; do
  f="$out/$n/redis.conf"
  expect_private "$f" "$n/redis.conf"
  expect_line "$f" "port 6379"
  expect_line "$f" 'dir "/data"'
  expect_line "$f" 'logfile ""'
  expect_line "$f" "daemonize no"
  expect_line "$f" "requirepass $pw_conf"
  expect_line "$f" "masterauth $pw_conf"
  expect_line "$f" "replica-announce-ip $n"
  if [ "$n" = redis-master ]; then
    grep -q '^replicaof' "$f" && fail "redis-master must not be a replica"
  else
    expect_line "$f" "replicaof redis-master 6379"
  fi
done
inodes=()
for i in 0 1 2; do
  n=${sentinels[i]}
  f="$out/$n/sentinel.conf"
  expect_private "$f" "$n/sentinel.conf"
  expect_line "$f" "port 26379"
  expect_line "$f" "sentinel resolve-hostnames yes"
  expect_line "$f" "sentinel announce-hostnames yes"
  expect_line "$f" "sentinel monitor aragora-master redis-master 6379 2"
  expect_line "$f" "sentinel auth-pass aragora-master $pw_conf"
  expect_line "$f" "sentinel announce-ip $n"
  inodes+=("$(stat -c %i "$f")")
done
[ "$(printf '%s\n' "${inodes[@]}" | sort -u | wc -l)" = 3 ] || fail "the Sentinels do not have three separate files"
if grep -rn '@[A-Z][A-Z_]*@' "$out"; then fail "tokens left unrendered (above)"; fi
log "compose layout: 3 redis.conf + 3 sentinel.conf, mode 600, no token left"

# Nodes rewrite their files; a restart of the stack must not undo that.
echo "# rewritten by Sentinel" >>"$out/sentinel-1/sentinel.conf"
run_render "$out" || fail "second render failed"
grep -q '^# rewritten by Sentinel$' "$out/sentinel-1/sentinel.conf" || fail "a second render overwrote a node's rewritten config"
run_render "$out" FORCE_RENDER=1 || fail "FORCE_RENDER=1 render failed"
grep -q '^# rewritten by Sentinel$' "$out/sentinel-1/sentinel.conf" && fail "FORCE_RENDER=1 kept the old file"
log "existing files kept; FORCE_RENDER=1 renders them again"

if env REDIS_PASSWORD='has space' TEMPLATE_DIR="$root/scripts/topology" OUT_DIR="$tmp/bad" OWNER="" sh "$render" 2>"$tmp/bad.err"; then
  fail "a password with a space was accepted"
fi
if env -u REDIS_PASSWORD TEMPLATE_DIR="$root/scripts/topology" OUT_DIR="$tmp/bad2" OWNER="" sh "$render" 2>"$tmp/bad2.err"; then
  fail "an empty password was accepted"
fi
log "refused: a password with a space ($(cat "$tmp/bad.err")), no password"

# ---------------------------------------------------------------- 2. real processes -------
start_node() { # NAME CONF [--sentinel]
  local name=$1
  shift
  redis-server "$@" </dev/null >"$live/$name/out.log" 2>&1 &
  pids+=("$!")
}
pids=()
# shellcheck disable=SC2016 # expanded at exit: the nodes running then
on_exit 'stop_pids "${pids[@]}"'
# start_live: renders and starts the six nodes on a free range; returns 3 when another process
# took one of its ports in the meantime (the caller tries another range).
start_live() {
  base=$(free_test_ports 6) || fail "no free range of 6 test ports"
  live="$tmp/live-$base"
  run_render "$live" NODE_HOST=localhost NODE_DATA_DIR= BIND="127.0.0.1 -::1" PROTECTED_MODE=yes \
    SENTINEL_DOWN_AFTER_MS=1000 \
    DATA_NODES="m:$base r1:$((base + 1)) r2:$((base + 2))" \
    SENTINEL_NODES="s1:$((base + 3)) s2:$((base + 4)) s3:$((base + 5))" || fail "render failed: $(cat "$tmp/render.log")"
  pids=()
  for n in m r1 r2; do start_node "$n" "$live/$n/redis.conf"; done
  nodes_alive || return 3
  # Sentinels started once both replicas are online learn them from their first INFO of the
  # master, instead of at its next refresh 10 s later.
  local i info=""
  for ((i = 0; i < 200; i++)); do
    info=$(REDISCLI_AUTH=$password timeout 2 redis-cli --no-auth-warning -h 127.0.0.1 -p "$base" INFO replication 2>/dev/null) || true
    [[ $info == *"connected_slaves:2"* ]] && break
    sleep 0.1
  done
  [[ $info == *"connected_slaves:2"* ]] || fail "the replicas did not connect within 20 s: $(tail -n 3 "$live"/r1/out.log)"
  for n in s1 s2 s3; do start_node "$n" "$live/$n/sentinel.conf" --sentinel; done
  nodes_alive || return 3
}
# nodes_alive: false (after stopping them) when a node lost its port to another process.
nodes_alive() {
  local pid
  sleep 0.3
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    if grep -qs "Address already in use" "$live"/*/out.log; then
      stop_pids "${pids[@]}"
      pids=()
      log "a port of $base..$((base + 5)) was taken meanwhile; trying another range"
      return 1
    fi
    fail "a node exited: $(tail -n 3 "$live"/*/out.log)"
  done
}
started=0
for _ in 1 2 3; do
  rc=0
  start_live || rc=$?
  if [ "$rc" -eq 0 ]; then
    started=1
    break
  fi
done
[ "$started" = 1 ] || fail "ports kept being taken; gave up after 3 ranges"

field() { # TEXT KEY : value after a key line in redis-cli raw output
  awk -v k="$2" 'p { print; exit } $0 == k { p = 1 }' <<<"$1"
}
state=""
for ((i = 0; i < 300; i++)); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || fail "a node exited: $(tail -n 3 "$live"/*/out.log)"
  done
  if out=$(timeout 2 redis-cli -h 127.0.0.1 -p $((base + 3)) SENTINEL MASTER aragora-master 2>/dev/null); then
    state="flags=$(field "$out" flags) num-slaves=$(field "$out" num-slaves) num-other-sentinels=$(field "$out" num-other-sentinels)"
    [ "$state" = "flags=master num-slaves=2 num-other-sentinels=2" ] && break
  fi
  sleep 0.1
done
[ "$state" = "flags=master num-slaves=2 num-other-sentinels=2" ] ||
  fail "Sentinel did not see the topology within 30 s: ${state:-no answer}; logs: $(tail -n 3 "$live"/s1/out.log)"
replicas=$(timeout 2 redis-cli -h 127.0.0.1 -p $((base + 3)) SENTINEL REPLICAS aragora-master |
  awk 'p { print; p = 0 } $0 == "name" { p = 1 }' | sort | tr '\n' ' ')
[ "$replicas" = "localhost:$((base + 1)) localhost:$((base + 2)) " ] ||
  fail "replicas not announced by name: $replicas"
log "live: Redis and Sentinel accept the rendered files; $state; replicas $replicas"

if [ -n "$exporter" ]; then
  [ -x "$exporter" ] || fail "$exporter is not executable"
  env -u REDIS_SENTINEL_HOSTS -u REDIS_SENTINEL_MASTER REDIS_PASSWORD="$password" \
    "$exporter" --web.listen-address="127.0.0.1:$(free_test_port)" --sentinel.addr="localhost:$((base + 3))" \
    --sentinel.master-name=aragora-master >"$tmp/exporter.log" 2>&1 &
  epid=$!
  on_exit "stop_pid $epid"
  eport=$(wait_listening "$tmp/exporter.log" 10) || fail "exporter did not start: $(cat "$tmp/exporter.log")"
  scrape_until_up "$eport"
  log "live: exporter scrape: 3 Sentinels and 3 data nodes up"
fi
log "ok"
