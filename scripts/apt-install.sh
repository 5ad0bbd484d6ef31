#!/usr/bin/env bash
# usage: apt-install.sh LABEL PACKAGE...  -- installs the Debian packages that are not installed yet
# (bootstrap.sh and build-kubernetes.sh); a second run only checks.
set -euo pipefail
label=$1; shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "$label: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
