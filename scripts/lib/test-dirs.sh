# shellcheck shell=bash
# The directories tests make for their topologies (/tmp/rse-test-*, tests/support/topology.cpp).
# A test killed mid-way cannot run its destructors; a test run stops and removes what it left
# behind, and only that: other runs on the machine keep theirs. Sourced, never run:
#   . "$root/scripts/lib/test-dirs.sh"
#   before=$(test_dirs)                      # when the run starts
#   remove_test_dirs_since "$before" "$root"  # on exit

test_dirs() { # -> the test directories that exist now, one per line
  ls -d /tmp/rse-test-* 2>/dev/null || true
}

remove_test_dirs_since() { # BEFORE ROOT: stops the topologies in, and removes, the newer ones
  local before=$1 root=$2 d
  for d in /tmp/rse-test-*; do
    [ -d "$d" ] || continue
    grep -qxF -- "$d" <<<"$before" && continue
    if [ -d "$d/topology" ]; then bash "$root/scripts/topology.sh" stop --dir "$d/topology" >/dev/null 2>&1 || true; fi
    rm -rf -- "$d"
  done
}
