// The executor: runs a verdict's steps in order. A data step's command runs on the task's host (or on
// step.host, another inventory host); a non-zero exit fails the task with the command's result in
// Ansible's shape. A step with `run` (a stream) runs itself.
import { TaskFailedError } from './errors.js';
import type { RunResult } from './transport/types.js';
import { describeFailure, runsOn } from './task-context.js';
import type { Plan, Step, StepRun, TaskContext, TaskModule } from './module.js';

/** Ansible strips the final newline(s) of stdout/stderr; so do we, so `when: out.stdout == 'x'` reads the same. */
export function trimEnd(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

/** One command's result in Ansible's shape (stdout, stderr, rc, start, end, delta), as command and shell register it. */
export function commandResult(r: RunResult, start: number, end: number): Record<string, unknown> {
  const stdout = trimEnd(r.stdout);
  const stderr = trimEnd(r.stderr);
  return {
    cmd: r.command,
    stdout,
    stderr,
    stdout_lines: stdout === '' ? [] : stdout.split('\n'),
    stderr_lines: stderr === '' ? [] : stderr.split('\n'),
    exitCode: r.exitCode,
    rc: r.exitCode,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    delta: `${((end - start) / 1000).toFixed(3)}s`,
  };
}

/** Runs one data step's command; a non-zero exit throws TaskFailedError carrying the command's result. */
async function runDataStep(ctx: TaskContext, step: Step): Promise<StepRun> {
  if (!step.cmd) throw new TypeError(`step "${step.title}" has neither cmd nor run`);
  const opts = { ...(step.cwd !== undefined ? { cwd: step.cwd } : {}), ...(step.stdin !== undefined ? { stdin: step.stdin } : {}) };
  const start = Date.now();
  let r: RunResult;
  if (step.host !== undefined && step.host !== runsOn(ctx)) {
    const peer = await ctx.peer(step.host);
    r = await peer.transport.run(step.cmd, { ...opts, become: peer.become });
  } else {
    r = await ctx.run(step.cmd, opts);
  }
  const end = Date.now();
  if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r), { command: r.command, ...commandResult(r, start, end), ...step.onFailure });
  return { step, result: r, start, end };
}

/** Runs the steps in order; returns what each did and the data the `run` steps returned, merged. */
export async function applySteps(ctx: TaskContext, steps: Step[]): Promise<{ ran: StepRun[]; data: Record<string, unknown> }> {
  const ran: StepRun[] = [];
  const data: Record<string, unknown> = {};
  for (const s of steps) {
    if (s.run) {
      const start = Date.now();
      Object.assign(data, (await s.run(ctx)) ?? {});
      ran.push({ step: s, start, end: Date.now() });
    } else {
      ran.push(await runDataStep(ctx, s));
    }
  }
  return { ran, data };
}

/** Runs a changed plan's steps in order, merging the data each returns. */
export async function runSteps(ctx: TaskContext, steps: Step[]): Promise<Record<string, unknown>> {
  return (await applySteps(ctx, steps)).data;
}

/** Applies a changed plan the way the engine does: the module's own apply, else its steps and then its result. */
export async function applyPlan<P, F>(mod: TaskModule<P, F>, ctx: TaskContext, params: P, plan: Plan & { changed: true }): Promise<Record<string, unknown>> {
  if (mod.apply) return mod.apply(ctx, params, plan);
  const { ran, data } = await applySteps(ctx, plan.steps);
  return mod.result ? { ...data, ...(await mod.result(ctx, params, ran)) } : data;
}

/** What `--check -v` prints for each step: the exact command a real run executes (masked), or '' for a stream. */
export function stepCommands(steps: Step[]): string[] {
  return steps.map((s) => (s.cmd ? `${s.host !== undefined ? `[${s.host}] ` : ''}${s.cmd.display}` : ''));
}
