#!/usr/bin/env bash
# Every test: lint, sanity, unit, and integration against a real livekit-server started here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
PATH="$(pwd)/.venv/bin:$PATH"
export PATH
step() { printf '\n== %s\n' "$*"; }

step "ruff"
ruff check plugins tests scripts benchmarks

step "changelog fragments"
antsibull-changelog lint

step "ansible-test sanity"
COLLECTIONS=$(scripts/sync-collection.sh)
(cd "$COLLECTIONS/ansible_collections/rtcstack/livekit" && ansible-test sanity --venv --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no)

step "ansible-lint (profile production)"
ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" ansible-lint --profile production

step "pytest: unit and integration against the real server"
exec pytest "$@"
