// Gathered facts as variables for conditions and templates: `ferry_facts` (the typed shape),
// `ansible_facts` (Ansible's names without the prefix) and each of them as `ansible_NAME`.
import { ANSIBLE_FACT_NAMES } from './ansible.js';
import type { Facts } from './types.js';

/** The variables gathering facts sets on a host (for load-time checks: what a play that gathers may use). */
export const FACT_VARIABLES: readonly string[] = ['ferry_facts', 'ansible_facts', ...ANSIBLE_FACT_NAMES.map((n) => `ansible_${n}`)];

/** The variables a host gets from its facts: `ferry_facts`, `ansible_facts` and the ansible_* names. */
export function factsVars(f: Facts): Record<string, unknown> {
  const out: Record<string, unknown> = { ferry_facts: f, ansible_facts: f.ansible };
  for (const [k, v] of Object.entries(f.ansible)) out[`ansible_${k}`] = v;
  return out;
}
