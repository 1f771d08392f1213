// What goes into the lab images. Changing this file (or any file in IMAGE_SOURCES) changes the
// recipe hash, so the next `lab:up` builds fresh images instead of booting stale ones.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

export const SUITE = 'bookworm';

/** The hypervisor host: what a Xen-to-KVM migration runs on it (LVM, partitioning, grub, virsh). */
export const HOST_PACKAGES = [
  'openssh-server', 'lvm2', 'kpartx', 'fdisk', 'parted', 'rsync', 'e2fsprogs', 'grub-pc-bin', 'grub2-common',
  'libvirt-clients', 'libxml2-utils', 'dosfstools', 'zstd',
  // An xfs root (CentOS 7's default) is recreated with mkfs.xfs on the rsync route.
  'xfsprogs',
  // What the lab's own init needs: udev makes /dev/mapper and /dev/VG/LV links, kmod loads dm-mod.
  'udev', 'kmod', 'iproute2', 'procps',
  // The cloud kernel has dm-mod, virtio and ext4 (built in) and is a third of the size of the generic one.
  'linux-image-cloud-amd64', 'initramfs-tools',
];

/** The Xen PV guest: a minimal Debian that boots with a login prompt on hvc0. */
export const GUEST_PACKAGES = [
  'linux-image-cloud-amd64', 'initramfs-tools', 'systemd-sysv', 'udev', 'kmod', 'ifupdown', 'isc-dhcp-client',
  'iproute2', 'openssh-server',
];

/** Downloaded (not installed) into the guest's /var/cache/apt/archives so a KVM conversion can run offline. */
export const GUEST_OFFLINE_PACKAGES = ['grub-pc'];

/** The guest as the hypervisor knows it (its /etc/xen/xr1.cfg), also written into the inventory. */
export const GUEST = {
  name: 'xr1',
  hostname: 'xr1',
  rootPassword: 'ferry',
  vg: 'vg1',
  lv: 'xr1-disk',
  xenConfig: '/etc/xen/xr1.cfg',
  memoryMb: 512,
  vcpus: 1,
  mac: '00:16:3e:4c:52:01',
  bridge: 'br0',
} as const;

/** The lab host's disks: an unpartitioned ext4 root plus two whole-disk PVs (sizes in MiB, files are sparse). */
export const HOST_DISKS = { vg0Mb: 4096, vg1Mb: 4096, rootFreeMb: 1024 };

/** The lab source files whose content shapes the images (the VM runner and boot check do not). */
export const IMAGE_SOURCES = ['lab/recipe.ts', 'lab/rootfs.ts', 'lab/build-host.ts', 'lab/build-guest.ts', 'lab/host-setup.ts'];

/** A short hash of everything the images are made from: the cache key of a build. */
export function recipeHash(): string {
  const h = crypto.createHash('sha256');
  for (const rel of IMAGE_SOURCES) {
    h.update(rel);
    h.update(fs.readFileSync(path.join(repoRoot, rel)));
  }
  return h.digest('hex').slice(0, 16);
}
