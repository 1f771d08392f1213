// A task context for another inventory host (src_host / dest_host of the copy modules).
import { createTaskContext, runsOn } from '../../runner/task-context.js';
import type { TaskContext } from '../../runner/module.js';

/**
 * The context of host `name`: the task's own when name is absent or the host the task runs on (named
 * as that host, so that messages name where the commands run, not the delegating host), else a peer's.
 */
export async function hostContext(ctx: TaskContext, name: string | undefined): Promise<TaskContext> {
  if (name === undefined || name === runsOn(ctx)) return ctx.execHost === undefined ? ctx : { ...ctx, host: ctx.execHost };
  const peer = await ctx.peer(name);
  return createTaskContext({ host: peer.name, transport: peer.transport, become: peer.become, vars: peer.vars, check: ctx.check, onProgress: (p) => ctx.progress(p), factTools: ctx.factTools });
}

/** The two ends of a copy between `src` and `dest` hosts (each absent: the task's), seen from `ctx`: one context, the same object, when both are one host. */
export async function copyEnds(ctx: TaskContext, src: string | undefined, dest: string | undefined): Promise<{ src: TaskContext; dest: TaskContext }> {
  const s = await hostContext(ctx, src);
  const d = await hostContext(ctx, dest);
  return { src: s, dest: d.host === s.host ? s : d };
}
