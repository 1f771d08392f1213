// The task module contract (pyinfra operations, Ansible's module contract):
// a typed parameter schema checked before any host is contacted, `read` that only reads (facts),
// `decide` that is pure (facts → a Verdict whose steps are data), and an executor that runs the steps
// (runner/apply-steps.ts). `--check` runs read + decide alone. Modules not yet moved to read/decide
// still give one `plan(ctx, params)`; planTask() adapts both to one Verdict.
import { z } from 'zod';
import type { Command } from './command.js';
import { TaskFailedError } from './errors.js';
import { SourceCache } from './source-cache.js';
import type { BecomeOptions, RunOptions, RunResult, Transport } from './transport/types.js';

/** A before/after pair shown by `--diff`. */
export interface Diff {
  path?: string;
  before: string;
  after: string;
}

/**
 * One thing the task will do, as data: its title (what check mode and the log show) and the command
 * (built with sh) that runs it, which `--check -v` prints exactly (secrets masked). `run` is the
 * escape hatch for what one command cannot say (streams: relayed copies, dd with progress, uploads).
 */
export interface Step {
  title: string;
  /** The command a real run executes; required unless `run` is given. */
  cmd?: Command;
  /** Text fed to cmd on standard input (an sfdisk script, a command's stdin). */
  stdin?: string;
  /** Directory cmd runs in. */
  cwd?: string;
  /** Another inventory host the command runs on (default: the task's host). */
  host?: string;
  /** Destructive steps are refused by the engine unless the task has `force: true` (guardDestructive). */
  destructive?: boolean;
  /** The refusal a destructive step gets without force (default: `refusing to TITLE without force: true`). */
  refusal?: string;
  /**
   * What the failed task's result says beyond the command's output when cmd exits non-zero (command and
   * shell: Ansible's `changed: true` and msg, since the command ran); default: nothing changed.
   */
  onFailure?: Record<string, unknown>;
  /** The escape hatch: runs the step itself and returns data for the result. */
  run?(ctx: TaskContext): Promise<Record<string, unknown> | void>;
}

/**
 * What a module decided: the steps to take, nothing to do with the reason, or a refusal (the task fails with it).
 * A no-change verdict with `skipped` is reported as a skipped task, its reason as skipped_reason (debug under its verbosity).
 * `partial` says what the verdict leaves out because reading it would change the host (a module with
 * `checkMode: 'partial'`, in check mode); the check-mode result shows it as check_mode_partial.
 */
export type Verdict =
  | { changed: false; reason: string; skipped?: true; diff?: Diff[]; data?: Record<string, unknown>; partial?: string }
  | { changed: true; steps: Step[]; diff?: Diff[]; data?: Record<string, unknown>; partial?: string }
  | { refused: string; data?: Record<string, unknown> };

/** A verdict that goes ahead: what old-style `plan` returns, and what the engine applies. */
export type Plan = Exclude<Verdict, { refused: string }>;

/** What a command printed: what `read` saw on the host, and what a decide table gives as a fact. */
export type ToolOutput = Pick<RunResult, 'exitCode' | 'stdout' | 'stderr'>;

/** What one data step's command did, for a module's `result`. */
export interface StepRun {
  step: Step;
  result?: RunResult;
  /** When it started and ended (ms since the epoch). */
  start: number;
  end: number;
}

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
  /** The inventory host the commands run on when it is not `host` (the task's delegate_to). */
  execHost?: string;
  /** The host's variables as the task sees them. */
  vars: Record<string, unknown>;
  transport: Transport;
  become: BecomeOptions | false;
  check: boolean;
  diff: boolean;
  /** How many -v the run was given (debug's `verbosity` shows its message only from that many on). */
  verbosity: number;
  /** Directory that relative `src:` paths are resolved against (the playbook's folder). */
  baseDir: string;
  /** The folder of the role the task belongs to: its templates/, files/ and vars/ are looked in first. */
  roleDir?: string;
  /** Runs a command (with the task's become unless opts.become says otherwise); a non-zero exit is returned. */
  run(cmd: Command, opts?: RunOptions): Promise<RunResult>;
  /** Runs a command and throws TaskFailedError when it exits non-zero. */
  runOk(cmd: Command, opts?: RunOptions): Promise<RunResult>;
  progress(p: Progress): void;
  /** Aborted when the task must stop (an interrupt, its timeout): a wait on the controller (pause) listens to it. */
  signal?: AbortSignal;
  /** Another inventory host, connected on first use. */
  peer(name: string): Promise<PeerHost>;
  /** The tools whose presence gathered facts report (ferry_facts.tools), as the run was given them: the setup module looks for these. */
  factTools: readonly string[];
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

/** A task module. P is the validated parameter type, F what `read` returns. */
export interface TaskModule<P = Record<string, unknown>, F = unknown> {
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
  /** Runs once for all the hosts of the task, each host getting its result, as run_once does (Ansible's pause bypasses the host loop). */
  runsOnce?: boolean;
  /** Parameters that name another inventory host (src_host, dest_host): a literal one the inventory lacks is bad input. */
  hostParams?: readonly string[];
  doc: ModuleDoc;
  /** I/O only: the commands and pure parsers that tell decide what is there. */
  read?(ctx: TaskContext, params: P): Promise<F>;
  /** Pure: params + facts → steps (data), no change with its reason, or a refusal. Table-tested. */
  decide?(params: P, facts: F): Verdict;
  /** Old style, kept while modules move to read/decide: reads and decides at once. */
  plan(ctx: TaskContext, params: P): Promise<Plan>;
  /** The task's result after the steps ran (what they printed, or a fresh read); default: what run steps returned. */
  result?(ctx: TaskContext, params: P, ran: StepRun[]): Promise<Record<string, unknown>>;
  /** Defaults to running the plan's steps in order (runner/apply-steps.ts) and then `result`. Returning `changed: false` reports the task ok (steps that turned out to change nothing). */
  apply?(ctx: TaskContext, params: P, plan: Plan & { changed: true }): Promise<Record<string, unknown>>;
}

/** A module as written: read + decide, or (while modules move over) the old-style plan. */
export type ModuleDefinition<P, F> = Omit<TaskModule<P, F>, 'plan'> & { plan?: TaskModule<P, F>['plan'] };

/**
 * Declares a module with its parameter type inferred from the schema. A read/decide module gets a
 * `plan` too (read, decide, the force guard; a refusal throws), so callers of the old contract keep working.
 */
export function defineModule<S extends z.ZodType, F = unknown>(
  m: Omit<ModuleDefinition<z.output<S>, F>, 'params'> & { params: S },
): TaskModule<z.output<S>, F> {
  if (m.plan) return m as TaskModule<z.output<S>, F>;
  if (!m.read || !m.decide) throw new TypeError(`module ${m.name}: give read and decide (or plan)`);
  const mod = m as TaskModule<z.output<S>, F>;
  mod.plan = async (ctx, params) => {
    const v = await planTask(mod, ctx, params);
    if ('refused' in v) throw new TaskFailedError(v.refused, v.data ?? {});
    return v;
  };
  return mod;
}

/** The module's verdict for params on this host: read then decide (or the old-style plan), then the force guard. */
export async function planTask<P, F>(mod: TaskModule<P, F>, ctx: TaskContext, params: P): Promise<Verdict> {
  const v = mod.read && mod.decide ? mod.decide(params, await mod.read(ctx, params)) : await mod.plan(ctx, params);
  return guardDestructive(v, forceOf(params));
}

/**
 * The one place `force` is enforced: a verdict with a destructive step becomes a refusal unless
 * force is true (the first destructive step's refusal text, or `refusing to TITLE without force: true`).
 */
export function guardDestructive(v: Verdict, force: boolean): Verdict {
  if (force || !('changed' in v) || !v.changed) return v;
  const d = v.steps.find((s) => s.destructive);
  if (!d) return v;
  return { refused: d.refusal ?? `refusing to ${d.title} without force: true`, ...(v.data ? { data: v.data } : {}) };
}

/** Whether the validated params ask for force (modules without a force parameter never do). */
export function forceOf(params: unknown): boolean {
  return typeof params === 'object' && params !== null && (params as { force?: unknown }).force === true;
}

/** Loads a module the first time a run uses it (a dynamic import: its code and its schema are built only then). */
export type ModuleLoader = () => Promise<TaskModule<never, unknown>>;

/**
 * A registry of modules by name: the composition root (app/api.ts) passes tasks/' registry; a library
 * user may add their own. A module is registered loaded, or lazily: its name and a loader, so that
 * every name is known (unknown-module checks, suggestions) while only the modules a run uses are
 * loaded — by `load`, or by `withModulesLoaded` around a synchronous reading of tasks.
 */
export class ModuleRegistry {
  private readonly modules: Map<string, TaskModule<never>>;
  private readonly loaders: Map<string, ModuleLoader>;
  /** Set on a recording view (withModulesLoaded): the lazy modules asked for and not loaded yet. */
  private readonly wanted?: Set<string>;

  constructor(shared?: { modules: Map<string, TaskModule<never>>; loaders: Map<string, ModuleLoader>; wanted: Set<string> }) {
    this.modules = shared?.modules ?? new Map();
    this.loaders = shared?.loaders ?? new Map();
    this.wanted = shared?.wanted;
  }
  register(...mods: TaskModule<never, unknown>[]): this {
    for (const m of mods) this.modules.set(m.name, m);
    return this;
  }
  /** Registers modules by name, each loaded by its loader when first used (a module registered loaded wins). */
  registerLazy(loaders: Record<string, ModuleLoader>): this {
    for (const [name, load] of Object.entries(loaders)) this.loaders.set(name, load);
    return this;
  }
  /**
   * The module of that name, or undefined when there is none. A lazy module must have been loaded
   * (`load`): asking for one that is not is a programming error — except on a recording view, which
   * notes it and answers a stand-in that accepts any parameters.
   */
  get(name: string): TaskModule | undefined {
    const m = this.modules.get(name);
    if (m) return m as TaskModule;
    if (!this.loaders.has(name)) return undefined;
    if (this.wanted) {
      this.wanted.add(name);
      return standIn(name);
    }
    throw new Error(`module ${name} is registered lazily and not loaded yet: load it first (ModuleRegistry.load)`);
  }
  has(name: string): boolean {
    return this.modules.has(name) || this.loaders.has(name);
  }
  names(): string[] {
    return [...new Set([...this.modules.keys(), ...this.loaders.keys()])].sort();
  }
  /** Loads the lazy modules among these names (unknown names and loaded modules are left alone). */
  async load(names: Iterable<string>): Promise<void> {
    const todo = [...new Set(names)].filter((n) => !this.modules.has(n) && this.loaders.has(n));
    const loaded = await Promise.all(todo.map((n) => this.loaders.get(n)!()));
    todo.forEach((n, i) => {
      const m = loaded[i]!;
      if (m.name !== n) throw new Error(`the loader of module ${n} gave module ${m.name}`);
      this.modules.set(n, m);
    });
  }
  /** A view of this registry that notes each lazy module asked for (`get`) and not loaded yet. */
  recording(wanted: Set<string>): ModuleRegistry {
    return new ModuleRegistry({ modules: this.modules, loaders: this.loaders, wanted });
  }
}

/** What a recording view answers for a module not loaded yet: any parameters pass; its result is thrown away. */
function standIn(name: string): TaskModule {
  return {
    name,
    params: z.looseObject({}),
    doc: { summary: '', checkMode: 'none', example: '' },
    plan: () => Promise.reject(new Error(`module ${name} is not loaded`)),
  };
}

/**
 * Runs a synchronous reading of tasks (a playbook's loader, a task call's check) with every module
 * it asks for loaded: read once with a recording view; if it asked for modules not loaded yet,
 * load them and read again, so its answer and its problems are exactly those of a registry with
 * every module loaded. Once they are loaded (or with a registry of loaded modules) it reads once.
 * Every reading gets the same SourceCache: a reader that reads its files through it reads and
 * parses each file once, however many times it is run.
 */
export async function withModulesLoaded<T>(modules: ModuleRegistry, read: (modules: ModuleRegistry, sources: SourceCache) => T): Promise<T> {
  const sources = new SourceCache();
  for (;;) {
    const wanted = new Set<string>();
    try {
      const r = read(modules.recording(wanted), sources);
      if (!wanted.size) return r;
    } catch (e) {
      // a problem seen with stand-ins may not be one: read again once the modules are loaded
      if (!wanted.size) throw e;
    }
    await modules.load(wanted);
  }
}

export { runSteps } from './apply-steps.js';
