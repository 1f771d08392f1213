// The `filesystem` module: make, check, resize or wipe an ext2/3/4 or xfs filesystem.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Plan, type Step, type TaskContext } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { absolutePathField } from './lib/schema.js';
import { interpretE2fsckExit, parseDumpe2fsHeader } from './storage/e2fsck.js';
import type { BlockSignature } from './storage/blkid.js';
import { deviceSize, mountsOfDevice, pathKind, probeSignature } from './storage/facts.js';
import { alignDown, formatBytes, parseBytes } from './storage/sizes.js';
import { interpretXfsRepair, mkfsXfsError, parseXfsDbSb, parseXfsInfo, xfsGrownBlocks, type XfsGeometry } from './storage/xfs.js';

const params = z
  .object({
    dev: absolutePathField('The block device (or image file) holding the filesystem, as an absolute path.'),
    fstype: z.enum(['ext4', 'ext3', 'ext2', 'xfs']).default('ext4').describe('Filesystem type.'),
    state: z
      .enum(['present', 'checked', 'resized', 'absent'])
      .default('present')
      .describe('present: make it if missing; checked: e2fsck -f -y / xfs_repair; resized: resize2fs / xfs_growfs to size; absent: wipefs -a.'),
    size: z
      .union([z.string(), z.number().int().positive()])
      .optional()
      .describe('resized: target size (bytes, 2048s, 512M, 10G); default: the whole device.'),
    size_of_device: absolutePathField(
      'resized: make the filesystem exactly as big as this other device (e.g. the new, smaller partition it will be copied to).',
    ).optional(),
    uuid: z.string().uuid().optional().describe('present: the UUID to give a new filesystem (keep the old one so fstab and grub still match).'),
    label: z.string().max(16).optional().describe('present: the filesystem label (at most 16 bytes for ext, 12 for xfs).'),
    opts: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('present: extra mkfs options (a list, or a string split on whitespace), e.g. "-O ^metadata_csum".'),
    force: z
      .boolean()
      .default(false)
      .describe('Allow mkfs over another filesystem or a partition table, shrinking (ext), wiping (absent), and zeroing a dirty xfs log (checked: xfs_repair -L).'),
  })
  .strict()
  .refine((p) => !(p.size !== undefined && p.size_of_device !== undefined), {
    message: 'give size or size_of_device, not both',
  })
  .refine((p) => !(p.fstype === 'xfs' && p.label !== undefined && Buffer.byteLength(p.label) > 12), {
    message: 'an xfs label has at most 12 bytes',
    path: ['label'],
  });

type Params = z.output<typeof params>;

const isExt = (t: string | undefined): boolean => t === 'ext2' || t === 'ext3' || t === 'ext4';

function optsList(o: string | string[] | undefined): string[] {
  if (o === undefined) return [];
  return Array.isArray(o) ? o : o.split(/\s+/).filter(Boolean);
}

/** The mkfs command for the parameters; `dryRun` (xfs only) adds -N: mkfs.xfs checks everything and writes nothing. */
function mkfsCommand(p: Params, dryRun = false): Command {
  const extra = optsList(p.opts);
  if (p.fstype === 'xfs') {
    // -f: the plan has already refused an existing signature unless force is given.
    return sh`mkfs.xfs ${dryRun ? ['-N'] : []} -f ${p.uuid ? ['-m', `uuid=${p.uuid}`] : []} ${p.label ? ['-L', p.label] : []} ${extra} -- ${p.dev}`;
  }
  // -F twice: also when the target is not a block device (an image file) or looks in use.
  return sh`${`mkfs.${p.fstype}`} -F -F -q ${p.uuid ? ['-U', p.uuid] : []} ${p.label ? ['-L', p.label] : []} ${extra} -- ${p.dev}`;
}

/** Runs e2fsck -f -y and fails on exit codes 4 and above; returns what it did. */
async function fsck(ctx: TaskContext, dev: string): Promise<{ fsck_exit: number | null; fsck: string; reboot: boolean; fixed: boolean }> {
  const r = await ctx.run(sh`e2fsck -f -y -- ${dev}`);
  const o = interpretE2fsckExit(r.exitCode);
  if (!o.ok) throw new TaskFailedError(`e2fsck ${dev}: ${o.meaning}\n${describeFailure(r)}`, { exitCode: r.exitCode, stdout: r.stdout });
  return { fsck_exit: r.exitCode, fsck: o.meaning, reboot: o.reboot, fixed: o.changed };
}

async function isMounted(ctx: TaskContext, dev: string): Promise<string | undefined> {
  return (await mountsOfDevice(ctx, dev))[0]?.mountPoint;
}

async function planPresent(ctx: TaskContext, p: Params): Promise<Plan> {
  const sig = await probeSignature(ctx, p.dev);
  if (sig.type === p.fstype) {
    const notes: string[] = [];
    if (p.uuid && sig.uuid?.toLowerCase() !== p.uuid.toLowerCase()) notes.push(`UUID is ${sig.uuid}, asked for ${p.uuid}`);
    if (p.label !== undefined && (sig.label ?? '') !== p.label) notes.push(`label is '${sig.label ?? ''}', asked for '${p.label}'`);
    if (notes.length && !p.force) {
      throw new TaskFailedError(`${p.dev} already has a ${p.fstype} filesystem but ${notes.join(' and ')}: refusing to re-create it without force: true`);
    }
    if (!notes.length) {
      return { changed: false, reason: `${p.dev} already has a ${p.fstype} filesystem (UUID ${sig.uuid ?? '?'})`, data: { uuid: sig.uuid, label: sig.label ?? '' } };
    }
  }
  const there = sig.type ? `a ${sig.type} filesystem` : sig.ptType ? `a ${sig.ptType} partition table` : undefined;
  if (there && sig.type !== p.fstype && !p.force) {
    throw new TaskFailedError(`refusing to mkfs.${p.fstype} over ${there} on ${p.dev} without force: true`);
  }
  const mounted = await isMounted(ctx, p.dev);
  if (mounted) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: unmount it before making a filesystem`);
  if (p.fstype === 'xfs') {
    // mkfs.xfs's own dry run: a device under its minimum size (300 MiB since xfsprogs 5.19) or a bad option fails here, in check mode too.
    const dry = await ctx.run(mkfsCommand(p, true));
    if (dry.exitCode !== 0) throw new TaskFailedError(`mkfs.xfs -N (dry run) refuses ${p.dev}: ${mkfsXfsError(dry.stderr)}`, { command: dry.command, stderr: dry.stderr });
  }
  const cmd = mkfsCommand(p);
  return {
    changed: true,
    diff: [{ path: p.dev, before: there ? `${there}\n` : '(no filesystem)\n', after: `${p.fstype}${p.uuid ? ` UUID=${p.uuid}` : ''}${p.label ? ` LABEL=${p.label}` : ''}\n` }],
    steps: [
      {
        title: `${cmd.display}`,
        destructive: there !== undefined,
        async run(c) {
          await c.runOk(cmd);
          const now = await probeSignature(c, p.dev);
          return { uuid: now.uuid, label: now.label ?? '' };
        },
      },
    ],
  };
}

/** What a device holds, for messages. */
function describeSignature(sig: BlockSignature): string {
  return sig.type ? `a ${sig.type} filesystem` : sig.ptType ? `a ${sig.ptType} partition table` : 'no filesystem';
}

/** What to do about an xfs log that was never replayed; -L is only the last resort. */
function dirtyLogMessage(dev: string): string {
  return (
    `the xfs log on ${dev} holds metadata changes that were never replayed (the filesystem was not unmounted cleanly): ` +
    'mount it once and unmount it to replay the log, then run this task again. Only if it cannot be mounted, ' +
    'force: true runs xfs_repair -L, which zeroes the log and loses the changes in it'
  );
}

/** Runs xfs_repair (with -L to zero a dirty log) and fails unless it finished; returns what it did. */
async function xfsRepair(ctx: TaskContext, dev: string, zeroLog: boolean): Promise<Record<string, unknown>> {
  const r = await ctx.run(sh`xfs_repair ${zeroLog ? ['-L'] : []} -- ${dev}`);
  const o = interpretXfsRepair(r.exitCode, r.stdout, r.stderr, false);
  if (o.state === 'dirty-log') throw new TaskFailedError(dirtyLogMessage(dev), { exitCode: r.exitCode });
  if (o.state === 'failed' || o.state === 'problems') throw new TaskFailedError(`xfs_repair ${dev}: ${o.state === 'failed' ? o.meaning : 'unexpected outcome'}\n${describeFailure(r)}`, { exitCode: r.exitCode });
  const problems = o.state === 'repaired' ? o.problems : [];
  return { fsck_exit: r.exitCode, fsck: problems.length ? 'errors corrected' : 'no errors', problems, log_zeroed: zeroLog };
}

async function planCheckedXfs(ctx: TaskContext, p: Params): Promise<Plan> {
  const sig = await probeSignature(ctx, p.dev);
  // xfs_repair on something else would scan the whole device for a secondary superblock before giving up.
  if (sig.type !== 'xfs') throw new TaskFailedError(`${p.dev} holds ${describeSignature(sig)}, not xfs: nothing for xfs_repair to check`);
  const mounted = await isMounted(ctx, p.dev);
  if (mounted) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: xfs_repair needs it unmounted`);
  // -n modifies nothing: a read, so check mode is exact. It exits 1 when it found problems.
  const r = await ctx.run(sh`xfs_repair -n -- ${p.dev}`);
  const o = interpretXfsRepair(r.exitCode, r.stdout, r.stderr, true);
  switch (o.state) {
    case 'clean':
      return { changed: false, reason: `xfs_repair -n found no problems on ${p.dev}`, data: { fsck_exit: 0, fsck: 'no errors', problems: [] } };
    case 'dirty-log':
      if (!p.force) throw new TaskFailedError(dirtyLogMessage(p.dev));
      return {
        changed: true,
        diff: [{ path: p.dev, before: 'a dirty log (metadata changes not replayed)\n', after: 'log zeroed, filesystem repaired\n' }],
        steps: [{ title: `xfs_repair -L ${p.dev} (zero the dirty log: the changes in it are lost)`, destructive: true, run: (c) => xfsRepair(c, p.dev, true) }],
      };
    case 'problems':
      return {
        changed: true,
        diff: [{ path: p.dev, before: `${o.problems.slice(0, 20).join('\n')}\n`, after: '(repaired)\n' }],
        steps: [{ title: `xfs_repair ${p.dev} (xfs_repair -n found ${o.problems.length} problem${o.problems.length === 1 ? '' : 's'})`, run: (c) => xfsRepair(c, p.dev, false) }],
      };
    default:
      throw new TaskFailedError(`xfs_repair -n ${p.dev}: ${o.state === 'failed' ? o.meaning : o.state}\n${describeFailure(r)}`, { exitCode: r.exitCode });
  }
}

async function planChecked(ctx: TaskContext, p: Params): Promise<Plan> {
  if (p.fstype === 'xfs') return planCheckedXfs(ctx, p);
  const mounted = await isMounted(ctx, p.dev);
  if (mounted) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: e2fsck needs it unmounted`);
  // -n opens read-only and answers "no": a read, so check mode is exact. It exits 4 when it found errors.
  const r = await ctx.run(sh`e2fsck -f -n -- ${p.dev}`);
  const o = interpretE2fsckExit(r.exitCode);
  if (r.exitCode === 0) return { changed: false, reason: `e2fsck -f -n found no errors on ${p.dev}`, data: { fsck_exit: 0, fsck: o.meaning } };
  if (r.exitCode !== null && r.exitCode & ~(1 | 2 | 4)) {
    throw new TaskFailedError(`e2fsck -n ${p.dev}: ${o.meaning}\n${describeFailure(r)}`);
  }
  return {
    changed: true,
    steps: [{ title: `e2fsck -f -y ${p.dev} (a read-only check found errors)`, run: (c) => fsck(c, p.dev) }],
  };
}

/** The size a resize aims at (size, size_of_device, or the whole device), and how the task named it. */
async function resizeTarget(ctx: TaskContext, p: Params, devBytes: number): Promise<{ target: number; what: string }> {
  try {
    if (p.size_of_device) return { target: await deviceSize(ctx, p.size_of_device), what: `the size of ${p.size_of_device}` };
    if (p.size !== undefined) return { target: parseBytes(p.size), what: String(p.size) };
    return { target: devBytes, what: `the whole of ${p.dev}` };
  } catch (e) {
    throw new TaskFailedError(`size: ${(e as Error).message}`);
  }
}

/** The geometry of the xfs filesystem: from the kernel (xfs_info) when it is mounted, else from superblock 0 on disk. */
async function readXfsGeometry(ctx: TaskContext, dev: string, mountPoint: string | undefined): Promise<XfsGeometry> {
  try {
    // xfs_info hands its argument to xfs_db without `--`; a mount point from mountinfo is absolute.
    if (mountPoint) return parseXfsInfo((await ctx.runOk(sh`xfs_info ${mountPoint}`)).stdout);
    return parseXfsDbSb((await ctx.runOk(sh`xfs_db -r -c sb -c print -- ${dev}`)).stdout);
  } catch (e) {
    if (e instanceof TaskFailedError) throw e;
    throw new TaskFailedError(`${dev}: ${(e as Error).message}`);
  }
}

/**
 * Grows the xfs filesystem on dev to `blocks` with xfs_growfs, which works on a mounted filesystem only: on its
 * mount point, or on a private temporary one that is always unmounted and removed again.
 */
async function growXfs(ctx: TaskContext, dev: string, blocks: number, mountPoint: string | undefined): Promise<XfsGeometry> {
  const grow = async (mp: string): Promise<XfsGeometry> => {
    await ctx.runOk(sh`xfs_growfs -D ${String(blocks)} -- ${mp}`);
    return readXfsGeometry(ctx, dev, mp);
  };
  if (mountPoint) return grow(mountPoint);
  const tmp = (await ctx.runOk(sh`mktemp -d -t ferry-xfs-grow.XXXXXX`)).stdout.trim();
  try {
    // nouuid: a copy that kept its source's UUID mounts while the source is mounted too (xfs refuses duplicates).
    await ctx.runOk(sh`mount -t xfs -o nouuid -- ${dev} ${tmp}`);
    let geo: XfsGeometry;
    try {
      geo = await grow(tmp);
    } catch (e) {
      const u = await ctx.run(sh`umount -- ${tmp}`);
      if (u.exitCode !== 0) (e as Error).message += `\n(and unmounting the temporary mount failed: ${describeFailure(u)})`;
      throw e;
    }
    await ctx.runOk(sh`umount -- ${tmp}`);
    return geo;
  } finally {
    // rmdir, never rm -r: if the unmount failed the directory is still a mount point and stays.
    await ctx.run(sh`rmdir -- ${tmp}`);
  }
}

async function planResizedXfs(ctx: TaskContext, p: Params): Promise<Plan> {
  const sig = await probeSignature(ctx, p.dev);
  if (sig.type !== 'xfs') throw new TaskFailedError(`${p.dev} holds ${describeSignature(sig)}, not xfs: nothing to resize`);
  const mounted = await isMounted(ctx, p.dev);
  const geo = await readXfsGeometry(ctx, p.dev, mounted);
  const devBytes = await deviceSize(ctx, p.dev);
  const { target: asked, what } = await resizeTarget(ctx, p, devBytes);
  const target = alignDown(asked, geo.blockSize);
  if (target > devBytes) {
    throw new TaskFailedError(`cannot grow the xfs filesystem on ${p.dev} to ${formatBytes(target)}: the device holds only ${formatBytes(devBytes)}`);
  }
  if (target < geo.sizeBytes) {
    throw new TaskFailedError(
      `xfs cannot shrink: the filesystem on ${p.dev} is ${formatBytes(geo.sizeBytes)} (${geo.sizeBytes} bytes) and ${what} is ${formatBytes(target)} (${target} bytes); ` +
        'make a smaller filesystem and copy the files instead',
    );
  }
  const blocks = xfsGrownBlocks(target / geo.blockSize, geo.agBlocks);
  const after = blocks * geo.blockSize;
  if (blocks <= geo.dataBlocks) {
    const left = target - after;
    return {
      changed: false,
      reason:
        `the xfs filesystem on ${p.dev} is already ${formatBytes(geo.sizeBytes)} (${what}` +
        (left ? `; the ${left / geo.blockSize} blocks beyond it are fewer than the 64 an xfs allocation group needs` : '') +
        ')',
      data: { size_bytes: geo.sizeBytes },
    };
  }
  const where = mounted ? `on ${mounted}` : 'on a temporary mount point';
  return {
    changed: true,
    diff: [{ path: p.dev, before: `${geo.sizeBytes} bytes\n`, after: `${after} bytes\n` }],
    steps: [
      {
        title: `xfs_growfs -D ${blocks} ${where} (grow ${p.dev} ${formatBytes(geo.sizeBytes)} → ${formatBytes(after)})`,
        async run(c) {
          const now = await growXfs(c, p.dev, blocks, mounted);
          if (now.dataBlocks !== blocks) throw new TaskFailedError(`xfs_growfs left the filesystem on ${p.dev} at ${now.dataBlocks} blocks, not the ${blocks} planned`);
          return { size_bytes: now.sizeBytes };
        },
      },
    ],
  };
}

async function planResized(ctx: TaskContext, p: Params): Promise<Plan> {
  if (p.fstype === 'xfs') return planResizedXfs(ctx, p);
  const sig = await probeSignature(ctx, p.dev);
  if (!isExt(sig.type)) throw new TaskFailedError(`${p.dev} holds ${sig.type ? `a ${sig.type} filesystem` : 'no filesystem'}, not ${p.fstype}: nothing to resize`);
  const head = parseDumpe2fsHeader((await ctx.runOk(sh`dumpe2fs -h -- ${p.dev}`)).stdout);
  const devBytes = await deviceSize(ctx, p.dev);
  const { target: asked, what } = await resizeTarget(ctx, p, devBytes);
  const target = alignDown(asked, head.blockSize);
  if (target > devBytes) {
    throw new TaskFailedError(`cannot resize the filesystem on ${p.dev} to ${formatBytes(target)}: the device holds only ${formatBytes(devBytes)}`);
  }
  if (target === head.sizeBytes) {
    return { changed: false, reason: `the filesystem on ${p.dev} is already ${formatBytes(target)} (${what})`, data: { size_bytes: target } };
  }
  const shrink = target < head.sizeBytes;
  if (shrink && !p.force) {
    throw new TaskFailedError(`refusing to shrink the filesystem on ${p.dev} from ${formatBytes(head.sizeBytes)} to ${formatBytes(target)} without force: true`);
  }
  const mounted = await isMounted(ctx, p.dev);
  if (mounted && shrink) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: ext filesystems shrink only unmounted`);
  // resize2fs reads "K" as KiB; every block size is a multiple of 1 KiB.
  const sizeArg = `${target / 1024}K`;
  const steps: Step[] = [];
  if (!mounted) {
    // resize2fs refuses an offline resize unless the filesystem was just checked ("Please run 'e2fsck -f' first").
    steps.push({ title: `e2fsck -f -y ${p.dev} (required before an offline resize)`, run: (c) => fsck(c, p.dev) });
  }
  steps.push({
    title: `resize2fs ${p.dev} ${sizeArg} (${shrink ? 'shrink' : 'grow'} ${formatBytes(head.sizeBytes)} → ${formatBytes(target)})`,
    destructive: shrink,
    async run(c) {
      await c.runOk(sh`resize2fs -- ${p.dev} ${sizeArg}`);
      const now = parseDumpe2fsHeader((await c.runOk(sh`dumpe2fs -h -- ${p.dev}`)).stdout);
      return { size_bytes: now.sizeBytes };
    },
  });
  return {
    changed: true,
    diff: [{ path: p.dev, before: `${head.sizeBytes} bytes\n`, after: `${target} bytes\n` }],
    steps,
  };
}

async function planAbsent(ctx: TaskContext, p: Params): Promise<Plan> {
  const sig = await probeSignature(ctx, p.dev);
  if (!sig.type) return { changed: false, reason: `${p.dev} has no filesystem signature` };
  if (!p.force) throw new TaskFailedError(`refusing to wipe the ${sig.type} filesystem on ${p.dev} without force: true`);
  const mounted = await isMounted(ctx, p.dev);
  if (mounted) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: unmount it before wiping`);
  return {
    changed: true,
    diff: [{ path: p.dev, before: `${sig.type} UUID=${sig.uuid ?? '?'}\n`, after: '(no filesystem)\n' }],
    steps: [{ title: `wipefs -a ${p.dev} (erase the ${sig.type} signature)`, destructive: true, run: async (c) => void (await c.runOk(sh`wipefs -a -- ${p.dev}`)) }],
  };
}

/** The filesystem module. */
export const filesystemModule = defineModule({
  name: 'filesystem',
  params,
  doc: {
    summary: 'Make (present), check (checked), resize (resized) or wipe (absent) an ext2/3/4 or xfs filesystem.',
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
      uuid: 'present: the filesystem UUID.',
      label: 'present: the filesystem label.',
      size_bytes: 'resized: the filesystem size afterwards.',
      fsck_exit: 'checked/resized: the e2fsck or xfs_repair exit code.',
      fsck: 'checked/resized: what the exit code means.',
      reboot: 'checked (ext): e2fsck asked for a reboot (exit 2).',
      problems: 'checked (xfs): the problems xfs_repair reported (empty when clean).',
      log_zeroed: 'checked (xfs): xfs_repair -L zeroed a dirty log (only with force).',
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
  async plan(ctx, p: Params) {
    const kind = await pathKind(ctx, p.dev);
    if (kind !== 'block' && kind !== 'file') throw new TaskFailedError(`${p.dev} on ${ctx.host} is ${kind === 'missing' ? 'missing' : `a ${kind}`}, not a block device or image file`);
    switch (p.state) {
      case 'present':
        return planPresent(ctx, p);
      case 'checked':
        return planChecked(ctx, p);
      case 'resized':
        return planResized(ctx, p);
      case 'absent':
        return planAbsent(ctx, p);
    }
  },
});
