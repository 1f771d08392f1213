// A task context for another inventory host (src_host / dest_host of the copy modules).
import { createTaskContext } from '../../runner/task-context.js';
import type { TaskContext } from '../../runner/module.js';

/** The inventory host a context's commands run on: the task's delegate_to, else its own host. */
export const runsOn = (ctx: TaskContext): string => ctx.execHost ?? ctx.host;

/**
 * The context of host `name`: the task's own when name is absent or the host the task runs on (named
 * as that host, so that messages and the same-host test name where the commands run, not the
 * delegating host), else a peer's.
 */
export async function hostContext(ctx: TaskContext, name: string | undefined): Promise<TaskContext> {
  if (name === undefined || name === runsOn(ctx)) return ctx.execHost === undefined ? ctx : { ...ctx, host: ctx.execHost };
  const peer = await ctx.peer(name);
  return createTaskContext({ host: peer.name, transport: peer.transport, become: peer.become, vars: peer.vars, check: ctx.check, onProgress: (p) => ctx.progress(p), factTools: ctx.factTools });
}
