#!/usr/bin/env bash
# The lab on Kubernetes (make lab-k8s / make stop-k8s).
#   scripts/lab-k8s.sh        a real single-node Kubernetes on this machine (scripts/local_kubernetes.py), then
#                             playbooks/kubernetes.yml from a lab-shaped inventory: node tuning (DaemonSet), Redis in
#                             the cluster, the coturn DaemonSet, livekit-server from the official chart, the
#                             NetworkPolicies; prints how to connect. A second run changes nothing.
#   scripts/lab-k8s.sh up     the same without scripts/bootstrap.sh first (the venv, binaries and images are there).
#   scripts/lab-k8s.sh check  a real participant publishes audio and video in a room of the lab; another one must
#                             receive both, directly and then relay-only (through the coturn DaemonSet).
#   scripts/lab-k8s.sh stop   stop the cluster: its processes, pods, links and mounts; the host sysctls it or the
#                             node tuning changed are written back.
# State (secrets 0600, the cluster's state and logs) lives in .cache/lab-k8s.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR="$(pwd)/.cache/lab-k8s"
CLUSTER_DIR="$LAB_DIR/cluster"
CHART="${RTCSTACK_CHARTS:-$(cd .. && pwd)/shared/charts}/livekit-helm/livekit-server"
# Ports of its own: make lab-api's loopback server keeps 7880.
PORT=7890 RTC_TCP=7891 RTC_UDP=7892 METRICS=7899
# shellcheck source=scripts/lab-common.sh
. scripts/lab-common.sh

# The inventory: one host for the cluster, the same variables as the VM lab (no secret: they are in secrets.yml).
lab_inventory() {
  .venv/bin/python - "$CLUSTER_DIR/cluster.json" "$LAB_DIR/inventory.yml" "$CHART" "$PORT" "$RTC_TCP" "$RTC_UDP" "$METRICS" <<'PY'
import json, sys
import yaml
info_file, out, chart, port, rtc_tcp, rtc_udp, metrics = sys.argv[1:]
with open(info_file) as f:
    info = json.load(f)
images = info["images"]
repository, tag = images["livekit"].rsplit(":", 1)
host = {
    "ansible_connection": "local",
    "ansible_python_interpreter": sys.executable,
    "k8s_kubeconfig": info["kubeconfig"],
    "k8s_helm_binary": info["helm"],
    "k8s_namespace": "livekit",
    "k8s_livekit_server_chart": chart,
    "k8s_livekit_server_image_repository": repository,
    "k8s_livekit_server_image_tag": tag,
    "k8s_livekit_server_image_pull_policy": "Never",
    "k8s_livekit_server_drain_timeout": 60,
    "k8s_redis_image": images["redis"],
    "k8s_redis_image_pull_policy": "Never",
    "k8s_coturn_enabled": True,
    "k8s_coturn_image": images["coturn"],
    "k8s_coturn_image_pull_policy": "Never",
    "k8s_node_tuning_enabled": True,
    "k8s_node_tuning_image": images["coturn"],  # Debian-based: the shell the init container needs
    "k8s_node_tuning_pause_image": images["pause"],
    "k8s_node_tuning_image_pull_policy": "Never",
    "coturn_realm": "turn.lab-k8s.test",
    "coturn_tls_ports": [],
    "livekit_server_port": int(port),
    "livekit_server_rtc_tcp_port": int(rtc_tcp),
    "livekit_server_rtc_udp_port": rtc_udp,
    "livekit_server_prometheus_port": int(metrics),
}
with open(out, "w") as f:
    yaml.safe_dump({"all": {"children": {"livekit_k8s": {"hosts": {"lab-k8s": host}}}}}, f, default_flow_style=False)
PY
}

start_lab() {
  if [ ! -f "$CHART/Chart.yaml" ]; then
    echo "lab-k8s: the official livekit-server chart is not at $CHART (users get it from its chart repository)" >&2
    exit 1
  fi
  if ! .venv/bin/python scripts/local_kubernetes.py status --dir "$CLUSTER_DIR" >/dev/null 2>&1; then
    .venv/bin/python scripts/local_kubernetes.py start --dir "$CLUSTER_DIR" >/dev/null
  fi
  lab_secrets
  lab_inventory
  collections
  log_file "$LAB_DIR/kubernetes.log"
  ansible-playbook -i "$LAB_DIR/inventory.yml" -e "@$LAB_DIR/secrets.yml" playbooks/kubernetes.yml "$@" \
    | tee "$LAB_DIR/kubernetes.log"
  .venv/bin/python - "$CLUSTER_DIR/cluster.json" "$LAB_DIR/secrets.yml" "$ANSIBLE_COLLECTIONS_PATH" "$PORT" <<'PY'
import json, sys
import yaml
info_file, secrets_file, collections, port = sys.argv[1:]
sys.path.insert(0, collections)
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token, token_claims
with open(info_file) as f:
    info = json.load(f)
with open(secrets_file) as f:
    keys = yaml.safe_load(f)["livekit_api_keys"]
key = sorted(keys)[0]
print("lab-k8s: LiveKit ws://%s:%s (API key %s; its secret is in %s)" % (info["node_ip"], port, key, secrets_file))
token = mint_token(key, keys[key], token_claims(identity="lab-visitor", room="lab-town-hall"), ttl=3600)
print("lab-k8s: join token for lab-town-hall (1 h): %s" % token)
print("lab-k8s: kubectl: %s --kubeconfig %s -n livekit get pods" % (info["kubectl"], info["kubeconfig"]))
PY
  echo "lab-k8s: the cluster keeps running; stop it (and restore the host) with: make stop-k8s"
}

# The media check of the running lab (tests/support: the same participant and check as the Kubernetes tests).
check_lab() {
  local ready="$LAB_DIR/check-ready.json" secret="$LAB_DIR/check-api-secret" bot url key relay
  if ! .venv/bin/python scripts/local_kubernetes.py status --dir "$CLUSTER_DIR" >/dev/null 2>&1; then
    echo "lab-k8s: the lab does not run: make lab-k8s first" >&2
    exit 1
  fi
  read -r url key < <(.venv/bin/python - "$CLUSTER_DIR/cluster.json" "$LAB_DIR/secrets.yml" "$secret" "$PORT" <<'PY'
import json, os, sys
import yaml
info_file, secrets_file, secret_file, port = sys.argv[1:]
with open(info_file) as f:
    info = json.load(f)
with open(secrets_file) as f:
    keys = yaml.safe_load(f)["livekit_api_keys"]
key = sorted(keys)[0]
with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    f.write(keys[key])
print("ws://%s:%s %s" % (info["node_ip"], port, key))
PY
  )
  rm -f "$ready"
  log_file "$LAB_DIR/check.log"
  .venv/bin/python tests/support/participant_bot.py --url "$url" --api-key "$key" --api-secret-file "$secret" \
    --room lab-check --identity lab-publisher --publish both --seconds 120 --ready-file "$ready" >"$LAB_DIR/check.log" 2>&1 &
  bot=$!
  # shellcheck disable=SC2064 # the values now: they are local
  trap "kill $bot 2>/dev/null; rm -f '$secret'" EXIT
  for _ in $(seq 80); do
    [ -s "$ready" ] || ! kill -0 "$bot" 2>/dev/null && break
    sleep 0.5
  done
  [ -s "$ready" ] || { echo "lab-k8s: the publisher did not connect (log: $LAB_DIR/check.log)" >&2; exit 1; }
  for relay in "" --relay-only; do
    echo "lab-k8s: subscriber ${relay:-direct}:"
    # shellcheck disable=SC2086 # $relay: no option or one
    .venv/bin/python tests/support/media_check.py --url "$url" --api-key "$key" --api-secret-file "$secret" \
      --room lab-check --identity "lab-watcher${relay:+-relayed}" --seconds 30 $relay
  done
  echo "lab-k8s: media check passed"
}

case "${1:-}" in
  check)
    check_lab
    ;;
  stop)
    if [ -d "$CLUSTER_DIR" ]; then
      .venv/bin/python scripts/local_kubernetes.py stop --dir "$CLUSTER_DIR"
    fi
    ;;
  up)
    shift
    start_lab "$@"
    ;;
  *)
    RTCSTACK_ROLE_TESTS=0 bash scripts/bootstrap.sh
    # The Kubernetes binaries, helm and the local images (cached by version).
    bash scripts/build-kubernetes.sh
    start_lab "$@"
    ;;
esac
