// What command, shell and chroot_exec share: the creates/removes guard (read by readGuard, so --check
// is exact; decided by guardVerdict, pure) and running one command as the task's result.
import { commandResult } from '../../runner/apply-steps.js';
import { batchCommand, newBatchToken, parseBatch } from '../../runner/batch-read.js';
import { sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan, StepRun, TaskContext, ToolOutput, Verdict } from '../../runner/module.js';
import { describeFailure } from '../../runner/task-context.js';

/** The guard parameters. */
export interface Guard {
  creates?: string;
  removes?: string;
  chdir?: string;
}

/** What the guard read found: whether each guard path exists (`test -e`, relative to chdir). */
export interface GuardFacts {
  exists: Record<string, boolean>;
}

/** Runs `test -e` for the creates/removes paths (I/O only). */
export async function readGuard(ctx: TaskContext, g: Guard): Promise<GuardFacts> {
  const exists: Record<string, boolean> = {};
  // Relative guard paths are relative to chdir, as in Ansible (it changes directory first).
  for (const [key, path] of [
    ['creates', g.creates],
    ['removes', g.removes],
  ] as const) {
    if (path === undefined || path in exists) continue;
    const r = await ctx.run(sh`test -e ${path}`, { cwd: g.chdir });
    if (r.exitCode !== 0 && r.exitCode !== 1) throw new TaskFailedError(`cannot check ${key} ${path}: ${describeFailure(r)}`);
    exists[path] = r.exitCode === 0;
  }
  return { exists };
}

/** The "no change" verdict when creates exists / removes is missing, else undefined (pure). */
export function guardVerdict(g: Guard, f: GuardFacts): (Plan & { changed: false }) | undefined {
  if (g.creates !== undefined && f.exists[g.creates]) return { changed: false, reason: `${g.creates} exists (creates)`, data: notRun(g.creates, 'exists') };
  if (g.removes !== undefined && !f.exists[g.removes]) return { changed: false, reason: `${g.removes} does not exist (removes)`, data: notRun(g.removes, 'does not exist') };
  return undefined;
}

/** What Ansible's command and shell register when creates/removes keep the command from running. */
function notRun(path: string, why: string): Record<string, unknown> {
  const stdout = `skipped, since ${path} ${why}`;
  return { msg: `Did not run command since '${path}' ${why}`, rc: 0, stdout, stdout_lines: [stdout], stderr: '', stderr_lines: [] };
}

/** What command and shell take beyond the guard: stdin, with the newline Ansible adds unless told not to. */
export interface RunParams extends Guard {
  stdin?: string;
  stdin_add_newline: boolean;
}

/** What a failed command or shell registers beyond its output, as Ansible: the command ran, so changed. */
export const RUN_FAILURE = { changed: true, msg: 'non-zero return code' } as const;

/** What command's and shell's docs say of a failure and of creates/removes. */
export const FAILURE_DOC =
  "A non-zero exit fails the task with Ansible's msg 'non-zero return code' and changed: true, since the command ran " +
  '(an ignored failure counts as changed in the recap; changed_when decides over it, as in Ansible). When creates/removes ' +
  "say there is nothing to do, rc 0 and Ansible's 'Did not run command since ...' are registered.";

/** command's and shell's verdict: no change when the guard says so, else one step running cmd (pure). */
export function runVerdict(p: RunParams, facts: GuardFacts, title: string, cmd: Command): Verdict {
  const guarded = guardVerdict(p, facts);
  if (guarded) return guarded;
  const stdin = p.stdin === undefined ? undefined : p.stdin_add_newline && !p.stdin.endsWith('\n') ? p.stdin + '\n' : p.stdin;
  return {
    changed: true,
    steps: [{ title: `${title}${p.chdir ? ` in ${p.chdir}` : ''}`, cmd, onFailure: RUN_FAILURE, ...(p.chdir !== undefined ? { cwd: p.chdir } : {}), ...(stdin !== undefined ? { stdin } : {}) }],
  };
}

/** The result command and shell register: the one command's output in Ansible's shape. */
export async function runResult(_ctx: TaskContext, _p: unknown, [ran]: StepRun[]): Promise<Record<string, unknown>> {
  // Ansible's command and shell register msg '' when the command succeeded
  return ran?.result ? { ...commandResult(ran.result, ran.start, ran.end), msg: '' } : {};
}

/** Runs a command as a task step: a non-zero exit fails the task with the full result attached. */
export async function runAsTask(ctx: TaskContext, cmd: Command, opts: { chdir?: string; stdin?: string }): Promise<Record<string, unknown>> {
  const start = Date.now();
  const r = await ctx.run(cmd, { cwd: opts.chdir, stdin: opts.stdin });
  const result = commandResult(r, start, Date.now());
  if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r), result);
  return result;
}

/**
 * Runs independent reads in one round trip (runner/batch-read.ts): each named command's stdout,
 * stderr and exit status, exactly as if it had run alone. A cut-short batch fails the task.
 */
export async function runBatch<K extends string>(ctx: TaskContext, cmds: Partial<Record<K, Command>>): Promise<Partial<Record<K, ToolOutput>>> {
  const parts = Object.entries<Command | undefined>(cmds).flatMap(([name, cmd]) => (cmd ? [{ name, cmd }] : []));
  if (parts.length === 0) return {};
  const token = newBatchToken();
  const r = await ctx.run(batchCommand(parts, token));
  const { records, broken } = parseBatch(r.stdout, token);
  if (broken || records.length !== parts.length) throw new TaskFailedError(`a batched read was cut short (${broken ?? `${records.length} of ${parts.length} records`}): ${describeFailure(r)}`);
  return Object.fromEntries(records.map((rec) => [rec.name, { stdout: rec.body, stderr: rec.stderr, exitCode: rec.exitCode }])) as Partial<Record<K, ToolOutput>>;
}
