// Runs one module on the hosts of a pattern through the engine (inventory, transports, become,
// reporter) and hands back each host's result, for commands built on a module (ferry xen-import).
import { resolve } from 'node:path';
import { runPlaybook, singleModulePlay, type RunnerOptions } from './api.js';
import type { Reporter, TaskStatus } from './events.js';
import { loadInventory } from './inventory/index.js';
import { inventoryView } from './inventory-view.js';

/** What one host gave back. */
export interface HostModuleOutcome {
  host: string;
  status: TaskStatus;
  /** The registered result: the plan's data plus changed/failed/msg (empty when the host was unreachable). */
  result: Record<string, unknown>;
  msg?: string;
}

// A name no playbook uses, so the registered value cannot collide with a host's own variables.
const REGISTER = 'ferry_api_module_result';

/** Runs a module once on each host matching the pattern; the parameters are checked before any host is contacted. */
export async function runModuleOnHosts(
  pattern: string,
  moduleName: string,
  args: Record<string, unknown>,
  o: RunnerOptions & { become?: boolean },
): Promise<{ outcomes: HostModuleOutcome[]; exitCode: number }> {
  const pb = singleModulePlay(o.modules, pattern, moduleName, args, { become: o.become, register: REGISTER });
  // Resolving first turns a pattern that matches nothing into bad input (exit 4), not an empty run.
  const hosts = inventoryView(loadInventory(o.inventory, o.vault)).resolve(pattern);

  const seen = new Map<string, { status: TaskStatus; msg?: string }>();
  const reporter: Reporter = {
    emit(ev) {
      if (ev.type === 'task_result') seen.set(ev.host, { status: ev.status, msg: ev.msg });
      o.reporter?.emit(ev);
    },
    close: async () => o.reporter?.close(),
  };
  const summary = await runPlaybook(pb, { ...o, reporter, stateDir: o.stateDir ?? resolve('.ferry/adhoc') });
  const outcomes = hosts.map((host): HostModuleOutcome => {
    const s = seen.get(host) ?? { status: 'unreachable' as const, msg: 'no result (the run stopped before this host)' };
    const result = summary.hostValues[host]?.[REGISTER];
    return { host, status: s.status, msg: s.msg, result: result && typeof result === 'object' ? (result as Record<string, unknown>) : {} };
  });
  return { outcomes, exitCode: summary.exitCode };
}
