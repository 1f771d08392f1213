// The scripts that live in the lab host: its PID 1 (no systemd: boots in seconds under TCG), its
// halt, and the one-time LVM setup that must run inside the VM (this machine's kernel has no dm).
import { GUEST } from './recipe.js';

/** Kernel command line of the lab host (direct kernel boot). */
export const HOST_CMDLINE = 'root=/dev/vda rw console=ttyS0 net.ifnames=0 init=/sbin/lab-init panic=-1';

/** /sbin/lab-init: mounts, loads modules, coldplugs udev, activates LVM, starts sshd, then reaps. */
export const LAB_INIT = `#!/bin/sh
# PID 1 of the lab host. Systemd is not needed to run commands over SSH, and this boots in seconds
# under TCG. The initramfs has already mounted / and moved /proc, /sys, /dev and /run onto it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mountpoint -q /dev/pts || mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mountpoint -q /run || mount -t tmpfs -o mode=0755 tmpfs /run
mount -o remount,rw /
hostname lab-hv
for m in virtio_pci virtio_blk virtio_net dm_mod dm_snapshot ext4 loop; do modprobe "$m" 2>/dev/null; done
# udev creates /dev/mapper/* and the /dev/VG/LV links that lvm2's rules ask for, and /dev/disk/by-id.
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --type=subsystems
udevadm trigger --action=add --type=devices
udevadm settle --timeout=60
vgchange -ay >/dev/null 2>&1
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
mkdir -p /run/sshd
/usr/sbin/sshd
echo "lab-init: ready (sshd started)" > /dev/console
# As PID 1 we adopt every orphan; the shell reaps them between sleeps.
while :; do sleep 5 & wait; done
`;

/** /sbin/lab-halt: flush everything to the virtual disks and power off (qemu then exits). */
export const LAB_HALT = `#!/bin/sh
# Called over SSH by "lab:down": the VM's disks are qcow2 overlays, so a clean stop keeps them consistent.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
sync
vgchange -an >/dev/null 2>&1
# sysrq: s = sync, u = remount everything read-only, o = power off. Runs detached so SSH returns first.
( sleep 1; echo s > /proc/sysrq-trigger; sleep 1; echo u > /proc/sysrq-trigger; sleep 1; echo o > /proc/sysrq-trigger ) >/dev/null 2>&1 &
`;

/** sshd settings: key-only root login, no DNS lookups (slow under user networking). */
export const SSHD_CONFIG = `# ferry lab host
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
`;

/** The Xen domain config of the guest, as xl reads it. */
export function xenConfig(): string {
  return [
    `# Xen PV guest ${GUEST.name} (ferry lab). PyGrub boots the kernel named in the guest's own /boot/grub/menu.lst.`,
    `name = "${GUEST.name}"`,
    `memory = ${GUEST.memoryMb}`,
    `vcpus = ${GUEST.vcpus}`,
    'bootloader = "pygrub"',
    `disk = ['phy:/dev/${GUEST.vg}/${GUEST.lv},xvda1,w']`,
    `vif = ['mac=${GUEST.mac},bridge=${GUEST.bridge}']`,
    "on_reboot = 'restart'",
    "on_crash = 'restart'",
    '',
  ].join('\n');
}

/**
 * The one-time setup run over SSH at the end of the build: two whole-disk PVs, vg0 and vg1, the
 * guest's LV filled from the guest image (attached as an extra read-only disk), /etc/xen/xr1.cfg.
 * Disks are found by the serial qemu gives them, not by probe order.
 */
export function setupScript(guestSizeMb: number): string {
  return `set -eu
dev() { readlink -f "/dev/disk/by-id/virtio-$1"; }
pvcreate -q -y "$(dev ferry-vg0)" "$(dev ferry-vg1)"
vgcreate -q vg0 "$(dev ferry-vg0)"
vgcreate -q ${GUEST.vg} "$(dev ferry-vg1)"
lvcreate -q -y -W y -L ${guestSizeMb}m -n ${GUEST.lv} ${GUEST.vg}
udevadm settle
dd if="$(dev ferry-guest)" of=/dev/${GUEST.vg}/${GUEST.lv} bs=4M conv=fsync status=none
mkdir -p /etc/xen
cat > ${GUEST.xenConfig} <<'XENCFG'
${xenConfig()}XENCFG
sync
vgs --noheadings -o vg_name,pv_count,lv_count
`;
}
