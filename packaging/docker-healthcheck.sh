#!/usr/bin/env bash
# HEALTHCHECK of the container image: GET /-/healthy from the exporter on 127.0.0.1, with bash's
# /dev/tcp (debian:12-slim has neither curl nor wget). Exit 0 on HTTP 200, 1 otherwise.
# HEALTHCHECK_PORT: the port of --web.listen-address (default 9355).
set -uo pipefail
port=${HEALTHCHECK_PORT:-9355}
if ! { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
  echo "healthcheck: nothing listens on 127.0.0.1:$port" >&2
  exit 1
fi
printf 'GET /-/healthy HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
status=""
IFS= read -r -t 5 status <&3 || true
exec 3<&-
case $status in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *)
    echo "healthcheck: /-/healthy answered '${status%$'\r'}'" >&2
    exit 1
    ;;
esac
