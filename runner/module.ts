// The task module contract (pyinfra operations, Ansible's module contract):
// a typed parameter schema checked before any host is contacted, `plan` that only reads,
// and `apply` that runs the planned steps. `--check` runs `plan` alone.
import { z } from 'zod';
import type { Command } from './command.js';
import type { BecomeOptions, RunOptions, RunResult, Transport } from './transport/types.js';

/** A before/after pair shown by `--diff`. */
export interface Diff {
  path?: string;
  before: string;
  after: string;
}

/** One thing `apply` will do; its title is what check mode and the log show. */
export interface Step {
  title: string;
  /** Destructive steps are refused unless the task has `force: true` (the module decides and says so in plan). */
  destructive?: boolean;
  run(ctx: TaskContext): Promise<Record<string, unknown> | void>;
}

/** What `plan` found: either nothing to do (with the reason) or the steps to take. */
export type Plan =
  | { changed: false; reason: string; diff?: Diff[]; data?: Record<string, unknown> }
  | { changed: true; steps: Step[]; diff?: Diff[]; data?: Record<string, unknown> };

/** Progress of a long step (bytes copied, rate, ETA), for the reporter. */
export interface Progress {
  message?: string;
  bytes?: number;
  totalBytes?: number;
  bytesPerSec?: number;
  etaSec?: number;
}

/** Another inventory host a module may talk to (rsync / blockcopy between hosts, delegate_to). */
export interface PeerHost {
  name: string;
  transport: Transport;
  become: BecomeOptions | false;
  vars: Record<string, unknown>;
}

/** Everything a module may use on one host. */
export interface TaskContext {
  /** The inventory hostname. */
  host: string;
  /** The host's variables as the task sees them. */
  vars: Record<string, unknown>;
  transport: Transport;
  become: BecomeOptions | false;
  check: boolean;
  diff: boolean;
  /** Directory that relative `src:` paths are resolved against (the playbook's folder). */
  baseDir: string;
  /** The folder of the role the task belongs to: its templates/, files/ and vars/ are looked in first. */
  roleDir?: string;
  /** Runs a command (with the task's become unless opts.become says otherwise); a non-zero exit is returned. */
  run(cmd: Command, opts?: RunOptions): Promise<RunResult>;
  /** Runs a command and throws TaskFailedError when it exits non-zero. */
  runOk(cmd: Command, opts?: RunOptions): Promise<RunResult>;
  progress(p: Progress): void;
  /** Another inventory host, connected on first use. */
  peer(name: string): Promise<PeerHost>;
}

/** What `ferry doc` prints about a module; kept next to its schema so the two cannot drift. */
export interface ModuleDoc {
  summary: string;
  description?: string;
  /** full: --check is exact; partial: see checkModeNote; none: the module cannot predict (it is reported as such). */
  checkMode: 'full' | 'partial' | 'none';
  checkModeNote?: string;
  /** Keys of the registered result beyond the common ones (changed, failed, stdout, ...). */
  result?: Record<string, string>;
  example: string;
}

/** A task module. P is the validated parameter type. */
export interface TaskModule<P = Record<string, unknown>> {
  name: string;
  /** A strict zod object schema; `.describe()` on each field is its documentation. */
  params: z.ZodType<P>;
  /** The parameter a bare string argument fills (`command: uptime` → cmd). */
  freeForm?: string;
  /**
   * True for modules whose plan has steps every time (command, shell, chroot_exec): --resume skips
   * them once completed, keeping their registered value. Every other module is re-planned on resume
   * (a completed task then reports "no change", and state an `always:` undid — a mount — comes back).
   */
  runsEveryTime?: boolean;
  /** Parameters that name another inventory host (src_host, dest_host): a literal one the inventory lacks is bad input. */
  hostParams?: readonly string[];
  doc: ModuleDoc;
  plan(ctx: TaskContext, params: P): Promise<Plan>;
  /** Defaults to running the plan's steps in order and merging what they return. */
  apply?(ctx: TaskContext, params: P, plan: Plan & { changed: true }): Promise<Record<string, unknown>>;
}

/** Declares a module with its parameter type inferred from the schema. */
export function defineModule<S extends z.ZodType>(
  m: Omit<TaskModule<z.output<S>>, 'params'> & { params: S },
): TaskModule<z.output<S>> {
  return m as TaskModule<z.output<S>>;
}

/** Runs a changed plan's steps in order, merging the data each returns. */
export async function runSteps(ctx: TaskContext, steps: Step[]): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {};
  for (const s of steps) Object.assign(data, (await s.run(ctx)) ?? {});
  return data;
}

/** A registry of modules by name; the CLI fills it with tasks/, a library user may add their own. */
export class ModuleRegistry {
  private readonly modules = new Map<string, TaskModule<never>>();
  register(...mods: TaskModule<never>[]): this {
    for (const m of mods) this.modules.set(m.name, m);
    return this;
  }
  get(name: string): TaskModule | undefined {
    return this.modules.get(name) as TaskModule | undefined;
  }
  has(name: string): boolean {
    return this.modules.has(name);
  }
  names(): string[] {
    return [...this.modules.keys()].sort();
  }
}
