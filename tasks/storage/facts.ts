// Read-only fact commands the storage modules share: one command each, parsed by the pure helpers.
import { sh } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext, ToolOutput } from '../../runner/module.js';
import { describeFailure } from '../../runner/task-context.js';
import { interpretBlkidProbe, parseWipefs, type BlockSignature, type WipefsSignature } from './blkid.js';
import { parseMountinfo, type MountEntry } from './mountinfo.js';
import { isNoPartitionTable, parseSfdiskJson, type PartitionTable } from './sfdisk.js';

/** What kind of thing a path is on the host: a block device, a regular file, a directory, other, or nothing. */
export async function pathKind(ctx: TaskContext, path: string): Promise<'block' | 'file' | 'dir' | 'other' | 'missing'> {
  const r = await ctx.run(
    sh`if [ -b ${path} ]; then echo block; elif [ -f ${path} ]; then echo file; elif [ -d ${path} ]; then echo dir; elif [ -e ${path} ]; then echo other; else echo missing; fi`,
  );
  return r.stdout.trim() as 'block' | 'file' | 'dir' | 'other' | 'missing';
}

/** The size in bytes of a block device (`blockdev --getsize64`) or a regular file (`stat`). */
export async function deviceSize(ctx: TaskContext, path: string): Promise<number> {
  const kind = await pathKind(ctx, path);
  if (kind === 'missing') throw new TaskFailedError(`${path} does not exist on ${ctx.host}`);
  // blockdev reads `--` as a command it does not know: callers pass absolute paths (their schemas check it).
  const cmd = kind === 'block' ? sh`blockdev --getsize64 ${path}` : sh`stat -L -c %s -- ${path}`;
  if (kind !== 'block' && kind !== 'file') throw new TaskFailedError(`${path} is neither a block device nor a regular file`);
  const r = await ctx.runOk(cmd);
  const n = Number(r.stdout.trim());
  if (!Number.isSafeInteger(n)) throw new TaskFailedError(`${cmd.display}: '${r.stdout.trim()}' is not a size`);
  return n;
}

/** The filesystem / partition-table signature blkid finds on a device (bypassing its cache). */
export async function probeSignature(ctx: TaskContext, dev: string): Promise<BlockSignature> {
  const r = await ctx.run(sh`blkid -p -o export -- ${dev}`);
  try {
    return interpretBlkidProbe(r.exitCode, r.stdout, r.stderr, dev);
  } catch (e) {
    throw new TaskFailedError((e as Error).message, { command: r.command, stderr: r.stderr });
  }
}

/** Every signature wipefs sees on a device (filesystems, tables, RAID, LVM). */
export async function wipefsSignatures(ctx: TaskContext, dev: string): Promise<WipefsSignature[]> {
  const r = await ctx.runOk(sh`wipefs --no-act --output TYPE,OFFSET --noheadings -- ${dev}`);
  return parseWipefs(r.stdout);
}

/** The partition table on a device, or null when it has none. */
export async function readPartitionTable(ctx: TaskContext, dev: string): Promise<PartitionTable | null> {
  return partitionTableFrom(await ctx.run(sh`sfdisk --json -- ${dev}`));
}

/** The partition table from what `sfdisk --json` printed, or null when the device has none. */
export function partitionTableFrom(r: ToolOutput & { command?: string }): PartitionTable | null {
  if (r.exitCode !== 0) {
    if (isNoPartitionTable(r.stderr)) return null;
    throw new TaskFailedError(describeFailure({ host: '', durationMs: 0, ...r, command: r.command ?? 'sfdisk --json' }));
  }
  if (!r.stdout.trim()) return null;
  return parseSfdiskJson(r.stdout);
}

/** The command readMounts runs, for a caller that batches it. */
export const MOUNTINFO_COMMAND = sh`cat /proc/self/mountinfo`;

/** The mounts from what MOUNTINFO_COMMAND printed in a batch; fails the task when it failed. */
export function mountsFrom(r: ToolOutput): MountEntry[] {
  if (r.exitCode !== 0) throw new TaskFailedError(`cat /proc/self/mountinfo: exit ${r.exitCode}\n${r.stderr.trim()}`);
  return parseMountinfo(r.stdout);
}

/** The mounts the host's kernel lists. */
export async function readMounts(ctx: TaskContext): Promise<MountEntry[]> {
  return mountsFrom(await ctx.run(MOUNTINFO_COMMAND));
}

/** The canonical path of a file or device on the host (`readlink -f`), or the path itself when it does not resolve. */
export async function canonicalPath(ctx: TaskContext, path: string): Promise<string> {
  const r = await ctx.run(sh`readlink -f -- ${path}`);
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : path;
}

/**
 * The mounts whose source is `dev` under any of its names: mount(8) records an LV as
 * /dev/mapper/VG-LV, whatever name (/dev/VG/LV, /dev/dm-N) it was mounted by.
 */
export async function mountsOfDevice(ctx: TaskContext, dev: string, mounts?: MountEntry[]): Promise<MountEntry[]> {
  const all = mounts ?? (await readMounts(ctx));
  const sources = [...new Set(all.map((m) => m.source).filter((s) => s.startsWith('/dev/')))];
  const names = [dev, ...sources];
  // One round trip for all of them; a name that does not resolve stands for itself.
  const r = await ctx.runOk(sh`for p in ${names}; do readlink -f -- "$p" || printf '%s\n' "$p"; done`);
  const real = r.stdout.split('\n');
  const canon = new Map(names.map((n, i) => [n, real[i] || n]));
  const want = canon.get(dev)!;
  return all.filter((m) => m.source === dev || (canon.has(m.source) && canon.get(m.source) === want));
}

/** Which of `names` exist as commands on the host (one round trip for all of them). */
export async function availableCommands(ctx: TaskContext, names: readonly string[]): Promise<Set<string>> {
  const r = await ctx.runOk(sh`for c in ${names}; do command -v "$c" >/dev/null 2>&1 && printf '%s\n' "$c"; done; true`);
  return new Set(r.stdout.split('\n').filter((n) => names.includes(n)));
}

/** Waits until block device nodes appear (devtmpfs/udev create them shortly after the kernel learns of them). */
export async function waitForNodes(ctx: TaskContext, nodes: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const n of nodes) if ((await ctx.run(sh`test -b ${n}`)).exitCode !== 0) missing.push(n);
    if (!missing.length) return;
    if (Date.now() > deadline) throw new TaskFailedError(`device nodes did not appear: ${missing.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
