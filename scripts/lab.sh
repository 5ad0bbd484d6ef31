#!/usr/bin/env bash
# The main job on the local default.
#   scripts/lab.sh        the lab stack (inventories/lab) on local test hosts: 3 Redis (sentinel),
#                         2 livekit-server nodes, coturn, the TLS front and Prometheus as root podman containers
#                         with systemd; converges playbooks/lab_stack.yml (site.yml), then
#                         playbooks/lab_api.yml through the TLS front, and prints how to connect.
#   scripts/lab.sh api    only a livekit-server + redis on loopback, converged with lab_api.yml.
#   scripts/lab.sh stop   remove the lab hosts and stop the loopback servers.
# State (secrets 0600, the lab CA, logs) lives in .cache/lab. A second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR="$(pwd)/.cache/lab"
LAB_NET=rtcstack-lab
LAB_HOSTS=(lab-redis-1 lab-redis-2 lab-redis-3 lab-sfu-1 lab-sfu-2 lab-turn-1 lab-proxy-1 lab-monitoring-1)
export LAB_DIR
# shellcheck source=scripts/lab-common.sh
. scripts/lab-common.sh
# The lab hosts are podman containers (scripts/connection_plugins), all 8 in one batch per task.
ANSIBLE_CONNECTION_PLUGINS="$(pwd)/scripts/connection_plugins"
export ANSIBLE_CONNECTION_PLUGINS ANSIBLE_FORKS=10

api_lab() {
  if [ ! -f "$LAB_DIR/pids.json" ] || ! curl -fs "http://127.0.0.1:${LAB_PORT:-7880}/" >/dev/null 2>&1; then
    log_file "$LAB_DIR/server.log"
    log_file "$LAB_DIR/redis.log"
    .venv/bin/python scripts/local_livekit.py start --dir "$LAB_DIR" --port "${LAB_PORT:-7880}" \
      --redis-port "${LAB_REDIS_PORT:-6380}" --keep-keys >/dev/null
  fi
  local key_line
  key_line=$(head -n1 "$LAB_DIR/keys.yaml")
  collections
  export LIVEKIT_URL="http://127.0.0.1:${LAB_PORT:-7880}"
  export LIVEKIT_API_KEY="${key_line%%:*}"
  LIVEKIT_API_SECRET="${key_line#*: }"
  export LIVEKIT_API_SECRET
  ansible-playbook -i localhost, playbooks/lab_api.yml "$@"
  echo "lab: servers keep running; logs in $LAB_DIR; stop them with: scripts/lab.sh stop"
}

stack_lab() {
  bash scripts/testhosts.sh prepare
  bash scripts/testhosts.sh up "$LAB_NET" "${LAB_HOSTS[@]}"
  lab_secrets
  collections
  log_file "$LAB_DIR/site.log"
  ansible-playbook -i inventories/lab -e "@$LAB_DIR/secrets.yml" playbooks/lab_stack.yml "$@" \
    | tee "$LAB_DIR/site.log"
  local proxy_ip key_line
  proxy_ip=$(podman exec lab-proxy-1 hostname -I | awk '{print $1}')
  key_line=$(.venv/bin/python -c 'import sys, yaml; k = yaml.safe_load(open(sys.argv[1]))["livekit_api_keys"]; i = sorted(k)[0]; print(i + ": " + k[i])' "$LAB_DIR/secrets.yml")
  export LIVEKIT_URL="https://$proxy_ip"
  export LIVEKIT_CA_PATH="$LAB_DIR/pki/ca.crt"
  export LIVEKIT_API_KEY="${key_line%%:*}"
  LIVEKIT_API_SECRET="${key_line#*: }"
  export LIVEKIT_API_SECRET
  ansible-playbook -i localhost, playbooks/lab_api.yml
  echo "lab: Prometheus (targets, alerts, the dashboards' queries): http://$(podman exec lab-monitoring-1 hostname -I | awk '{print $1}'):9090/targets"
  echo "lab: the hosts keep running (podman ps); the lab CA is $LAB_DIR/pki/ca.crt; remove them with: scripts/lab.sh stop"
}

case "${1:-}" in
  stop)
    .venv/bin/python scripts/local_livekit.py stop --dir "$LAB_DIR" 2>/dev/null || true
    if command -v podman >/dev/null; then bash scripts/testhosts.sh down "$LAB_NET" "${LAB_HOSTS[@]}"; fi
    ;;
  api)
    shift
    RTCSTACK_ROLE_TESTS=0 bash scripts/bootstrap.sh
    api_lab "$@"
    ;;
  *)
    bash scripts/bootstrap.sh
    stack_lab "$@"
    ;;
esac
