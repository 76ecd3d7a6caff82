#!/bin/sh
# Renders the Redis and Sentinel configs of the docker-compose stack from the same templates
# scripts/topology.sh uses (scripts/topology/redis.conf.tmpl and sentinel.conf.tmpl), one private,
# writable file per node: OUT_DIR/NAME/redis.conf for a data node, OUT_DIR/NAME/sentinel.conf
# for a Sentinel. Runs once as the one-shot service `redis-config` before any node starts
# (POSIX sh: it runs in the redis:7 image); deploy/check-rendered-configs.sh runs it in CI.
#
# A node's file is rendered only while it does not exist: Redis rewrites it (CONFIG REWRITE
# after a failover) and Sentinel rewrites its own (myid, epochs, the replicas and peers it
# learnt), and rendering again would undo a failover and give each Sentinel a new identity.
# FORCE_RENDER=1 renders every file again (or: docker compose down -v).
#
# Environment (defaults are the compose stack's):
#   REDIS_PASSWORD       data nodes' password (required; empty: no authentication at all is
#                        NOT allowed here, set ALLOW_NO_PASSWORD=1 for that)
#   DATA_NODES           "name:port ...", first one the initial master
#                        (redis-master:6379 redis-replica-1:6379 redis-replica-2:6379)
#   SENTINEL_NODES       "name:port ..." (sentinel-1:26379 sentinel-2:26379 sentinel-3:26379)
#   NODE_HOST            host every node is reached at; default: the node's own name, which
#                        is its container name in compose (CI sets localhost)
#   REDIS_MASTER_NAME    aragora-master        SENTINEL_QUORUM               2
#   SENTINEL_DOWN_AFTER_MS 5000                SENTINEL_FAILOVER_TIMEOUT_MS  60000
#   SENTINEL_PARALLEL_SYNCS 1
#   BIND                 "* -::*"              PROTECTED_MODE                no
#   TEMPLATE_DIR         /templates            OUT_DIR                       /nodes
#   NODE_DATA_DIR        the node's working dir as the node sees it: /data (compose mounts
#                        each node's volume there); CI sets "" to use OUT_DIR/NAME itself
#   FORCE_RENDER         1: overwrite existing files
#   OWNER                user:group for the files (default redis:redis when that user exists)
# The password never appears in an argument list: sed reads its program from a private file
# written by printf (a shell builtin), and it is escaped through a pipe.
set -eu
export LC_ALL=C
umask 077

die() { # a configuration error: exit 3, as in every script (CONTRIBUTING.md)
  printf 'render-configs: error: %s\n' "$*" >&2
  exit 3
}
log() { printf 'render-configs: %s\n' "$*" >&2; }

template_dir=${TEMPLATE_DIR:-/templates}
out_dir=${OUT_DIR:-/nodes}
data_nodes=${DATA_NODES:-redis-master:6379 redis-replica-1:6379 redis-replica-2:6379}
sentinel_nodes=${SENTINEL_NODES:-sentinel-1:26379 sentinel-2:26379 sentinel-3:26379}
node_host=${NODE_HOST:-}
master_name=${REDIS_MASTER_NAME:-aragora-master}
quorum=${SENTINEL_QUORUM:-2}
down_after_ms=${SENTINEL_DOWN_AFTER_MS:-5000}
failover_timeout_ms=${SENTINEL_FAILOVER_TIMEOUT_MS:-60000}
parallel_syncs=${SENTINEL_PARALLEL_SYNCS:-1}
bind=${BIND:-* -::*}
protected_mode=${PROTECTED_MODE:-no}
force=${FORCE_RENDER:-0}
password=${REDIS_PASSWORD:-}
# Keep the password out of every child's environment.
unset REDIS_PASSWORD

redis_tmpl=$template_dir/redis.conf.tmpl
sentinel_tmpl=$template_dir/sentinel.conf.tmpl
[ -r "$redis_tmpl" ] || die "cannot read $redis_tmpl"
[ -r "$sentinel_tmpl" ] || die "cannot read $sentinel_tmpl"

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }
for v in "$quorum" "$down_after_ms" "$failover_timeout_ms" "$parallel_syncs"; do
  is_uint "$v" || die "SENTINEL_* values must be integers, got '$v'"
done
case $master_name in
  '' | -* | *[!A-Za-z0-9._-]*) die "REDIS_MASTER_NAME may only contain letters, digits, '.', '_' and '-'" ;;
esac
case $protected_mode in yes | no) ;; *) die "PROTECTED_MODE must be yes or no" ;; esac

# Same rule as scripts/topology.sh: Redis 7.0 Sentinel rewrites "sentinel auth-pass" unquoted
# and then cannot read its own config if the password has whitespace or quotes.
if_auth="# "
if [ -n "$password" ]; then
  case $password in
    *[!!-~]* | *\"* | *\'*) die "REDIS_PASSWORD may only contain printable ASCII characters without whitespace or quotes" ;;
  esac
  if_auth=""
elif [ "${ALLOW_NO_PASSWORD:-0}" != 1 ]; then
  die "REDIS_PASSWORD is empty: set it in compose/.env (see compose/.env.example)"
fi

if [ -z "${OWNER+x}" ]; then
  OWNER=""
  if id redis >/dev/null 2>&1; then OWNER=redis:redis; fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sed replacement text: escape \ & and the | delimiter. Input on stdin (no argv).
sed_escape() { sed -e 's/[\\&|]/\\&/g'; }

# The password as a double-quoted Redis config string (backslash and double quote escaped;
# the check above already rejects quotes), then escaped for sed; kept in a private file.
printf '%s' "$password" | sed -e 's/[\\"]/\\&/g' | sed_escape >"$work/password.sed"

# render TEMPLATE OUT KEY=VALUE... : every @KEY@ replaced, the password last (so that a token
# inside it is never substituted). Fails if an @UPPER_CASE@ token is left.
render() {
  in=$1 out=$2
  shift 2
  : >"$work/prog.sed"
  for kv in "$@"; do
    key=${kv%%=*}
    value=$(printf '%s' "${kv#*=}" | sed_escape)
    printf 's|@%s@|%s|g\n' "$key" "$value" >>"$work/prog.sed"
  done
  {
    printf 's|@REDIS_PASSWORD@|'
    cat "$work/password.sed"
    printf '|g\n'
  } >>"$work/prog.sed"
  sed -f "$work/prog.sed" "$in" >"$out.tmp"
  if grep -n '@[A-Z][A-Z_]*@' "$out.tmp" >&2; then
    rm -f "$out.tmp"
    die "$in: tokens left unrendered in $out (shown above)"
  fi
}

# finish OUT: move the rendered file into place, private and owned by the node's user.
finish() {
  mv -f "$1.tmp" "$1"
  chmod 600 "$1"
  if [ -n "$OWNER" ]; then chown "$OWNER" "$1" "$(dirname "$1")"; fi
  log "wrote $1"
}

# keep OUT: true (and counted) when OUT exists and is not to be rendered again.
keep() {
  if [ -f "$1" ] && [ "$force" != 1 ]; then
    log "kept $1 (FORCE_RENDER=1 renders it again)"
    kept=$((kept + 1))
    return 0
  fi
  return 1
}

host_of() { if [ -n "$node_host" ]; then printf '%s' "$node_host"; else printf '%s' "$1"; fi; }
node_dir() { # NAME -> the node's directory as the node itself sees it
  if [ -n "${NODE_DATA_DIR-/data}" ]; then printf '%s' "${NODE_DATA_DIR-/data}"; else printf '%s' "$out_dir/$1"; fi
}

master_host="" master_port=""
for node in $data_nodes; do
  name=${node%:*} port=${node##*:}
  is_uint "$port" || die "DATA_NODES entry '$node' is not name:port"
  if [ -z "$master_host" ]; then
    master_host=$(host_of "$name") master_port=$port
  fi
done
[ -n "$master_host" ] || die "DATA_NODES is empty"

rendered=0 kept=0
first=1
for node in $data_nodes; do
  name=${node%:*} port=${node##*:}
  mkdir -p "$out_dir/$name"
  conf=$out_dir/$name/redis.conf
  if_replica=""
  if [ "$first" = 1 ]; then if_replica="# "; fi
  first=0
  if keep "$conf"; then continue; fi
  dir=$(node_dir "$name")
  render "$redis_tmpl" "$conf" PORT="$port" BIND="$bind" PROTECTED_MODE="$protected_mode" \
    DAEMONIZE=no PIDFILE="$dir/redis.pid" LOGFILE="" DIR="$dir" IF_REPLICA="$if_replica" \
    MASTER_HOST="$master_host" MASTER_PORT="$master_port" IF_AUTH="$if_auth"
  # Containers change addresses when they restart: replicas announce their name, so the
  # master lists them (and Sentinel records them) by a name that survives a restart.
  printf '\n# docker-compose: announce the node by name, not by its container address.\nreplica-announce-ip %s\nreplica-announce-port %s\n' \
    "$(host_of "$name")" "$port" >>"$conf.tmp"
  finish "$conf"
  rendered=$((rendered + 1))
done

for node in $sentinel_nodes; do
  name=${node%:*} port=${node##*:}
  is_uint "$port" || die "SENTINEL_NODES entry '$node' is not name:port"
  mkdir -p "$out_dir/$name"
  conf=$out_dir/$name/sentinel.conf
  if keep "$conf"; then continue; fi
  dir=$(node_dir "$name")
  # One group: the whole template (its GROUP BEGIN/END block included) in one pass.
  render "$sentinel_tmpl" "$conf" PORT="$port" BIND="$bind" PROTECTED_MODE="$protected_mode" \
    DAEMONIZE=no PIDFILE="$dir/sentinel.pid" LOGFILE="" DIR="$dir" \
    RESOLVE_HOSTNAMES=yes ANNOUNCE_HOSTNAMES=yes \
    MASTER_NAME="$master_name" MASTER_HOST="$master_host" MASTER_PORT="$master_port" \
    QUORUM="$quorum" DOWN_AFTER_MS="$down_after_ms" FAILOVER_TIMEOUT_MS="$failover_timeout_ms" \
    PARALLEL_SYNCS="$parallel_syncs" IF_AUTH="$if_auth"
  printf '\n# docker-compose: announce this Sentinel by name, not by its container address.\nsentinel announce-ip %s\nsentinel announce-port %s\n' \
    "$(host_of "$name")" "$port" >>"$conf.tmp"
  finish "$conf"
  rendered=$((rendered + 1))
done
log "$rendered file(s) rendered, $kept kept; master name $master_name, quorum $quorum, auth $([ -n "$if_auth" ] && echo off || echo on)"
