#!/usr/bin/env bash
# Every test: lint, sanity, unit, integration against a real livekit-server started here, and the
# Molecule scenarios (in lanes beside the rest: tests/lanes.py). docs/testing.md says what runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The Kubernetes test cluster: binaries, helm, Debian packages and the local images (cached by version; make lab needs
# none of it).
bash scripts/build-kubernetes.sh
# The OpenStack test control plane (tests/e2e/test_openstack_*.py): built here, not by bootstrap.sh (make lab needs none).
bash scripts/build-openstack.sh
export RTCSTACK_OPENSTACK_TESTS="${RTCSTACK_OPENSTACK_TESTS:-run}"
PATH="$(pwd)/.venv/bin:$PATH"
export PATH
step() { printf '\n== %s\n' "$*"; }

step "ruff"
ruff check plugins tests scripts benchmarks molecule roles

step "changelog fragments"
antsibull-changelog lint

step "pytest: unit, sanity, ansible-lint, the API against the real server, Molecule scenarios"
exec pytest "$@"
