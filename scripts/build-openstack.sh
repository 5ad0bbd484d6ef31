#!/usr/bin/env bash
# Build what the OpenStack test control plane (scripts/local_openstack.py) runs: one venv with
# keystone, nova, neutron, placement, glance, uWSGI and the client, pinned in scripts/versions.env,
# plus our own neutron plugins (scripts/openstack_plugins), and the Debian packages of MariaDB and
# RabbitMQ. Idempotent: a second run only checks. The venv is cached by series and pins under $CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/versions.env
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
mkdir -p "$CACHE"

bash scripts/apt-install.sh build-openstack mariadb-server rabbitmq-server gcc python3-dev libffi-dev libssl-dev
# The packaged services are not used: the harness starts its own mariadbd and rabbitmq-server.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for s in mariadb rabbitmq-server; do
    if systemctl is-active -q "$s" 2>/dev/null; then systemctl stop "$s"; fi
  done
fi

pins=(
  "keystone==$OPENSTACK_KEYSTONE_VERSION"
  "nova==$OPENSTACK_NOVA_VERSION"
  "neutron==$OPENSTACK_NEUTRON_VERSION"
  "openstack-placement==$OPENSTACK_PLACEMENT_VERSION"
  "glance==$OPENSTACK_GLANCE_VERSION"
  "python-openstackclient==$OPENSTACK_CLIENT_VERSION"
  "openstacksdk==$OPENSTACK_SDK_VERSION"
  "PyMySQL==$OPENSTACK_PYMYSQL_VERSION"
  "uWSGI==$UWSGI_VERSION"
)
plugins_sum=$(cd scripts/openstack_plugins && sha256sum pyproject.toml rtcstack_neutron_test/*.py | sha256sum | cut -c1-16)
want=$(printf '%s\n' "${pins[@]}" "plugins=$plugins_sum" | sha256sum | cut -c1-64)
venv="$CACHE/openstack-$OPENSTACK_SERIES"
stamp="$venv/.rtcstack-build.sha256"

if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "build-openstack: building the OpenStack $OPENSTACK_SERIES venv in $venv (about 3 minutes on two cores)"
  # One build at a time per cache; a lock of its own, never a team's.
  exec 9>"$CACHE/build-openstack.lock"
  flock 9
  start=$(date +%s)
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip setuptools wheel
  fi
  # Wheels (uWSGI builds from source) are kept so that a rebuild does not compile again.
  PIP_CACHE_DIR="$CACHE/pip-openstack" "$venv/bin/pip" install -q "${pins[@]}"
  # From a copy: a build leaves build/ and *.egg-info beside the sources.
  plugins=$(mktemp -d)
  cp -r scripts/openstack_plugins/pyproject.toml scripts/openstack_plugins/rtcstack_neutron_test "$plugins/"
  "$venv/bin/pip" install -q --no-deps --force-reinstall "$plugins"
  rm -rf "$plugins"
  "$venv/bin/pip" freeze --exclude-editable > "$venv/.rtcstack-freeze.txt"
  echo "$want" > "$stamp"
  flock -u 9
  echo "build-openstack: built in $(( $(date +%s) - start )) s, $(du -sm "$venv" | cut -f1) MB"
fi
for b in keystone-manage nova-manage neutron-db-manage placement-manage glance-manage uwsgi openstack; do
  [ -x "$venv/bin/$b" ] || { echo "build-openstack: $venv/bin/$b is missing" >&2; exit 1; }
done
echo "build-openstack: $venv (keystone $OPENSTACK_KEYSTONE_VERSION, nova $OPENSTACK_NOVA_VERSION, neutron $OPENSTACK_NEUTRON_VERSION)"
