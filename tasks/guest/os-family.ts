// Which distribution family a guest is, from its /etc/os-release (os-release(5)), and what that
// means for a conversion: the package format and tools, the kernel and GRUB packages, the
// initramfs generator and where grub.cfg lives.
import { osFacts, parseOsRelease } from '../../runner/facts/parse.js';

/** os-release(5) KEY=value pairs: the parser the host facts use. */
export { parseOsRelease };

/**
 * The conversion profiles: the host facts' family (one table of os-release IDs, runner/facts/parse.ts),
 * with Ubuntu apart from Debian for its kernel package.
 */
export type GuestFamily = 'debian' | 'ubuntu' | 'rhel' | 'arch';

/** What a conversion needs to know about a guest's distribution. */
export interface GuestOs {
  id: string;
  idLike: string[];
  versionId?: string;
  prettyName?: string;
  family: GuestFamily;
  /** Package file format an offline packages_dir must hold. */
  packageFormat: 'deb' | 'rpm' | 'pkg';
  /** The package that pulls in a kernel with virtio drivers. */
  kernelPackage: string;
  /** The packages that provide grub-install for BIOS (i386-pc) booting. */
  grubPackages: string[];
  /** grub-install / grub-mkconfig are called grub2-* on the RHEL family. */
  grubPrefix: 'grub' | 'grub2';
  /** grub.cfg's path inside the guest. */
  grubCfg: string;
  initramfs: 'initramfs-tools' | 'dracut' | 'mkinitcpio';
}

function familyOf(kv: Record<string, string>, id: string, idLike: string[]): GuestFamily | undefined {
  switch (osFacts(kv).family) {
    case 'debian':
      return id === 'ubuntu' || (idLike.includes('ubuntu') && id !== 'debian') ? 'ubuntu' : 'debian';
    case 'redhat':
      return 'rhel';
    case 'arch':
      return 'arch';
    default:
      return undefined;
  }
}

/** The guest's distribution facts from its os-release text; throws naming the ID when the family is not supported. */
export function detectGuestOs(osRelease: string, source = '/etc/os-release'): GuestOs {
  const kv = parseOsRelease(osRelease);
  const id = (kv.ID ?? '').toLowerCase();
  if (!id) throw new Error(`${source} has no ID= line; cannot tell the guest's distribution`);
  const idLike = (kv.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const family = familyOf(kv, id, idLike);
  if (!family) {
    throw new Error(
      `${source}: distribution ID=${id}${idLike.length ? ` (ID_LIKE=${idLike.join(' ')})` : ''} is not supported; ferry converts Debian, Ubuntu, RHEL-family and Arch guests`,
    );
  }
  const base = { id, idLike, versionId: kv.VERSION_ID, prettyName: kv.PRETTY_NAME, family };
  switch (family) {
    case 'debian':
    case 'ubuntu':
      return {
        ...base,
        packageFormat: 'deb',
        // linux-image-virtual is Ubuntu's small kernel for VMs; Debian's amd64 flavour has virtio as modules.
        kernelPackage: family === 'ubuntu' ? 'linux-image-virtual' : 'linux-image-amd64',
        grubPackages: ['grub-pc'],
        grubPrefix: 'grub',
        grubCfg: '/boot/grub/grub.cfg',
        initramfs: 'initramfs-tools',
      };
    case 'rhel':
      return { ...base, packageFormat: 'rpm', kernelPackage: 'kernel', grubPackages: ['grub2-pc'], grubPrefix: 'grub2', grubCfg: '/boot/grub2/grub.cfg', initramfs: 'dracut' };
    case 'arch':
      return { ...base, packageFormat: 'pkg', kernelPackage: 'linux', grubPackages: ['grub'], grubPrefix: 'grub', grubCfg: '/boot/grub/grub.cfg', initramfs: 'mkinitcpio' };
  }
}
