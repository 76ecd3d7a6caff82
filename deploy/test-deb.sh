#!/usr/bin/env bash
# ctest "deploy: debian package": builds the .deb with CPack from BUILD_DIR (packaging/cpack.cmake),
# checks its control data and contents, installs it with dpkg -i, runs the INSTALLED binary's
# --version, then runs the installed service the way systemd would (the unit's ExecStart, the
# /etc/default environment, as the unit's unprivileged user, the password from
# /etc/redis-sentinel-exporter/password) against a real local topology (scripts/topology.sh on a
# free base port in 20000-32000) and scrapes it. Everything is undone at the end: exporter and
# topology stopped, package purged (user, config and password gone), temporary files removed.
#
# Needs root (dpkg -i), as in CI. Exit 77 (skipped) when not root, or when this machine already
# has the package or its user (an installation this test must not touch).
# Usage: test-deb.sh BUILD_DIR
set -euo pipefail
check_name=test-deb
# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${1:?usage: test-deb.sh BUILD_DIR}
build=$(cd "$build" && pwd)
pkg=redis-sentinel-exporter
user=redis-sentinel-exporter

[ "$(id -u)" -eq 0 ] || skip "needs root to install the package with dpkg -i"
for t in cpack dpkg dpkg-deb dpkg-query setpriv curl flock; do need_tool "$t"; done
[ -f "$build/CPackConfig.cmake" ] ||
  fail "$build/CPackConfig.cmake is missing: the root CMakeLists.txt must include(\${CMAKE_SOURCE_DIR}/packaging/cpack.cmake)"

# One package installation at a time on this machine (several build trees may run ctest).
exec 9>/tmp/rse-deb-test.lock
flock -w 300 9 || fail "another run holds /tmp/rse-deb-test.lock"
# A run that was killed (timeout) before its cleanup left this marker: finish its purge.
marker=/tmp/rse-deb-test.installed
if [ -f "$marker" ]; then
  log "a previous run did not finish; purging the package it installed"
  dpkg -P "$pkg" >/dev/null 2>&1 || true
  rm -f "$marker"
fi
if dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qv '^not-installed$'; then
  skip "package $pkg is already on this machine (dpkg-query -W $pkg); not touching that installation"
fi
if getent passwd "$user" >/dev/null; then
  skip "user $user already exists on this machine; not touching it"
fi

make_tmp
t0=$SECONDS

# ---------------------------------------------------------------- build and inspect -----
timeout 300 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/cpack" >"$tmp/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -n 20 "$tmp/cpack.log")"
mapfile -t debs < <(find "$tmp/cpack" -maxdepth 1 -name "${pkg}_*.deb")
[ "${#debs[@]}" -eq 1 ] || fail "want one ${pkg}_*.deb from cpack, found ${#debs[@]}: $(tail -n 5 "$tmp/cpack.log")"
deb=${debs[0]}
log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) in $((SECONDS - t0)) s"

version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
want_depends=$( (sed -e 's/#.*//' -e 's/[[:space:]]//g' "$root/packaging/runtime-packages.txt" | grep -v '^$'; echo adduser) | paste -sd, | sed 's/,/, /g')
[ "$depends" = "$want_depends" ] || fail "Depends: '$depends', want '$want_depends' (packaging/runtime-packages.txt + adduser)"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/contents"
expect_file() { grep -qxF "$1" "$tmp/contents" || fail "the package lacks $1"; }
expect_file /usr/bin/redis_sentinel_exporter
expect_file /usr/lib/redis_sentinel_exporter/librse_tls.so
expect_file /lib/systemd/system/redis-sentinel-exporter.service
expect_file /etc/default/redis-sentinel-exporter
expect_file /usr/share/doc/redis-sentinel-exporter/README.md
if present rules/redis_sentinel.rules.yml; then expect_file /usr/share/redis-sentinel-exporter/rules/redis_sentinel.rules.yml; fi
if present dashboards/redis-sentinel.json; then expect_file /usr/share/redis-sentinel-exporter/dashboards/redis-sentinel.json; fi
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" -f - ./conffiles ./postinst ./prerm ./postrm ||
  fail "control archive lacks conffiles or maintainer scripts"
grep -qxF /etc/default/redis-sentinel-exporter "$tmp/conffiles" || fail "/etc/default/redis-sentinel-exporter is not a conffile"
log "control: Version $version, Depends $depends; $(wc -l <"$tmp/contents") paths; conffiles and maintainer scripts present"

# ---------------------------------------------------------------- install ---------------
# dpkg ARGS...: waits (60 s at most) while another dpkg or apt holds the lock.
dpkg_wait() {
  local i
  for ((i = 0; i < 60; i++)); do
    if dpkg "$@" >"$tmp/dpkg.log" 2>&1; then return 0; fi
    grep -qi "lock" "$tmp/dpkg.log" || return 1
    sleep 1
  done
  return 1
}
installed=0
purge() {
  [ "$installed" = 1 ] || return 0
  dpkg_wait -P "$pkg" || {
    cp "$tmp/dpkg.log" "$tmp/purge.log"
    log "dpkg -P failed: $(cat "$tmp/purge.log")"
    return 1
  }
  installed=0
  rm -f "$marker"
}
on_exit purge
: >"$marker"
dpkg_wait -i "$deb" || {
  installed=1
  fail "dpkg -i failed (missing runtime packages? scripts/install-deps.sh): $(tail -n 20 "$tmp/dpkg.log")"
}
installed=1
bin=/usr/bin/redis_sentinel_exporter
dpkg -L "$pkg" | grep -qxF "$bin" || fail "dpkg -L $pkg does not list $bin"
out=$("$bin" --version) || fail "installed $bin --version failed"
[[ $out == *"version $version"* ]] || fail "installed --version says '$out', want version $version"
log "installed; $bin --version: $out"
getent passwd "$user" >/dev/null || fail "postinst did not create the user $user"
[ "$(stat -c '%a %U %G' /etc/redis-sentinel-exporter)" = "750 root $user" ] ||
  fail "/etc/redis-sentinel-exporter is $(stat -c '%a %U %G' /etc/redis-sentinel-exporter), want 750 root $user"

unit=/lib/systemd/system/redis-sentinel-exporter.service
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" >&2 || fail "systemd-analyze verify $unit"
  exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
  awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "unit exposure level $exposure (systemd-analyze security), want <= 2.0"
  log "systemd-analyze: unit verifies; exposure level $exposure"
fi

# ---------------------------------------------------------------- topology --------------
printf 'deb-test-pw-%s\n' "$RANDOM$RANDOM" >"$tmp/password"
chmod 600 "$tmp/password"
topo="$tmp/topology"
started=0
for _ in 1 2 3 4 5 6 7 8; do
  base=$(free_test_ports 6) || fail "no free range of 6 test ports"
  rc=0
  timeout 120 bash "$root/scripts/topology.sh" start --dir "$topo" --base-port "$base" \
    --password-file "$tmp/password" --wait-seconds 60 >"$tmp/topology.env" 2>"$tmp/topology.log" || rc=$?
  if [ "$rc" -eq 0 ]; then
    started=1
    break
  fi
  [ "$rc" -eq 2 ] || fail "topology.sh start failed ($rc): $(tail -n 10 "$tmp/topology.log")"
done
on_exit "bash '$root/scripts/topology.sh' stop --dir '$topo' >/dev/null 2>&1"
[ "$started" = 1 ] || fail "no free port range for the topology after 8 tries"
sentinels=$(sed -n 's/^REDIS_SENTINEL_HOSTS=//p' "$tmp/topology.env")
master=$(sed -n 's/^REDIS_SENTINEL_MASTER=//p' "$tmp/topology.env")
log "topology up: sentinels $sentinels, master $master"

# ---------------------------------------------------------------- the service -----------
# Configured as the README's Deployment section tells (password file, /etc/default), on 127.0.0.1.
install -m 0640 -o root -g "$user" "$tmp/password" /etc/redis-sentinel-exporter/password
cat >/etc/default/redis-sentinel-exporter <<EOF
REDIS_SENTINEL_HOSTS=$sentinels
REDIS_SENTINEL_MASTER=$master
ARGS="--web.listen-address=127.0.0.1:$(free_test_port) --redis.password-file=/etc/redis-sentinel-exporter/password"
EOF
# What systemd would run: EnvironmentFile, ExecStart with $ARGS split into words, User/Group.
declare -A envfile=()
while IFS= read -r line; do
  [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
  k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
  if [[ $v =~ ^\"(.*)\"$ ]]; then v=${BASH_REMATCH[1]}; fi
  envfile[$k]=$v
done </etc/default/redis-sentinel-exporter
unit_get() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
[ "$(unit_get User)" = "$user" ] || fail "the unit does not run as $user"
[ "$(unit_get EnvironmentFile)" = /etc/default/redis-sentinel-exporter ] || fail "the unit does not read /etc/default/redis-sentinel-exporter"
read -ra exec_words <<<"$(unit_get ExecStart)"
argv=()
for w in "${exec_words[@]}"; do
  if [ "$w" = "\$ARGS" ]; then
    read -ra args_words <<<"${envfile[ARGS]:-}"
    argv+=("${args_words[@]}")
  else
    argv+=("$w")
  fi
done
[ "${argv[0]}" = "$bin" ] || fail "ExecStart runs ${argv[0]}, want $bin"
env_list=("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
for k in "${!envfile[@]}"; do env_list+=("$k=${envfile[$k]}"); done
env -i "${env_list[@]}" setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs --inh-caps=-all \
  -- "${argv[@]}" </dev/null >"$tmp/exporter.log" 2>&1 &
epid=$!
on_exit "stop_pid $epid"
port=$(wait_listening "$tmp/exporter.log" 10) || fail "installed exporter did not start: $(cat "$tmp/exporter.log")"
[ "$(ps -o uid= -p "$epid" | tr -d ' ')" = "$(id -u "$user")" ] || fail "the exporter does not run as $user"
http_get "$port" /-/healthy >/dev/null || fail "/-/healthy failed"
# The data nodes require the password: all three up means the service user read the file.
scrape_until_up "$port" "password file read as $user"
log "installed exporter as $user on 127.0.0.1:$port: 3 Sentinels and 3 data nodes up"
# No TLS configured: the TLS module (and the OpenSSL it brings) stays unloaded.
grep -q 'librse_tls\.so' "/proc/$epid/maps" && fail "the exporter without TLS loaded the TLS module"

# ---------------------------------------------------------------- HTTPS -----------------
# The installed binary serves HTTPS through its TLS module, found by its own DT_RPATH: nothing
# else is set (no LD_LIBRARY_PATH, no libssl-dev needed at run time).
[ -e /usr/lib/redis_sentinel_exporter/librse_tls.so ] || fail "the package lacks /usr/lib/redis_sentinel_exporter/librse_tls.so"
(cd "$tmp" && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 \
  -subj /CN=exporter -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1) || fail "cannot make a certificate"
chmod 0644 "$tmp/tls.key" "$tmp/tls.crt"
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' "$tmp/tls.crt" "$tmp/tls.key" >"$tmp/web.yml"
chmod 0755 "$tmp"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
  --inh-caps=-all -- "$bin" --web.listen-address="127.0.0.1:$(free_test_port)" --web.config.file="$tmp/web.yml" \
  </dev/null >"$tmp/exporter-tls.log" 2>&1 &
tpid=$!
on_exit "stop_pid $tpid"
tport=$(wait_listening "$tmp/exporter-tls.log" 10) || fail "installed exporter with TLS did not start: $(cat "$tmp/exporter-tls.log")"
code=$(curl -s -o "$tmp/tls-metrics" -w '%{http_code}' --max-time 5 --cacert "$tmp/tls.crt" "https://127.0.0.1:$tport/metrics") || true
[ "$code" = 200 ] || fail "HTTPS scrape of the installed exporter: status '$code': $(cat "$tmp/exporter-tls.log")"
grep -q '^redis_sentinel_exporter_build_info' "$tmp/tls-metrics" || fail "HTTPS scrape returned no metrics"
kill -0 "$tpid" 2>/dev/null || fail "the installed exporter died after an HTTPS request"
stop_pid "$tpid"
log "installed exporter served HTTPS on 127.0.0.1:$tport"

# TLS to Sentinel: the installed binary loads its TLS module from /usr/lib/redis_sentinel_exporter/
# through its DT_RPATH at startup, where the flags are checked (the topology has no TLS, so only
# the loading is checked here; tests/integration/tls_test.cpp scrapes over TLS).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
  --inh-caps=-all -- "$bin" --web.listen-address="127.0.0.1:$(free_test_port)" --sentinel.addr="${sentinels%%,*}" \
  --sentinel.tls-ca-file="$tmp/tls.crt" </dev/null >"$tmp/exporter-redis-tls.log" 2>&1 &
rpid=$!
on_exit "stop_pid $rpid"
wait_listening "$tmp/exporter-redis-tls.log" 10 >/dev/null ||
  fail "installed exporter with --sentinel.tls-ca-file did not start: $(cat "$tmp/exporter-redis-tls.log")"
grep -q ' /usr/lib/redis_sentinel_exporter/librse_tls\.so$' "/proc/$rpid/maps" ||
  fail "installed exporter with TLS to Sentinel did not load /usr/lib/redis_sentinel_exporter/librse_tls.so"
stop_pid "$rpid"
log "installed exporter loaded its TLS module for TLS to Sentinel"

# ---------------------------------------------------------------- remove ----------------
stop_pid "$epid"
purge || fail "dpkg -P $pkg failed"
dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qv '^not-installed$' && fail "$pkg still installed after dpkg -P"
[ ! -e "$bin" ] || fail "$bin left after dpkg -P"
[ ! -e /etc/redis-sentinel-exporter ] || fail "/etc/redis-sentinel-exporter left after dpkg -P"
[ ! -e /etc/default/redis-sentinel-exporter ] || fail "/etc/default/redis-sentinel-exporter left after dpkg -P"
getent passwd "$user" >/dev/null && fail "user $user left after dpkg -P"
log "purged: binary, configuration, password and user gone; ok in $((SECONDS - t0)) s"
