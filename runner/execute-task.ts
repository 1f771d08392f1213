// One task outside a playbook (a module with its arguments, become, check mode, no_log) run by the
// engine on the hosts of a pattern, each host's outcome handed back as a value: what `ferry exec`,
// `ferry xen-import` and library users run. Also the facts-only run behind `ferry facts`.
import { ValidationError, type Loc } from './errors.js';
import type { TaskStatus } from './events.js';
import type { Facts } from './facts/index.js';
import type { ModuleRegistry, TaskModule } from './module.js';
import type { Play, Playbook, TaskNode } from './playbook/model.js';
import { checkParams } from './playbook/params.js';
import { didYouMean } from './suggest.js';

/** Where a problem of what was typed on the command line (or given to the library) is: not a file. */
export const COMMAND_LINE: Loc = { file: '<command line>', line: 1 };

/** One module call outside a playbook. */
export interface TaskCall {
  module: string;
  args: Record<string, unknown>;
  /** The task's `become` (unset: the hosts' variables and -b decide). */
  become?: boolean;
  /** The task's name in events (default: the module's). */
  name?: string;
  /** The task's `no_log`: the outcome's result is censored and its msg hidden, as in events. */
  noLog?: boolean;
  /** Registered under this name for hostValues too (library use). */
  register?: string;
}

/** What one host gave back for a task. */
export interface HostTaskOutcome {
  host: string;
  status: TaskStatus;
  /**
   * The module's result as a playbook would register it: its data plus changed/failed/msg (a no_log
   * task's is only `{ censored, changed, failed? }`; an unreachable host's says `unreachable`).
   */
  result: Record<string, unknown>;
  /** Why, in words (masked as events are). */
  msg?: string;
}

/** What one host gave back for fact gathering: its facts when status is ok. */
export interface HostFactsOutcome extends HostTaskOutcome {
  facts?: Facts;
}

/** The outcome of a host the run never reached a result for. */
export function noResult(host: string): HostTaskOutcome {
  const msg = 'no result (the run stopped before this host)';
  return { host, status: 'unreachable', result: { unreachable: true, failed: true, msg }, msg };
}

/** The module of that name; an unknown one is bad input. */
export function knownModule(modules: ModuleRegistry, name: string, loc: Loc = COMMAND_LINE): TaskModule {
  const mod = modules.get(name);
  if (!mod) throw new ValidationError([{ loc, message: `unknown module '${name}'`, hint: didYouMean(name, modules.names(), `'ferry doc' lists the modules`) }]);
  return mod;
}

/** A one-play playbook for the hosts of a pattern that gathers no facts and has the given tasks. */
function playFor(pattern: string, name: string, tasks: TaskNode[], o: { become?: boolean; gatherFacts?: boolean; file: string }): Playbook {
  const play: Play = {
    index: 0, name, hosts: pattern, loc: COMMAND_LINE, vars: {}, varsFiles: [], varsFromFiles: {}, become: o.become, gatherFacts: o.gatherFacts ?? false,
    strategy: 'linear', anyErrorsFatal: false, tags: [], tasks, handlers: [], baseDir: process.cwd(),
  };
  return { file: o.file, plays: [play] };
}

/** Checks a module call (module known, parameters valid: nothing is contacted) and makes it a task. */
export function taskCallTask(modules: ModuleRegistry, call: TaskCall): TaskNode {
  const mod = knownModule(modules, call.module);
  const problems = checkParams(mod, call.args, COMMAND_LINE);
  if (problems.length) throw new ValidationError(problems);
  return {
    kind: 'task', id: 'adhoc', module: call.module, args: call.args, loc: COMMAND_LINE, when: [], tags: [], vars: {}, notify: [], listen: [],
    loopControl: { loopVar: 'item' }, failedWhen: [], changedWhen: [], name: call.name ?? call.module, register: call.register,
    ...(call.noLog ? { noLog: true } : {}),
  };
}

/** Checks a module call (as taskCallTask) and wraps it as a one-task play. */
export function taskCallPlaybook(modules: ModuleRegistry, pattern: string, call: TaskCall): Playbook {
  return playFor(pattern, `ad hoc: ${call.module}`, [taskCallTask(modules, call)], { become: call.become, file: `<${call.module}>` });
}

/** A play that only gathers facts, without become (as `ferry facts` always has). */
export function factsPlaybook(pattern: string): Playbook {
  return playFor(pattern, 'facts', [], { become: false, gatherFacts: true, file: '<facts>' });
}
