#!/usr/bin/env bash
# Builds a real Valkey server for the tests that run a Valkey Sentinel topology next to the
# Redis one. Debian 12 has no Valkey package, so the source comes from the next Debian release
# (trixie), through a deb-src entry derived from this machine's own bookworm mirror in a
# private apt state directory: the system's apt configuration is not changed.
#
#   scripts/valkey.sh [DIR]         make sure DIR/valkey-server and DIR/valkey-sentinel (a
#                                   link) exist, then print DIR/valkey-server
#   scripts/valkey.sh --path [DIR]  only print DIR/valkey-server
# DIR: $RSE_VALKEY_DIR, else ~/.cache/redis-sentinel-exporter/valkey (outside the clone).
#
# About 30 s on 2 cores; later calls with the same DIR return at once. Built without TLS,
# with libc's malloc and at -O1 (Valkey's -O3 default also turns on LTO: 97 s against 28 s
# here): a working server is what the tests need, not a fast one. Only packages
# scripts/install-deps.sh installs (build-essential). Exit 1 when the source cannot be fetched
# or built.
set -euo pipefail
prog=valkey
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
path_only=0
if [ "${1:-}" = --path ]; then
  path_only=1
  shift
fi
if [ $# -gt 1 ] || [ "${1-x}" = "" ]; then usage_error "usage: scripts/valkey.sh [--path] [DIR]"; fi
dir=${1:-${RSE_VALKEY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-exporter/valkey}}
if [ "$path_only" = 1 ] || { [ -x "$dir/valkey-server" ] && [ -e "$dir/valkey-sentinel" ]; }; then
  printf '%s\n' "$dir/valkey-server"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/download"
# The first bookworm entry, as a deb-src entry for trixie (same mirror, same options): from a
# deb822 .sources stanza, or else from a one-line "deb URI bookworm COMPONENTS" entry.
sources=$(grep -l '^Suites:.*bookworm' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1) ||
  true
if [ -n "$sources" ]; then
  awk 'BEGIN { RS = ""; ORS = "\n\n" }
       /Suites:[^\n]*bookworm( |\n|$)/ {
         sub(/Types: deb/, "Types: deb-src"); sub(/Suites:[^\n]*/, "Suites: trixie"); print; exit
       }' "$sources" >"$work/parts/trixie-src.sources"
else
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == "bookworm") {
           $1 = "deb-src"; $i = "trixie"; print; exit } }' >"$work/parts/trixie-src.list"
  [ -s "$work/parts/trixie-src.list" ] ||
    die "$EX_FAILED" "no bookworm entry in /etc/apt/sources.list or /etc/apt/sources.list.d to derive a source entry from"
fi
apt=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "Debug::NoLocking=1")
log "fetching the valkey source package list (trixie)"
apt-get "${apt[@]}" update >"$work/update.log" 2>&1 || {
  cat "$work/update.log" >&2
  die "$EX_FAILED" "apt-get update of the trixie source entry failed"
}
# Only the upstream tarball is needed; the .dsc of a security revision may be missing from
# the pool, which makes apt-get fail after the tarball arrived.
(cd "$work/download" && apt-get "${apt[@]}" source --download-only valkey >"$work/source.log" 2>&1) || true
tarball=$(find "$work/download" -maxdepth 1 -name 'valkey_*.orig.tar.*' | head -n 1)
[ -n "$tarball" ] || {
  cat "$work/source.log" >&2
  die "$EX_FAILED" "no valkey source tarball downloaded"
}
log "building valkey-server from $(basename "$tarball")"
tar -C "$work" -xf "$tarball"
src=$(find "$work" -maxdepth 1 -type d -name 'valkey-*' | head -n 1)
[ -n "$src" ] || die "$EX_FAILED" "$(basename "$tarball") holds no valkey-* directory"
make -C "$src" -j"$(nproc)" MALLOC=libc BUILD_TLS=no OPTIMIZATION=-O1 valkey-server >"$work/build.log" 2>&1 || {
  tail -n 30 "$work/build.log" >&2
  die "$EX_FAILED" "building valkey-server failed"
}
mkdir -p -- "$dir"
install -m 0755 "$src/src/valkey-server" "$dir/valkey-server.tmp"
mv -f -- "$dir/valkey-server.tmp" "$dir/valkey-server"
ln -sfn valkey-server "$dir/valkey-sentinel"
log "built $("$dir/valkey-server" --version | head -n 1)"
printf '%s\n' "$dir/valkey-server"
