// `when:` as the engine reads it for a task: the first false condition (the skip's reason), or
// true for a condition that cannot be evaluated yet where the task itself will report the error.
import type { Condition } from './playbook/model.js';
import { evaluateCondition } from './template.js';

type Obj = Record<string, unknown>;

/** Why a task skips: the first of its conditions that is false; undefined when all hold. */
export function whenFalse(conds: Condition[], vars: Obj): string | undefined {
  for (const c of conds) if (!evaluateCondition(c.expr, vars)) return `when: ${c.source} was false`;
  return undefined;
}

/** A condition's value; true when it cannot be evaluated yet (the tasks that use it report the error). */
export function whenOrError(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return true;
  }
}
