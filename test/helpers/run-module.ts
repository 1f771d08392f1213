// Runs one task module the way the engine does (runner/run-task.ts): validate the parameters, plan
// (read + decide, the force guard), and unless check mode or "no change", apply — the module's own
// apply, else its planned steps and its result.
import { applyPlan } from '../../runner/apply-steps.js';
import assert from 'node:assert/strict';
import { TaskFailedError } from '../../runner/errors.js';
import { planTask, type Plan, type TaskModule } from '../../runner/module.js';
import { createTaskContext, type TaskContextOptions } from '../../runner/task-context.js';

/** The context a test gives a module: the task context's options, `host` defaulting to the transport's. */
export type RunModuleOptions = Omit<TaskContextOptions, 'host'> & { host?: string };

/** Validates `input`, plans, and applies unless check mode or no change; returns the plan and the applied data (the plan's data when not applied). */
export async function runModule<P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: RunModuleOptions): Promise<{ plan: Plan; data: Record<string, unknown> }> {
  const params = mod.params.parse(input);
  const ctx = createTaskContext({ ...opts, host: opts.host ?? opts.transport.host });
  const plan = await planTask(mod, ctx, params);
  if ('refused' in plan) throw new TaskFailedError(plan.refused, plan.data ?? {});
  if (!plan.changed || opts.check) return { plan, data: plan.data ?? {} };
  const data = await applyPlan(mod, ctx, params, plan);
  return { plan, data };
}

/** runModule, with what a playbook registers: the plan's data under what the steps returned, as the engine merges them. */
export async function runModuleResult<P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: RunModuleOptions): Promise<{ plan: Plan; result: Record<string, unknown> }> {
  const { plan, data } = await runModule(mod, input, opts);
  return { plan, result: { ...plan.data, ...data } };
}

/** The titles of a plan's steps ([] for no change). */
export const stepTitles = (p: Plan): string[] => (p.changed ? p.steps.map((s) => s.title) : []);

/** A module of any parameter type, for tests that pass raw parameters (runModule validates them). */
export const looseModule = <P>(m: TaskModule<P>): TaskModule<never> => m as unknown as TaskModule<never>;

/** Asserts a plan is "no change" (naming its steps when it is not) and, given one, that its reason matches. */
export function assertNoChange(p: Plan, re?: RegExp): void {
  assert.equal(p.changed, false, `expected no change, got steps: ${p.changed ? p.steps.map((s) => s.title).join('; ') : ''}`);
  if (re) assert.match((p as { reason: string }).reason, re);
}
