#!/usr/bin/env bash
# Writes fuzz/seeds/<target>/ from the replies recorded from real Redis 7 (tests/fixtures).
# Run it again after re-recording the fixtures (scripts/record-fixtures.sh); the seeds are
# kept in the tree so that a fuzz run needs nothing but the sources.
#
#   fuzz/make-seeds.sh [--out DIR]     (default: fuzz/seeds)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fx="$root/tests/fixtures"
out="$root/fuzz/seeds"
if [ "${1:-}" = "--out" ]; then out="$2"; fi

for t in resp_reader info sentinel_reply ckquorum address pipeline; do
  rm -rf -- "${out:?}/$t"
  mkdir -p -- "$out/$t"
done

f() { cat -- "$fx/$1.resp"; }
# The payload of a bulk-string fixture ("$N\r\n<N bytes>\r\n").
payload() {
  local first n
  first=$(head -n1 -- "$fx/$1.resp" | tr -d '\r')
  n=${first#\$}
  tail -c +$((${#first} + 3)) -- "$fx/$1.resp" | head -c "$n"
}
# A SENTINEL MYID reply other than the recorded one (peers have their own ids).
myid() { printf '%s40\r\n%040d\r\n' '$' "$1"; }

# resp_reader: a chunking seed byte, then the stream.
i=0
for file in "$fx"/*.resp; do
  name=$(basename "$file" .resp)
  # shellcheck disable=SC2059  # the format is the one byte to write, as \xHH
  { printf "\\x$(printf %02x $((i * 7 % 64)))"; cat -- "$file"; } >"$out/resp_reader/$name"
  i=$((i + 1))
done
{ printf '\x00'; cat -- "$fx"/*.resp; } >"$out/resp_reader/all-one-byte-chunks"
{ printf '\x3f'; cat -- "$fx"/*.resp; } >"$out/resp_reader/all-chunked"

# info: INFO payloads.
for name in info-master info-replica info-replication-master info-replication-replica info-sentinel; do
  payload "$name" >"$out/info/$name"
done

# sentinel_reply: SENTINEL MASTER(S) / REPLICAS / SENTINELS replies and errors.
for name in sentinel-master sentinel-masters sentinel-replicas sentinel-sentinels sentinel-sentinels-2-stopped \
  sentinel-master-unknown sentinel-on-data-node sentinel-myid; do
  cp -- "$fx/$name.resp" "$out/sentinel_reply/$name"
done

# ckquorum
for name in sentinel-ckquorum-ok sentinel-ckquorum-noquorum sentinel-ckquorum-unknown; do
  cp -- "$fx/$name.resp" "$out/ckquorum/$name"
done

# address: the forms Sentinel and the flags give, and the fixture's own address.
port=$(grep -a -A2 '^port' -- "$fx/sentinel-master.resp" | tail -n1 | tr -d '\r')
port=${port:-6379}
printf '127.0.0.1:%s' "$port" >"$out/address/fixture"
printf '[::1]:26379' >"$out/address/ipv6"
printf '[fe80::1%%eth0]:6379' >"$out/address/ipv6-zone"
printf 'redis-0.redis.default.svc.cluster.local:6379' >"$out/address/name"
printf '127.0.0.1\0%s' "$port" >"$out/address/host-port"
printf '[::1]\00065535' >"$out/address/bracketed-host-port"

# pipeline: options byte, layout byte, then the replies in discovery order (fuzz/pipeline.cpp).
# One Sentinel configured (it is the recorded one, P+3); it names the master P, replicas P+1
# and P+2 and peers P+4 and P+5, which are asked in that order.
masters_mode() {  # $1, $2: INFO of the master and of the replicas; $3: CKQUORUM at P+5
  f info-sentinel; f sentinel-myid; f sentinel-masters
  f sentinel-replicas; f sentinel-sentinels; f sentinel-ckquorum-ok
  f "$1"; f "$2"; f "$2"
  f info-sentinel; myid 4; f sentinel-masters
  f info-sentinel; myid 5; f sentinel-masters
  f sentinel-replicas; f sentinel-sentinels; f sentinel-ckquorum-ok
  f sentinel-replicas; f sentinel-sentinels-2-stopped; f "$3"
}
# options 0x0a: SENTINEL MASTERS, CKQUORUM, full INFO.
{ printf '\x0a\x00'; masters_mode info-master info-replica sentinel-ckquorum-ok; } >"$out/pipeline/masters-full-info"
{ printf '\x0a\x00'; masters_mode info-master info-replica sentinel-ckquorum-noquorum; } \
  >"$out/pipeline/masters-noquorum"
# Two scrapes of the same target (the topology collector's failover history).
{ printf '\x0a\x00'; masters_mode info-master info-replica sentinel-ckquorum-ok
  masters_mode info-master info-replica sentinel-ckquorum-ok; } >"$out/pipeline/masters-two-scrapes"
# The same, the last asked served first (layout bit 5): replies out of order.
{ printf '\x0a\x20'; masters_mode info-master info-replica sentinel-ckquorum-ok
  masters_mode info-master info-replica sentinel-ckquorum-ok; } >"$out/pipeline/masters-two-scrapes-out-of-order"
# options 0x07: named (aragora-master, other-master), CKQUORUM, INFO replication.
named_group() {
  f sentinel-master; f sentinel-replicas; f sentinel-sentinels; f sentinel-ckquorum-ok
  f sentinel-master-unknown; f sentinel-master-unknown; f sentinel-master-unknown; f sentinel-ckquorum-unknown
}
{ printf '\x07\x00'
  f info-sentinel; f sentinel-myid; named_group
  f info-replication-master; f info-replication-replica; f info-replication-replica
  f info-sentinel; myid 4; named_group
  f info-sentinel; myid 5; named_group; } >"$out/pipeline/named-replication"
# A data node given as the Sentinel, and a Sentinel where a data node was expected.
{ printf '\x0a\x00'; f info-master; f sentinel-on-data-node; f sentinel-on-data-node; } >"$out/pipeline/data-node-as-sentinel"
{ printf '\x06\x00'
  f info-sentinel; f sentinel-myid; f sentinel-masters
  f sentinel-replicas; f sentinel-sentinels; f sentinel-ckquorum-ok
  f info-replication-on-sentinel; f info-replication-on-sentinel; f info-replication-on-sentinel; } \
  >"$out/pipeline/sentinel-as-data-node"
# Three Sentinels configured (each answers as the recorded one, with an id of its own), replies
# running out half way through the data nodes: the third data node and the peers are down
# (layout 0x0a: cause auth).
{ printf '\x0a\x0a'
  for i in 1 2 3; do f info-sentinel; myid "$i"; f sentinel-masters; done
  for i in 1 2 3; do f sentinel-replicas; f sentinel-sentinels; f sentinel-ckquorum-ok; done
  f info-master; f info-replica; } >"$out/pipeline/three-configured-truncated"

echo "seeds written to $out: $(find "$out" -type f | wc -l) files"
