// The loop of an include (include_tasks, include_role): the items it runs for, and how equal items
// are told apart in the resume keys of the tasks they run.
import { TaskFailedError, formatLoc, type Loc } from './errors.js';
import { renderDeep, renderString } from './template.js';

type Obj = Record<string, unknown>;

/** The items an include (include_tasks, include_role) runs for: its loop rendered, or one run without an item. */
export function includeItems(loop: unknown, vars: Obj, loc: Loc): unknown[] {
  if (loop === undefined) return [undefined];
  const l = typeof loop === 'string' ? renderString(loop, vars, loc) : renderDeep(loop, vars, loc);
  if (!Array.isArray(l)) throw new TaskFailedError(`${formatLoc(loc)}: loop must be a list, got ${typeof l}`);
  return l;
}

/** Equal items of one loop are told apart by how many came before (for their resume keys). */
export function earlierEqual(items: unknown[], i: number): number {
  return items.slice(0, i).filter((x) => JSON.stringify(x) === JSON.stringify(items[i])).length;
}
