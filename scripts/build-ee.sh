#!/usr/bin/env bash
# Build the execution environment image of extras/awx/execution-environment.yml (`make ee`):
# the collection tarball from this checkout, `ansible-builder create`, then `podman build` (one at a
# time: a lock file in the cache). Prints the image name and the build time. ansible-builder lives in a venv of
# its own under the cache (it is not needed by anything else).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
ANSIBLE_BUILDER_VERSION=3.2.0
BASE_IMAGE=localhost/rtcstack-debian12:2
version=$(sed -n 's/^version: *//p' galaxy.yml)
image="${RTCSTACK_EE_IMAGE:-localhost/rtcstack-livekit-ee:$version}"
work="${RTCSTACK_EE_DIR:-$CACHE/ee}"
tools="$CACHE/ansible-builder-$ANSIBLE_BUILDER_VERSION"
lock="$CACHE/ee.lock"  # one build of the image at a time

if [ ! -x "$tools/bin/ansible-builder" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "ansible-builder==$ANSIBLE_BUILDER_VERSION"
fi
podman image exists "$BASE_IMAGE" || bash scripts/testhosts.sh prepare

rm -rf "$work/def" "$work/context"
mkdir -p "$work/def/collections"
cp extras/awx/execution-environment.yml extras/awx/requirements.yml "$work/def/"
galaxy=.venv/bin/ansible-galaxy
[ -x "$galaxy" ] || galaxy=ansible-galaxy
"$galaxy" collection build --force --output-path "$work/dist" . >/dev/null
cp "$work/dist/rtcstack-livekit-$version.tar.gz" "$work/def/collections/rtcstack-livekit.tar.gz"
"$tools/bin/ansible-builder" create -f "$work/def/execution-environment.yml" -c "$work/context" >/dev/null

# pip inside the build trusts what this host trusts (a TLS-inspecting proxy's CA, say): the host's CA bundle
# and a pip.conf naming it are mounted read-only at /etc/xdg/pip (pip's site configuration directory) for
# the RUN steps only; they are not in the image (an empty /etc/xdg/pip stays as the mount point).
rm -rf "$work/pip" && mkdir -p "$work/pip"
cp /etc/ssl/certs/ca-certificates.crt "$work/pip/ca.crt"
printf '[global]\ncert = /etc/xdg/pip/ca.crt\n' > "$work/pip/pip.conf"
cache=()
[ "${RTCSTACK_EE_NO_CACHE:-0}" = 1 ] && cache=(--no-cache)
# The time is measured inside the lock: waiting for another build is not part of it.
# shellcheck disable=SC2016 # expanded by the inner bash
flock "$lock" bash -c 'set -e; start=$(date +%s)
  podman build --pull=never "${@:3}" -v "$1/../pip:/etc/xdg/pip:ro" -f "$1/Containerfile" -t "$2" "$1"
  echo "execution environment: $2 (podman build: $(( $(date +%s) - start )) s)"' _ "$work/context" "$image" "${cache[@]}"
