// Pure parts of installing GRUB (BIOS, i386-pc) for a converted guest: what grub.cfg's root= may
// name, what grub-install -v says went into core.img, what a disk's first sectors must hold, and
// the small /etc/default/grub additions the shared editor does not make.
import { splitCmdline } from '../guest-files/kernel-cmdline.js';
import { parseShellValue, renderShellValue } from '../guest-files/shell-value.js';
import { appendLines, joinLines, splitLines } from '../guest-files/text-lines.js';

/** One `linux` line of grub.cfg and what it boots from. */
export interface GrubCfgKernel {
  line: number;
  kernel: string;
  root?: string;
}

/** The linux/linux16/linuxefi lines of a grub.cfg with their root= values. */
export function grubCfgKernels(cfg: string): GrubCfgKernel[] {
  const out: GrubCfgKernel[] = [];
  cfg.split('\n').forEach((line, i) => {
    const m = /^\s*linux(?:16|efi)?\s+(\S+)(.*)$/.exec(line);
    if (!m) return;
    const root = splitCmdline(m[2]!).find((t) => t.startsWith('root='));
    out.push(root ? { line: i + 1, kernel: m[1]!, root: root.slice(5) } : { line: i + 1, kernel: m[1]! });
  });
  return out;
}

/** A root= that only exists on the converting host (or only under Xen), with why. */
export function hostOnlyRoot(root: string): string | undefined {
  if (/^\/dev\/loop\d/.test(root)) return 'a loop device of the converting host';
  if (/^\/dev\/(mapper\/|dm-\d)/.test(root)) return 'a device-mapper device of the converting host';
  if (/^\/dev\/nbd\d/.test(root)) return 'an nbd device of the converting host';
  if (/^\/dev\/xvd/.test(root)) return 'a Xen disk name; under KVM the disk is /dev/vdX';
  return undefined;
}

/** Problems with grub.cfg's kernel lines: a root= the guest will not have when it boots under KVM. */
export function grubCfgRootProblems(cfg: string, file = 'grub.cfg'): string[] {
  const problems: string[] = [];
  for (const k of grubCfgKernels(cfg)) {
    const why = k.root !== undefined ? hostOnlyRoot(k.root) : undefined;
    if (why) problems.push(`${file}:${k.line}: ${k.kernel} has root=${k.root}, ${why}`);
  }
  return problems;
}

/** The modules grub-install put into core.img, from its --verbose output (the grub-mkimage info line). */
export function coreImageModules(verboseOutput: string): string[] | undefined {
  const line = verboseOutput.split('\n').find((l) => /grub-mkimage/.test(l) && /--format/.test(l));
  if (!line) return undefined;
  const tokens = line.slice(line.indexOf('grub-mkimage')).match(/--[a-z-]+|'[^']*'/g) ?? [];
  const modules: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.startsWith('--')) {
      if (tokens[i + 1]?.startsWith("'")) i++; // the option's value
      continue;
    }
    modules.push(tokens[i]!.slice(1, -1));
  }
  return modules;
}

/** Whether a disk's first sector holds GRUB's boot.img (its "GRUB" message string, and the 55AA signature). */
export function hasGrubBootCode(mbr: Buffer): boolean {
  return mbr.length >= 512 && mbr.subarray(0, 440).includes('GRUB') && mbr[510] === 0x55 && mbr[511] === 0xaa;
}

/** Where grub-bios-setup patches core.img as it embeds it: the Reed-Solomon redundancy length in the decompressor header. */
const RS_REDUNDANCY = { offset: 512 + 0x10, length: 4 };

/**
 * Whether the sectors after the MBR hold this core.img. grub-bios-setup patches two places as it
 * embeds it: the first sector (diskboot.img's blocklist) and the Reed-Solomon redundancy length
 * in the second; everything else must be byte-identical.
 */
export function coreEmbedded(diskHead: Buffer, core: Buffer): boolean {
  if (core.length <= RS_REDUNDANCY.offset + RS_REDUNDANCY.length || diskHead.length < 512 + core.length) return false;
  const embedded = diskHead.subarray(512, 512 + core.length);
  const a = RS_REDUNDANCY.offset;
  const b = a + RS_REDUNDANCY.length;
  return embedded.subarray(512, a).equals(core.subarray(512, a)) && embedded.subarray(b).equals(core.subarray(b));
}

/** The GRUB module that reads a filesystem type (as findmnt/mountinfo name it), or undefined when unknown. */
export function grubFsModule(fstype: string): string | undefined {
  if (/^ext[234]$/.test(fstype)) return 'ext2';
  return ({ xfs: 'xfs', btrfs: 'btrfs', vfat: 'fat', reiserfs: 'reiserfs', jfs: 'jfs' } as Record<string, string>)[fstype];
}

/** The GRUB partition-map module for a blkid PTTYPE. */
export function grubPartModule(ptType: string | undefined): string | undefined {
  return ptType === 'dos' ? 'part_msdos' : ptType === 'gpt' ? 'part_gpt' : undefined;
}

const ferryComment = (why: string): string => `# ferry: ${why}`;

/**
 * Makes `NAME="value"` hold in /etc/default/grub unless an active NAME= line exists (that one is the
 * owner's choice and stays); a new line goes at the end with a comment saying why.
 */
export function ensureGrubSetting(text: string, name: string, value: string, why: string): { text: string; changed: boolean } {
  const file = splitLines(text);
  const re = new RegExp(`^\\s*(?:export\\s+)?${name}=`);
  if (file.lines.some((l) => re.test(l))) return { text, changed: false };
  const out = joinLines(appendLines(file, [ferryComment(why), `${name}="${value}"`]));
  return { text: out, changed: out !== text };
}

/** Adds kernel parameters missing from the last top-level GRUB_CMDLINE_LINUX (a line is added when there is none). */
export function addCmdlineTokens(text: string, tokens: string[]): { text: string; changed: boolean } {
  if (!tokens.length) return { text, changed: false };
  const file = splitLines(text);
  const lines = [...file.lines];
  const at = lines.findLastIndex((l) => /^GRUB_CMDLINE_LINUX=/.test(l));
  const all = lines.flatMap((l) => {
    const m = /^\s*GRUB_CMDLINE_LINUX(?:_DEFAULT)?=(.*)$/.exec(l);
    const v = m && parseShellValue(m[1]!);
    return v ? splitCmdline(v.inner) : [];
  });
  const missing = tokens.filter((t) => !all.includes(t));
  if (!missing.length) return { text, changed: false };
  const v = at >= 0 ? parseShellValue(lines[at]!.slice('GRUB_CMDLINE_LINUX='.length)) : undefined;
  if (at >= 0 && v) {
    lines[at] = `GRUB_CMDLINE_LINUX=${renderShellValue(v, [...splitCmdline(v.inner), ...missing].join(' '))}`;
    const out = joinLines({ lines, finalNewline: file.finalNewline });
    return { text: out, changed: true };
  }
  const out = joinLines(appendLines({ lines, finalNewline: file.finalNewline }, [`GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ${missing.join(' ')}"`]));
  return { text: out, changed: true };
}
