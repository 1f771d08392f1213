// The inventory model: groups, hosts, and how their variables combine.
// Loaders (yaml-inventory.ts, ini-inventory.ts) fill it through the add*/set* methods, then
// `reconcile()` applies Ansible's rules (parentless groups go under `all`, hosts in no group
// go to `ungrouped`). Variable precedence follows Ansible's inventory layer exactly (see varsOf).
import { dirname } from 'node:path';
import type { Loc, Problem } from '../errors.js';
import { locOf, setLoc } from '../yaml-source.js';

/** A group as declared: direct hosts and child groups in file order, and its own inventory-file vars. */
export interface InventoryGroup {
  name: string;
  hosts: string[];
  children: string[];
  parents: string[];
  vars: Record<string, unknown>;
  /** `ansible_group_priority` from the inventory file: breaks ties between groups of equal depth. */
  priority: number;
  loc?: Loc;
}

/** A host as declared: its inline vars from inventory files and the groups that list it directly. */
export interface InventoryHost {
  name: string;
  vars: Record<string, unknown>;
  groups: string[];
  /** The inventory file that first declared it (for `inventory_file` / `inventory_dir`). */
  source?: string;
  loc?: Loc;
  /** Ansible's implicit localhost: usable in patterns, never listed in `all`. */
  implicit?: boolean;
}

/** Variables from one source's `group_vars/` and `host_vars/` directories. */
export interface VarsLayer {
  base: string;
  groupVars: Map<string, Record<string, unknown>>;
  hostVars: Map<string, Record<string, unknown>>;
}

const DEFAULT_PRIORITY = 1;

/** Python-style string order (code points), as Ansible sorts group names. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Host vars for templating, as Ansible's magic variables add them. */
export interface MagicVars {
  inventory_hostname: string;
  inventory_hostname_short: string;
  group_names: string[];
  inventory_file?: string;
  inventory_dir?: string;
}

/** A loaded inventory: groups, hosts, and the vars layers beside each source. */
export class Inventory {
  readonly groups = new Map<string, InventoryGroup>();
  readonly hosts = new Map<string, InventoryHost>();
  readonly varsLayers: VarsLayer[] = [];
  /** The paths the inventory was loaded from, as given. */
  readonly sources: string[] = [];
  private depths = new Map<string, number>();
  private ancestors = new Map<string, string[]>();
  private implicitLocalhost?: InventoryHost;

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  /** Declares a group (no-op if it exists) and returns it. */
  addGroup(name: string, loc?: Loc): InventoryGroup {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, hosts: [], children: [], parents: [], vars: {}, priority: DEFAULT_PRIORITY, loc };
      this.groups.set(name, g);
      this.treeChanged();
    }
    return g;
  }

  /** Declares a host (no-op if it exists), puts it in `group` and records a port given as `host:port`. */
  addHost(name: string, group?: string, port?: number, loc?: Loc, source?: string): InventoryHost {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, vars: {}, groups: [], loc, source };
      this.hosts.set(name, h);
    }
    // A host's own list of groups is short; it and the group's host list change together, so
    // checking it keeps adding a host linear (a group's list may hold 100,000 names).
    if (group && !h.groups.includes(group)) {
      this.addGroup(group).hosts.push(name);
      h.groups.push(group);
    }
    if (port !== undefined) this.setHostVar(name, 'ansible_port', port, loc);
    return h;
  }

  /** Makes `child` a child group of `parent`; a loop is reported as a problem and not added. */
  addChild(parent: string, child: string, problems?: Problem[], loc?: Loc): void {
    const p = this.addGroup(parent);
    const c = this.addGroup(child);
    if (p.children.includes(child)) return;
    if (parent === child || this.descendantsOf(child).includes(parent)) {
      problems?.push({
        loc,
        message: `adding group '${child}' as a child of '${parent}' makes a loop (${parent} is already below ${child})`,
        hint: `remove '${child}' from the children of '${parent}' or the other way round`,
      });
      return;
    }
    p.children.push(child);
    c.parents.push(parent);
    this.treeChanged();
  }

  private treeChanged(): void {
    this.depths.clear();
    this.ancestors.clear();
  }

  /** Sets one inventory-file variable on a group (`loc`: where it is written); `ansible_group_priority` sets the priority instead, as in Ansible. */
  setGroupVar(group: string, key: string, value: unknown, loc?: Loc): void {
    const g = this.addGroup(group);
    if (key === 'ansible_group_priority') {
      const n = Number(value);
      if (Number.isInteger(n)) g.priority = n;
      return;
    }
    g.vars[key] = value;
    setLoc(g.vars, loc, key);
  }

  /** Sets one inventory-file variable on a host (`loc`: where it is written). */
  setHostVar(host: string, key: string, value: unknown, loc?: Loc): void {
    const h = this.hosts.get(host) ?? this.addHost(host);
    h.vars[key] = value;
    setLoc(h.vars, loc, key);
  }

  /** Applies Ansible's post-load rules: parentless groups under `all`, hosts of no group in `ungrouped`. */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    }
    const ungrouped = this.groups.get('ungrouped') as InventoryGroup;
    const grouped = new Set<string>();
    for (const h of this.hosts.values()) {
      const real = this.groupsOfHost(h.name).some((g) => g !== 'all' && g !== 'ungrouped');
      if (real) {
        if (h.groups.includes('ungrouped')) grouped.add(h.name);
        h.groups = h.groups.filter((n) => n !== 'ungrouped');
      } else if (!h.groups.includes('ungrouped')) {
        ungrouped.hosts.push(h.name);
        h.groups.push('ungrouped');
      }
    }
    if (grouped.size) ungrouped.hosts = ungrouped.hosts.filter((n) => !grouped.has(n));
  }

  /** Every host name, in the order hosts were first declared. */
  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** Every group name (including `all` and `ungrouped`), in declaration order. */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** A host by name; `localhost` exists implicitly (local connection) when the inventory does not declare it. */
  host(name: string): InventoryHost | undefined {
    const h = this.hosts.get(name);
    if (h) return h;
    if (name === 'localhost') {
      this.implicitLocalhost ??= { name, vars: { ansible_connection: 'local' }, groups: [], implicit: true };
      return this.implicitLocalhost;
    }
    return undefined;
  }

  /** All groups below `group` (children, grandchildren, ...), nearest first. */
  descendantsOf(group: string): string[] {
    const out: string[] = [];
    const queue = [...(this.groups.get(group)?.children ?? [])];
    while (queue.length) {
      const g = queue.shift() as string;
      if (out.includes(g)) continue;
      out.push(g);
      queue.push(...(this.groups.get(g)?.children ?? []));
    }
    return out;
  }

  /** All groups above `group` (parents, grandparents, ..., `all`). */
  ancestorsOf(group: string): string[] {
    // Asked for every host's every group: kept until the group tree changes.
    const cached = this.ancestors.get(group);
    if (cached) return [...cached];
    const out: string[] = [];
    const queue = [...(this.groups.get(group)?.parents ?? [])];
    while (queue.length) {
      const g = queue.shift() as string;
      if (out.includes(g)) continue;
      out.push(g);
      queue.push(...(this.groups.get(g)?.parents ?? []));
    }
    this.ancestors.set(group, out);
    return [...out];
  }

  /** Hosts of a group including those of its descendant groups: own hosts first, then children breadth-first. */
  hostsOfGroup(group: string): string[] {
    if (!this.groups.has(group)) return [];
    const seen = new Set<string>();
    for (const g of [group, ...this.descendantsOf(group)]) {
      for (const h of this.groups.get(g)?.hosts ?? []) seen.add(h);
    }
    return [...seen];
  }

  /** Every group a host belongs to, directly or through parents (including `all`). */
  groupsOfHost(host: string): string[] {
    const h = this.host(host);
    if (!h) return [];
    const out = new Set<string>();
    for (const g of h.groups) {
      out.add(g);
      for (const a of this.ancestorsOf(g)) out.add(a);
    }
    return [...out];
  }

  /** A group's depth: 0 for `all`, otherwise one more than its deepest parent. */
  depthOf(group: string): number {
    const cached = this.depths.get(group);
    if (cached !== undefined) return cached;
    const g = this.groups.get(group);
    // Parents are loop-free (addChild refuses loops), so this recursion ends.
    const d = !g || g.parents.length === 0 ? 0 : Math.max(...g.parents.map((p) => this.depthOf(p) + 1));
    this.depths.set(group, d);
    return d;
  }

  /** Groups sorted as Ansible combines their vars: by depth, then priority, then name (later wins). */
  sortGroups(groups: string[]): string[] {
    const key = (n: string): [number, number] => [this.depthOf(n), this.groups.get(n)?.priority ?? DEFAULT_PRIORITY];
    return [...groups].sort((a, b) => {
      const [da, pa] = key(a);
      const [db, pb] = key(b);
      return da - db || pa - pb || byName(a, b);
    });
  }

  /**
   * The inventory-layer variables of a host, lowest precedence first: `all` inventory vars < other
   * groups' inventory vars < group_vars/all < group_vars/GROUP < host inventory vars < host_vars/HOST.
   * Values are replaced, never deep-merged. Magic variables are not included (see hostVars).
   */
  varsOf(host: string): Record<string, unknown> {
    return structuredClone(Object.assign({}, ...this.layersOf(host)) as Record<string, unknown>);
  }

  /** Where the value varsOf gives for `key` is written (file:line), when it comes from a file. */
  varLocOf(host: string, key: string): Loc | undefined {
    const layer = this.layersOf(host).findLast((l) => Object.prototype.hasOwnProperty.call(l, key));
    return layer ? locOf(layer, key) : undefined;
  }

  /** The variable layers of a host, lowest precedence first (see varsOf). */
  private layersOf(host: string): Record<string, unknown>[] {
    const h = this.host(host);
    if (!h) throw new Error(`unknown host '${host}'`);
    const groups = this.sortGroups(this.groupsOfHost(host).filter((g) => g !== 'all'));
    const layers: (Record<string, unknown> | undefined)[] = [this.groups.get('all')?.vars];
    for (const g of groups) layers.push(this.groups.get(g)?.vars);
    for (const layer of this.varsLayers) layers.push(layer.groupVars.get('all'));
    for (const layer of this.varsLayers) for (const g of groups) layers.push(layer.groupVars.get(g));
    layers.push(h.vars);
    // The implicit localhost is not in the inventory, so no host_vars/ file names it.
    if (!h.implicit) for (const layer of this.varsLayers) layers.push(layer.hostVars.get(host));
    return layers.filter((l): l is Record<string, unknown> => l !== undefined);
  }

  /** The magic variables Ansible adds for a host (inventory_hostname, group_names, ...). */
  magicVarsOf(host: string): MagicVars {
    const h = this.host(host);
    const groupNames = this.groupsOfHost(host)
      .filter((g) => g !== 'all' && g !== 'ungrouped')
      .sort(byName);
    const magic: MagicVars = {
      inventory_hostname: host,
      inventory_hostname_short: host.split('.')[0],
      group_names: groupNames,
    };
    if (h?.source) {
      magic.inventory_file = h.source;
      magic.inventory_dir = dirname(h.source);
    }
    return magic;
  }

  /** A host's variables for templating: inventory vars plus magic variables. */
  hostVars(host: string): Record<string, unknown> {
    return { ...this.varsOf(host), ...this.magicVarsOf(host) };
  }
}

/** The `groups` template variable: each group name to its hosts (with descendants), as Ansible provides it. */
export function groupsMap(inv: Inventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const g of inv.groupNames()) out[g] = inv.hostsOfGroup(g);
  return out;
}

/** The `hostvars` template variable: every host's variables (inventory layer plus magic variables). */
export function hostvarsMap(inv: Inventory): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const h of inv.hostNames()) out[h] = inv.hostVars(h);
  return out;
}
