// Builds the Xen PV guest xr1 as it would be found on a real Xen host: an unpartitioned ext4
// filesystem (xvda1), a Xen-aware initramfs, a PyGrub menu.lst, a getty on hvc0. It is built here
// at native speed and later copied into LV vg1/xr1-disk inside the lab host.
import fs from 'node:fs';
import path from 'node:path';
import { GUEST, GUEST_OFFLINE_PACKAGES, GUEST_PACKAGES, SUITE } from './recipe.js';
import { debootstrap, inChroot, kernelVersion, makeExt4Image, roundUpMb, treeSizeMb, writeInto } from './rootfs.js';

/** What the build learnt about the guest image. */
export interface GuestImageInfo {
  image: string;
  sizeMb: number;
  kernel: string;
  /** The .deb files left in the guest's /var/cache/apt/archives for an offline KVM conversion. */
  offlineDebs: string[];
}

/** Debootstraps the guest into `root` (the slow, network part; run it alongside the host's). */
export async function debootstrapGuest(root: string, mirror: string, log: string): Promise<void> {
  await debootstrap(root, SUITE, mirror, GUEST_PACKAGES, log);
}

/** Configures the debootstrapped guest in `root` and makes its ext4 image. */
export async function finishGuestImage(root: string, image: string): Promise<GuestImageInfo> {
  const kernel = kernelVersion(root);
  writeInto(root, 'etc/hostname', `${GUEST.hostname}\n`);
  writeInto(root, 'etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${GUEST.hostname}\n`);
  writeInto(root, 'etc/fstab', '/dev/xvda1 / ext4 errors=remount-ro 0 1\n');
  writeInto(root, 'etc/network/interfaces', 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n');
  // Without these in the initramfs a PV guest cannot find its root disk: the Xen-era state a conversion must handle.
  writeInto(root, 'etc/initramfs-tools/modules', '# Xen PV block and network frontends\nxen-blkfront\nxen-netfront\n');
  // PyGrub reads this from the guest's own filesystem; the disk has no partition table, so root is (hd0).
  writeInto(
    root,
    'boot/grub/menu.lst',
    [
      'default 0',
      'timeout 2',
      '',
      `title Debian GNU/Linux 12, kernel ${kernel}`,
      'root (hd0)',
      `kernel /boot/vmlinuz-${kernel} root=/dev/xvda1 ro console=hvc0`,
      `initrd /boot/initrd.img-${kernel}`,
      '',
    ].join('\n'),
  );
  // A login prompt on the Xen console (systemd would also start it from console=hvc0; being explicit
  // keeps it when the kernel command line changes during a conversion).
  const wants = path.join(root, 'etc/systemd/system/getty.target.wants');
  fs.mkdirSync(wants, { recursive: true });
  fs.rmSync(path.join(wants, 'serial-getty@hvc0.service'), { force: true });
  fs.symlinkSync('/lib/systemd/system/serial-getty@.service', path.join(wants, 'serial-getty@hvc0.service'));
  await inChroot(root, ['chpasswd'], `root:${GUEST.rootPassword}\n`);
  await inChroot(root, ['update-initramfs', '-u', '-k', kernel]);
  // debootstrap leaves every .deb it installed in the cache; keep only what the conversion needs.
  await inChroot(root, ['apt-get', 'clean']);
  await inChroot(root, ['apt-get', 'update', '-qq']);
  await inChroot(root, ['apt-get', 'install', '-y', '-qq', '--download-only', '--no-install-recommends', ...GUEST_OFFLINE_PACKAGES]);
  const archives = path.join(root, 'var/cache/apt/archives');
  const offlineDebs = fs.readdirSync(archives).filter((f) => f.endsWith('.deb')).sort();
  // The package lists and apt's binary caches are ~110 MB that apt rebuilds on its next update;
  // an offline conversion installs the cached .debs with dpkg -i instead.
  fs.rmSync(path.join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  for (const f of ['pkgcache.bin', 'srcpkgcache.bin']) fs.rmSync(path.join(root, 'var/cache/apt', f), { force: true });
  fs.mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  // Real guests have a fresh machine-id per install; empty means systemd makes one on first boot.
  fs.writeFileSync(path.join(root, 'etc/machine-id'), '');
  const used = await treeSizeMb(root);
  // Room to install grub and a new initramfs during a conversion, as on a real guest with some free space.
  const sizeMb = roundUpMb(Math.ceil(used * 1.15) + 192);
  await makeExt4Image(root, image, sizeMb, 'xr1-root');
  return { image, sizeMb, kernel, offlineDebs };
}
