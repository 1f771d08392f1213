// Adapts a loaded Inventory to what the engine needs, caching each host's merged variables
// (the engine reads them for every task, and `hostvars` needs all of them).
import { groupsMap, matchHosts, type Inventory } from './inventory/index.js';

/** What the engine needs from an inventory. */
export interface InventoryView {
  /** Hosts matching a pattern, in inventory order; throws ValidationError when none match. */
  resolve(pattern: string): string[];
  /** The host's merged inventory variables (including inventory_hostname, group_names). */
  hostVars(host: string): Record<string, unknown>;
  /** Group name → member hosts (for the `groups` variable). */
  groups(): Record<string, string[]>;
  /** All host names. */
  hostNames(): string[];
  /** Whether a host of this name can be used (declared, or Ansible's implicit localhost). */
  has(host: string): boolean;
}

/** The engine's view of an inventory. */
export function inventoryView(inv: Inventory): InventoryView {
  const cache = new Map<string, Record<string, unknown>>();
  let groups: Record<string, string[]> | undefined;
  return {
    resolve: (pattern) => matchHosts(inv, pattern),
    hostVars(host) {
      let v = cache.get(host);
      if (!v) {
        v = inv.hostVars(host);
        cache.set(host, v);
      }
      return v;
    },
    groups: () => (groups ??= groupsMap(inv)),
    hostNames: () => inv.hostNames(),
    has: (host) => inv.host(host) !== undefined,
  };
}
