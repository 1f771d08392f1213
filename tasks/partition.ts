// The `partition` module: writes a whole dos or gpt partition table with sfdisk, idempotently.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { absolutePathField } from './lib/schema.js';
import { dataSignatures } from './storage/blkid.js';
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

const params = z
  .object({
    device: absolutePathField('The whole device (or image file) to partition, e.g. /dev/vg1/xr1-disk or /dev/loop0.'),
    label: z.enum(['msdos', 'dos', 'gpt']).default('msdos').describe('Partition table type: msdos (= dos, MBR) or gpt.'),
    partitions: z
      .array(
        z
          .object({
            start: sizeValue.optional().describe('Start offset (bytes, 2048s, 1M); default: the next 1 MiB boundary.'),
            size: sizeValue.describe('Size (bytes, sectors "NNNs", 512M, 10G) or "rest" for the remaining space (last partition only).'),
            type: z.string().optional().describe('Type: linux (default), swap, lvm, efi, bios-boot, or a code (83) / GUID.'),
            bootable: z.boolean().default(false).describe('Set the boot flag (msdos only; PyGrub and old BIOS loaders look for it).'),
          })
          .strict(),
      )
      .min(1)
      .describe('The partitions, in order; the table on disk must end up exactly like this.'),
    force: z
      .boolean()
      .default(false)
      .describe('Allow replacing an existing partition table or writing over a filesystem signature on the device.'),
  })
  .strict();

type Params = z.output<typeof params>;

/** The device paths the partitions will have on the host, or [] when the kernel cannot show them (image file). */
async function partitionNodes(ctx: TaskContext, device: string, count: number): Promise<{ nodes: string[]; rescan: boolean; needsMap: boolean }> {
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

/** The partition module. */
export const partitionModule = defineModule({
  name: 'partition',
  params,
  doc: {
    summary: 'Write a dos (msdos) or gpt partition table with sfdisk; no change when the table on disk already matches.',
    description:
      'Reads `sfdisk --json` and `wipefs --no-act`. Sizes are checked against the device before anything is written ' +
      '(overlap, beyond the end). A device that already has a different table, or any filesystem/RAID/LVM signature, ' +
      'is only rewritten with force: true. After writing, partitions of a disk or loop device are made visible with ' +
      '`partx -u`; an LV is never partition-scanned by the kernel, so map it with partition_map afterwards. ' +
      'Partition contents are not wiped: an old filesystem inside a re-created partition is still found by blkid.',
    checkMode: 'full',
    result: {
      partitions: 'Device paths of the partitions (/dev/loop0p1, /dev/sda1, or the /dev/mapper names partition_map creates for an LV); empty for an image file.',
      needs_map: 'True for an LV or an image file: the kernel does not partition-scan it, so its partitions appear only after partition_map.',
      table: 'The table on disk: label, id, sector_size, partitions [{start, size (sectors), type, bootable}].',
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
  async plan(ctx, p: Params) {
    const label: Label = p.label === 'gpt' ? 'gpt' : 'dos';
    const kind = await pathKind(ctx, p.device);
    if (kind !== 'block' && kind !== 'file') {
      throw new TaskFailedError(`${p.device} on ${ctx.host} is ${kind === 'missing' ? 'missing' : `a ${kind}`}, not a block device or image file`);
    }
    const bytes = await deviceSize(ctx, p.device);
    // no `--` for blockdev (it reads it as a command); device is an absolute path
    const sectorSize = kind === 'block' ? Number((await ctx.runOk(sh`blockdev --getss ${p.device}`)).stdout.trim()) : 512;
    let layout: PartitionLayout[];
    try {
      layout = planPartitionLayout(label, p.partitions, bytes, sectorSize);
    } catch (e) {
      throw new TaskFailedError(`${p.device}: ${(e as Error).message}`);
    }
    const current = await readPartitionTable(ctx, p.device);
    const why = compareTable(current, label, layout);
    const nodes = await partitionNodes(ctx, p.device, layout.length);
    if (!why.length) {
      return {
        changed: false as const,
        reason: `${p.device} already has this ${label} table (${layout.length} partition${layout.length > 1 ? 's' : ''})`,
        data: { partitions: nodes.nodes, needs_map: nodes.needsMap, table: tableData(current) },
      };
    }
    const signatures = dataSignatures(await wipefsSignatures(ctx, p.device));
    const holds = [
      ...(current ? [`a ${current.label} partition table with ${current.partitions.length} partition(s)`] : []),
      ...signatures.map((s) => `a ${s.type} signature at offset ${s.offset}`),
    ];
    if (holds.length && !p.force) {
      throw new TaskFailedError(
        `refusing to repartition ${p.device} without force: true: it holds ${holds.join(' and ')} (${why.join('; ')})`,
      );
    }
    const script = renderSfdiskScript(label, layout);
    const before = current ? describeTable(current.label, current.partitions) : describeTable(null, []);
    const after = describeTable(label, layout);
    return {
      changed: true as const,
      diff: [{ path: p.device, before, after }],
      steps: [
        {
          title: `write a ${label} table with ${layout.length} partition(s) on ${p.device}`,
          destructive: holds.length > 0,
          async run(c: TaskContext) {
            // --wipe always: clear old signatures on the whole device (a filesystem made on it before),
            // which sfdisk would otherwise keep and blkid would still report.
            await c.runOk(sh`sfdisk --wipe always -- ${p.device}`, { stdin: script });
            if (nodes.rescan) {
              // BLKRRPART (sfdisk's own re-read) may leave a loop device without its partitions; partx -u
              // updates the kernel's view partition by partition.
              await c.runOk(sh`partx -u -- ${p.device}`);
              await waitForNodes(c, nodes.nodes);
            }
            return { partitions: nodes.nodes, needs_map: nodes.needsMap, table: tableData(await readPartitionTable(c, p.device)) };
          },
        },
      ],
    };
  },
});
