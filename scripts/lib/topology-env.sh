# shellcheck shell=bash
# shellcheck disable=SC2034 # the globals set here are read by the scripts that source this file
# The reader of topology.env: the KEY=VALUE lines `scripts/topology.sh start` prints and writes
# to DIR/topology.env. Read as data, never sourced. Sourced, never run.

# read_topology_env < TEXT: sets tenv_sentinel_hosts, tenv_master (the first master name),
# tenv_dir, and the arrays tenv_masters, tenv_data_ports (3 per master: master first) and
# tenv_sentinel_ports. Returns 1 when the layout is incomplete.
tenv_sentinel_hosts="" tenv_master="" tenv_dir=""
tenv_masters=() tenv_data_ports=() tenv_sentinel_ports=()
read_topology_env() {
  local key val
  tenv_sentinel_hosts="" tenv_master="" tenv_dir=""
  tenv_masters=() tenv_data_ports=() tenv_sentinel_ports=()
  while IFS='=' read -r key val; do
    val=${val#\"}
    val=${val%\"}
    case "$key" in
      REDIS_SENTINEL_HOSTS) tenv_sentinel_hosts=$val ;;
      REDIS_SENTINEL_MASTER) tenv_master=$val ;;
      TOPOLOGY_MASTERS) read -r -a tenv_masters <<<"$val" ;;
      TOPOLOGY_DATA_PORTS) read -r -a tenv_data_ports <<<"$val" ;;
      TOPOLOGY_SENTINEL_PORTS) read -r -a tenv_sentinel_ports <<<"$val" ;;
      TOPOLOGY_DIR) tenv_dir=$val ;;
    esac
  done
  [ "${#tenv_masters[@]}" -ge 1 ] && [ "${#tenv_data_ports[@]}" -eq $((3 * ${#tenv_masters[@]})) ] &&
    [ "${#tenv_sentinel_ports[@]}" -eq 3 ]
}
