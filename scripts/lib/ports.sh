# shellcheck shell=bash
# Ports on 127.0.0.1: which are busy, and free test ports. Test ports, as tests/support/ports.h:
# random, in [20000, 32000), below the kernel's ephemeral range (32768 and up) where outgoing
# connections take their local ports.
TEST_PORT_FIRST=20000
TEST_PORT_END=32000

port_busy() { # port -> 0 if something accepts connections on 127.0.0.1:port
  # shellcheck disable=SC2016 # $0 expands in the child bash
  timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null && return 0
  [ $? -eq 124 ] # a connect that hangs means a listener with a full backlog
}

busy_ports() { # ports... -> prints the busy ones; one child bash for all, per-port fallback if it hangs
  local out rc=0 p
  # shellcheck disable=SC2016 # expands in the child bash
  out=$(timeout 10 bash -c 'for p; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && echo "$p"; done; exit 0' _ "$@") || rc=$?
  if [ "$rc" -eq 0 ]; then
    [ -z "$out" ] || printf '%s\n' "$out"
    return 0
  fi
  for p in "$@"; do
    if port_busy "$p"; then echo "$p"; fi
  done
}

free_test_port() { # -> a test port on which nothing accepts connections now
  free_test_ports 1
}

free_test_port_outside() { # lo hi -> a free test port not in [lo, hi] (a topology's own range)
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$(free_test_port) || return 1
    if [ "$p" -lt "$1" ] || [ "$p" -gt "$2" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

free_test_ports() { # count -> the first of `count` consecutive test ports on which nothing accepts now
  local i j p n=$1
  local -a range
  for ((i = 0; i < 100; i++)); do
    p=$((TEST_PORT_FIRST + (RANDOM * 32768 + RANDOM) % (TEST_PORT_END - TEST_PORT_FIRST - n + 1)))
    range=()
    for ((j = p; j < p + n; j++)); do range+=("$j"); done
    if [ -z "$(busy_ports "${range[@]}")" ]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
