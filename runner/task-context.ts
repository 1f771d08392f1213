// Builds the TaskContext a module sees on one host: command running with the task's become,
// failures turned into TaskFailedError, progress and peers routed to the engine.
import type { Command } from './command.js';
import { TaskFailedError } from './errors.js';
import type { PeerHost, Progress, TaskContext } from './module.js';
import type { BecomeOptions, RunOptions, RunResult, Transport } from './transport/types.js';

/** What the engine (or a library user) supplies to run a module on one host. */
export interface TaskContextOptions {
  host: string;
  /** The inventory host the transport reaches when it is not `host` (delegate_to). */
  execHost?: string;
  transport: Transport;
  vars?: Record<string, unknown>;
  become?: BecomeOptions | false;
  /** Environment variables for every command the module runs (the task's `environment:`). */
  env?: Record<string, string>;
  check?: boolean;
  diff?: boolean;
  /** How many -v the run was given (default 0). */
  verbosity?: number;
  baseDir?: string;
  roleDir?: string;
  onProgress?: (p: Progress) => void;
  /** Called for every command the module runs (the engine logs them with -v). */
  onCommand?: (r: RunResult) => void;
  peer?: (name: string) => Promise<PeerHost>;
  /** What stops the task (an interrupt, its timeout). */
  signal?: AbortSignal;
  /** The tools whose presence gathered facts report (the run's; none when not given). */
  factTools?: readonly string[];
}

/** The inventory host a context's commands run on: the task's delegate_to, else its own host. */
export const runsOn = (ctx: Pick<TaskContext, 'host' | 'execHost'>): string => ctx.execHost ?? ctx.host;

/** Describes a failed command in one line plus its stderr, for a task failure message. */
export function describeFailure(r: RunResult): string {
  const why = r.timedOut ? 'timed out' : r.exitCode === null ? `killed by ${r.signal ?? 'signal'}` : `exit ${r.exitCode}`;
  const err = r.stderr.trim() || r.stdout.trim();
  return `${r.command}: ${why}${err ? `\n${err.split('\n').slice(-15).join('\n')}` : ''}`;
}

/** Creates the context a module's plan/apply receive. */
export function createTaskContext(o: TaskContextOptions): TaskContext {
  const become = o.become ?? false;
  const ctx: TaskContext = {
    host: o.host,
    ...(o.execHost !== undefined && o.execHost !== o.host ? { execHost: o.execHost } : {}),
    vars: o.vars ?? {},
    transport: o.transport,
    become,
    check: o.check ?? false,
    diff: o.diff ?? false,
    verbosity: o.verbosity ?? 0,
    baseDir: o.baseDir ?? process.cwd(),
    ...(o.roleDir ? { roleDir: o.roleDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    factTools: o.factTools ?? [],
    async run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
      const r = await o.transport.run(cmd, { become, ...opts, ...(o.env ? { env: { ...o.env, ...opts.env } } : {}) });
      o.onCommand?.(r);
      return r;
    },
    async runOk(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
      const r = await ctx.run(cmd, opts);
      if (r.exitCode !== 0) {
        throw new TaskFailedError(describeFailure(r), {
          command: r.command,
          exitCode: r.exitCode,
          stdout: r.stdout,
          stderr: r.stderr,
        });
      }
      return r;
    },
    progress(p: Progress): void {
      o.onProgress?.(p);
    },
    async peer(name: string): Promise<PeerHost> {
      if (!o.peer) throw new TaskFailedError(`no other hosts are available to this task (asked for '${name}')`);
      return o.peer(name);
    },
  };
  return ctx;
}
