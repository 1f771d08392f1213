// GRUB legacy /boot/grub/menu.lst, as pygrub reads it on the Xen host. ferry reads it mostly to
// learn which kernel, initrd and command line the guest boots; the edit rewrites the kernel
// command lines for KVM.
//
// `root (hd0)` is kept: the Linode menu.lst that moved from Xen to KVM (corpora
// guest-files/menu-lst/linode-arch-after-kvm-sda-ttyS0) kept `root (hd0)` and changed only the
// kernel arguments, and on an unpartitioned disk (hd0) is the filesystem itself.
import { rewriteKernelCmdline, type CmdlineOptions } from '../guest-files/kernel-cmdline.js';
import { editResult, joinLines, splitLines, type EditResult } from '../guest-files/text-lines.js';

/** One `title` entry with the line of each command (1-based). */
export interface MenuEntry {
  title: string;
  line: number;
  root?: string;
  kernel?: { line: number; path: string; args: string };
  initrd?: { line: number; path: string };
  /** The kernel is a Xen-only one (…-xen…): it will not boot under KVM. */
  xenKernel: boolean;
}

/** What menu.lst says: the default entry index, timeout and entries. */
export interface MenuLst {
  default?: number;
  timeout?: number;
  entries: MenuEntry[];
}

// GRUB legacy accepts `cmd arg` and `cmd=arg`.
const COMMAND = /^(\s*)([a-z_]+)([\s=]+)(.*)$/;

function isXenKernel(title: string, path: string | undefined): boolean {
  const re = /-xen(\b|-)/i;
  return re.test(path ?? '') || re.test(title);
}

/** Parses menu.lst into its entries. */
export function parseMenuLst(text: string): MenuLst {
  const menu: MenuLst = { entries: [] };
  let cur: MenuEntry | undefined;
  splitLines(text).lines.forEach((line, i) => {
    if (/^\s*#/.test(line)) return;
    const m = COMMAND.exec(line);
    if (!m) return;
    const [, , cmd, , arg] = m;
    if (cmd === 'title') {
      cur = { title: arg.trim(), line: i + 1, xenKernel: false };
      menu.entries.push(cur);
    } else if (!cur) {
      if (cmd === 'default' && /^\d+/.test(arg)) menu.default = Number.parseInt(arg, 10);
      if (cmd === 'timeout' && /^\d+/.test(arg)) menu.timeout = Number.parseInt(arg, 10);
    } else if (cmd === 'root') cur.root = arg.trim();
    else if (cmd === 'kernel') {
      const k = /^(\S+)\s*(.*)$/.exec(arg.trim())!;
      cur.kernel = { line: i + 1, path: k[1], args: k[2] };
      cur.xenKernel = isXenKernel(cur.title, k[1]);
    } else if (cmd === 'initrd') cur.initrd = { line: i + 1, path: arg.trim().split(/\s+/)[0] };
  });
  return menu;
}

/** The entry GRUB boots by default (entry 0 when `default` is absent or out of range). */
export function defaultMenuEntry(menu: MenuLst): MenuEntry | undefined {
  return menu.entries[menu.default ?? 0] ?? menu.entries[0];
}

/** Rewrites every entry's kernel command line for KVM; reports entries that boot a Xen-only kernel. */
export function editMenuLst(text: string, opts: CmdlineOptions = {}): EditResult {
  const file = splitLines(text);
  const notes: string[] = [];
  let inEntry = false;
  const lines = file.lines.map((line, i) => {
    const m = COMMAND.exec(line);
    if (!m || /^\s*#/.test(line)) return line;
    if (m[2] === 'title') inEntry = true;
    if (m[2] !== 'kernel' || !inEntry) return line;
    const k = /^(\S+)(\s*)(.*)$/.exec(m[4])!;
    const r = rewriteKernelCmdline(k[3], opts);
    notes.push(...(r.notes ?? []).map((n) => `line ${i + 1}: ${n}`));
    return r.changed ? `${m[1]}${m[2]}${m[3]}${k[1]}${k[2] || ' '}${r.text}` : line;
  });
  for (const e of parseMenuLst(text).entries) {
    if (e.xenKernel) notes.push(`line ${e.line}: entry "${e.title}" boots a Xen kernel (${e.kernel?.path}); it will not boot under KVM`);
  }
  return editResult(text, joinLines({ lines, finalNewline: file.finalNewline }), notes);
}
