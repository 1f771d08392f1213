// The `filesystem` module: make, check, resize or wipe an ext2/3/4 or xfs filesystem.
// read: blkid, the mounts, and per state the tool's own read-only run (mkfs.xfs -N, e2fsck -n,
// xfs_repair -n, dumpe2fs -h, xfs_db/xfs_info, blockdev); decide: pure, table-tested
// (test/fixtures/decide/filesystem).
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Step, type StepRun, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { humanBytes } from '../runner/reporter/format.js';
import { describeFailure } from '../runner/task-context.js';
import { absolutePathField } from './lib/schema.js';
import { interpretBlkidProbe, type BlockSignature } from './storage/blkid.js';
import { interpretE2fsckExit, parseDumpe2fsHeader, type ExtHeader } from './storage/e2fsck.js';
import { deviceSize, mountsOfDevice, pathKind } from './storage/facts.js';
import { alignDown, parseBytes } from './storage/sizes.js';
import { interpretXfsRepair, mkfsXfsError, parseXfsDbSb, parseXfsInfo, xfsGrownBlocks, type XfsGeometry } from './storage/xfs.js';

const params = z
  .strictObject({
    dev: absolutePathField('The block device (or image file) holding the filesystem, as an absolute path'),
    fstype: z.enum(['ext4', 'ext3', 'ext2', 'xfs']).default('ext4').describe('Filesystem type'),
    state: z
      .enum(['present', 'checked', 'resized', 'absent'])
      .default('present')
      .describe('present: make it if missing; checked: e2fsck -f -y / xfs_repair; resized: resize2fs / xfs_growfs to size; absent: wipefs -a'),
    size: z
      .union([z.string(), z.number().int().positive()])
      .optional()
      .describe('resized: target size (bytes, 2048s, 512M, 10G); default: the whole device'),
    size_of_device: absolutePathField(
      'resized: make the filesystem exactly as big as this other device (e.g. the new, smaller partition it will be copied to)',
    ).optional(),
    uuid: z.string().uuid().optional().describe('present: the UUID to give a new filesystem (keep the old one so fstab and grub still match)'),
    label: z.string().max(16).optional().describe('present: the filesystem label (at most 16 bytes for ext, 12 for xfs)'),
    opts: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('present: extra mkfs options (a list, or a string split on whitespace), e.g. "-O ^metadata_csum"'),
    force: z
      .boolean()
      .default(false)
      .describe('Allow mkfs over another filesystem or a partition table, shrinking (ext), wiping (absent), and zeroing a dirty xfs log (checked: xfs_repair -L)'),
  })
  .refine((p) => !(p.size !== undefined && p.size_of_device !== undefined), {
    message: 'give size or size_of_device, not both',
  })
  .refine((p) => !(p.fstype === 'xfs' && p.label !== undefined && Buffer.byteLength(p.label) > 12), {
    message: 'an xfs label has at most 12 bytes',
    path: ['label'],
  });

type Params = z.output<typeof params>;

type PathKind = Awaited<ReturnType<typeof pathKind>>;

/** What filesystem's read saw, as the tools printed it; each is read only when the state (and what came before) needs it. */
export interface FilesystemOutputs {
  /** The inventory host, for the messages. */
  host: string;
  kind: PathKind;
  /** `blkid -p -o export DEV`. */
  blkid?: ToolOutput;
  /** The first mount point of dev under any of its names, when it is mounted. */
  mountedOn?: string;
  /** present, xfs: `mkfs.xfs -N` (its dry run) with the task's options. */
  mkfsDryRun?: ToolOutput;
  /** checked: `e2fsck -f -n` or `xfs_repair -n` (both read-only). */
  check?: ToolOutput;
  /** resized, ext: `dumpe2fs -h`. */
  dumpe2fs?: string;
  /** resized, xfs: `xfs_info MOUNTPOINT` when mounted, else `xfs_db -r -c sb -c print`. */
  xfsInfo?: string;
  xfsDb?: string;
  /** resized: the size of dev, and of size_of_device when given (bytes). */
  devBytes?: number;
  sizeOfDevice?: number;
}

/** What decide takes: the outputs, parsed. */
export interface FilesystemFacts {
  host: string;
  kind: PathKind;
  sig?: BlockSignature;
  mountedOn?: string;
  mkfsDryRun?: ToolOutput;
  check?: ToolOutput;
  ext?: ExtHeader;
  xfs?: XfsGeometry;
  devBytes?: number;
  sizeOfDevice?: number;
}

/** The facts from what the tools printed (pure: read and the decide tables both use it). */
export function filesystemFactsFrom(dev: string, o: FilesystemOutputs): FilesystemFacts {
  const { blkid, dumpe2fs, xfsInfo, xfsDb, ...rest } = o;
  const facts: FilesystemFacts = { ...rest };
  try {
    if (blkid) facts.sig = interpretBlkidProbe(blkid.exitCode, blkid.stdout, blkid.stderr, dev);
    if (dumpe2fs !== undefined) facts.ext = parseDumpe2fsHeader(dumpe2fs);
    if (xfsInfo !== undefined) facts.xfs = parseXfsInfo(xfsInfo);
    else if (xfsDb !== undefined) facts.xfs = parseXfsDbSb(xfsDb);
  } catch (e) {
    throw new TaskFailedError(`${dev}: ${(e as Error).message}`);
  }
  return facts;
}

const isExt = (t: string | undefined): boolean => t === 'ext2' || t === 'ext3' || t === 'ext4';

function optsList(o: string | string[] | undefined): string[] {
  if (o === undefined) return [];
  return Array.isArray(o) ? o : o.split(/\s+/).filter(Boolean);
}

/** The mkfs command for the parameters; `dryRun` (xfs only) adds -N: mkfs.xfs checks everything and writes nothing. */
function mkfsCommand(p: Params, dryRun = false): Command {
  const extra = optsList(p.opts);
  if (p.fstype === 'xfs') {
    // -f: decide has already refused an existing signature unless force is given.
    return sh`mkfs.xfs ${[...(dryRun ? ['-N'] : []), '-f', ...(p.uuid ? ['-m', `uuid=${p.uuid}`] : []), ...(p.label ? ['-L', p.label] : []), ...extra]} -- ${p.dev}`;
  }
  // -F twice: also when the target is not a block device (an image file) or looks in use.
  return sh`${`mkfs.${p.fstype}`} ${['-F', '-F', '-q', ...(p.uuid ? ['-U', p.uuid] : []), ...(p.label ? ['-L', p.label] : []), ...extra]} -- ${p.dev}`;
}

/** present: how the filesystem there differs from the UUID and label asked for (empty when it does not). */
function presentDifferences(p: Params, sig: BlockSignature): string[] {
  const notes: string[] = [];
  if (p.uuid && sig.uuid?.toLowerCase() !== p.uuid.toLowerCase()) notes.push(`UUID is ${sig.uuid}, asked for ${p.uuid}`);
  if (p.label !== undefined && (sig.label ?? '') !== p.label) notes.push(`label is '${sig.label ?? ''}', asked for '${p.label}'`);
  return notes;
}

/** Whether present would make a filesystem (something else, or nothing, is there). */
const wouldMake = (p: Params, sig: BlockSignature): boolean => sig.type !== p.fstype || presentDifferences(p, sig).length > 0;

/** `blkid -p -o export` (bypassing blkid's cache): the filesystem or partition table on dev. */
const readBlkid = (ctx: TaskContext, dev: string): Promise<ToolOutput> => ctx.run(sh`blkid -p -o export -- ${dev}`);

/** `dumpe2fs -h`: the ext header (block count and size). */
const readDumpe2fs = async (ctx: TaskContext, dev: string): Promise<string> => (await ctx.runOk(sh`dumpe2fs -h -- ${dev}`)).stdout;

/** The xfs geometry: from the kernel (xfs_info) when mounted, else from superblock 0 on disk. */
async function readXfsOutput(ctx: TaskContext, dev: string, mountPoint: string | undefined): Promise<Pick<FilesystemOutputs, 'xfsInfo' | 'xfsDb'>> {
  // xfs_info hands its argument to xfs_db without `--`; a mount point from mountinfo is absolute.
  if (mountPoint) return { xfsInfo: (await ctx.runOk(sh`xfs_info ${mountPoint}`)).stdout };
  return { xfsDb: (await ctx.runOk(sh`xfs_db -r -c sb -c print -- ${dev}`)).stdout };
}

/** resized: the device's size and size_of_device's. */
async function readSizes(ctx: TaskContext, p: Params): Promise<Pick<FilesystemOutputs, 'devBytes' | 'sizeOfDevice'>> {
  const devBytes = await deviceSize(ctx, p.dev);
  if (!p.size_of_device) return { devBytes };
  try {
    return { devBytes, sizeOfDevice: await deviceSize(ctx, p.size_of_device) };
  } catch (e) {
    throw new TaskFailedError(`size: ${(e as Error).message}`);
  }
}

/** Reads what the state needs to decide: I/O only, every command a read (the tools' -n / -N runs write nothing). */
export async function readFilesystem(ctx: TaskContext, p: Params): Promise<FilesystemFacts> {
  const o: FilesystemOutputs = { host: ctx.host, kind: await pathKind(ctx, p.dev) };
  if (o.kind !== 'block' && o.kind !== 'file') return filesystemFactsFrom(p.dev, o);
  const mountedOn = async (): Promise<void> => {
    const m = (await mountsOfDevice(ctx, p.dev))[0]?.mountPoint;
    if (m !== undefined) o.mountedOn = m;
  };
  const needsSig = p.state !== 'checked' || p.fstype === 'xfs';
  if (needsSig) o.blkid = await readBlkid(ctx, p.dev);
  const sig = filesystemFactsFrom(p.dev, o).sig ?? {};
  switch (p.state) {
    case 'present':
      if (!wouldMake(p, sig)) break;
      await mountedOn();
      // mkfs.xfs's own dry run: a device under its minimum size (300 MiB since xfsprogs 5.19) or a bad option fails here, in check mode too.
      if (p.fstype === 'xfs' && o.mountedOn === undefined) o.mkfsDryRun = await ctx.run(mkfsCommand(p, true));
      break;
    case 'checked':
      if (p.fstype === 'xfs' && sig.type !== 'xfs') break;
      await mountedOn();
      // -n opens read-only: a read, so check mode is exact.
      if (o.mountedOn === undefined) o.check = await ctx.run(p.fstype === 'xfs' ? sh`xfs_repair -n -- ${p.dev}` : sh`e2fsck -f -n -- ${p.dev}`);
      break;
    case 'resized':
      if (p.fstype === 'xfs' ? sig.type !== 'xfs' : !isExt(sig.type)) break;
      await mountedOn();
      if (p.fstype === 'xfs') Object.assign(o, await readXfsOutput(ctx, p.dev, o.mountedOn));
      else o.dumpe2fs = await readDumpe2fs(ctx, p.dev);
      Object.assign(o, await readSizes(ctx, p));
      break;
    case 'absent':
      if (sig.type) await mountedOn();
      break;
  }
  return filesystemFactsFrom(p.dev, o);
}

/** What a device holds, for messages. */
function describeSignature(sig: BlockSignature): string {
  return sig.type ? `a ${sig.type} filesystem` : sig.ptType ? `a ${sig.ptType} partition table` : 'no filesystem';
}

/** The escape hatch for e2fsck -f -y: exits 1 and 2 are success (errors corrected), which a data step would take for a failure. */
function e2fsckStep(title: string, dev: string): Step {
  const cmd = sh`e2fsck -f -y -- ${dev}`;
  return {
    title,
    cmd,
    async run(c) {
      const r = await c.run(cmd);
      const o = interpretE2fsckExit(r.exitCode);
      if (!o.ok) throw new TaskFailedError(`e2fsck ${dev}: ${o.meaning}\n${describeFailure(r)}`, { exitCode: r.exitCode, stdout: r.stdout });
      return { fsck_exit: r.exitCode, fsck: o.meaning, reboot: o.reboot, fixed: o.changed };
    },
  };
}

/** What to do about an xfs log that was never replayed; -L is only the last resort. */
function dirtyLogMessage(dev: string): string {
  return (
    `the xfs log on ${dev} holds metadata changes that were never replayed (the filesystem was not unmounted cleanly): ` +
    'mount it once and unmount it to replay the log, then run this task again. Only if it cannot be mounted, ' +
    'force: true runs xfs_repair -L, which zeroes the log and loses the changes in it'
  );
}

/** The escape hatch for xfs_repair: what it repaired is in its output, and a dirty log gets its own message. */
function xfsRepairStep(title: string, dev: string, zeroLog: boolean): Step {
  const cmd = zeroLog ? sh`xfs_repair -L -- ${dev}` : sh`xfs_repair -- ${dev}`;
  return {
    title,
    cmd,
    ...(zeroLog ? { destructive: true, refusal: dirtyLogMessage(dev) } : {}),
    async run(c) {
      const r = await c.run(cmd);
      const o = interpretXfsRepair(r.exitCode, r.stdout, r.stderr, false);
      if (o.state === 'dirty-log') throw new TaskFailedError(dirtyLogMessage(dev), { exitCode: r.exitCode });
      if (o.state === 'failed' || o.state === 'problems') throw new TaskFailedError(`xfs_repair ${dev}: ${o.state === 'failed' ? o.meaning : 'unexpected outcome'}\n${describeFailure(r)}`, { exitCode: r.exitCode });
      const problems = o.state === 'repaired' ? o.problems : [];
      return { fsck_exit: r.exitCode, fsck: problems.length ? 'errors corrected' : 'no errors', problems, log_zeroed: zeroLog };
    },
  };
}

function decidePresent(p: Params, f: FilesystemFacts): Verdict {
  const sig = f.sig ?? {};
  const notes = sig.type === p.fstype ? presentDifferences(p, sig) : [];
  if (sig.type === p.fstype && !notes.length) {
    return { changed: false, reason: `${p.dev} already has a ${p.fstype} filesystem (UUID ${sig.uuid ?? '?'})`, data: { uuid: sig.uuid, label: sig.label ?? '' } };
  }
  const there = sig.type ? `a ${sig.type} filesystem` : sig.ptType ? `a ${sig.ptType} partition table` : undefined;
  if (f.mountedOn !== undefined) return { refused: `${p.dev} is mounted on ${f.mountedOn}: unmount it before making a filesystem` };
  const dry = f.mkfsDryRun;
  if (dry && dry.exitCode !== 0) return { refused: `mkfs.xfs -N (dry run) refuses ${p.dev}: ${mkfsXfsError(dry.stderr)}`, data: { command: mkfsCommand(p, true).display, stderr: dry.stderr } };
  const cmd = mkfsCommand(p);
  const refusal = notes.length
    ? `${p.dev} already has a ${p.fstype} filesystem but ${notes.join(' and ')}: refusing to re-create it without force: true`
    : `refusing to mkfs.${p.fstype} over ${there} on ${p.dev} without force: true`;
  return {
    changed: true,
    diff: [{ path: p.dev, before: there ? `${there}\n` : '(no filesystem)\n', after: `${p.fstype}${p.uuid ? ` UUID=${p.uuid}` : ''}${p.label ? ` LABEL=${p.label}` : ''}\n` }],
    steps: [{ title: cmd.display, cmd, ...(there !== undefined ? { destructive: true, refusal } : {}) }],
  };
}

function decideCheckedXfs(p: Params, f: FilesystemFacts): Verdict {
  const sig = f.sig ?? {};
  // xfs_repair on something else would scan the whole device for a secondary superblock before giving up.
  if (sig.type !== 'xfs') return { refused: `${p.dev} holds ${describeSignature(sig)}, not xfs: nothing for xfs_repair to check` };
  if (f.mountedOn !== undefined) return { refused: `${p.dev} is mounted on ${f.mountedOn}: xfs_repair needs it unmounted` };
  const r = f.check!;
  // xfs_repair -n exits 1 when it found problems.
  const o = interpretXfsRepair(r.exitCode, r.stdout, r.stderr, true);
  switch (o.state) {
    case 'clean':
      return { changed: false, reason: `xfs_repair -n found no problems on ${p.dev}`, data: { fsck_exit: 0, fsck: 'no errors', problems: [] } };
    case 'dirty-log':
      return {
        changed: true,
        diff: [{ path: p.dev, before: 'a dirty log (metadata changes not replayed)\n', after: 'log zeroed, filesystem repaired\n' }],
        steps: [xfsRepairStep(`xfs_repair -L ${p.dev} (zero the dirty log: the changes in it are lost)`, p.dev, true)],
      };
    case 'problems':
      return {
        changed: true,
        diff: [{ path: p.dev, before: `${o.problems.slice(0, 20).join('\n')}\n`, after: '(repaired)\n' }],
        steps: [xfsRepairStep(`xfs_repair ${p.dev} (xfs_repair -n found ${o.problems.length} problem${o.problems.length === 1 ? '' : 's'})`, p.dev, false)],
      };
    default:
      return { refused: `xfs_repair -n ${p.dev}: ${o.state === 'failed' ? o.meaning : o.state}`, data: { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } };
  }
}

function decideChecked(p: Params, f: FilesystemFacts): Verdict {
  if (p.fstype === 'xfs') return decideCheckedXfs(p, f);
  if (f.mountedOn !== undefined) return { refused: `${p.dev} is mounted on ${f.mountedOn}: e2fsck needs it unmounted` };
  const r = f.check!;
  // e2fsck -n exits 4 when it found errors.
  const o = interpretE2fsckExit(r.exitCode);
  if (r.exitCode === 0) return { changed: false, reason: `e2fsck -f -n found no errors on ${p.dev}`, data: { fsck_exit: 0, fsck: o.meaning } };
  if (r.exitCode === null || r.exitCode & ~(1 | 2 | 4)) {
    return { refused: `e2fsck -n ${p.dev}: ${o.meaning}\n${(r.stderr || r.stdout).trim()}`, data: { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } };
  }
  return { changed: true, steps: [e2fsckStep(`e2fsck -f -y ${p.dev} (a read-only check found errors)`, p.dev)] };
}

/** The size a resize aims at (size, size_of_device, or the whole device) in whole blocks, and how the task named it; or a refusal for a bad size. */
function resizeTarget(p: Params, f: FilesystemFacts, blockSize: number): { target: number; what: string } | { refused: string } {
  try {
    if (p.size_of_device) return { target: alignDown(f.sizeOfDevice!, blockSize), what: `the size of ${p.size_of_device}` };
    if (p.size !== undefined) return { target: alignDown(parseBytes(p.size), blockSize), what: String(p.size) };
  } catch (e) {
    return { refused: `size: ${(e as Error).message}` };
  }
  return { target: alignDown(f.devBytes!, blockSize), what: `the whole of ${p.dev}` };
}

/** resized, xfs: the blocks to grow to (as the kernel lays out allocation groups), or a refusal. */
export function xfsGrowth(p: Params, f: FilesystemFacts): { refused: string } | { geo: XfsGeometry; blocks: number; target: number; what: string } {
  const sig = f.sig ?? {};
  if (sig.type !== 'xfs' || !f.xfs) return { refused: `${p.dev} holds ${describeSignature(sig)}, not xfs: nothing to resize` };
  const geo = f.xfs;
  const t = resizeTarget(p, f, geo.blockSize);
  if ('refused' in t) return t;
  const target = t.target;
  const devBytes = f.devBytes!;
  if (target > devBytes) return { refused: `cannot grow the xfs filesystem on ${p.dev} to ${humanBytes(target)}: the device holds only ${humanBytes(devBytes)}` };
  if (target < geo.sizeBytes) {
    return {
      refused:
        `xfs cannot shrink: the filesystem on ${p.dev} is ${humanBytes(geo.sizeBytes)} (${geo.sizeBytes} bytes) and ${t.what} is ${humanBytes(target)} (${target} bytes); ` +
        'make a smaller filesystem and copy the files instead',
    };
  }
  return { geo, blocks: xfsGrownBlocks(target / geo.blockSize, geo.agBlocks), target, what: t.what };
}

function decideResizedXfs(p: Params, f: FilesystemFacts): Verdict {
  const g = xfsGrowth(p, f);
  if ('refused' in g) return g;
  const { geo, blocks, target, what } = g;
  const after = blocks * geo.blockSize;
  if (blocks <= geo.dataBlocks) {
    const left = target - after;
    return {
      changed: false,
      reason:
        `the xfs filesystem on ${p.dev} is already ${humanBytes(geo.sizeBytes)} (${what}` +
        (left ? `; the ${left / geo.blockSize} blocks beyond it are fewer than the 64 an xfs allocation group needs` : '') +
        ')',
      data: { size_bytes: geo.sizeBytes },
    };
  }
  const grow = `(grow ${p.dev} ${humanBytes(geo.sizeBytes)} → ${humanBytes(after)})`;
  const diff = [{ path: p.dev, before: `${geo.sizeBytes} bytes\n`, after: `${after} bytes\n` }];
  if (f.mountedOn !== undefined) {
    const cmd = sh`xfs_growfs -D ${String(blocks)} -- ${f.mountedOn}`;
    const step: XfsGrowStep = { title: `xfs_growfs -D ${blocks} on ${f.mountedOn} ${grow}`, cmd, xfsGrow: { blocks, mountedOn: f.mountedOn } };
    return { changed: true, diff, steps: [step] };
  }
  const step: XfsGrowStep = {
    title: `xfs_growfs -D ${blocks} on a temporary mount point ${grow}`,
    // The escape hatch: a mount around a command. xfs_growfs works on a mounted filesystem only, and the
    // temporary mount point must be unmounted and removed whatever xfs_growfs did.
    run: async (c) => void (await growOnTemporaryMount(c, p.dev, blocks)),
    xfsGrow: { blocks },
  };
  return { changed: true, diff, steps: [step] };
}

/**
 * An xfs grow step with what the plan knew, for the result: the blocks it grows to and the mount point it
 * grows on (none: a temporary one, gone by then). The result reads the geometry once, where the plan said,
 * instead of reading the device, its mounts and its size all over again; nothing of it is registered.
 */
interface XfsGrowStep extends Step {
  xfsGrow: { blocks: number; mountedOn?: string };
}

const isXfsGrowStep = (s: Step): s is XfsGrowStep => 'xfsGrow' in s;

/** Grows the unmounted xfs filesystem on dev to `blocks` on a private temporary mount point, always unmounted and removed again. */
async function growOnTemporaryMount(ctx: TaskContext, dev: string, blocks: number): Promise<void> {
  const tmp = (await ctx.runOk(sh`mktemp -d -t ferry-xfs-grow.XXXXXX`)).stdout.trim();
  try {
    // nouuid: a copy that kept its source's UUID mounts while the source is mounted too (xfs refuses duplicates).
    await ctx.runOk(sh`mount -t xfs -o nouuid -- ${dev} ${tmp}`);
    try {
      await ctx.runOk(sh`xfs_growfs -D ${String(blocks)} -- ${tmp}`);
    } catch (e) {
      const u = await ctx.run(sh`umount -- ${tmp}`);
      if (u.exitCode !== 0) (e as Error).message += `\n(and unmounting the temporary mount failed: ${describeFailure(u)})`;
      throw e;
    }
    await ctx.runOk(sh`umount -- ${tmp}`);
  } finally {
    // rmdir, never rm -r: if the unmount failed the directory is still a mount point and stays.
    await ctx.run(sh`rmdir -- ${tmp}`);
  }
}

function decideResized(p: Params, f: FilesystemFacts): Verdict {
  if (p.fstype === 'xfs') return decideResizedXfs(p, f);
  const sig = f.sig ?? {};
  if (!isExt(sig.type) || !f.ext) return { refused: `${p.dev} holds ${sig.type ? `a ${sig.type} filesystem` : 'no filesystem'}, not ${p.fstype}: nothing to resize` };
  const head = f.ext;
  const t = resizeTarget(p, f, head.blockSize);
  if ('refused' in t) return t;
  const target = t.target;
  if (target > f.devBytes!) return { refused: `cannot resize the filesystem on ${p.dev} to ${humanBytes(target)}: the device holds only ${humanBytes(f.devBytes!)}` };
  if (target === head.sizeBytes) return { changed: false, reason: `the filesystem on ${p.dev} is already ${humanBytes(target)} (${t.what})`, data: { size_bytes: target } };
  const shrink = target < head.sizeBytes;
  if (f.mountedOn !== undefined && shrink) return { refused: `${p.dev} is mounted on ${f.mountedOn}: ext filesystems shrink only unmounted` };
  // resize2fs reads "K" as KiB; every block size is a multiple of 1 KiB.
  const sizeArg = `${target / 1024}K`;
  const steps: Step[] = [];
  // resize2fs refuses an offline resize unless the filesystem was just checked ("Please run 'e2fsck -f' first").
  if (f.mountedOn === undefined) steps.push(e2fsckStep(`e2fsck -f -y ${p.dev} (required before an offline resize)`, p.dev));
  steps.push({
    title: `resize2fs ${p.dev} ${sizeArg} (${shrink ? 'shrink' : 'grow'} ${humanBytes(head.sizeBytes)} → ${humanBytes(target)})`,
    cmd: sh`resize2fs -- ${p.dev} ${sizeArg}`,
    ...(shrink ? { destructive: true, refusal: `refusing to shrink the filesystem on ${p.dev} from ${humanBytes(head.sizeBytes)} to ${humanBytes(target)} without force: true` } : {}),
  });
  return { changed: true, diff: [{ path: p.dev, before: `${head.sizeBytes} bytes\n`, after: `${target} bytes\n` }], steps };
}

function decideAbsent(p: Params, f: FilesystemFacts): Verdict {
  const sig = f.sig ?? {};
  if (!sig.type) return { changed: false, reason: `${p.dev} has no filesystem signature` };
  if (f.mountedOn !== undefined) return { refused: `${p.dev} is mounted on ${f.mountedOn}: unmount it before wiping` };
  return {
    changed: true,
    diff: [{ path: p.dev, before: `${sig.type} UUID=${sig.uuid ?? '?'}\n`, after: '(no filesystem)\n' }],
    steps: [
      {
        title: `wipefs -a ${p.dev} (erase the ${sig.type} signature)`,
        cmd: sh`wipefs -a -- ${p.dev}`,
        destructive: true,
        refusal: `refusing to wipe the ${sig.type} filesystem on ${p.dev} without force: true`,
      },
    ],
  };
}

/** Decides one filesystem task from what read found (pure). */
export function decideFilesystem(p: Params, f: FilesystemFacts): Verdict {
  if (f.kind !== 'block' && f.kind !== 'file') return { refused: `${p.dev} on ${f.host} is ${f.kind === 'missing' ? 'missing' : `a ${f.kind}`}, not a block device or image file` };
  switch (p.state) {
    case 'present':
      return decidePresent(p, f);
    case 'checked':
      return decideChecked(p, f);
    case 'resized':
      return decideResized(p, f);
    case 'absent':
      return decideAbsent(p, f);
  }
}

/** The task's result after its steps: a fresh read of what the state is about (and, for a grow, that it reached the planned size). */
async function filesystemResult(ctx: TaskContext, p: Params, ran: StepRun[]): Promise<Record<string, unknown>> {
  if (p.state === 'present') {
    const sig = filesystemFactsFrom(p.dev, { host: ctx.host, kind: 'block', blkid: await readBlkid(ctx, p.dev) }).sig;
    return { uuid: sig?.uuid, label: sig?.label ?? '' };
  }
  if (p.state !== 'resized') return {};
  if (p.fstype !== 'xfs') return { size_bytes: filesystemFactsFrom(p.dev, { host: ctx.host, kind: 'block', dumpe2fs: await readDumpe2fs(ctx, p.dev) }).ext?.sizeBytes };
  const grown = ran.map((r) => r.step).find(isXfsGrowStep)?.xfsGrow;
  if (!grown) throw new TypeError('filesystem: an xfs resize ran without its grow step');
  const geo = filesystemFactsFrom(p.dev, { host: ctx.host, kind: 'block', ...(await readXfsOutput(ctx, p.dev, grown.mountedOn)) }).xfs;
  if (!geo) throw new TaskFailedError(`after xfs_growfs: no xfs geometry read from ${grown.mountedOn ?? p.dev}`);
  if (grown.blocks > geo.dataBlocks) throw new TaskFailedError(`xfs_growfs left the filesystem on ${p.dev} at ${geo.dataBlocks} blocks, not the ${grown.blocks} planned`);
  return { size_bytes: geo.sizeBytes };
}

/** The filesystem module. */
export const filesystemModule = defineModule({
  name: 'filesystem',
  params,
  doc: {
    summary: 'Make (present), check (checked), resize (resized) or wipe (absent) an ext2/3/4 or xfs filesystem',
    description:
      'Facts come from `blkid -p` (TYPE, UUID, LABEL), `dumpe2fs -h` (block count × block size), `xfs_db -r -c sb -c print` ' +
      '(or `xfs_info` on the mount point when the xfs filesystem is mounted) and `blockdev --getsize64`. ' +
      'present: no change when a filesystem of that type is there (with the UUID and label asked for); another filesystem, ' +
      'another UUID or label, or a partition table is only overwritten with force; for xfs, `mkfs.xfs -N` (its dry run) ' +
      'checks the device and options at plan time (xfsprogs 5.19 and later want at least 300 MiB). ' +
      'checked, ext: `e2fsck -f -n` decides (read-only), then `e2fsck -f -y` fixes; exit 1 = fixed, ' +
      '2 = fixed and reboot wanted, 4 and above fail with their meaning. checked, xfs: `xfs_repair -n` decides (exit 0 clean, ' +
      '1 problems found), then `xfs_repair` fixes; the filesystem must be unmounted. A dirty xfs log (not unmounted cleanly) ' +
      'is refused with what to do: mount and unmount it once to replay the log; only with force does `xfs_repair -L` zero ' +
      'the log, which loses the metadata changes in it. resized, ext: `resize2fs DEV NNNK` after `e2fsck -f -y`; ' +
      'shrinking needs force. resized, xfs: grow only (xfs cannot shrink: a smaller target is an error naming both sizes, ' +
      'force or not) with `xfs_growfs -D BLOCKS` on its mount point, or, when it is not mounted, on a temporary mount ' +
      'point (mounted with nouuid, always unmounted and removed again); like the kernel, a new last allocation group of ' +
      'fewer than 64 blocks is left out, so check mode and the second run agree with the result. ' +
      "size_of_device gives the target as another device's size; the default is the whole device.",
    checkMode: 'full',
    result: {
      uuid: 'present: the filesystem UUID',
      label: 'present: the filesystem label',
      size_bytes: 'resized: the filesystem size afterwards',
      fsck_exit: 'checked/resized: the e2fsck or xfs_repair exit code',
      fsck: 'checked/resized: what the exit code means',
      reboot: 'checked (ext): e2fsck asked for a reboot (exit 2)',
      problems: 'checked (xfs): the problems xfs_repair reported (empty when clean)',
      log_zeroed: 'checked (xfs): xfs_repair -L zeroed a dirty log (only with force)',
    },
    example: [
      '- name: shrink the old root to the new partition before copying it',
      '  filesystem:',
      '    dev: /dev/vg1/xr1-root',
      '    fstype: ext4',
      '    state: resized',
      '    size_of_device: "{{ parts.partitions[0] }}"',
      '    force: true',
      '',
      '- name: grow the xfs data filesystem to its (larger) new LV',
      '  filesystem:',
      '    dev: /dev/vg1/data',
      '    fstype: xfs',
      '    state: resized',
    ].join('\n'),
  },
  read: readFilesystem,
  decide: decideFilesystem,
  result: filesystemResult,
});
