#!/usr/bin/env bash
# Real systemd test hosts as root podman containers (see docs/testing.md).
#   scripts/testhosts.sh prepare          packages, cgroup and podman fixes, the host image
#   scripts/testhosts.sh up NET HOST...   start hosts (systemd as PID 1) on podman network NET
#   scripts/testhosts.sh down NET HOST... remove them and the network
# Idempotent. The image is built once with debootstrap and cached as a tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
IMAGE="${RTCSTACK_HOST_IMAGE:-localhost/rtcstack-debian12:2}"
ROOTFS_TAR="$CACHE/rtcstack-debian12-rootfs-2.tar"

prepare() {
  local missing=()
  for p in podman crun netavark aardvark-dns debootstrap iptables; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # crun refuses hybrid cgroups while a controller sits on the unified mount: give the remaining
  # v1 controllers their own hierarchies (not persistent across boots, so done on every run).
  if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
    for c in hugetlb net_cls,net_prio perf_event; do
      mkdir -p "/sys/fs/cgroup/$c"
      mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || true
    done
  fi
  # No rlimits in the OCI spec (raising them fails here), cgroupfs, file events, crun.
  mkdir -p /etc/containers
  local conf=/etc/containers/containers.conf
  if ! grep -q "rtcstack" "$conf" 2>/dev/null; then
    cat > "$conf" <<'CONF'
# written by rtcstack.livekit scripts/testhosts.sh
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"

[network]
network_backend = "netavark"
CONF
  fi
  if ! podman image exists "$IMAGE"; then
    if [ ! -s "$ROOTFS_TAR" ]; then
      build_rootfs
    fi
    podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
      --change 'ENV container=podman' "$ROOTFS_TAR" "$IMAGE" >/dev/null
  fi
  echo "testhosts: image $IMAGE ready"
}

build_rootfs() {
  local rootfs
  rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  echo "testhosts: building the host image with debootstrap (about 2 minutes)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,procps,ca-certificates,sudo,curl,gnupg \
    bookworm "$rootfs" >/dev/null
  : > "$rootfs/etc/machine-id"
  for unit in console-getty.service getty@tty1.service systemd-remount-fs.service apt-daily.timer \
              apt-daily-upgrade.timer systemd-firstboot.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # Test hosts install Debian packages from the same mirror the machine uses.
  rm -f "$rootfs/etc/apt/sources.list"
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  tar -C "$rootfs" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$rootfs"
}

up() {
  local net=$1; shift
  podman network exists "$net" || podman network create "$net" >/dev/null
  for host in "$@"; do
    if ! podman container exists "$host"; then
      podman run -d --privileged --systemd=always --network "$net" --hostname "$host" --name "$host" \
        "$IMAGE" /sbin/init >/dev/null
    fi
  done
  for host in "$@"; do
    for _ in $(seq 1 60); do
      state=$(podman exec "$host" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
      sleep 0.5
    done
    echo "testhosts: $host $state"
  done
}

down() {
  local net=$1; shift
  for host in "$@"; do podman rm -f -t 5 "$host" >/dev/null 2>&1 || true; done
  podman network rm -f "$net" >/dev/null 2>&1 || true
}

cmd=${1:-}; shift || true
case "$cmd" in
  prepare) prepare ;;
  up) up "$@" ;;
  down) down "$@" ;;
  *) echo "usage: $0 prepare | up NET HOST... | down NET HOST..." >&2; exit 2 ;;
esac
