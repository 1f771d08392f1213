// The `partition` module: writes a whole dos or gpt partition table with sfdisk, idempotently.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type Verdict } from '../runner/module.js';
import { absolutePathField } from './lib/schema.js';
import { dataSignatures, type WipefsSignature } from './storage/blkid.js';
import { canonicalPath, deviceSize, pathKind, readPartitionTable, waitForNodes, wipefsSignatures } from './storage/facts.js';
import { kpartxPartitionName } from './storage/lvs.js';
import {
  compareTable,
  describeTable,
  partitionPath,
  planPartitionLayout,
  renderSfdiskScript,
  type Label,
  type PartitionLayout,
  type PartitionTable,
} from './storage/sfdisk.js';

const sizeValue = z.union([z.string(), z.number().int().nonnegative()]);

const params = z.strictObject({
  device: absolutePathField('The whole device (or image file) to partition, e.g. /dev/vg1/xr1-disk or /dev/loop0'),
  label: z.enum(['msdos', 'dos', 'gpt']).default('msdos').describe('Partition table type: msdos (= dos, MBR) or gpt'),
  partitions: z
    .array(
      z.strictObject({
        start: sizeValue.optional().describe('Start offset (bytes, 2048s, 1M); default: the next 1 MiB boundary'),
        size: sizeValue.describe('Size (bytes, sectors "NNNs", 512M, 10G) or "rest" for the remaining space (last partition only)'),
        type: z.string().optional().describe('Type: linux (default), swap, lvm, efi, bios-boot, or a code (83) / GUID'),
        bootable: z.boolean().default(false).describe('Set the boot flag (msdos only; PyGrub and old BIOS loaders look for it)'),
      }),
    )
    .min(1)
    .describe('The partitions, in order; the table on disk must end up exactly like this'),
  force: z
    .boolean()
    .default(false)
    .describe('Allow replacing an existing partition table or writing over a filesystem signature on the device'),
});

type Params = z.output<typeof params>;

/** The device paths the partitions will have on the host, or [] when the kernel cannot show them (image file). */
async function readPartitionNodes(ctx: TaskContext, device: string, count: number): Promise<{ nodes: string[]; rescan: boolean; needsMap: boolean }> {
  const kind = await pathKind(ctx, device);
  if (kind !== 'block') return { nodes: [], rescan: false, needsMap: true };
  const real = await canonicalPath(ctx, device);
  const name = real.split('/').pop()!;
  const numbers = Array.from({ length: count }, (_, i) => i + 1);
  if (name.startsWith('dm-')) {
    // The kernel never partition-scans device-mapper devices (LVs): partition_map (kpartx) maps them.
    const dm = (await ctx.runOk(sh`cat ${`/sys/block/${name}/dm/name`}`)).stdout.trim();
    return { nodes: numbers.map((n) => `/dev/mapper/${kpartxPartitionName(dm, n)}`), rescan: false, needsMap: true };
  }
  if (/^loop\d+$/.test(name)) {
    const scan = await ctx.run(sh`cat ${`/sys/block/${name}/loop/partscan`}`);
    if (scan.stdout.trim() !== '1') return { nodes: [], rescan: false, needsMap: false };
  }
  return { nodes: numbers.map((n) => partitionPath(real, n)), rescan: true, needsMap: false };
}

function tableData(t: PartitionTable | null): Record<string, unknown> | null {
  if (!t) return null;
  return { label: t.label, id: t.id, sector_size: t.sectorSize, partitions: t.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable })) };
}

/** What read found on the device: its kind, and for a block device or image its size, table, signatures and partition nodes. */
export interface PartitionFacts {
  /** The host it was read on (for messages). */
  host: string;
  kind: 'block' | 'file' | 'dir' | 'other' | 'missing';
  bytes?: number;
  sectorSize?: number;
  table?: PartitionTable | null;
  signatures?: WipefsSignature[];
  nodes?: { nodes: string[]; rescan: boolean; needsMap: boolean };
}

/** Reads what partition decides on (I/O only). */
async function readPartition(ctx: TaskContext, p: Params): Promise<PartitionFacts> {
  const kind = await pathKind(ctx, p.device);
  if (kind !== 'block' && kind !== 'file') return { host: ctx.host, kind };
  const bytes = await deviceSize(ctx, p.device);
  // no `--` for blockdev (it reads it as a command); device is an absolute path
  const sectorSize = kind === 'block' ? Number((await ctx.runOk(sh`blockdev --getss ${p.device}`)).stdout.trim()) : 512;
  const table = await readPartitionTable(ctx, p.device);
  const signatures = await wipefsSignatures(ctx, p.device);
  const nodes = await readPartitionNodes(ctx, p.device, p.partitions.length);
  return { host: ctx.host, kind, bytes, sectorSize, table, signatures, nodes };
}

/** Decides the partition table to write, if any (pure): no change, one sfdisk step (destructive over data), or a refusal. */
export function decidePartition(p: Params, f: PartitionFacts): Verdict {
  const label: Label = p.label === 'gpt' ? 'gpt' : 'dos';
  if (f.kind !== 'block' && f.kind !== 'file') {
    return { refused: `${p.device} on ${f.host} is ${f.kind === 'missing' ? 'missing' : `a ${f.kind}`}, not a block device or image file` };
  }
  let layout: PartitionLayout[];
  try {
    layout = planPartitionLayout(label, p.partitions, f.bytes ?? 0, f.sectorSize ?? 512);
  } catch (e) {
    return { refused: `${p.device}: ${(e as Error).message}` };
  }
  const current = f.table ?? null;
  const why = compareTable(current, label, layout);
  const nodes = f.nodes ?? { nodes: [], rescan: false, needsMap: true };
  if (!why.length) {
    return {
      changed: false,
      reason: `${p.device} already has this ${label} table (${layout.length} partition${layout.length > 1 ? 's' : ''})`,
      data: { partitions: nodes.nodes, needs_map: nodes.needsMap, table: tableData(current) },
    };
  }
  const holds = [
    ...(current ? [`a ${current.label} partition table with ${current.partitions.length} partition(s)`] : []),
    ...dataSignatures(f.signatures ?? []).map((s) => `a ${s.type} signature at offset ${s.offset}`),
  ];
  // --wipe always: clear old signatures on the whole device (a filesystem made on it before),
  // which sfdisk would otherwise keep and blkid would still report. On a blank device (no table, no
  // signature) the new partitions start blank too (--wipe-partitions always): a new LV is made of
  // extents an earlier LV used, and a filesystem signature left inside them is not this disk's
  // data (a later mkfs would take it for one). A forced rewrite keeps what the partitions hold.
  const write: Step = {
    title: `write a ${label} table with ${layout.length} partition(s) on ${p.device}`,
    cmd: holds.length ? sh`sfdisk --wipe always -- ${p.device}` : sh`sfdisk --wipe always --wipe-partitions always -- ${p.device}`,
    stdin: renderSfdiskScript(label, layout),
    ...(holds.length
      ? { destructive: true, refusal: `refusing to repartition ${p.device} without force: true: it holds ${holds.join(' and ')} (${why.join('; ')})` }
      : {}),
  };
  // BLKRRPART (sfdisk's own re-read) may leave a loop device without its partitions; partx -u
  // updates the kernel's view partition by partition.
  const rescan: Step[] = nodes.rescan ? [{ title: `partx -u ${p.device} (show the new partitions)`, cmd: sh`partx -u -- ${p.device}` }] : [];
  const before = current ? describeTable(current.label, current.partitions) : describeTable(null, []);
  return { changed: true, diff: [{ path: p.device, before, after: describeTable(label, layout) }], steps: [write, ...rescan] };
}

/** The partition module. */
export const partitionModule = defineModule({
  name: 'partition',
  params,
  doc: {
    summary: 'Write a dos (msdos) or gpt partition table with sfdisk; no change when the table on disk already matches',
    description:
      'Reads `sfdisk --json` and `wipefs --no-act`. Sizes are checked against the device before anything is written ' +
      '(overlap, beyond the end). A device that already has a different table, or any filesystem/RAID/LVM signature, ' +
      'is only rewritten with force: true. After writing, partitions of a disk or loop device are made visible with ' +
      '`partx -u`; an LV is never partition-scanned by the kernel, so map it with partition_map afterwards. ' +
      'On a blank device (no table, no signature) the new partitions are wiped of any signature left in them ' +
      '(sfdisk --wipe-partitions always: a new LV reuses extents an earlier LV held); when force rewrites a table, ' +
      'partition contents are kept: an old filesystem inside a re-created partition is still found by blkid.',
    checkMode: 'full',
    result: {
      partitions: 'Device paths of the partitions (/dev/loop0p1, /dev/sda1, or the /dev/mapper names partition_map creates for an LV); empty for an image file',
      needs_map: 'True for an LV or an image file: the kernel does not partition-scan it, so its partitions appear only after partition_map',
      table: 'The table on disk: label, id, sector_size, partitions [{start, size (sectors), type, bootable}]',
    },
    example: [
      '- name: one bootable partition over the whole disk',
      '  partition:',
      '    device: /dev/vg1/xr1-disk',
      '    label: msdos',
      '    partitions:',
      '      - { start: 1M, size: rest, type: "83", bootable: true }',
      '  register: parts',
    ].join('\n'),
  },
  read: readPartition,
  decide: decidePartition,
  // After the steps: wait for the partition nodes the kernel now shows, and report the table as written.
  async result(ctx, p) {
    const nodes = await readPartitionNodes(ctx, p.device, p.partitions.length);
    if (nodes.rescan) await waitForNodes(ctx, nodes.nodes);
    return { partitions: nodes.nodes, needs_map: nodes.needsMap, table: tableData(await readPartitionTable(ctx, p.device)) };
  },
});
