#!/usr/bin/env bash
# The main job on the local default: start a real livekit-server + redis on loopback (state in
# .cache/lab, keys kept between runs) and converge playbooks/lab_api.yml against it.
# A second run changes nothing. Stop the servers with: scripts/lab.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR="$(pwd)/.cache/lab"
if [ "${1:-}" = stop ]; then
  .venv/bin/python scripts/local_livekit.py stop --dir "$LAB_DIR"
  exit 0
fi
bash scripts/bootstrap.sh
mkdir -p "$LAB_DIR"
if [ ! -f "$LAB_DIR/pids.json" ] || ! curl -fs "http://127.0.0.1:${LAB_PORT:-7880}/" >/dev/null 2>&1; then
  .venv/bin/python scripts/local_livekit.py start --dir "$LAB_DIR" --port "${LAB_PORT:-7880}" \
    --redis-port "${LAB_REDIS_PORT:-6380}" --keep-keys >/dev/null
fi
key_line=$(head -n1 "$LAB_DIR/keys.yaml")
export LAB_DIR
export LIVEKIT_URL="http://127.0.0.1:${LAB_PORT:-7880}"
export LIVEKIT_API_KEY="${key_line%%:*}"
LIVEKIT_API_SECRET="${key_line#*: }"
export LIVEKIT_API_SECRET
export ANSIBLE_COLLECTIONS_PATH
ANSIBLE_COLLECTIONS_PATH=$(scripts/sync-collection.sh)
PATH="$(pwd)/.venv/bin:$PATH" ansible-playbook -i localhost, playbooks/lab_api.yml "$@"
echo "lab: servers keep running; logs in $LAB_DIR; stop them with: scripts/lab.sh stop"
