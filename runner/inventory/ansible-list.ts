// The JSON that `ansible-inventory --list` prints, so ferry's view of an inventory can be diffed
// against Ansible's: each group's direct hosts and children (empty groups left out), `all` with
// children only, and `_meta.hostvars` with each host's non-empty inventory-layer variables.
import type { Inventory } from './inventory.js';

/** One group's entry in the `--list` output. */
export interface AnsibleListGroup {
  hosts?: string[];
  children?: string[];
}

/** The whole `--list` document. */
export type AnsibleList = { _meta: { hostvars: Record<string, Record<string, unknown>> } } & Record<string, unknown>;

/** Renders an inventory in the shape of `ansible-inventory --list`. */
export function inventoryToAnsibleList(inv: Inventory): AnsibleList {
  const groups: Record<string, AnsibleListGroup> = {};
  const seen = new Set<string>();
  const format = (name: string): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: AnsibleListGroup = {};
    if (name !== 'all' && g.hosts.length) entry.hosts = [...g.hosts];
    if (g.children.length) entry.children = [...g.children];
    if (entry.hosts || entry.children) groups[name] = entry;
    for (const child of g.children) {
      if (seen.has(child)) continue;
      seen.add(child);
      format(child);
    }
  };
  format('all');
  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const h of inv.hostNames()) {
    const vars = inv.varsOf(h);
    if (Object.keys(vars).length) hostvars[h] = vars;
  }
  return { _meta: { hostvars }, ...groups } as AnsibleList;
}
