// ferry's library API: runner/api.ts's functions with ferry's own parts bound — the built-in
// modules and the migration's fact tools, wherever the caller gives none of their own.
import { MIGRATION_FACT_TOOLS } from '../tasks/fact-tools.js';
import { builtinModules } from '../tasks/index.js';
import * as runner from '../runner/api.js';
import { runModuleOnHosts as runModuleWith, type HostModuleOutcome } from '../runner/api-module.js';
import type { RunSummary } from '../runner/engine.js';
import type { HostTaskOutcome, TaskCall } from '../runner/execute-task.js';
import type { Playbook } from '../runner/playbook/model.js';

export { parseAdhocArgs, singleModulePlay, type RunParts } from '../runner/api.js';
export type { HostModuleOutcome, HostTaskOutcome, TaskCall };

/** Options shared by run, exec and facts; `modules` defaults to the built-in ones, `factTools` to the migration's tools. */
export type CommonRunOptions = runner.CommonRunOptions & Partial<runner.RunParts>;

/** The options with ferry's own modules and fact tools where the caller gave none. */
export function withBuiltins<O extends CommonRunOptions>(o: O): O & runner.RunParts {
  return { ...o, modules: o.modules ?? builtinModules(), factTools: o.factTools ?? MIGRATION_FACT_TOOLS };
}

/** Loads and runs a playbook file: all input is validated before any host is contacted. */
export function runPlaybookFile(path: string, o: CommonRunOptions): Promise<RunSummary> {
  return runner.runPlaybookFile(path, withBuiltins(o));
}

/** What --list-hosts, --list-tasks, --list-tags or --syntax-check print (no host is contacted). */
export function describePlaybookFile(path: string, o: CommonRunOptions, what: { hosts?: boolean; tasks?: boolean; tags?: boolean }): Promise<string> {
  return runner.describePlaybookFile(path, withBuiltins(o), what);
}

/** Runs a loaded playbook (library use). */
export function runPlaybook(pb: Playbook, o: CommonRunOptions): Promise<RunSummary> {
  return runner.runPlaybook(pb, withBuiltins(o));
}

/** Runs one module on the hosts matching a pattern (`ferry exec`): the run's summary with each host's outcome. */
export function runAdhoc(pattern: string, moduleName: string, argText: string | undefined, o: CommonRunOptions & { become?: boolean }): Promise<RunSummary & { outcomes: HostTaskOutcome[] }> {
  return runner.runAdhoc(pattern, moduleName, argText, withBuiltins(o));
}

/** Runs one task on the hosts matching a pattern (--limit applied) and hands back each host's outcome and the run's summary. */
export function executeTaskOn(pattern: string, call: TaskCall, o: CommonRunOptions): Promise<{ outcomes: HostTaskOutcome[]; summary: RunSummary }> {
  return runner.executeTaskOn(pattern, call, withBuiltins(o));
}

/** Gathers facts on the hosts matching a pattern (`ferry facts`). */
export function gatherFactsFor(pattern: string, o: CommonRunOptions): Promise<{ facts: Record<string, unknown>; exitCode: number }> {
  return runner.gatherFactsFor(pattern, withBuiltins(o));
}

/** Runs a module once on each host matching the pattern, handing back each host's result (commands built on a module). */
export function runModuleOnHosts(
  pattern: string,
  moduleName: string,
  args: Record<string, unknown>,
  o: CommonRunOptions & { become?: boolean },
): Promise<{ outcomes: HostModuleOutcome[]; exitCode: number }> {
  return runModuleWith(pattern, moduleName, args, withBuiltins(o));
}
