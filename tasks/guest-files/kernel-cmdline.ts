// The kernel command line of a guest moving from Xen PV to KVM: Xen block device names become
// virtio ones, the Xen console hvc0 becomes the serial console libvirt's `virsh console`
// attaches to, and interface naming is pinned to eth0 because the guest's network config
// was written for the name Xen's netfront gives (eth0), not the predictable name virtio-net
// would get (ens3).
import { renameDevice, type DeviceNameOptions } from './device-names.js';
import { editResult, type EditResult } from './text-lines.js';

/** What to change on a kernel command line; every switch defaults to on except renameSd (root=/resume= devices as renameDevice says). */
export interface CmdlineOptions extends DeviceNameOptions {
  /** Replace console=hvc0/xvc0 and make sure console=tty0 and console=ttyS0,115200 are there. */
  serialConsole?: boolean;
  /** Add net.ifnames=0 biosdevname=0 (keep the eth0 name the guest's network config uses). */
  netIfnames?: boolean;
  /** Drop parameters only Xen drivers read (xencons=, xen_*, clocksource=xen). */
  dropXenOnly?: boolean;
}

export const SERIAL_CONSOLE_TOKENS = ['console=tty0', 'console=ttyS0,115200'] as const;
// Each console token with the device test that says "this console is already there".
const SERIAL_CONSOLES: ReadonlyArray<readonly [string, RegExp]> = [
  ['console=tty0', /^tty0\b/],
  ['console=ttyS0,115200', /^ttyS0\b/],
];
export const NET_IFNAMES_TOKENS = ['net.ifnames=0', 'biosdevname=0'] as const;

const XEN_CONSOLES = /^(hvc0|xvc0)(,.*)?$/;

function keyOf(token: string): string {
  const eq = token.indexOf('=');
  return eq < 0 ? token : token.slice(0, eq);
}

function valueOf(token: string): string | undefined {
  const eq = token.indexOf('=');
  return eq < 0 ? undefined : token.slice(eq + 1);
}

/** Whether a parameter is read only by Xen drivers, so it is noise (or a wrong hint) on KVM. */
export function isXenOnlyParam(token: string): boolean {
  const key = keyOf(token);
  return key === 'xencons' || /^xen[_.-]/.test(key) || token === 'clocksource=xen';
}

function hasConsole(tokens: readonly string[], dev: RegExp): boolean {
  return tokens.some((t) => keyOf(t) === 'console' && dev.test(valueOf(t) ?? ''));
}

/**
 * The in-place part of the rewrite: renames root=/resume= devices (deviceMap first), replaces the Xen console by
 * the serial console tokens (those not already in `tokens` or `alsoPresent`), drops Xen-only
 * parameters. Tokens it does not own (including shell references like $GRUB_CMDLINE_LINUX) stay.
 */
export function rewriteCmdlineTokens(
  tokens: readonly string[],
  opts: CmdlineOptions = {},
  alsoPresent: readonly string[] = [],
): { tokens: string[]; notes: string[] } {
  const serial = opts.serialConsole ?? true;
  const dropXen = opts.dropXenOnly ?? true;
  const notes: string[] = [];
  const out: string[] = [];
  const all = [...tokens, ...alsoPresent];
  let consoleInserted = false;
  for (const token of tokens) {
    const key = keyOf(token);
    const value = valueOf(token);
    if ((key === 'root' || key === 'resume') && value !== undefined) {
      const renamed = renameDevice(value, opts);
      if (renamed) {
        out.push(`${key}=${renamed}`);
        continue;
      }
      if (/^PARTUUID=/i.test(value)) {
        notes.push(`${token}: a PARTUUID changes if the disk gets a new partition table; check it after the move`);
      }
    }
    if (serial && key === 'console' && value !== undefined && XEN_CONSOLES.test(value)) {
      if (!consoleInserted) {
        consoleInserted = true;
        for (const [c, dev] of SERIAL_CONSOLES) if (!hasConsole(all, dev)) out.push(c);
      }
      continue;
    }
    if (dropXen && isXenOnlyParam(token)) {
      notes.push(`dropped Xen-only kernel parameter ${token}`);
      continue;
    }
    out.push(token);
  }
  return { tokens: out, notes };
}

/** The tokens still missing after rewriteCmdlineTokens (looking at `tokens` and `alsoPresent`), in the order to add them. */
export function missingCmdlineTokens(
  tokens: readonly string[],
  opts: CmdlineOptions = {},
  alsoPresent: readonly string[] = [],
): { missing: string[]; notes: string[] } {
  const all = [...tokens, ...alsoPresent];
  const missing: string[] = [];
  const notes: string[] = [];
  if (opts.serialConsole ?? true) {
    for (const [c, dev] of SERIAL_CONSOLES) if (!hasConsole(all, dev)) missing.push(c);
  }
  if (opts.netIfnames ?? true) {
    const ifnames = all.find((t) => keyOf(t) === 'net.ifnames');
    if (!ifnames) missing.push('net.ifnames=0');
    else if (ifnames !== 'net.ifnames=0') {
      notes.push(`${ifnames} is kept: check the guest's network config names the virtio interface as it will be called`);
    }
    if (!all.some((t) => keyOf(t) === 'biosdevname')) missing.push('biosdevname=0');
  }
  return { missing, notes };
}

/**
 * Adds missing tokens to a token list. console=tty0 goes in front of an existing console=ttyS0
 * because the last console= is /dev/console, and that should stay the serial one.
 */
export function insertCmdlineTokens(tokens: readonly string[], missing: readonly string[]): string[] {
  const out = [...tokens];
  for (const t of missing) {
    const serialAt = out.findIndex((x) => keyOf(x) === 'console' && /^ttyS0\b/.test(valueOf(x) ?? ''));
    if (t === 'console=tty0' && serialAt >= 0) out.splice(serialAt, 0, t);
    else out.push(t);
  }
  return out;
}

/** Splits a kernel command line into parameters (whitespace-separated; the kernel does not honour quotes beyond that for our keys). */
export function splitCmdline(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter((t) => t !== '');
}

/** Rewrites one kernel command line for KVM (see CmdlineOptions); unchanged text comes back byte-identical. */
export function rewriteKernelCmdline(cmdline: string, opts: CmdlineOptions = {}): EditResult {
  const before = splitCmdline(cmdline);
  const rewritten = rewriteCmdlineTokens(before, opts);
  const { missing, notes } = missingCmdlineTokens(rewritten.tokens, opts);
  const after = insertCmdlineTokens(rewritten.tokens, missing);
  const same = after.length === before.length && after.every((t, i) => t === before[i]);
  return editResult(cmdline, same ? cmdline : after.join(' '), [...rewritten.notes, ...notes]);
}
