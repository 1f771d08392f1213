// setup: gathers facts as a task (Ansible's ansible.builtin.setup) — for a play with
// gather_facts: false, or to read them again after a task changed the host.
import { z } from 'zod';
import { SET_VARS_KEY } from '../runner/task-outcome.js';
import { ANSIBLE_FACT_NAMES, factsVars, readFacts, type Facts } from '../runner/facts/index.js';
import { globToRegExp } from '../runner/inventory/patterns.js';
import { defineModule } from '../runner/module.js';

const patterns = z.union([z.string(), z.array(z.string())]);

/** The variables setup sets: every fact variable, or those whose name matches one of the filter's globs (`ansible_distribution*`). */
export function setupVars(facts: Facts, filter: string[]): Record<string, unknown> {
  const all = factsVars(facts);
  if (!filter.length || filter.includes('*')) return all;
  const res = filter.map(globToRegExp);
  const picked: Record<string, unknown> = {};
  const facts_: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k === 'ansible_facts' || !res.some((r) => r.test(k))) continue;
    picked[k] = v;
    if (k.startsWith('ansible_')) facts_[k.slice('ansible_'.length)] = v;
  }
  return { ...picked, ansible_facts: facts_ };
}

export const setupModule = defineModule({
  name: 'setup',
  params: z.strictObject({
    filter: patterns
      .optional()
      .describe("only the facts whose variable name matches one of these shell globs ('ansible_distribution*', 'ansible_*_mb'); default all"),
    gather_subset: patterns
      .optional()
      .describe('accepted for Ansible playbooks; ferry always gathers its one set (one round trip), so every subset gives all of it'),
    gather_timeout: z.number().int().positive().optional().describe('accepted for Ansible playbooks; the task timeout applies instead'),
  }),
  doc: {
    summary: 'Gather facts on the host (Ansible\'s setup): ansible_* variables, ansible_facts and ferry_facts',
    description:
      'The same single read-only command as a play\'s gather_facts (Gathering Facts), run as a task: use it in a play with ' +
      'gather_facts: false, or to read the facts again after a task changed the host. The facts are set for the later tasks ' +
      '(as set does) and the registered result holds them under ansible_facts, names prefixed as Ansible\'s setup returns them. ' +
      `The names: ${ANSIBLE_FACT_NAMES.map((n) => `ansible_${n}`).join(', ')}; each is also ansible_facts.NAME without the prefix.`,
    checkMode: 'full',
    checkModeNote: 'facts are read in check mode too (reading changes nothing), so later conditions see them',
    result: { ansible_facts: 'the gathered facts, by their ansible_* names (only those the filter matches)' },
    example: [
      '- setup:',
      "    filter: ['ansible_distribution*', 'ansible_default_ipv4']",
      '',
      '# ad hoc: ferry -i inventory.yml all -m setup -a filter=ansible_mounts',
    ].join('\n'),
  },
  async read(ctx) {
    return readFacts((c) => ctx.run(c), ctx.factTools);
  },
  decide(p, facts) {
    const filter = p.filter === undefined ? [] : typeof p.filter === 'string' ? [p.filter] : p.filter;
    const vars = setupVars(facts, filter);
    const prefixed = Object.fromEntries(Object.entries(vars).filter(([k]) => k.startsWith('ansible_') && k !== 'ansible_facts'));
    const n = Object.keys(prefixed).length;
    const warn = facts.warnings.length ? ` (could not read: ${facts.warnings.join('; ')})` : '';
    return { changed: false, reason: `gathered ${n} fact${n === 1 ? '' : 's'}${warn}`, data: { ansible_facts: prefixed, [SET_VARS_KEY]: vars } };
  },
});
