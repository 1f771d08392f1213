// The `partition_map` module: make the partitions of a device the kernel does not partition-scan
// visible — an LV through kpartx (/dev/mapper/NAMEn), an image file through a loop device (losetup -P).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { absolutePathField } from './lib/schema.js';
import { canonicalPath, pathKind, readPartitionTable, waitForNodes } from './storage/facts.js';
import { parseLosetupList } from './storage/losetup.js';
import { kpartxPartitionName } from './storage/lvs.js';
import { partitionPath } from './storage/sfdisk.js';

const params = z.strictObject({
  device: absolutePathField('An LV (or other device-mapper device) with a partition table, or an image file (absolute paths)'),
  state: z.enum(['mapped', 'unmapped']).default('mapped').describe('mapped: create the partition devices; unmapped: remove them'),
});

type Params = z.output<typeof params>;

type PathKind = Awaited<ReturnType<typeof pathKind>>;

/** What partition_map's read found. */
export interface PartitionMapFacts {
  host: string;
  /** What device is: an image file, a block device, or neither. */
  kind: PathKind;
  /** device with every link resolved (readlink -f). */
  real: string;
  /** An image: the loop devices attached to it (losetup -j), in order. */
  loops?: string[];
  /** A device-mapper device: its name (/sys/block/dm-N/dm/name). */
  dmName?: string;
  /** How many partitions the table lists (0 without a table); not read to unmap an image. */
  count?: number;
  /** The partition nodes looked for (the ones the table says, and for kpartx -d the first), and whether each is there. */
  present?: Record<string, boolean>;
}

/** The device nodes the table's partitions get: LOOPpN for a loop device, /dev/mapper/NAME-N for a dm device. */
function loopNodes(loop: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => partitionPath(loop, i + 1));
}
function dmNodes(dm: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `/dev/mapper/${kpartxPartitionName(dm, i + 1)}`);
}

async function presentNodes(ctx: TaskContext, nodes: string[]): Promise<Record<string, boolean>> {
  const present: Record<string, boolean> = {};
  for (const n of nodes) present[n] = (await ctx.run(sh`test -b ${n}`)).exitCode === 0;
  return present;
}

/** Reads what device is, its loop devices (an image) or dm name, its partition count and which partition nodes exist. */
export async function readPartitionMap(ctx: TaskContext, p: Params): Promise<PartitionMapFacts> {
  const kind = await pathKind(ctx, p.device);
  const facts: PartitionMapFacts = { host: ctx.host, kind, real: p.device };
  if (kind !== 'file' && kind !== 'block') return facts;
  facts.real = await canonicalPath(ctx, p.device);
  if (kind === 'file') {
    // -j takes the next word as its value whatever it starts with.
    facts.loops = parseLosetupList((await ctx.runOk(sh`losetup -j ${facts.real}`)).stdout)
      .filter((l) => l.backingFile === facts.real)
      .map((l) => l.device);
    if (p.state === 'unmapped') return facts;
    facts.count = (await readPartitionTable(ctx, facts.real))?.partitions.length ?? 0;
    if (facts.loops.length) facts.present = await presentNodes(ctx, loopNodes(facts.loops[0]!, facts.count));
    return facts;
  }
  const base = facts.real.split('/').pop()!;
  if (!base.startsWith('dm-')) return facts;
  facts.dmName = (await ctx.runOk(sh`cat ${`/sys/block/${base}/dm/name`}`)).stdout.trim();
  facts.count = (await readPartitionTable(ctx, p.device))?.partitions.length ?? 0;
  // kpartx -d also removes maps of partitions that the table no longer lists, so look for the first one too.
  facts.present = await presentNodes(ctx, [...new Set([...dmNodes(facts.dmName, facts.count), ...dmNodes(facts.dmName, 1)])]);
  return facts;
}

function decideImage(p: Params, f: PartitionMapFacts): Verdict {
  const file = f.real;
  const loops = f.loops ?? [];
  if (p.state === 'unmapped') {
    if (!loops.length) return { changed: false, reason: `no loop device is attached to ${file}` };
    // losetup -d takes no `--`; its devices come from losetup's own output (/dev/loopN).
    return { changed: true, steps: loops.map((l) => ({ title: `losetup -d ${l}`, cmd: sh`losetup -d ${l}` })) };
  }
  const count = f.count ?? 0;
  if (loops.length) {
    const loop = loops[0]!;
    const nodes = loopNodes(loop, count);
    if (nodes.every((n) => f.present?.[n])) {
      return { changed: false, reason: `${file} is attached to ${loop} with its ${count} partition(s)`, data: { device: loop, partitions: nodes } };
    }
    const cmd = sh`partx -u -- ${loop}`;
    return {
      changed: true,
      steps: [
        {
          title: `partx -u ${loop} (show the partitions of ${file})`,
          // cmd is what runs; run also waits for the nodes udev makes.
          cmd,
          async run(c) {
            await c.runOk(cmd);
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
        // The escape hatch: the loop device is known only once losetup has printed it.
        async run(c) {
          const loop = (await c.runOk(sh`losetup -P -f --show -- ${file}`)).stdout.trim();
          const nodes = loopNodes(loop, count);
          // -P's own scan can leave the partitions unregistered (seen on 6.x kernels); partx -u adds the missing ones.
          if (count) await c.runOk(sh`partx -u -- ${loop}`);
          await waitForNodes(c, nodes);
          return { device: loop, partitions: nodes };
        },
      },
    ],
  };
}

function decideDm(p: Params, f: PartitionMapFacts): Verdict {
  if (f.dmName === undefined) {
    return { refused: `${p.device} (${f.real}) is not a device-mapper device: the kernel shows its partitions itself (use partx -u), partition_map is for LVs and image files` };
  }
  const count = f.count ?? 0;
  const nodes = dmNodes(f.dmName, count);
  const present = f.present ?? {};
  if (p.state === 'unmapped') {
    if (![...nodes, ...dmNodes(f.dmName, 1)].some((n) => present[n])) return { changed: false, reason: `no partition maps of ${p.device} exist` };
    return { changed: true, steps: [{ title: `kpartx -d -v ${p.device}`, cmd: sh`kpartx -d -v -- ${p.device}` }] };
  }
  if (!count) return { refused: `${p.device} has no partition table: nothing to map` };
  if (nodes.every((n) => present[n])) return { changed: false, reason: `the ${count} partition(s) of ${p.device} are mapped`, data: { device: p.device, partitions: nodes } };
  const cmd = sh`kpartx -a -s -v -- ${p.device}`;
  return {
    changed: true,
    steps: [
      {
        title: `kpartx -a -s -v ${p.device}`,
        // cmd is what runs; run also waits for the nodes udev makes.
        cmd,
        async run(c) {
          await c.runOk(cmd);
          await waitForNodes(c, nodes);
          return { device: p.device, partitions: nodes };
        },
      },
    ],
  };
}

/** Decides one partition_map task from what read found (pure). */
export function decidePartitionMap(p: Params, f: PartitionMapFacts): Verdict {
  if (f.kind === 'file') return decideImage(p, f);
  if (f.kind === 'block') return decideDm(p, f);
  return { refused: `${p.device} on ${f.host} is ${f.kind === 'missing' ? 'missing' : `a ${f.kind}`}: partition_map wants an LV or an image file` };
}

/** The partition_map module. */
export const partitionMapModule = defineModule({
  name: 'partition_map',
  params,
  doc: {
    summary: 'Map the partitions of an LV (kpartx) or an image file (losetup -P) to devices, or remove those maps',
    description:
      'An LV /dev/vg1/xr1-disk gets /dev/mapper/vg1-xr1--disk1, 2, ... (dashes in VG and LV names are doubled; a name ' +
      'ending in a digit gets a "p" before the partition number). An image file is attached to a loop device with ' +
      'partition scanning, reusing a loop device already attached to it (losetup -j). Idempotent both ways.',
    checkMode: 'full',
    result: { device: 'The mapped whole device (the loop device for an image)', partitions: 'The partition device paths' },
    example: ['- partition_map:', '    device: /dev/vg1/xr1-disk', '    state: mapped', '  register: pm'].join('\n'),
  },
  read: readPartitionMap,
  decide: decidePartitionMap,
});
