// The `lvm_vg` module: physical volumes and the volume group on them (hosts and the lab).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Step } from '../runner/module.js';
import { absolutePathField, vgNameField } from './lib/schema.js';
import { canonicalPath } from './storage/facts.js';
import { parsePvsJson, parseVgsJson } from './storage/lvs.js';

const params = z
  .object({
    vg: vgNameField('The volume group name.'),
    pvs: z.array(absolutePathField('A device (absolute path)')).default([]).describe('Devices that must be PVs of this VG (present); missing ones are pvcreated and added.'),
    state: z.enum(['present', 'absent']).default('present').describe('present: create/extend the VG; absent: vgremove (needs force when it holds LVs).'),
    force: z.boolean().default(false).describe('absent: remove the VG even though it holds LVs (they are destroyed).'),
  })
  .strict();

/** The lvm_vg module. */
export const lvmVgModule = defineModule({
  name: 'lvm_vg',
  params,
  doc: {
    summary: 'Create (pvcreate + vgcreate/vgextend) or remove a volume group.',
    description: 'Facts from `pvs`/`vgs --reportformat json`. A device that is a PV of another VG is an error. PVs are never removed from a VG by this module.',
    checkMode: 'full',
    example: ['- lvm_vg:', '    vg: vg1', '    pvs: [/dev/vdb]'].join('\n'),
  },
  async plan(ctx, p) {
    const pvsOut = await ctx.runOk(sh`pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_size`);
    const pvs = parsePvsJson(pvsOut.stdout);
    const v = await ctx.run(sh`vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,lv_count,pv_count -- ${p.vg}`);
    const vg = v.exitCode === 0 ? (parseVgsJson(v.stdout)[0] ?? null) : null;
    if (p.state === 'absent') {
      if (!vg) return { changed: false, reason: `volume group ${p.vg} does not exist` };
      if (vg.lvCount > 0 && !p.force) throw new TaskFailedError(`refusing to remove ${p.vg}, which holds ${vg.lvCount} LV(s), without force: true`);
      return { changed: true, steps: [{ title: `vgremove ${p.vg}`, destructive: vg.lvCount > 0, run: async (c) => void (await c.runOk(sh`vgremove -f -- ${p.vg}`)) }] };
    }
    const steps: Step[] = [];
    const toAdd: string[] = [];
    for (const dev of p.pvs) {
      const real = await canonicalPath(ctx, dev);
      const pv = pvs.find((x) => x.name === dev || x.name === real);
      if (pv && pv.vg && pv.vg !== p.vg) throw new TaskFailedError(`${dev} is already a PV of volume group ${pv.vg}`);
      if (pv && pv.vg === p.vg) continue;
      if (!pv) steps.push({ title: `pvcreate ${dev}`, run: async (c) => void (await c.runOk(sh`pvcreate -y -- ${dev}`)) });
      toAdd.push(dev);
    }
    if (!vg) {
      if (!p.pvs.length) throw new TaskFailedError(`volume group ${p.vg} does not exist and no pvs were given to create it on`);
      steps.push({ title: `vgcreate ${p.vg} ${toAdd.join(' ')}`, run: async (c) => void (await c.runOk(sh`vgcreate -- ${p.vg} ${toAdd}`)) });
    } else if (toAdd.length) {
      steps.push({ title: `vgextend ${p.vg} ${toAdd.join(' ')}`, run: async (c) => void (await c.runOk(sh`vgextend -- ${p.vg} ${toAdd}`)) });
    }
    if (!steps.length) return { changed: false, reason: `volume group ${p.vg} exists on ${p.pvs.length ? p.pvs.join(', ') : 'its PVs'}` };
    return { changed: true, steps };
  },
});
