// Runs one module on the hosts of a pattern through the engine (inventory, transports, become,
// reporter) and hands back each host's result, for commands built on a module (ferry xen-import).
import { executeTaskOn, type RunnerOptions } from './api.js';
import type { HostTaskOutcome } from './execute-task.js';

/** What one host gave back. */
export type HostModuleOutcome = HostTaskOutcome;

/** Runs a module once on each host matching the pattern (--limit applied); the parameters are checked before any host is contacted. */
export async function runModuleOnHosts(
  pattern: string,
  moduleName: string,
  args: Record<string, unknown>,
  o: RunnerOptions & { become?: boolean },
): Promise<{ outcomes: HostModuleOutcome[]; exitCode: number }> {
  const { outcomes, summary } = await executeTaskOn(pattern, { module: moduleName, args, become: o.become }, o);
  return { outcomes, exitCode: summary.exitCode };
}
