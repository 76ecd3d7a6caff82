#!/usr/bin/env bash
# ctest "deploy: docker-compose file": compose/docker-compose.yml parses and renders with the
# documented settings (docker-compose config --env-file compose/.env.example, no Docker engine
# needed), every file it bind-mounts exists, every variable it uses is documented in
# compose/.env.example, and it refuses to start without a password.
set -euo pipefail
check_name=check-compose
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tool docker-compose
need_tool node nodejs
need_lint_tools
make_tmp
compose=(docker-compose --project-directory "$root/compose" -f "$root/compose/docker-compose.yml")
# A clean environment: only the env file decides (no REDIS_PASSWORD etc. from the caller).
clean_env=(env -i "PATH=$PATH" "HOME=$tmp" "LC_ALL=C")

"${clean_env[@]}" "${compose[@]}" --env-file "$root/compose/.env.example" config >"$tmp/rendered.yml" 2>"$tmp/config.err" ||
  fail "docker-compose config failed: $(cat "$tmp/config.err")"
if [ -s "$tmp/config.err" ]; then
  cat "$tmp/config.err" >&2
  fail "docker-compose config printed warnings (above)"
fi
"${clean_env[@]}" "${compose[@]}" --env-file "$root/compose/.env.example" config --services >"$tmp/services"
for s in redis-config redis-master redis-replica-1 redis-replica-2 sentinel-1 sentinel-2 sentinel-3 \
  exporter prometheus alertmanager grafana; do
  grep -qx "$s" "$tmp/services" || fail "service $s is missing"
done
log "docker-compose config: $(wc -l <"$tmp/services") services"

node "$lint_dir/validate.mjs" compose "$root" "$tmp/rendered.yml" || fail "see above"

# Without REDIS_PASSWORD the file must refuse to render, naming the variable.
grep -v '^REDIS_PASSWORD=' "$root/compose/.env.example" >"$tmp/no-password.env"
if "${clean_env[@]}" "${compose[@]}" --env-file "$tmp/no-password.env" config >/dev/null 2>"$tmp/err"; then
  fail "docker-compose config succeeded without REDIS_PASSWORD"
fi
grep -q 'REDIS_PASSWORD' "$tmp/err" || fail "the error without REDIS_PASSWORD does not name it: $(cat "$tmp/err")"
log "without REDIS_PASSWORD: refused ($(head -n 1 "$tmp/err"))"

# Passwords reach the containers as environment, never as arguments.
if grep -nE '^\s*(command|entrypoint):.*(PASSWORD|requirepass|auth)' "$root/compose/docker-compose.yml"; then
  fail "a command line mentions a password (above)"
fi
log "ok"
