// The initramfs images of a guest and whether they hold virtio_blk: which /boot files are images
// for each generator, the tool that lists an image's contents, and the test on its listing.
import { sh, type Command } from '../../runner/command.js';
import type { GuestOs } from './os-family.js';

/** One initramfs image in the guest's /boot, with the kernel version its name says it is for. */
export interface InitramfsImage {
  path: string;
  /** The kernel version (initrd.img-VERSION, initramfs-VERSION.img); Arch names images after the package (linux, linux-fallback). */
  version: string;
}

/** The initramfs images among the names in /boot (`ls -1 /boot`), for this guest's generator. */
export function initramfsImages(generator: GuestOs['initramfs'], bootNames: string[]): InitramfsImage[] {
  const out: InitramfsImage[] = [];
  for (const name of bootNames.map((n) => n.trim()).filter(Boolean)) {
    const m =
      generator === 'initramfs-tools'
        ? /^initrd\.img-(.+)$/.exec(name)
        : // kdump images are built for the crash kernel with a minimal driver set on purpose
          /^initramfs-(.+?)(?<!kdump)\.img$/.exec(name);
    if (!m) continue;
    // update-initramfs keeps backups (initrd.img-V.bak, .old-dkms) that nothing boots
    if (generator === 'initramfs-tools' && /\.(bak|old-dkms|dpkg-bak)$/.test(m[1]!)) continue;
    out.push({ path: `/boot/${name}`, version: m[1]! });
  }
  return out;
}

/** The guest command that lists an image's files. */
export function listImageCommand(generator: GuestOs['initramfs'], image: string): Command {
  if (generator === 'initramfs-tools') return sh`lsinitramfs ${image}`;
  if (generator === 'dracut') return sh`lsinitrd ${image}`;
  return sh`lsinitcpio ${image}`;
}

/** Whether an image listing (lsinitramfs paths, lsinitrd's ls -l lines, lsinitcpio paths) holds the module. */
export function listingHasModule(listing: string, module = 'virtio_blk'): boolean {
  const esc = module.replace(/[_-]/g, '[_-]');
  return new RegExp(`(^|/)${esc}\\.ko(\\.(xz|zst|gz|bz2))?\\s*$`, 'm').test(listing);
}

/** The command that rebuilds every image of the guest. */
export function rebuildCommand(generator: GuestOs['initramfs']): Command {
  if (generator === 'initramfs-tools') return sh`update-initramfs -u -k all`;
  if (generator === 'dracut') return sh`dracut -f --regenerate-all`;
  return sh`mkinitcpio -P`;
}
