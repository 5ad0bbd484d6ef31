#!/usr/bin/env bash
# Set up this machine for the lab and the tests: Debian packages, the Python venv (.venv) and a
# livekit-server built from the Go module proxy. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/versions.env
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
mkdir -p "$CACHE"

bash scripts/apt-install.sh bootstrap redis-server shellcheck
# The packaged redis-server service is not used: tests and the lab start their own on loopback.
if command -v systemctl >/dev/null && systemctl is-active -q redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi

stamp=".venv/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating .venv"
  python3 -m venv .venv
  # constraints.txt: the versions make test passed with (docs/developing.md, "Dependencies").
  .venv/bin/pip install -q --upgrade pip -c constraints.txt
  .venv/bin/pip install -q -r requirements.txt -r requirements-dev.txt -c constraints.txt
  echo "$want" > "$stamp"
fi

# ansible-test bootstraps pip in its venvs with a script from a host these machines cannot reach:
# give it scripts/get_pip_offline.py under the name it looks for.
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\?$/\1/p" .venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)
mkdir -p "$HOME/.ansible/test/cache"
cp scripts/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

build_server() {
  local version=$1
  if [ ! -x "$CACHE/livekit-$version/server" ]; then
    echo "bootstrap: building livekit-server $version with go install (a few minutes)"
    GOPATH="$CACHE/go" GOBIN="$CACHE/livekit-$version" CGO_ENABLED=0 \
      go install "github.com/livekit/livekit-server/cmd/server@$version"
  fi
  "$CACHE/livekit-$version/server" --version
}
build_server "$LIVEKIT_SERVER_VERSION"
# The go engine of the load test (rtcstack-loadgen, with its clips; cached by version).
bash scripts/build-loadgen.sh >/dev/null
# The role scenarios and the lab stack: the previous release (upgrade tests) and the test hosts.
if [ "${RTCSTACK_ROLE_TESTS:-ci}" != 0 ]; then
  build_server "$LIVEKIT_SERVER_PREVIOUS_VERSION"
  bash scripts/testhosts.sh prepare
fi

# ansible and ansible-test load the collection from a copy at
# $CACHE/collections/ansible_collections/rtcstack/livekit (scripts/sync-collection.sh refreshes it).
scripts/sync-collection.sh >/dev/null
