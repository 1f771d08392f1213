// What command and shell share: the creates/removes guard (checked in plan, so --check is exact)
// and the result of one run in Ansible's shape (stdout, stderr, rc, start, end, delta).
import { sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan, TaskContext } from '../../runner/module.js';
import { describeFailure } from '../../runner/task-context.js';

/** The guard parameters. */
export interface Guard {
  creates?: string;
  removes?: string;
  chdir?: string;
}

/** Returns the "no change" plan when creates exists / removes is missing, else undefined. */
export async function checkGuard(ctx: TaskContext, g: Guard): Promise<Plan | undefined> {
  // Relative guard paths are relative to chdir, as in Ansible (it changes directory first).
  for (const [key, path, skipIfExists] of [
    ['creates', g.creates, true],
    ['removes', g.removes, false],
  ] as const) {
    if (path === undefined) continue;
    const r = await ctx.run(sh`test -e ${path}`, { cwd: g.chdir });
    if (r.exitCode !== 0 && r.exitCode !== 1) throw new TaskFailedError(`cannot check ${key} ${path}: ${describeFailure(r)}`);
    const exists = r.exitCode === 0;
    if (skipIfExists && exists) return { changed: false, reason: `${path} exists (creates)` };
    if (!skipIfExists && !exists) return { changed: false, reason: `${path} does not exist (removes)` };
  }
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Ansible strips the final newline(s) of stdout/stderr; so do we, so `when: out.stdout == 'x'` reads the same. */
export function trimEnd(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

/** Runs a command as a task step: a non-zero exit fails the task with the full result attached. */
export async function runAsTask(ctx: TaskContext, cmd: Command, opts: { chdir?: string; stdin?: string }): Promise<Record<string, unknown>> {
  const start = Date.now();
  const r = await ctx.run(cmd, { cwd: opts.chdir, stdin: opts.stdin });
  const end = Date.now();
  const stdout = trimEnd(r.stdout);
  const stderr = trimEnd(r.stderr);
  const result = {
    cmd: r.command,
    stdout,
    stderr,
    stdout_lines: stdout === '' ? [] : stdout.split('\n'),
    stderr_lines: stderr === '' ? [] : stderr.split('\n'),
    exitCode: r.exitCode,
    rc: r.exitCode,
    start: iso(start),
    end: iso(end),
    delta: `${((end - start) / 1000).toFixed(3)}s`,
  };
  if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r), result);
  return result;
}
