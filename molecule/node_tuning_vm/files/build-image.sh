#!/usr/bin/env bash
# Build, once, the base disk of the node_tuning_vm scenario: Debian 12 from debootstrap with the Debian cloud
# kernel (linux-image-cloud-amd64), systemd-networkd DHCP on the qemu user-mode network, root login over ssh with
# a key made here. Output in DIR: base.raw (ext4 image, no partition table), vmlinuz, initrd.img, id_ed25519.
set -euo pipefail
DIR=${1:?usage: build-image.sh DIR}
mkdir -p "$DIR"
cd "$DIR"
if [ -s base.raw ] && [ -s vmlinuz ] && [ -s initrd.img ] && [ -s id_ed25519 ]; then
  echo "node_tuning_vm: base image ready in $DIR"
  exit 0
fi
rootfs=$(mktemp -d "$DIR/rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=linux-image-cloud-amd64,initramfs-tools,systemd,systemd-sysv,dbus,udev,kmod,openssh-server,python3,python3-apt,iproute2,procps,sudo,ca-certificates \
  bookworm "$rootfs" >/dev/null
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
echo node-tuning-vm > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 node-tuning-vm\n' > "$rootfs/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$rootfs/etc/fstab"
: > "$rootfs/etc/machine-id"
mkdir -p "$rootfs/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$rootfs/etc/systemd/network/10-dhcp.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$rootfs/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
rm -f id_ed25519 id_ed25519.pub
ssh-keygen -q -t ed25519 -N '' -C node_tuning_vm -f id_ed25519
install -d -m 0700 "$rootfs/root/.ssh"
install -m 0600 id_ed25519.pub "$rootfs/root/.ssh/authorized_keys"
cp "$rootfs"/boot/vmlinuz-* vmlinuz
cp "$rootfs"/boot/initrd.img-* initrd.img
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
rm -f base.raw.tmp
mke2fs -q -t ext4 -L root -d "$rootfs" base.raw.tmp 3G
mv base.raw.tmp base.raw
echo "node_tuning_vm: base image built in $DIR"
