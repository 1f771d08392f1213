// The `lvm` module: logical volumes (create, remove, rename, resize, snapshot), like Ansible's lvol.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { lvNameField, vgNameField } from './lib/schema.js';
import { planLvm } from './storage/lvm-plan.js';
import { parseLvsJson, parseVgsJson, type LvInfo, type VgInfo } from './storage/lvs.js';

const params = z
  .object({
    vg: vgNameField('The volume group.'),
    lv: lvNameField('The logical volume (the new name for state renamed).'),
    state: z
      .enum(['present', 'absent', 'renamed', 'resized', 'snapshot'])
      .default('present')
      .describe('present: create if missing; absent: lvremove (needs force); renamed: from → lv; resized: grow, or shrink with force; snapshot: of origin.'),
    size: z
      .union([z.string(), z.number().int().positive()])
      .optional()
      .describe('Size: bytes, units (512M, 10G, rounded up to whole extents), N%FREE or N%VG; for a snapshot also N%ORIGIN.'),
    size_of: lvNameField('Make the LV as big as this other LV of the same VG.').optional(),
    from: lvNameField('renamed: the current name.').optional(),
    origin: lvNameField('snapshot: the LV to snapshot.').optional(),
    force: z.boolean().default(false).describe('Allow lvremove and shrinking.'),
  })
  .strict()
  .refine((p) => !(p.size !== undefined && p.size_of !== undefined), { message: 'give size or size_of, not both' });

/** Reads the VG and its LVs. */
export async function readLvmFacts(ctx: TaskContext, vg: string): Promise<{ vg: VgInfo | null; lvs: LvInfo[] }> {
  const v = await ctx.run(sh`vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,lv_count,pv_count -- ${vg}`);
  if (v.exitCode !== 0) {
    if (/not found|Cannot process volume group/i.test(v.stderr)) return { vg: null, lvs: [] };
    throw new TaskFailedError(`vgs ${vg}: ${v.stderr.trim()}`);
  }
  const l = await ctx.runOk(sh`lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_size,lv_path,lv_attr,origin -- ${vg}`);
  return { vg: parseVgsJson(v.stdout)[0] ?? null, lvs: parseLvsJson(l.stdout) };
}

/** The lvm module. */
export const lvmModule = defineModule({
  name: 'lvm',
  params,
  doc: {
    summary: 'Create, remove, rename, resize or snapshot an LVM logical volume.',
    description:
      'Facts: `vgs`/`lvs --reportformat json --units b --nosuffix`. present creates a missing LV (an existing one is ' +
      'left at its size: use resized); a size that does not fit the VG\'s free space fails in plan. renamed is a no-op ' +
      'once lv exists and from does not. lvremove and shrinking (lvreduce, which does not shrink the filesystem inside) ' +
      'refuse without force. New LVs are created with signature wiping (-W y).',
    checkMode: 'full',
    result: { lv_path: 'The LV device path (/dev/VG/LV).', size_bytes: 'Its size afterwards.' },
    example: ['- lvm:', '    vg: vg1', '    lv: xr1-disk', '    size_of: xr1-root', '    state: present'].join('\n'),
  },
  async plan(ctx, p) {
    const facts = await readLvmFacts(ctx, p.vg);
    const verdict = planLvm(p, facts.vg, facts.lvs);
    if ('refuse' in verdict) throw new TaskFailedError(verdict.refuse);
    const lv = facts.lvs.find((l) => l.name === p.lv);
    if (!verdict.changed) return { changed: false, reason: verdict.reason, data: lv ? { lv_path: lv.path, size_bytes: lv.sizeBytes } : {} };
    return {
      changed: true,
      steps: verdict.commands.map((c) => ({
        title: c.title,
        destructive: c.destructive ?? false,
        async run(tc: TaskContext) {
          await tc.runOk(c.cmd);
          const now = (await readLvmFacts(tc, p.vg)).lvs.find((l) => l.name === p.lv);
          return now ? { lv_path: now.path, size_bytes: now.sizeBytes } : {};
        },
      })),
    };
  },
});
