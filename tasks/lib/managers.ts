// Which package or service manager a host has, for the package and service modules (Ansible's
// action plugins do the same): `use:` when given, else the gathered ansible_pkg_mgr /
// ansible_service_mgr fact, else the same probe gathering runs (runner/facts), read now.
import { sh } from '../../runner/command.js';
import { FACT_SECTIONS } from '../../runner/facts/command.js';
import { pkgMgr, serviceMgr } from '../../runner/facts/ansible.js';
import type { TaskContext } from '../../runner/module.js';

/** A manager and where its name came from (for messages). */
export interface Manager {
  name: string;
  from: 'use' | 'fact' | 'probe';
}

/** The value of a gathered fact: ansible_NAME, or ansible_facts.NAME. */
function gathered(ctx: TaskContext, name: string): string | undefined {
  const v = ctx.vars[`ansible_${name}`] ?? (ctx.vars.ansible_facts as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Runs one section of the facts script (its output, whatever its exit). */
async function probe(ctx: TaskContext, section: 'init' | 'pkg'): Promise<string> {
  const script = FACT_SECTIONS.find((s) => s.name === section)!.script;
  return (await ctx.run(sh`sh -c ${script}`)).stdout;
}

/** The host's package manager (ansible_pkg_mgr's way). */
export async function packageManager(ctx: TaskContext, use: string): Promise<Manager> {
  if (use !== 'auto') return { name: use, from: 'use' };
  const fact = gathered(ctx, 'pkg_mgr');
  if (fact) return { name: fact, from: 'fact' };
  return { name: pkgMgr(await probe(ctx, 'pkg'), '', '', ''), from: 'probe' };
}

/** The host's service manager (ansible_service_mgr's way). */
export async function serviceManager(ctx: TaskContext, use: string): Promise<Manager> {
  if (use !== 'auto') return { name: use, from: 'use' };
  const fact = gathered(ctx, 'service_mgr');
  if (fact) return { name: fact, from: 'fact' };
  return { name: serviceMgr(await probe(ctx, 'init')), from: 'probe' };
}

/** How a message names where the manager came from. */
export function managerSource(m: Manager, fact: string): string {
  return m.from === 'use' ? 'use:' : m.from === 'fact' ? `the gathered ansible_${fact} fact` : `the host's probe (as ansible_${fact})`;
}
