#!/usr/bin/env bash
# ctest "deploy: Dockerfile": the root Dockerfile passes dockerfile-utils' linter (npm, pinned by
# deploy/lint/package-lock.json; warnings fail too) and the project's rules
# (deploy/lint/check-dockerfile.mjs): debian:12-slim stages, packages only from
# scripts/packages.txt and packaging/runtime-packages.txt, a non-root user, EXPOSE 9355, the
# HEALTHCHECK, OCI labels, COPY sources present and not excluded by .dockerignore.
set -euo pipefail
check_name=check-dockerfile
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool node nodejs
need_lint_tools
cd "$root"
report=$("$lint_bin/dockerfile-utils" lint --json Dockerfile) || true
if [ "$(node -e 'const r = JSON.parse(process.argv[1]); process.stdout.write(String(r.length))' "$report")" != 0 ]; then
  "$lint_bin/dockerfile-utils" lint Dockerfile >&2 || true
  fail "dockerfile-utils lint reports the problems above"
fi
log "dockerfile-utils lint: no problems"
node "$lint_dir/check-dockerfile.mjs" "$root" || fail "Dockerfile breaks the project's rules (above)"
log "ok"
