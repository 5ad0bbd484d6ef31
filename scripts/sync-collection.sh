#!/usr/bin/env bash
# Copy the checkout to where ansible and ansible-test look for rtcstack.livekit, and print the
# collections path to use as ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
root="${RTCSTACK_COLLECTIONS:-$CACHE/collections}"
dest="$root/ansible_collections/rtcstack/livekit"
mkdir -p "$dest"
if command -v rsync >/dev/null; then
  rsync -a --delete --exclude .venv --exclude .cache --exclude tests/output --exclude __pycache__ \
    --exclude .ruff_cache --exclude .pytest_cache ./ "$dest/"
else
  rm -rf "$dest" && mkdir -p "$dest"
  tar --exclude=./.venv --exclude=./.cache --exclude=./tests/output --exclude=__pycache__ -cf - . | tar -C "$dest" -xf -
fi
echo "$root"
