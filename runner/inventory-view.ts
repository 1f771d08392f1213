// Adapts a loaded Inventory to what the engine needs, caching each host's merged variables
// (the engine reads them for every task, and `hostvars` needs all of them).
import type { InventoryView } from './engine.js';
import { groupsMap, matchHosts, type Inventory } from './inventory/index.js';

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
