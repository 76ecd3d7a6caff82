#!/usr/bin/env bash
# Installs everything needed to build, run and test redis_sentinel_exporter on Debian 12.
# The package list lives in scripts/packages.txt so the Dockerfile can read the same list.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

mapfile -t packages < <(grep -v '^\s*#' "$here/packages.txt" | awk '{print $1}' | grep -v '^$')

# Linters for the deployment files come from npm; Debian's npm only where no npm is present
# (a machine with NodeSource's nodejs already has one, and the two packages conflict).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
