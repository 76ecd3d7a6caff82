#!/usr/bin/env bash
# Installs the npm linters and parsers of the deployment checks into deploy/lint/node_modules,
# exactly as pinned by deploy/lint/package-lock.json (`npm ci`), and only when the lock file
# changed since the last install (a stamp holds its hash). Needs node and npm (Debian: npm).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
command -v npm >/dev/null || {
  echo "install.sh: npm not found (run scripts/install-deps.sh)" >&2
  exit 1
}
stamp=node_modules/.rse-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
exec 9>"$here/.install.lock"
flock -w 300 9 || {
  echo "install.sh: another install holds $here/.install.lock" >&2
  exit 1
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "install.sh: deploy/lint/node_modules is up to date"
  exit 0
fi
timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
printf '%s\n' "$want" >"$stamp"
echo "install.sh: installed $(find node_modules -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l) packages into deploy/lint/node_modules"
