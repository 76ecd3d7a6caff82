# shellcheck shell=bash
# Test ports, as tests/support/ports.h: random, in [20000, 32000), below the kernel's ephemeral
# range (32768 and up) where outgoing connections take their local ports.
TEST_PORT_FIRST=20000
TEST_PORT_END=32000

free_test_port() { # -> a test port on which nothing accepts connections now
  local i p
  for ((i = 0; i < 100; i++)); do
    p=$((TEST_PORT_FIRST + (RANDOM * 32768 + RANDOM) % (TEST_PORT_END - TEST_PORT_FIRST)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
