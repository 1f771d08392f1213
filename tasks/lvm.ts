// The `lvm` module: logical volumes (create, remove, rename, resize, snapshot), like Ansible's lvol.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type ToolOutput } from '../runner/module.js';
import { lvNameField, vgNameField } from './lib/schema.js';
import { decideLvm, type LvmFacts } from './storage/lvm-plan.js';
import { lvsCommand, parseLvs, parseVgs, vgsCommand } from '../runner/facts/lvm.js';

const params = z
  .strictObject({
    vg: vgNameField('The volume group'),
    lv: lvNameField('The logical volume (the new name for state renamed)'),
    state: z
      .enum(['present', 'absent', 'renamed', 'resized', 'snapshot'])
      .default('present')
      .describe('present: create if missing; absent: lvremove (needs force); renamed: from → lv; resized: grow, or shrink with force; snapshot: of origin'),
    size: z
      .union([z.string(), z.number().int().positive()])
      .optional()
      .describe('Size: bytes, units (512M, 10G, rounded up to whole extents), N%FREE or N%VG; for a snapshot also N%ORIGIN'),
    size_of: lvNameField('Make the LV as big as this other LV of the same VG').optional(),
    from: lvNameField('renamed: the current name').optional(),
    origin: lvNameField('snapshot: the LV to snapshot').optional(),
    force: z.boolean().default(false).describe('Allow lvremove and shrinking'),
  })
  .refine((p) => !(p.size !== undefined && p.size_of !== undefined), { message: 'give size or size_of, not both' });

/** The VG and its LVs from what `vgs -- VG` and `lvs -- VG` printed (lvs is not run when the VG is missing). */
export function lvmFactsFrom(vg: string, vgs: ToolOutput, lvs: string | undefined): LvmFacts {
  if (vgs.exitCode !== 0) {
    if (/not found|Cannot process volume group/i.test(vgs.stderr)) return { vg: null, lvs: [] };
    throw new TaskFailedError(`vgs ${vg}: ${vgs.stderr.trim()}`);
  }
  return { vg: parseVgs(vgs.stdout).find((v) => v.name === vg) ?? null, lvs: lvs === undefined ? [] : parseLvs(lvs) };
}

/** Reads the VG and its LVs. */
export async function readLvmFacts(ctx: TaskContext, vg: string): Promise<LvmFacts> {
  const v = await ctx.run(vgsCommand(vg));
  if (v.exitCode !== 0) return lvmFactsFrom(vg, v, undefined);
  const l = await ctx.runOk(lvsCommand(vg));
  return lvmFactsFrom(vg, v, l.stdout);
}

/** The lvm module. */
export const lvmModule = defineModule({
  name: 'lvm',
  params,
  doc: {
    summary: 'Create, remove, rename, resize or snapshot an LVM logical volume',
    description:
      'Facts: `vgs`/`lvs --reportformat json --units b --nosuffix`. present creates a missing LV (an existing one is ' +
      'left at its size: use resized); a size that does not fit the VG\'s free space fails in plan. renamed is a no-op ' +
      'once lv exists and from does not. lvremove and shrinking (lvreduce, which does not shrink the filesystem inside) ' +
      'refuse without force. New LVs are created with signature wiping (-W y).',
    checkMode: 'full',
    result: { lv_path: 'The LV device path (/dev/VG/LV)', size_bytes: 'Its size afterwards' },
    example: ['- lvm:', '    vg: vg1', '    lv: xr1-disk', '    size_of: xr1-root', '    state: present'].join('\n'),
  },
  read: (ctx, p) => readLvmFacts(ctx, p.vg),
  decide: decideLvm,
  async result(ctx, p) {
    const now = (await readLvmFacts(ctx, p.vg)).lvs.find((l) => l.name === p.lv);
    return now ? { lv_path: now.path, size_bytes: now.sizeBytes } : {};
  },
});
