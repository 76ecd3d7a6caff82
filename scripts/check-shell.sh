#!/usr/bin/env bash
# ctest "shellcheck" (scripts/tests.cmake): every shell script of the repository passes
# `bash -n` (or `sh -n`) and shellcheck, following what it sources. A script is a file named
# *.sh, a file whose first line is a bash or sh shebang, or a Debian maintainer script.
set -euo pipefail
# shellcheck source=lib/base.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/base.sh"
command -v shellcheck >/dev/null || die "$EX_FAILED" "shellcheck not found: run scripts/install-deps.sh"
cd "$rse_root"

list_files() { # every file of the tree, without build output, VCS data or npm modules
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . \( -name .git -o -name 'build*' -o -name node_modules \) -prune -o -type f -print | sed 's|^\./||'
  fi
}
scripts=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    */node_modules/*) continue ;;
    *.sh | packaging/debian/postinst | packaging/debian/prerm | packaging/debian/postrm | packaging/debian/preinst)
      scripts+=("$f")
      continue
      ;;
  esac
  IFS= read -r first <"$f" 2>/dev/null || first=""
  case "$first" in '#!'*bash* | '#!/bin/sh'*) scripts+=("$f") ;; esac
done < <(list_files | sort -u)
[ "${#scripts[@]}" -gt 0 ] || die "$EX_FAILED" "no scripts found"

rc=0
for s in "${scripts[@]}"; do
  IFS= read -r first <"$s" || first=""
  case "$first" in
    '#!/bin/sh'*) sh -n "$s" || rc=1 ;;
    *) bash -n "$s" || rc=1 ;;
  esac
done
shellcheck --external-sources --source-path=SCRIPTDIR --source-path="$rse_root" "${scripts[@]}" || rc=1
[ "$rc" -eq 0 ] || die "$EX_FAILED" "shellcheck or syntax errors above"
log "ok: ${#scripts[@]} scripts: ${scripts[*]}"
