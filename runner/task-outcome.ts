// What one task came to on one host (TaskOutcome), and the outcomes the engine makes itself:
// a failure, an interrupt, a timeout, a check-mode change that depends on an earlier one.
import { FerryError, TaskFailedError, TemplateError, UnreachableError, ValidationError } from './errors.js';
import type { TaskStatus } from './events.js';
import type { Diff } from './module.js';

type Obj = Record<string, unknown>;

/** The result key through which a module (`set`) sets host variables. */
export const SET_VARS_KEY = 'ferry_set_vars';

/** One task's outcome on one host: what the recap counts, events carry and `register` stores. */
export interface TaskOutcome {
  status: TaskStatus;
  result: Obj;
  msg?: string;
  ignored?: boolean;
  diff?: Diff[];
  /** The planned steps' titles (check mode), shown with -v. */
  steps?: string[];
  /** The exact command of each planned step ('' for a stream step), shown with --check -v. */
  commands?: string[];
}

/** An error as a person reads it in a task's result: ferry's own errors by their message, others with their name. */
export function errorMessage(e: unknown): string {
  if (e instanceof TemplateError || e instanceof ValidationError || e instanceof FerryError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** The outcome of a task that threw: unreachable for an UnreachableError, else failed with the module's data. */
export function failure(e: unknown): TaskOutcome {
  if (e instanceof UnreachableError) return { status: 'unreachable', result: { unreachable: true, failed: true, msg: e.message }, msg: e.message };
  const data = e instanceof TaskFailedError ? e.data : {};
  const msg = errorMessage(e);
  // the module's own msg (Ansible's wording) is what register stores; the error names the problem to a person.
  // A failure changed nothing unless the module says so (raw: the command ran, as Ansible reports it).
  return { status: 'failed', result: { msg, changed: false, ...data, failed: true }, msg };
}

/** The outcome of a task that was running when `signal` aborted: not completed. */
export function interruptedOutcome(signal: AbortSignal): TaskOutcome {
  const why = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  const msg = `${why} while it ran: not completed`;
  return { status: 'interrupted', result: { failed: true, changed: false, interrupted: true, msg }, msg };
}

/**
 * Check mode: a task that cannot be planned (or rendered, or its condition evaluated) because an
 * earlier task would have changed the host first is reported as a change, never silently skipped.
 */
export function dependentChange(e: unknown): TaskOutcome {
  return {
    status: 'changed',
    result: { changed: true, check_mode_dependent: true },
    msg: `would change (depends on earlier change): ${errorMessage(e).split('\n')[0]}`,
  };
}

/** The outcome of a host whose task was queued (forks) when the run was interrupted. */
export function notStarted(): TaskOutcome {
  return { status: 'skipped', result: { skipped: true, changed: false }, msg: 'not started: the run was interrupted' };
}

/**
 * A task whose `timeout:` ran out: failed (Ansible does the same), with what it had returned if it
 * did return; its commands were stopped.
 */
export function timedOut(seconds: number, o: TaskOutcome | undefined): TaskOutcome {
  const msg = `the task did not finish within its timeout of ${seconds} s (timeout: ${seconds}); what it started was stopped`;
  return { status: 'failed', result: { ...o?.result, failed: true, timedout: { period: seconds }, msg }, msg };
}

/** A task's result as events carry it: the module's values, without ferry's own bookkeeping. */
export function eventResult(result: Obj): Obj {
  const { [SET_VARS_KEY]: _set, exitCode: _exitCode, ...rest } = result;
  return rest;
}

/** Whether an outcome changed the host: a changed task, or a failed one whose result says so (a command that ran). */
export function outcomeChanged(o: TaskOutcome): boolean {
  return o.status === 'changed' || (o.status === 'failed' && o.result.changed === true);
}
