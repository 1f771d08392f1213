// The pure decisions of running one task on one host (runner/run-task.ts): what a loop comes to
// from its items, how `until` retries and when it gives up, and what changed_when / failed_when
// make of a result.
import type { TaskStatus } from './events.js';
import { UndefinedVariableError } from './expr/errors.js';
import type { Condition, TaskNode } from './playbook/model.js';
import { outcomeChanged, type TaskOutcome } from './task-outcome.js';
import { evaluateCondition } from './template.js';

type Obj = Record<string, unknown>;

/** One loop item as it ran: its label, its outcome, and its result as the loop's `results` hold it. */
export interface LoopItem {
  label: string;
  outcome: TaskOutcome;
  result: Obj;
}

/**
 * What a loop comes to from the items that ran (of `listed`): unreachable as soon as an item is
 * (the loop stops there), failed if any item failed, skipped if every listed item was, else
 * changed or ok; the result is the one Ansible registers for a loop.
 */
export function loopOutcome(done: LoopItem[], listed: number): TaskOutcome {
  const results = done.map((i) => i.result);
  const changed = done.some((i) => outcomeChanged(i.outcome));
  const last = done.at(-1)?.outcome;
  if (last?.status === 'unreachable') return { status: 'unreachable', result: { results, changed, failed: true }, msg: last.msg };
  const failures = done.filter((i) => i.outcome.status === 'failed').map((i) => `${i.label}: ${i.outcome.msg ?? 'failed'}`);
  const failed = failures.length > 0;
  const allSkipped = listed > 0 && done.every((i) => i.outcome.status === 'skipped');
  // the msg Ansible's loop result registers
  const result = { results, changed, failed, skipped: allSkipped, msg: failed ? 'One or more items failed' : allSkipped ? 'All items skipped' : 'All items completed' };
  if (failed) return { status: 'failed', result, msg: `one or more items failed:\n${failures.join('\n')}` };
  if (allSkipped) return { status: 'skipped', result, msg: 'all items skipped' };
  return { status: changed ? 'changed' : 'ok', result };
}

/** How many times `until` retries after the first attempt, and how long it waits between them (Ansible's defaults: 3, 5 s). */
export function retryPolicy(task: Pick<TaskNode, 'retries' | 'delay'>): { retries: number; delayMs: number } {
  return { retries: task.retries ?? 3, delayMs: (task.delay ?? 5) * 1000 };
}

/** The variables a task's result conditions (until, changed_when, failed_when) see: the task's, its registered result, and `result`. */
export function resultScope(task: Pick<TaskNode, 'register'>, vars: Obj, result: Obj): Obj {
  return { ...vars, ...(task.register ? { [task.register]: result } : {}), result };
}

/** Whether a task's `until` holds for the result of an attempt. */
export function untilHolds(task: Pick<TaskNode, 'until' | 'register'>, vars: Obj, result: Obj): boolean {
  return evaluateCondition(task.until!.expr, resultScope(task, vars, result));
}

/** The outcome of a task whose `until` was still false after its last attempt (`last`). */
export function untilExhausted(task: Pick<TaskNode, 'until' | 'retries'>, last: TaskOutcome): TaskOutcome {
  const attempts = retryPolicy(task).retries + 1;
  return { status: 'failed', result: { ...last.result, attempts, failed: true }, msg: `until: ${task.until!.source} still false after ${attempts} attempts${last.msg ? `: ${last.msg}` : ''}` };
}

/** A task's status, result and message before or after its result conditions. */
export interface Judged {
  status: TaskStatus;
  result: Obj;
  msg?: string;
}

/**
 * What changed_when and failed_when make of a result (a new result; the one given is not changed).
 * `planned`: check mode with planned steps, where a condition on what the steps would print (rc,
 * stdout) is known only after a real run: it leaves the planned outcome as it is instead of failing
 * the task. A condition that cannot be evaluated otherwise throws.
 */
export function judgeResult(task: Pick<TaskNode, 'changedWhen' | 'failedWhen' | 'register'>, vars: Obj, judged: Judged, planned: boolean): Judged {
  let { status, msg } = judged;
  const result = { ...judged.result };
  const scope = resultScope(task, vars, result);
  const holds = (c: Condition): boolean | undefined => {
    try {
      return evaluateCondition(c.expr, scope);
    } catch (e) {
      const root = e instanceof UndefinedVariableError ? e.variable.split(/[.[]/)[0] : undefined;
      if (planned && (root === 'result' || root === task.register)) return undefined;
      throw e;
    }
  };
  const holdsOrUnknown = (c: Condition): boolean | undefined => {
    try {
      return holds(c);
    } catch {
      return undefined;
    }
  };
  if (task.changedWhen.length) {
    // As in Ansible, changed_when decides a failed result's changed too (a failing command with
    // changed_when: false is unchanged); one it cannot be read on leaves the failure as it is.
    const failed = status === 'failed';
    const verdicts = task.changedWhen.map((c) => (failed ? holdsOrUnknown(c) : holds(c)));
    if (!verdicts.includes(undefined)) {
      const changed = verdicts.every(Boolean);
      if (!failed) status = changed ? 'changed' : 'ok';
      result.changed = changed;
    }
  }
  if (task.failedWhen.length) {
    const verdicts = task.failedWhen.map(holds);
    const failed = verdicts.some(Boolean);
    if (verdicts.includes(undefined)) result.check_mode_dependent = true;
    if (failed) {
      status = 'failed';
      msg = `failed_when: ${task.failedWhen.map((c) => c.source).join(' or ')}`;
    } else if (status === 'failed') status = result.changed ? 'changed' : 'ok';
    result.failed = failed;
    // what Ansible registers of the condition's verdict
    if (!verdicts.includes(undefined)) result.failed_when_result = failed;
  }
  return { status, result, msg };
}
