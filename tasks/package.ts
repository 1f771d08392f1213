// The `package` module (Ansible's ansible.builtin.package): the host's package manager module with
// the same parameters, chosen by use: or the ansible_pkg_mgr fact. ferry has apt; any other
// manager is refused, naming it and what is supported.
import { z } from 'zod';
import { defineModule, type Verdict } from '../runner/module.js';
import { aptFields, aptModule, checkAptParams, decideApt, readApt, type AptFacts, type AptParams } from './apt.js';
import { managerSource, packageManager, type Manager } from './lib/managers.js';

const params = z
  .strictObject({
    ...aptFields,
    state: z.enum(['present', 'absent', 'latest']).describe('present, absent or latest (as apt); required, as in Ansible'),
    use: z.string().min(1).default('auto').describe("The package manager module: auto takes the gathered ansible_pkg_mgr fact (or probes the host as gathering does); ferry has apt"),
  })
  .superRefine((p, ctx) => {
    if (p.name === undefined && p.pkg === undefined && p.package === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'missing required arguments: name' });
    checkAptParams(p, ctx);
  });

type Params = z.output<typeof params>;

/** The manager, and apt's facts when it is apt. */
export interface PackageFacts {
  manager: Manager;
  apt?: AptFacts;
}

const SUPPORTED = ['apt'];

/** The parameters apt gets: all but use. */
function aptParamsOf(p: Params): AptParams {
  const { use: _use, ...rest } = p;
  return rest;
}

/** apt's verdict, or a refusal naming the manager the host has (pure). */
export function decidePackage(p: Params, f: PackageFacts): Verdict {
  if (!SUPPORTED.includes(f.manager.name) || !f.apt) {
    return { refused: `ferry's package module supports ${SUPPORTED.join(', ')}; this host's package manager is '${f.manager.name}' (from ${managerSource(f.manager, 'pkg_mgr')})` };
  }
  return decideApt(aptParamsOf(p), f.apt);
}

/** The package module. */
export const packageModule = defineModule({
  name: 'package',
  params,
  doc: {
    summary: "Install or remove packages with the host's package manager (ferry has apt)",
    description:
      "As Ansible's package module: the manager is use:, else the gathered ansible_pkg_mgr fact, else the probe gathering " +
      "runs; its module gets the other parameters. Only apt is implemented (see `ferry doc apt` for the parameters, facts and " +
      'check mode); any other manager (dnf, yum, zypper, ...) is refused before anything changes, naming the manager found.',
    checkMode: 'partial',
    checkModeNote: "as apt's",
    result: { '(apt)': "apt's result values" },
    example: ['- package:', '    name: [rsync, curl]', '    state: present'].join('\n'),
  },
  async read(ctx, p): Promise<PackageFacts> {
    const manager = await packageManager(ctx, p.use);
    return { manager, ...(SUPPORTED.includes(manager.name) ? { apt: await readApt(ctx, aptParamsOf(p)) } : {}) };
  },
  decide: decidePackage,
  apply: (ctx, p, plan) => aptModule.apply!(ctx, aptParamsOf(p), plan),
});
