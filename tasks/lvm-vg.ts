// The `lvm_vg` module: physical volumes and the volume group on them (hosts and the lab).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { absolutePathField, vgNameField } from './lib/schema.js';
import { canonicalPath } from './storage/facts.js';
import { parsePvs, parseVgs, pvsCommand, vgsCommand } from '../runner/facts/lvm.js';
import type { PhysicalVolume, VolumeGroup } from '../runner/facts/types.js';

const params = z.strictObject({
  vg: vgNameField('The volume group name'),
  pvs: z.array(absolutePathField('A device (absolute path)')).default([]).describe('Devices that must be PVs of this VG (present); missing ones are pvcreated and added'),
  state: z.enum(['present', 'absent']).default('present').describe('present: create/extend the VG; absent: vgremove (needs force when it holds LVs)'),
  force: z.boolean().default(false).describe('absent: remove the VG even though it holds LVs (they are destroyed)'),
});

type Params = z.output<typeof params>;

/** What pvs and vgs report, and what each device given resolves to (readlink -f). */
export interface VgFacts {
  pvs: PhysicalVolume[];
  vg: VolumeGroup | null;
  realPaths: Record<string, string>;
}

/** The PVs, the VG and the devices' real paths from what pvs, vgs and readlink printed. */
export function vgFactsFrom(p: Params, pvs: string, vgs: ToolOutput, realPaths: Record<string, string>): VgFacts {
  return { pvs: parsePvs(pvs), vg: vgs.exitCode === 0 ? (parseVgs(vgs.stdout).find((v) => v.name === p.vg) ?? null) : null, realPaths };
}

/** Reads pvs, vgs and the devices' real paths (I/O only). */
async function readVg(ctx: TaskContext, p: Params): Promise<VgFacts> {
  const pvs = await ctx.runOk(pvsCommand());
  const vgs = await ctx.run(vgsCommand(p.vg));
  const realPaths: Record<string, string> = {};
  if (p.state === 'present') for (const dev of p.pvs) realPaths[dev] = await canonicalPath(ctx, dev);
  return vgFactsFrom(p, pvs.stdout, vgs, realPaths);
}

/** Decides the pvcreate / vgcreate / vgextend / vgremove steps (pure). */
export function decideVg(p: Params, { pvs, vg, realPaths }: VgFacts): Verdict {
  if (p.state === 'absent') {
    if (!vg) return { changed: false, reason: `volume group ${p.vg} does not exist` };
    const refusal = `refusing to remove ${p.vg}, which holds ${vg.lvCount} LV(s), without force: true`;
    return { changed: true, steps: [{ title: `vgremove ${p.vg}`, cmd: sh`vgremove -f -- ${p.vg}`, ...(vg.lvCount > 0 ? { destructive: true, refusal } : {}) }] };
  }
  const steps: Step[] = [];
  const toAdd: string[] = [];
  for (const dev of p.pvs) {
    const real = realPaths[dev] ?? dev;
    const pv = pvs.find((x) => x.name === dev || x.name === real);
    if (pv && pv.vg && pv.vg !== p.vg) return { refused: `${dev} is already a PV of volume group ${pv.vg}` };
    if (pv && pv.vg === p.vg) continue;
    if (!pv) steps.push({ title: `pvcreate ${dev}`, cmd: sh`pvcreate -y -- ${dev}` });
    toAdd.push(dev);
  }
  if (!vg) {
    if (!p.pvs.length) return { refused: `volume group ${p.vg} does not exist and no pvs were given to create it on` };
    steps.push({ title: `vgcreate ${p.vg} ${toAdd.join(' ')}`, cmd: sh`vgcreate -- ${p.vg} ${toAdd}` });
  } else if (toAdd.length) {
    steps.push({ title: `vgextend ${p.vg} ${toAdd.join(' ')}`, cmd: sh`vgextend -- ${p.vg} ${toAdd}` });
  }
  if (!steps.length) return { changed: false, reason: `volume group ${p.vg} exists on ${p.pvs.length ? p.pvs.join(', ') : 'its PVs'}` };
  return { changed: true, steps };
}

/** The lvm_vg module. */
export const lvmVgModule = defineModule({
  name: 'lvm_vg',
  params,
  doc: {
    summary: 'Create (pvcreate + vgcreate/vgextend) or remove a volume group',
    description: 'Facts from `pvs`/`vgs --reportformat json`. A device that is a PV of another VG is an error. PVs are never removed from a VG by this module.',
    checkMode: 'full',
    example: ['- lvm_vg:', '    vg: vg1', '    pvs: [/dev/vdb]'].join('\n'),
  },
  read: readVg,
  decide: decideVg,
});
