// The `partition_map` module: make the partitions of a device the kernel does not partition-scan
// visible — an LV through kpartx (/dev/mapper/NAMEn), an image file through a loop device (losetup -P).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Plan, type TaskContext } from '../runner/module.js';
import { absolutePathField } from './lib/schema.js';
import { canonicalPath, pathKind, readPartitionTable, waitForNodes } from './storage/facts.js';
import { parseLosetupList } from './storage/losetup.js';
import { kpartxPartitionName } from './storage/lvs.js';
import { partitionPath } from './storage/sfdisk.js';

const params = z
  .object({
    device: absolutePathField('An LV (or other device-mapper device) with a partition table, or an image file (absolute paths).'),
    state: z.enum(['mapped', 'unmapped']).default('mapped').describe('mapped: create the partition devices; unmapped: remove them.'),
  })
  .strict();

type Params = z.output<typeof params>;

async function exists(ctx: TaskContext, node: string): Promise<boolean> {
  return (await ctx.run(sh`test -b ${node}`)).exitCode === 0;
}

async function planImage(ctx: TaskContext, p: Params): Promise<Plan> {
  const file = await canonicalPath(ctx, p.device);
  // -j takes the next word as its value whatever it starts with; losetup -d takes no `--`, and its
  // devices come from losetup's own output (/dev/loopN).
  const loops = parseLosetupList((await ctx.runOk(sh`losetup -j ${file}`)).stdout).filter((l) => l.backingFile === file);
  if (p.state === 'unmapped') {
    if (!loops.length) return { changed: false, reason: `no loop device is attached to ${file}` };
    return {
      changed: true,
      steps: loops.map((l) => ({ title: `losetup -d ${l.device}`, run: async (c: TaskContext) => void (await c.runOk(sh`losetup -d ${l.device}`)) })),
    };
  }
  const table = await readPartitionTable(ctx, file);
  const count = table?.partitions.length ?? 0;
  if (loops.length) {
    const loop = loops[0]!.device;
    const nodes = Array.from({ length: count }, (_, i) => partitionPath(loop, i + 1));
    const present = await Promise.all(nodes.map((n) => exists(ctx, n)));
    if (present.every(Boolean)) {
      return { changed: false, reason: `${file} is attached to ${loop} with its ${count} partition(s)`, data: { device: loop, partitions: nodes } };
    }
    return {
      changed: true,
      steps: [
        {
          title: `partx -u ${loop} (show the partitions of ${file})`,
          async run(c) {
            await c.runOk(sh`partx -u -- ${loop}`);
            await waitForNodes(c, nodes);
            return { device: loop, partitions: nodes };
          },
        },
      ],
    };
  }
  return {
    changed: true,
    steps: [
      {
        title: `losetup -P -f --show ${file}`,
        async run(c) {
          const loop = (await c.runOk(sh`losetup -P -f --show -- ${file}`)).stdout.trim();
          const nodes = Array.from({ length: count }, (_, i) => partitionPath(loop, i + 1));
          // -P's own scan can leave the partitions unregistered (seen on 6.x kernels); partx -u adds the missing ones.
          if (count) await c.runOk(sh`partx -u -- ${loop}`);
          await waitForNodes(c, nodes);
          return { device: loop, partitions: nodes };
        },
      },
    ],
  };
}

async function planDm(ctx: TaskContext, p: Params): Promise<Plan> {
  const real = await canonicalPath(ctx, p.device);
  const base = real.split('/').pop()!;
  if (!base.startsWith('dm-')) {
    throw new TaskFailedError(`${p.device} (${real}) is not a device-mapper device: the kernel shows its partitions itself (use partx -u), partition_map is for LVs and image files`);
  }
  const dm = (await ctx.runOk(sh`cat ${`/sys/block/${base}/dm/name`}`)).stdout.trim();
  const table = await readPartitionTable(ctx, p.device);
  const count = table?.partitions.length ?? 0;
  const nodes = Array.from({ length: count }, (_, i) => `/dev/mapper/${kpartxPartitionName(dm, i + 1)}`);
  const present = await Promise.all(nodes.map((n) => exists(ctx, n)));
  if (p.state === 'unmapped') {
    // kpartx -d also removes maps of partitions that the table no longer lists, so look for the first one too.
    const first = `/dev/mapper/${kpartxPartitionName(dm, 1)}`;
    if (!present.some(Boolean) && !(await exists(ctx, first))) return { changed: false, reason: `no partition maps of ${p.device} exist` };
    return { changed: true, steps: [{ title: `kpartx -d -v ${p.device}`, run: async (c) => void (await c.runOk(sh`kpartx -d -v -- ${p.device}`)) }] };
  }
  if (!count) throw new TaskFailedError(`${p.device} has no partition table: nothing to map`);
  if (present.every(Boolean)) return { changed: false, reason: `the ${count} partition(s) of ${p.device} are mapped`, data: { device: p.device, partitions: nodes } };
  return {
    changed: true,
    steps: [
      {
        title: `kpartx -a -s -v ${p.device}`,
        async run(c) {
          await c.runOk(sh`kpartx -a -s -v -- ${p.device}`);
          await waitForNodes(c, nodes);
          return { device: p.device, partitions: nodes };
        },
      },
    ],
  };
}

/** The partition_map module. */
export const partitionMapModule = defineModule({
  name: 'partition_map',
  params,
  doc: {
    summary: 'Map the partitions of an LV (kpartx) or an image file (losetup -P) to devices, or remove those maps.',
    description:
      'An LV /dev/vg1/xr1-disk gets /dev/mapper/vg1-xr1--disk1, 2, ... (dashes in VG and LV names are doubled; a name ' +
      'ending in a digit gets a "p" before the partition number). An image file is attached to a loop device with ' +
      'partition scanning, reusing a loop device already attached to it (losetup -j). Idempotent both ways.',
    checkMode: 'full',
    result: { device: 'The mapped whole device (the loop device for an image).', partitions: 'The partition device paths.' },
    example: ['- partition_map:', '    device: /dev/vg1/xr1-disk', '    state: mapped', '  register: pm'].join('\n'),
  },
  async plan(ctx, p) {
    const kind = await pathKind(ctx, p.device);
    if (kind === 'file') return planImage(ctx, p);
    if (kind === 'block') return planDm(ctx, p);
    throw new TaskFailedError(`${p.device} on ${ctx.host} is ${kind === 'missing' ? 'missing' : `a ${kind}`}: partition_map wants an LV or an image file`);
  },
});
