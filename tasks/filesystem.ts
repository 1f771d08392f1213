// The `filesystem` module: make, check, resize or wipe an ext2/3/4 or xfs filesystem.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Plan, type Step, type TaskContext } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { interpretE2fsckExit, parseDumpe2fsHeader } from './storage/e2fsck.js';
import { deviceSize, mountsOfDevice, pathKind, probeSignature } from './storage/facts.js';
import { alignDown, formatBytes, parseBytes } from './storage/sizes.js';

const params = z
  .object({
    dev: z.string().min(1).describe('The block device (or image file) holding the filesystem.'),
    fstype: z.enum(['ext4', 'ext3', 'ext2', 'xfs']).default('ext4').describe('Filesystem type.'),
    state: z
      .enum(['present', 'checked', 'resized', 'absent'])
      .default('present')
      .describe('present: make it if missing; checked: e2fsck -f -y; resized: resize2fs to size; absent: wipefs -a.'),
    size: z
      .union([z.string(), z.number().int().positive()])
      .optional()
      .describe('resized: target size (bytes, 2048s, 512M, 10G); default: the whole device.'),
    size_of_device: z
      .string()
      .optional()
      .describe('resized: make the filesystem exactly as big as this other device (e.g. the new, smaller partition it will be copied to).'),
    uuid: z.string().uuid().optional().describe('present: the UUID to give a new filesystem (keep the old one so fstab and grub still match).'),
    label: z.string().max(16).optional().describe('present: the filesystem label.'),
    opts: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('present: extra mkfs options (a list, or a string split on whitespace), e.g. "-O ^metadata_csum".'),
    force: z
      .boolean()
      .default(false)
      .describe('Allow mkfs over another filesystem or a partition table, shrinking, and wiping (absent).'),
  })
  .strict()
  .refine((p) => !(p.size !== undefined && p.size_of_device !== undefined), {
    message: 'give size or size_of_device, not both',
  });

type Params = z.output<typeof params>;

const isExt = (t: string | undefined): boolean => t === 'ext2' || t === 'ext3' || t === 'ext4';

function optsList(o: string | string[] | undefined): string[] {
  if (o === undefined) return [];
  return Array.isArray(o) ? o : o.split(/\s+/).filter(Boolean);
}

function mkfsCommand(p: Params): Command {
  const extra = optsList(p.opts);
  if (p.fstype === 'xfs') {
    return sh`mkfs.xfs -f ${p.uuid ? ['-m', `uuid=${p.uuid}`] : []} ${p.label ? ['-L', p.label] : []} ${extra} ${p.dev}`;
  }
  // -F twice: also when the target is not a block device (an image file) or looks in use.
  return sh`${`mkfs.${p.fstype}`} -F -F -q ${p.uuid ? ['-U', p.uuid] : []} ${p.label ? ['-L', p.label] : []} ${extra} ${p.dev}`;
}

/** Runs e2fsck -f -y and fails on exit codes 4 and above; returns what it did. */
async function fsck(ctx: TaskContext, dev: string): Promise<{ fsck_exit: number | null; fsck: string; reboot: boolean; fixed: boolean }> {
  const r = await ctx.run(sh`e2fsck -f -y ${dev}`);
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

async function planChecked(ctx: TaskContext, p: Params): Promise<Plan> {
  if (!isExt(p.fstype)) throw new TaskFailedError(`state: checked supports ext2/3/4 only (xfs_repair is not wrapped yet), not ${p.fstype}`);
  const mounted = await isMounted(ctx, p.dev);
  if (mounted) throw new TaskFailedError(`${p.dev} is mounted on ${mounted}: e2fsck needs it unmounted`);
  // -n opens read-only and answers "no": a read, so check mode is exact. It exits 4 when it found errors.
  const r = await ctx.run(sh`e2fsck -f -n ${p.dev}`);
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

async function planResized(ctx: TaskContext, p: Params): Promise<Plan> {
  if (!isExt(p.fstype)) throw new TaskFailedError(`state: resized supports ext2/3/4 only (xfs cannot shrink; use xfs_growfs on the mount point to grow)`);
  const sig = await probeSignature(ctx, p.dev);
  if (!isExt(sig.type)) throw new TaskFailedError(`${p.dev} holds ${sig.type ? `a ${sig.type} filesystem` : 'no filesystem'}, not ${p.fstype}: nothing to resize`);
  const head = parseDumpe2fsHeader((await ctx.runOk(sh`dumpe2fs -h ${p.dev}`)).stdout);
  const devBytes = await deviceSize(ctx, p.dev);
  let target: number;
  let what: string;
  try {
    if (p.size_of_device) {
      target = await deviceSize(ctx, p.size_of_device);
      what = `the size of ${p.size_of_device}`;
    } else if (p.size !== undefined) {
      target = parseBytes(p.size);
      what = String(p.size);
    } else {
      target = devBytes;
      what = `the whole of ${p.dev}`;
    }
  } catch (e) {
    throw new TaskFailedError(`size: ${(e as Error).message}`);
  }
  target = alignDown(target, head.blockSize);
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
      await c.runOk(sh`resize2fs ${p.dev} ${sizeArg}`);
      const now = parseDumpe2fsHeader((await c.runOk(sh`dumpe2fs -h ${p.dev}`)).stdout);
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
    steps: [{ title: `wipefs -a ${p.dev} (erase the ${sig.type} signature)`, destructive: true, run: async (c) => void (await c.runOk(sh`wipefs -a ${p.dev}`)) }],
  };
}

/** The filesystem module. */
export const filesystemModule = defineModule({
  name: 'filesystem',
  params,
  doc: {
    summary: 'Make (present), check (checked), resize (resized) or wipe (absent) an ext2/3/4 or xfs filesystem.',
    description:
      'Facts come from `blkid -p` (TYPE, UUID, LABEL), `dumpe2fs -h` (block count × block size) and `blockdev --getsize64`. ' +
      'present: no change when a filesystem of that type is there; another filesystem or a partition table is only ' +
      'overwritten with force. checked: `e2fsck -f -n` decides (read-only), then `e2fsck -f -y` fixes; exit 1 = fixed, ' +
      '2 = fixed and reboot wanted, 4 and above fail with their meaning. resized: `resize2fs DEV NNNK` after `e2fsck -f -y`; ' +
      'shrinking needs force; size_of_device gives the target as another device\'s size. xfs: present and absent only.',
    checkMode: 'full',
    result: {
      uuid: 'present: the filesystem UUID.',
      label: 'present: the filesystem label.',
      size_bytes: 'resized: the filesystem size afterwards.',
      fsck_exit: 'checked/resized: e2fsck exit code.',
      fsck: 'checked/resized: what the exit code means.',
      reboot: 'checked: e2fsck asked for a reboot (exit 2).',
    },
    example: [
      '- name: shrink the old root to the new partition before copying it',
      '  filesystem:',
      '    dev: /dev/vg1/xr1-root',
      '    fstype: ext4',
      '    state: resized',
      '    size_of_device: "{{ parts.partitions[0] }}"',
      '    force: true',
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
