// A task context for another inventory host (src_host / dest_host of the copy modules).
import { createTaskContext } from '../../runner/task-context.js';
import type { TaskContext } from '../../runner/module.js';

/** The context of host `name` (the task's own context when name is absent or the task's host). */
export async function hostContext(ctx: TaskContext, name: string | undefined): Promise<TaskContext> {
  if (name === undefined || name === ctx.host) return ctx;
  const peer = await ctx.peer(name);
  return createTaskContext({ host: peer.name, transport: peer.transport, become: peer.become, vars: peer.vars, check: ctx.check, onProgress: (p) => ctx.progress(p), factTools: ctx.factTools });
}
