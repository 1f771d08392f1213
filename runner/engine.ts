// Runs a playbook: plays over hosts (linear or free strategy, serial batches), tasks with tag
// selection, --start-at-task and --step, run_once, the play's abort rules, facts, interrupts. One
// task on one host (loops, retries, when, check mode) runs in run-task.ts. Beside it: walk
// (blocks, includes, roles), scope (each task's variables), connection-pool, scheduler, handlers,
// recap, resume, task-outcome.
import { setMaxListeners } from 'node:events';
import { ConnectionPool, type TransportFactory } from './connection-pool.js';
import { EXIT_INTERRUPTED, FerryError, InterruptedError, formatLoc } from './errors.js';
import { emptyRecap, silentReporter, type FerryEvent, type HostRecap, type Reporter } from './events.js';
import { factsVars, readFacts } from './facts/index.js';
import type { ModuleRegistry } from './module.js';
import { taskDisplayName, type Play, type Playbook, type TaskNode } from './playbook/model.js';
import { SecretValues, censoredView, maskEvent } from './secrets.js';
import { factsPlaybook, noResult, taskCallPlaybook, type HostFactsOutcome, type HostTaskOutcome, type TaskCall } from './execute-task.js';
import type { Facts } from './facts/index.js';
import type { VaultKeys } from './vault/keys.js';
import type { InventoryView } from './inventory-view.js';
import type { RunState } from './state.js';
import { openRunState } from './resume.js';
import { taskIdentities, type TaskIdentities } from './task-identity.js';
import { evaluateCondition } from './template.js';
import { failure, interruptedOutcome, notStarted, type TaskOutcome } from './task-outcome.js';
import { selectedByTags } from './tags.js';
import type { Inherited } from './inherited.js';
import type { HostState } from './host-state.js';
import { runHandlers } from './handlers.js';
import { countOutcome, countRescued, exitCodeOf, taskResultEvent, type ResultHow } from './recap.js';
import { serialBatches } from './serial-batches.js';
import { Scheduler, resourceLimits } from './scheduler.js';
import { whenFalse, whenOrError } from './conditions.js';
import { runTaskOnHost, type TaskRun } from './run-task.js';
import { InFlight, InFlightTransport, type LiveCommand } from './transport/in-flight.js';
import type { Transport } from './transport/types.js';
import { RunScope } from './scope.js';
import { activeHosts, walkNodes, type NodeWalk, type PlayRun } from './walk.js';

type Obj = Record<string, unknown>;

/** Options of a playbook run. */
export interface EngineOptions {
  inventory: InventoryView;
  modules: ModuleRegistry;
  /** The tools whose presence gathered facts report (ferry_facts.tools): gather_facts and the setup module look for them. */
  factTools: readonly string[];
  transports: TransportFactory;
  check?: boolean;
  diff?: boolean;
  forks?: number;
  limit?: string;
  extraVars?: Obj;
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
  forceHandlers?: boolean;
  reporter?: Reporter;
  /** Where run state is kept for --resume (default .ferry/runs under the working directory). */
  stateDir?: string;
  resume?: boolean;
  /** An identity for the run state (playbook path + inventory), so --resume finds the right one. */
  runKey?: string;
  /**
   * The run's secret values, masked in every event, the run state and errors. Variables named like a
   * password are added by the engine; a caller adds what else it knows is secret (vault, prompts).
   */
  secrets?: SecretValues;
  /** The vault passwords, for task files included at run time (include_tasks). */
  vault?: VaultKeys;
  /**
   * Aborting it interrupts the run: no task starts any more, running commands are stopped, the
   * always: blocks already entered run (bounded by cleanupTimeoutMs), then the recap; the tasks
   * that were running are not recorded as completed, so --resume runs them again.
   */
  signal?: AbortSignal;
  /** Where the run records the commands it has started and not seen end (what may still run). */
  inFlight?: InFlight;
  /** After an interrupt: how long a running task may take to stop before the run goes on without it (default 10 s). */
  stopGraceMs?: number;
  /** After an interrupt: how long always: blocks may take in all before their commands are stopped too (default 60 s). */
  cleanupTimeoutMs?: number;
  /** Connection and become variables below the inventory's (-u, -b, --become-user, -K, ansible.cfg). */
  connectionDefaults?: Obj;
  /** Emit a `command` event for each command a task starts (-vvv). */
  commandEvents?: boolean;
  /** How many -v the run was given: a debug task with a higher `verbosity` is skipped, as in Ansible. */
  verbosity?: number;
  /** --step: asked before each task; `continue` runs the rest without asking. */
  step?: (task: string) => Promise<'yes' | 'no' | 'continue'>;
}

export { EXIT_INTERRUPTED };

/** The outcome of a run. */
export interface RunSummary {
  recap: Record<string, HostRecap>;
  /** 0 all ok; 2 a host failed; 3 a host was unreachable (and none failed); 130 interrupted. See README "Exit codes". */
  exitCode: number;
  /** The run's signal aborted: it stopped early. */
  interrupted: boolean;
  /** Registered and set values per host at the end (for library users). */
  hostValues: Record<string, Obj>;
}

/** Runs one task on the hosts of a pattern (--limit applied) with a new engine and hands back each host's outcome (Engine.executeTask). */
export function executeTask(o: EngineOptions, pattern: string, call: TaskCall): Promise<{ outcomes: HostTaskOutcome[]; summary: RunSummary }> {
  return new Engine(o).executeTask(pattern, call);
}

/** Runs a loaded playbook against an inventory. */
export class Engine {
  private readonly reporter: Reporter;
  private readonly scheduler: Scheduler;
  private readonly pool: ConnectionPool;
  private readonly hosts = new Map<string, HostState>();
  private readonly recap: Record<string, HostRecap> = {};
  private startAtFound: boolean;
  private readonly check: boolean;
  private state?: RunState;
  private ids?: TaskIdentities;
  private readonly secrets: SecretValues;
  private readonly scope: RunScope;
  private readonly inFlight: InFlight;
  /** Aborted by an interrupt: the signal of every task outside always: sections. */
  private readonly stopping = new AbortController();
  /** Aborted once always: sections have had their time after an interrupt: the signal of their tasks. */
  private readonly cleanupOver = new AbortController();
  private cleanupTimer?: NodeJS.Timeout;
  /** --step was answered `continue`. */
  private stepAll = false;
  /** executeTask / gatherFactsOn: each host's last outcome, as it was reported. */
  private collected?: Map<string, HostTaskOutcome>;
  /** gatherFactsOn: a play with no task still gathers, and nothing is recorded for --resume. */
  private factsOnly = false;

  constructor(private readonly o: EngineOptions) {
    this.reporter = o.reporter ?? silentReporter;
    this.secrets = o.secrets ?? o.vault?.secrets ?? new SecretValues();
    this.scheduler = new Scheduler(Math.max(1, o.forks ?? 10));
    this.startAtFound = !o.startAtTask;
    this.check = o.check ?? false;
    this.inFlight = o.inFlight ?? new InFlight();
    this.pool = new ConnectionPool(o.inventory, o.transports, o.extraVars, o.connectionDefaults);
    this.scope = new RunScope({ inventory: o.inventory, extraVars: o.extraVars, vault: o.vault, check: this.check, secrets: this.secrets }, (h) => this.hosts.get(h)?.registered);
    // one listener per running task and per running command: forks × channels, not a leak
    setMaxListeners(0, this.stopping.signal, this.cleanupOver.signal);
  }

  /** Every event goes out through here, with the run's secret values masked. */
  private emit(ev: FerryEvent): void {
    this.reporter.emit(maskEvent(ev, this.secrets));
  }

  private host(name: string): HostState {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, failed: false, unreachable: false, ended: false, registered: {}, notified: new Set(), wouldChange: false };
      this.hosts.set(name, h);
      this.recap[name] = emptyRecap();
    }
    return h;
  }

  /** Runs every play; always closes connections. */
  async run(pb: Playbook): Promise<RunSummary> {
    const started = Date.now();
    this.ids = taskIdentities(pb);
    // --resume compares with the previous run's tasks, whose modules this playbook may no longer use
    if (this.o.resume && !this.check && !this.factsOnly) await this.o.modules.load(this.o.modules.names());
    if (!this.check && !this.factsOnly) this.state = openRunState(pb, this.ids, this.o);
    // Passwords of any host may show up (hostvars, an error): mark them before anything is printed.
    this.secrets.addNamed(this.o.extraVars ?? {});
    for (const h of this.o.inventory.hostNames()) this.secrets.addNamed(this.o.inventory.hostVars(h));
    this.emit({ type: 'run_start', playbook: pb.file, check: this.check, time: new Date().toISOString() });
    const signal = this.o.signal;
    const onAbort = (): void => this.interrupt(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (const play of pb.plays) {
        if (this.interrupted) break;
        await this.runPlay(play);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(this.cleanupTimer);
      await this.pool.close();
    }
    this.emit({ type: 'recap', hosts: this.recap, durationMs: Date.now() - started });
    const interrupted = this.interrupted;
    const exitCode = exitCodeOf(this.recap, interrupted);
    await this.state?.finish(exitCode === 0);
    const hostValues: Record<string, Obj> = {};
    for (const [n, h] of this.hosts) hostValues[n] = h.registered;
    return { recap: this.recap, exitCode, interrupted, hostValues };
  }

  /** The hosts of a pattern that --limit leaves (a pattern that matches nothing is bad input). */
  targets(pattern: string): string[] {
    const hosts = this.o.inventory.resolve(pattern);
    if (!this.o.limit) return hosts;
    const allowed = new Set(this.o.inventory.resolve(this.o.limit));
    return hosts.filter((h) => allowed.has(h));
  }

  /**
   * Runs one task on the hosts of a pattern (--limit applied) as a one-task play does — inventory,
   * transports, become, check mode, secret masking, events — and hands back each host's outcome.
   * The call is checked before any host is contacted.
   */
  async executeTask(pattern: string, call: TaskCall): Promise<{ outcomes: HostTaskOutcome[]; summary: RunSummary }> {
    await this.o.modules.load([call.module]);
    const pb = taskCallPlaybook(this.o.modules, pattern, call);
    const hosts = this.targets(pattern);
    this.collected = new Map();
    const summary = await this.run(pb);
    return { outcomes: hosts.map((h) => this.collected?.get(h) ?? noResult(h)), summary };
  }

  /** Gathers facts on the hosts of a pattern (--limit applied) as a play's gather_facts does, without become; nothing is kept for --resume. */
  async gatherFactsOn(pattern: string): Promise<{ outcomes: HostFactsOutcome[]; summary: RunSummary }> {
    const hosts = this.targets(pattern);
    this.collected = new Map();
    this.factsOnly = true;
    const summary = await this.run(factsPlaybook(pattern));
    const outcomes = hosts.map((h): HostFactsOutcome => {
      const o = this.collected?.get(h) ?? noResult(h);
      const facts = this.hosts.get(h)?.facts?.ferry_facts as Facts | undefined;
      return o.status === 'ok' && facts ? { ...o, facts } : o;
    });
    return { outcomes, summary };
  }

  private get interrupted(): boolean {
    return this.stopping.signal.aborted;
  }

  /** The first abort of the run's signal: stop what runs, start nothing but always: sections, and only for a while. */
  private interrupt(reason: unknown): void {
    if (this.interrupted) return;
    const cleanupTimeoutMs = this.o.cleanupTimeoutMs ?? 60_000;
    const why = reason instanceof Error ? reason.message : 'interrupted';
    this.emit({ type: 'interrupt', reason: why, running: this.inFlight.list(), cleanupTimeoutMs });
    this.stopping.abort(reason instanceof Error ? reason : new InterruptedError());
    this.cleanupTimer = setTimeout(
      () => this.cleanupOver.abort(new FerryError(`${why}; always: blocks were stopped ${cleanupTimeoutMs / 1000} s later`)),
      cleanupTimeoutMs,
    );
  }

  /** After an interrupt nothing starts, except inside always: sections until their time is over. */
  private stopped(inh: Inherited): boolean {
    return this.interrupted && (!inh.cleanup || this.cleanupOver.signal.aborted);
  }

  /** The signal that stops a task's commands. */
  private signalFor(inh: Inherited): AbortSignal {
    return inh.cleanup ? this.cleanupOver.signal : this.stopping.signal;
  }

  /** What stops a task's commands and waits: an interrupt, or the task's own timeout. */
  private stopSignal(inh: Inherited): AbortSignal {
    return inh.deadline ? AbortSignal.any([this.signalFor(inh), inh.deadline]) : this.signalFor(inh);
  }

  /** A host's pooled transport as one task uses it: stopped by the task's signal, its commands tracked. */
  private forTask(t: Transport, task: string, inh: Inherited): Transport {
    // -vvv: each command as it starts (masked); never a no_log task's.
    const onStart = this.o.commandEvents && !inh.noLog ? (c: LiveCommand): void => this.emit({ type: 'command', ...c }) : undefined;
    return new InFlightTransport(t, this.stopSignal(inh), this.inFlight, task, onStart);
  }

  /** The key a task's completion is recorded under: its identity, and the include loop iteration it runs in. */
  private taskKey(task: TaskNode, inh: Inherited): string {
    return `${this.ids?.keys.get(task) ?? task.id}${inh.scope ?? ''}`;
  }

  private async runPlay(play: Play): Promise<void> {
    const hosts = this.targets(play.hosts);
    this.emit({ type: 'play_start', play: play.name, hosts, loc: formatLoc(play.loc) });
    if (hosts.length === 0) return;
    if (!this.playSelected(play)) return;
    const varsFiles = play.varsFromFiles;
    for (const h of hosts) {
      const st = this.host(h);
      st.failed = false;
      st.ended = false;
    }
    for (const batch of serialBatches(hosts, play.serial)) {
      const ctx: PlayRun = { play, batch, varsFiles, aborted: false, handlers: [...play.handlers] };
      const inh: Inherited = {
        when: play.when ?? [],
        become: play.become,
        becomeUser: play.becomeUser,
        tags: play.tags,
        vars: [],
        anyErrorsFatal: play.anyErrorsFatal,
        environment: play.environment !== undefined ? [play.environment] : undefined,
        throttle: play.throttle,
      };
      // The `when:` of the import_playbook that brought the play in also decides who gathers facts (as in Ansible).
      if (play.gatherFacts) await this.gatherFacts(ctx, play.when?.length ? (h) => this.whenTrue(ctx, h, inh, {}) : undefined);
      const walk = this.walk();
      if (play.strategy === 'free') await Promise.all(batch.map((h) => walkNodes(walk, ctx, play.tasks, [h], inh)));
      else await walkNodes(walk, ctx, play.tasks, batch, inh);
      await this.runHandlers(ctx, batch);
      if (ctx.aborted || this.interrupted) break;
    }
  }

  private playSelected(play: Play): boolean {
    // A play's tags are inherited by its tasks; selection happens per task.
    return play.tasks.length > 0 || play.handlers.length > 0 || this.factsOnly;
  }

  /** What walking a play's nodes (runner/walk.ts) needs of this run. */
  private walk(): NodeWalk {
    return {
      modules: this.o.modules,
      vault: this.o.vault,
      ids: this.ids,
      host: (h) => this.host(h),
      stopped: (inh) => this.stopped(inh),
      tagged: (tags) => this.tagged(tags),
      vars: (ctx, h, inh, task) => this.vars(ctx, h, inh, task),
      whenTrue: (ctx, h, inh, extra) => this.whenTrue(ctx, h, inh, extra),
      runTask: (ctx, task, hosts, inh) => this.runTask(ctx, task, hosts, inh),
      runHandlers: (ctx, hosts) => this.runHandlers(ctx, hosts),
      failed: (ctx, h, task, module, e) => this.result(h, task, module, failure(e), Date.now()),
      rescued: (h) => countRescued(this.recap[h]!),
    };
  }

  private async gatherFacts(ctx: PlayRun, wanted: (host: string) => boolean = () => true): Promise<void> {
    const hosts = activeHosts(ctx.batch, (h) => this.host(h)).filter((h) => !this.host(h).facts && whenOrError(() => wanted(h)));
    if (!hosts.length || this.interrupted) return;
    // Ansible's name for the implicit setup task, so output and --start-at-task read the same
    const name = 'Gathering Facts';
    this.emit({ type: 'task_start', play: ctx.play.name, task: name, module: 'gather_facts', loc: formatLoc(ctx.play.loc), hosts });
    // gathered with the play's become, as Ansible does (lvm reports need root)
    const inh: Inherited = { when: [], tags: [], vars: [], become: ctx.play.become, becomeUser: ctx.play.becomeUser };
    await Promise.all(
      hosts.map((h) =>
        this.scheduler.fork(async () => {
          const t0 = Date.now();
          if (this.stopped(inh)) return this.result(h, name, 'gather_facts', notStarted(), t0);
          if (this.pool.reachedOnlyByDelegation(h)) {
            const msg = 'ferry_connection: none: the host is reached only through delegate_to, so it has no facts of its own';
            return this.result(h, name, 'gather_facts', { status: 'skipped', result: { skipped: true, changed: false }, msg }, t0);
          }
          try {
            const t = this.forTask(await this.pool.transport(h), name, inh);
            this.host(h).facts = factsVars(await readFacts((c) => t.run(c, { become: this.pool.becomeFor(h, inh) }), this.o.factTools));
            this.result(h, name, 'gather_facts', { status: 'ok', result: {} }, t0);
          } catch (e) {
            const signal = this.signalFor(inh);
            this.result(h, name, 'gather_facts', signal.aborted ? interruptedOutcome(signal) : failure(e), t0);
          }
        }),
      ),
    );
  }

  private tagged(tags: string[]): boolean {
    return selectedByTags(tags, this.o.tags ?? [], this.o.skipTags ?? []);
  }

  private async runTask(ctx: PlayRun, task: TaskNode, hosts: string[], inh: Inherited): Promise<void> {
    const name = taskDisplayName(task);
    if (!this.startAtFound) {
      // A role's task may be named as output shows it, `role : task`, as with ansible-playbook.
      if (task.name === this.o.startAtTask || name === this.o.startAtTask) this.startAtFound = true;
      else return;
    }
    if (!this.tagged(inh.tags)) return;
    if (this.o.step && !this.stepAll) {
      const answer = await this.o.step(name);
      if (answer === 'no') return;
      if (answer === 'continue') this.stepAll = true;
    }
    this.emit({ type: 'task_start', play: ctx.play.name, task: name, module: task.module, loc: formatLoc(task.loc), hosts, ...(inh.tags.length ? { tags: inh.tags } : {}) });
    const once = task.runOnce || this.o.modules.get(task.module)?.runsOnce === true;
    const runHosts = once ? hosts.slice(0, 1) : hosts;
    const run = this.taskRun();
    await Promise.all(runHosts.map((h) => this.schedule(ctx, task, h, inh, () => runTaskOnHost(run, ctx, task, h, inh))));
    if (once && runHosts[0]) {
      // run_once: every host of the batch sees the one result.
      const src = this.host(runHosts[0]);
      if (task.register) for (const h of hosts.slice(1)) this.remember(this.host(h), { [task.register]: src.registered[task.register] });
    }
    const failedNow = hosts.filter((h) => this.host(h).failed);
    if (failedNow.length && (inh.anyErrorsFatal || ctx.play.anyErrorsFatal)) {
      for (const h of ctx.batch) this.host(h).ended = true;
      ctx.aborted = true;
    }
    const mfp = ctx.play.maxFailPercentage;
    if (mfp !== undefined) {
      const failed = ctx.batch.filter((h) => this.host(h).failed || this.host(h).unreachable).length;
      if ((failed / ctx.batch.length) * 100 > mfp) {
        for (const h of ctx.batch) this.host(h).ended = true;
        ctx.aborted = true;
      }
    }
  }

  /** Stores registered / set values of a host (and drops the hostvars view built from them). */
  private remember(st: HostState, values: Obj): void {
    this.scope.remember(st, values);
  }

  /** A task's variables on a host (runner/scope.ts). */
  private vars(ctx: PlayRun, h: string, inh: Inherited, task: Obj): Obj {
    return this.scope.vars(ctx, this.host(h), inh, task);
  }

  private whenTrue(ctx: PlayRun, h: string, inh: Inherited, extra: Obj): boolean {
    if (!inh.when.length) return true;
    const vars = { ...this.vars(ctx, h, inh, {}), ...extra };
    return inh.when.every((c) => evaluateCondition(c.expr, vars));
  }

  /** Runs one host's share of a task when its fork, `throttle` and `limits` allow (runner/scheduler.ts). */
  private schedule(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, fn: () => Promise<void>): Promise<void> {
    let held: [string, number][] = [];
    if (inh.limits?.length && !this.skipsWithoutLimits(ctx, task, h, inh)) {
      try {
        held = resourceLimits(inh.limits, this.vars(ctx, h, inh, {}), h);
      } catch (e) {
        this.result(h, taskDisplayName(task), task.module, failure(e), Date.now());
        return Promise.resolve();
      }
    }
    const onWait = (key: string, max: number): void => this.emit({ type: 'progress', host: h, task: taskDisplayName(task), progress: { message: `waiting for ${key} (at most ${max} at once)` } });
    return this.scheduler.run(task, inh.throttle, held, fn, onWait);
  }

  /** A task whose `when` is false for the host skips at once: it waits for no resource (a loop's `when` is per item: it waits). */
  private skipsWithoutLimits(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited): boolean {
    if (task.loop !== undefined || !inh.when.length) return false;
    try {
      return whenFalse(inh.when, this.vars(ctx, h, inh, task.vars)) !== undefined;
    } catch {
      return false; // the task itself reports what is wrong with its condition
    }
  }

  /** What running one task on one host (runner/run-task.ts) needs of this run. */
  private taskRun(): TaskRun {
    return {
      modules: this.o.modules,
      check: this.check,
      diff: this.o.diff ?? false,
      verbosity: this.o.verbosity ?? 0,
      factTools: this.o.factTools,
      stopGraceMs: this.o.stopGraceMs ?? 10_000,
      secrets: this.secrets,
      state: this.state,
      host: (h) => this.host(h),
      hostVars: (h) => this.o.inventory.hostVars(h),
      vars: (ctx, h, inh, task) => this.vars(ctx, h, inh, task),
      remember: (st, values) => this.remember(st, values),
      taskKey: (task, inh) => this.taskKey(task, inh),
      stopped: (inh) => this.stopped(inh),
      signalFor: (inh) => this.signalFor(inh),
      stopSignal: (inh) => this.stopSignal(inh),
      transport: async (h, task, inh) => this.forTask(await this.pool.transport(h), task, inh),
      become: (h, inh, vars) => this.pool.becomeFor(h, inh, vars),
      emit: (ev) => this.emit(ev),
      result: (h, task, module, o, t0, how) => this.result(h, task, module, o, t0, how),
    };
  }

  /** Runs the handlers the hosts notified (runner/handlers.ts), each as a task of the play. */
  private runHandlers(ctx: PlayRun, hosts: string[]): Promise<void> {
    const run = this.taskRun();
    return runHandlers(
      {
        play: ctx.play,
        handlers: ctx.handlers,
        forceHandlers: this.o.forceHandlers,
        interrupted: () => this.interrupted,
        host: (h) => this.host(h),
        emit: (ev) => this.emit(ev),
        runOn: (handler, h, inh) => this.schedule(ctx, handler, h, inh, () => runTaskOnHost(run, ctx, handler, h, inh)),
      },
      hosts,
    );
  }

  /** Counts a host's result in the recap and reports it; a no_log task's event carries no result values. */
  private result(h: string, task: string, module: string, o: TaskOutcome, t0: number, how: ResultHow = {}): void {
    const st = this.host(h);
    countOutcome(this.recap[h]!, st, o);
    this.emit(taskResultEvent(h, task, module, o, Date.now() - t0, how));
    // what executeTask hands back: the result as registered (a no_log one as it prints), the msg as events show it
    this.collected?.set(h, { host: h, status: o.status, result: how.noLog ? censoredView(o.result) : o.result, ...(o.msg !== undefined ? { msg: this.secrets.mask(o.msg) } : {}) });
  }
}
