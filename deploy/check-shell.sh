#!/usr/bin/env bash
# ctest "deploy: shellcheck": every shell script of the deployment files (deploy/, compose/,
# packaging/, the Debian maintainer scripts) passes shellcheck and bash -n / sh -n.
set -euo pipefail
check_name=check-shell
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool shellcheck
cd "$root"
mapfile -t scripts < <(
  {
    find deploy compose packaging -name node_modules -prune -o -type f -name '*.sh' -print
    find packaging/debian -type f \( -name postinst -o -name prerm -o -name postrm -o -name preinst \)
  } | sort -u
)
[ "${#scripts[@]}" -gt 0 ] || fail "no scripts found"
rc=0
for s in "${scripts[@]}"; do
  case "$(head -n 1 "$s")" in
    *bash*) bash -n "$s" || rc=1 ;;
    '#!/bin/sh'*) sh -n "$s" || rc=1 ;;
    *) [[ $s == deploy/lib.sh ]] || {
      log "$s: no #!/bin/sh or bash shebang"
      rc=1
    } ;;
  esac
done
shellcheck --external-sources --source-path=SCRIPTDIR --source-path="$root" "${scripts[@]}" || rc=1
[ "$rc" -eq 0 ] || fail "shellcheck or syntax errors above"
log "ok: ${#scripts[@]} scripts: ${scripts[*]}"
