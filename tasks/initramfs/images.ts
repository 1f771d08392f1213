// The initramfs images of a guest and whether they hold virtio_blk: which /boot files are images
// for each generator, the tool that lists an image's contents, and the test on its listing.
import { raw, sh, type Command } from '../../runner/command.js';
import type { GuestOs } from '../guest/os-family.js';

type Generator = GuestOs['initramfs'];

/**
 * The program whose presence in the guest says a generator is installed. Not mkinitramfs: on Debian
 * it is in initramfs-tools-core, which stays when dracut replaces initramfs-tools; update-initramfs goes.
 */
const GENERATOR_TOOLS: Record<Generator, string> = { 'initramfs-tools': 'update-initramfs', dracut: 'dracut', mkinitcpio: 'mkinitcpio' };

/** The guest command that prints the generator tools installed in the guest, one a line. */
export const GENERATOR_PROBE: Command = sh`${raw(
  [
    `for t in ${Object.values(GENERATOR_TOOLS).join(' ')}; do`,
    '  for d in /usr/sbin /usr/bin /sbin /bin; do',
    '    if [ -x "$d/$t" ]; then echo "$t"; break; fi',
    '  done',
    'done',
    'true',
  ].join('\n'),
)}`;

/**
 * The generator a guest really uses: the family's usual one when it is installed, else the one that
 * is (a Debian guest may run dracut instead of initramfs-tools: they conflict, only one is there);
 * the family's when the probe found none, so the rebuild names the missing tool.
 */
export function chooseGenerator(familyDefault: Generator, probeOutput: string): { generator: Generator; why: string } {
  const found = new Set(probeOutput.split('\n').map((l) => l.trim()).filter(Boolean));
  const installed = (Object.keys(GENERATOR_TOOLS) as Generator[]).filter((g) => found.has(GENERATOR_TOOLS[g]));
  if (installed.includes(familyDefault)) return { generator: familyDefault, why: `${GENERATOR_TOOLS[familyDefault]} is installed` };
  if (installed.length) {
    return { generator: installed[0]!, why: `${GENERATOR_TOOLS[installed[0]!]} is installed, not the family's usual ${GENERATOR_TOOLS[familyDefault]}` };
  }
  return { generator: familyDefault, why: `none of ${Object.values(GENERATOR_TOOLS).join(', ')} is installed; the family's usual one is assumed` };
}

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
    const debianName = /^initrd\.img-(.+)$/.exec(name);
    const m =
      generator === 'initramfs-tools'
        ? debianName
        : // kdump images are built for the crash kernel with a minimal driver set on purpose;
          // Debian's and Ubuntu's dracut keeps the initramfs-tools name, initrd.img-VERSION
          (/^initramfs-(.+?)(?<!kdump)\.img$/.exec(name) ?? (generator === 'dracut' ? debianName : null));
    if (!m) continue;
    // update-initramfs keeps backups (initrd.img-V.bak, .old-dkms) that nothing boots, and writes
    // the image as .new first: one left behind by a cut run is half-written and booted by nothing
    if (m === debianName && /\.(bak|old-dkms|dpkg-bak|new)$/.test(m[1]!)) continue;
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

/**
 * What an interrupted run of each generator leaves on the guest's disk (inside the guest root):
 * its work directories (an initramfs-tools one holds every module of a kernel, tens of MiB) and
 * update-initramfs' half-written image. A controller killed mid-rebuild, several times, fills a
 * small root with them until the next rebuild fails with ENOSPC. The guest is offline while it is
 * converted, so nothing else can be using them.
 */
const GENERATOR_LEFTOVERS: Record<GuestOs['initramfs'], string> = {
  'initramfs-tools': '"${TMPDIR:-/var/tmp}"/mkinitramfs_?????? "${TMPDIR:-/var/tmp}"/mkinitramfs-*_?????? /boot/initrd.img-*.new',
  dracut: '"${TMPDIR:-/var/tmp}"/dracut.??????',
  mkinitcpio: '"${TMPDIR:-/tmp}"/mkinitcpio.??????',
};

/** The command that rebuilds every image of the guest, first removing what an interrupted rebuild left behind. */
export function rebuildCommand(generator: GuestOs['initramfs']): Command {
  const build = generator === 'initramfs-tools' ? sh`update-initramfs -u -k all` : generator === 'dracut' ? sh`dracut -f --regenerate-all` : sh`mkinitcpio -P`;
  return sh`rm -rf ${raw(GENERATOR_LEFTOVERS[generator])} && ${build}`;
}
