#!/usr/bin/env bash
# ctest "deploy: runtime packages": packaging/runtime-packages.txt (what the container image
# installs and what the .deb depends on) names the Debian package of every shared library the
# built binary links directly (ELF NEEDED; apt brings their own dependencies), and nothing else. A new library dependency fails here instead of in a
# container or on a server. The project's private libraries (lib/redis_sentinel_exporter/ beside
# the binary: the TLS module, loaded at run time) count as part of
# the binary: their NEEDED libraries (OpenSSL) are listed too.
# Usage: check-runtime-packages.sh EXPORTER_BINARY
set -euo pipefail
check_name=check-runtime-packages
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
binary=${1:?usage: check-runtime-packages.sh EXPORTER_BINARY}
[ -x "$binary" ] || fail "$binary is not executable (build first)"
need_tool ldd libc-bin
need_tool dpkg-query dpkg
need_tool objdump binutils
list="$root/packaging/runtime-packages.txt"
mapfile -t listed < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
[ "${#listed[@]}" -gt 0 ] || fail "packaging/runtime-packages.txt lists nothing"

# Every library the binary and its private libraries name (NEEDED), where ldd resolves it, by
# its path and its real path, with and without /usr (merged /usr: dpkg knows a file under the
# name its package ships it as).
bin_dir=$(cd "$(dirname "$binary")" && pwd -P)
objects=("$binary")
for f in "$bin_dir"/lib/redis_sentinel_exporter/*.so; do
  [ -e "$f" ] && objects+=("$f")
done
declare -A lib_of=()
for object in "${objects[@]}"; do
  mapfile -t needed < <(objdump -p "$object" | awk '$1 == "NEEDED" { print $2 }')
  [ "${#needed[@]}" -gt 0 ] || fail "objdump -p $object shows no NEEDED libraries"
  while read -r lib path; do
    printf '%s\n' "${needed[@]}" | grep -qxF "$lib" || continue
    [[ $path == /* ]] || fail "ldd $object: $lib not found ($path)"
    # A library the project builds and installs itself (found beside the binary through its RPATH).
    if [[ $(readlink -f "$path") == "$bin_dir"/* ]]; then
      log "$lib: built by the project ($path), not a package"
      continue
    fi
    real=$(readlink -f "$path")
    for p in "$path" "$real"; do
      lib_of[$p]=$lib lib_of[/usr${p#/usr}]=$lib lib_of[${p#/usr}]=$lib
    done
  done < <(ldd "$object" | awk '$2 == "=>" { print $1, $3 } $1 ~ /^\// { print $1, $1 }')
done
log "checked $(printf '%s\n' "${objects[@]##*/}" | paste -sd' ')"
declare -A need=() found=()
while IFS= read -r line; do
  pkg=${line%%: *}
  pkg=${pkg%%:*} # drop :amd64
  p=${line#*: }
  [ -n "${lib_of[$p]:-}" ] || continue
  need[$pkg]="${need[$pkg]:+${need[$pkg]} }${lib_of[$p]}"
  found[${lib_of[$p]}]=1
done < <(dpkg-query -S "${!lib_of[@]}" 2>/dev/null || true)
for lib in "${lib_of[@]}"; do
  [ -n "${found[$lib]:-}" ] || fail "$lib belongs to no Debian package: ship it or link it statically"
done

rc=0
for pkg in "${!need[@]}"; do
  if ! printf '%s\n' "${listed[@]}" | grep -qxF "$pkg"; then
    log "binary or its private libraries load $(tr ' ' '\n' <<<"${need[$pkg]}" | sort -u | paste -sd' ') from package $pkg, which packaging/runtime-packages.txt lacks"
    rc=1
  fi
done
for pkg in "${listed[@]}"; do
  if [ -z "${need[$pkg]:-}" ]; then
    log "packaging/runtime-packages.txt lists $pkg, which neither the binary nor its private libraries load (remove it?)"
    rc=1
  fi
done
[ "$rc" -eq 0 ] || fail "packaging/runtime-packages.txt and the binary disagree (above)"
log "ok: ${#listed[@]} packages cover every library: $(printf '%s\n' "${!need[@]}" | sort | paste -sd' ')"
