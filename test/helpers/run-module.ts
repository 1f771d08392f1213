// Runs one task module the way the engine does (runner/engine.ts): validate the parameters, plan,
// and unless check mode or "no change", apply — the module's own apply, else its planned steps.
import { runSteps, type Plan, type TaskModule } from '../../runner/module.js';
import { createTaskContext, type TaskContextOptions } from '../../runner/task-context.js';

/** The context a test gives a module: the task context's options, `host` defaulting to the transport's. */
export type RunModuleOptions = Omit<TaskContextOptions, 'host'> & { host?: string };

/** Validates `input`, plans, and applies unless check mode or no change; returns the plan and the applied data (the plan's data when not applied). */
export async function runModule<P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: RunModuleOptions): Promise<{ plan: Plan; data: Record<string, unknown> }> {
  const params = mod.params.parse(input);
  const ctx = createTaskContext({ ...opts, host: opts.host ?? opts.transport.host });
  const plan = await mod.plan(ctx, params);
  if (!plan.changed || opts.check) return { plan, data: plan.data ?? {} };
  const data = mod.apply ? await mod.apply(ctx, params, plan) : await runSteps(ctx, plan.steps);
  return { plan, data };
}
