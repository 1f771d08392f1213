// Runs a playbook: plays over hosts (linear or free strategy, serial batches), tasks with tag
// selection, one task on one host (loops, retries, when, check mode), facts, interrupts. Beside it:
// walk (blocks, includes, roles), scope (each task's variables), connection-pool, scheduler,
// handlers, recap, resume, task-outcome.
import { setMaxListeners } from 'node:events';
import { SECRET_MASK } from './command.js';
import { ConnectionPool, type TransportFactory } from './connection-pool.js';
import { EXIT_INTERRUPTED, FerryError, InterruptedError, TaskFailedError, UnreachableError, formatLoc } from './errors.js';
import { emptyRecap, silentReporter, type FerryEvent, type HostRecap, type Reporter, type TaskStatus } from './events.js';
import { factsVars, readFacts } from './facts/index.js';
import { applyPlan, stepCommands } from './apply-steps.js';
import { planTask, type ModuleRegistry, type PeerHost, type Verdict } from './module.js';
import { parseParams } from './playbook/params.js';
import { taskDisplayName, type Condition, type Play, type Playbook, type TaskNode } from './playbook/model.js';
import { NO_LOG_MESSAGE, SecretValues, censorResult, censoredView, maskEvent } from './secrets.js';
import { factsPlaybook, noResult, taskCallPlaybook, type HostFactsOutcome, type HostTaskOutcome, type TaskCall } from './execute-task.js';
import type { Facts } from './facts/index.js';
import type { VaultKeys } from './vault/keys.js';
import type { InventoryView } from './inventory-view.js';
import type { RunState } from './state.js';
import { openRunState } from './resume.js';
import { readsOnly, skippedOnResume, taskIdentities, type TaskIdentities } from './task-identity.js';
import { createTaskContext } from './task-context.js';
import { evaluateCondition, renderDeep, renderString } from './template.js';
import { SET_VARS_KEY, dependentChange, eventResult, failure, interruptedOutcome, notStarted, outcomeChanged, timedOut, type TaskOutcome } from './task-outcome.js';
import { selectedByTags } from './tags.js';
import type { Inherited } from './inherited.js';
import type { HostState } from './host-state.js';
import { runHandlers } from './handlers.js';
import { countOutcome, countRescued, exitCodeOf, taskResultEvent, type ResultHow } from './recap.js';
import { serialBatches } from './serial-batches.js';
import { Scheduler, resourceLimits } from './scheduler.js';
import { whenFalse, whenOrError } from './conditions.js';
import { renderEnvironment } from './environment.js';
import { settledOrAbandoned } from './settled-or-abandoned.js';
import { UndefinedVariableError } from './expr/errors.js';
import { wrapChroot } from './transport/chroot.js';
import { InFlight, InFlightTransport, type LiveCommand } from './transport/in-flight.js';
import type { Transport } from './transport/types.js';
import { sleep } from './sleep.js';
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
      failed: (ctx, h, task, module, e) => this.result(ctx, h, task, module, failure(e), Date.now()),
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
          if (this.stopped(inh)) return this.result(ctx, h, name, 'gather_facts', notStarted(), t0);
          if (this.pool.reachedOnlyByDelegation(h)) {
            const msg = 'ferry_connection: none: the host is reached only through delegate_to, so it has no facts of its own';
            return this.result(ctx, h, name, 'gather_facts', { status: 'skipped', result: { skipped: true, changed: false }, msg }, t0);
          }
          try {
            const t = this.forTask(await this.pool.transport(h), name, inh);
            this.host(h).facts = factsVars(await readFacts((c) => t.run(c, { become: this.pool.becomeFor(h, inh) }), this.o.factTools));
            this.result(ctx, h, name, 'gather_facts', { status: 'ok', result: {} }, t0);
          } catch (e) {
            const signal = this.signalFor(inh);
            this.result(ctx, h, name, 'gather_facts', signal.aborted ? interruptedOutcome(signal) : failure(e), t0);
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
    await Promise.all(runHosts.map((h) => this.schedule(ctx, task, h, inh, () => this.runTaskOnHost(ctx, task, h, inh))));
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
        this.result(ctx, h, taskDisplayName(task), task.module, failure(e), Date.now());
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

  private async runTaskOnHost(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited): Promise<void> {
    const t0 = Date.now();
    const name = taskDisplayName(task);
    const st = this.host(h);
    // queued before an interrupt (forks): it never started
    if (this.stopped(inh)) return this.result(ctx, h, name, task.module, notStarted(), t0, { tags: inh.tags });
    const key = this.taskKey(task, inh);
    if (this.state?.completed(h, key) && skippedOnResume({ module: task.module, reads: readsOnly(task) }, (m) => this.o.modules.get(m)?.runsEveryTime === true)) {
      // Resume: a command that completed is not run again; its registered value is restored.
      // Every other module is re-planned: it reports no change, or restores what an always: undid;
      // and a command that only reads (changed_when: false) reads again, as what it read may have changed.
      const saved = this.state.registered(h, key);
      if (task.register && saved !== undefined) this.remember(st, { [task.register]: saved });
      const lost = task.register && saved === undefined ? `; its registered value '${task.register}' was not kept (no_log, or it held a secret)` : '';
      this.result(ctx, h, name, task.module, { status: 'skipped', result: {}, msg: `completed in the run being resumed${lost}` }, t0, { tags: inh.tags });
      return;
    }
    let vars: Obj | undefined;
    // `timeout:` stops the task's commands and waits, as an interrupt would, and fails the task.
    const deadline = task.timeout ? AbortSignal.timeout(task.timeout * 1000) : undefined;
    if (deadline) inh = { ...inh, deadline };
    const work = (async (): Promise<TaskOutcome> => {
      try {
        vars = this.vars(ctx, h, inh, task.vars);
        if (task.loop !== undefined) return await this.runLoop(ctx, task, h, inh, vars);
        const skip = whenFalse(inh.when, vars);
        return skip ? { status: 'skipped', result: { skipped: true, changed: false }, msg: skip } : await this.runWithRetries(ctx, task, h, inh, vars);
      } catch (e) {
        return this.check && st.wouldChange && !(e instanceof UnreachableError) ? dependentChange(e) : failure(e);
      }
    })();
    const signal = this.signalFor(inh);
    const settled = work.then((o) => ({ o, late: deadline?.aborted ?? false }));
    const ended = await settledOrAbandoned(settled, deadline ? AbortSignal.any([signal, deadline]) : signal, this.o.stopGraceMs ?? 10_000);
    // Whatever it returned, a task that was running at the interrupt did not complete: --resume runs it again.
    const outcome: TaskOutcome = signal.aborted ? interruptedOutcome(signal) : !ended || ended.late ? timedOut(task.timeout!, ended?.o) : ended.o;
    if (outcome.status === 'failed' && inh.ignoreErrors) outcome.ignored = true;
    if (inh.noLog) {
      // no_log: what the result holds is masked wherever it shows up later, the result itself prints
      // censored (debug var, the run state), and the events get neither its message, steps nor diff.
      this.secrets.addResult(outcome.result);
      censorResult(outcome.result);
      if (outcome.status !== 'unreachable') outcome.msg = NO_LOG_MESSAGE;
      delete outcome.diff;
      delete outcome.steps;
      delete outcome.commands;
    }
    if (task.register) this.remember(st, { [task.register]: outcome.result });
    const setVars = outcome.result[SET_VARS_KEY];
    if (setVars && typeof setVars === 'object' && outcome.status !== 'failed') this.remember(st, setVars as Obj);
    if (outcome.status === 'changed') for (const n of task.notify) st.notified.add(n);
    this.result(ctx, h, name, task.module, outcome, t0, { delegatedTo: inh.delegateTo ? this.delegateName(inh, vars) : undefined, noLog: inh.noLog, tags: inh.tags });
    if (outcome.status === 'changed' && this.check) st.wouldChange = true;
    if (outcome.status === 'ok' || outcome.status === 'changed' || outcome.ignored) {
      // The run state never holds a secret: a registered value that shows one is not kept.
      const keep = task.register && !inh.noLog && !this.secrets.appearsIn(outcome.result);
      await this.state?.markCompleted(h, key, keep ? outcome.result : undefined);
    }
  }

  /**
   * The delegate host's name for reports, rendered with the variables the task ran with (task vars
   * included); the template as written when it cannot be rendered (a loop's per-item delegate).
   */
  private delegateName(inh: Inherited, vars: Obj | undefined): string {
    if (!vars) return inh.delegateTo!;
    try {
      return String(renderString(inh.delegateTo!, vars));
    } catch {
      return inh.delegateTo!;
    }
  }

  private async runLoop(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
    const items = typeof task.loop === 'string' ? renderString(task.loop, vars, task.loc) : renderDeep(task.loop, vars, task.loc);
    if (!Array.isArray(items)) {
      throw new TaskFailedError(`${formatLoc(task.loc)}: loop must be a list, got ${items === null ? 'null' : typeof items}: ${JSON.stringify(items)?.slice(0, 80)}`);
    }
    const results: Obj[] = [];
    let changed = false;
    let failed = false;
    let allSkipped = items.length > 0;
    const msgs: string[] = [];
    for (const [index, item] of items.entries()) {
      if (this.stopped(inh)) break;
      const loopVars = { [task.loopControl.loopVar]: item, ansible_loop: { index: index + 1, index0: index, length: items.length } };
      const ivars = { ...this.vars(ctx, h, inh, { ...task.vars, ...loopVars }), ...loopVars };
      const label = task.loopControl.label ? String(renderString(task.loopControl.label, ivars, task.loc)) : typeof item === 'string' ? item : JSON.stringify(item);
      const skip = whenFalse(inh.when, ivars);
      const o = skip ? { status: 'skipped' as const, result: { skipped: true, changed: false }, msg: skip } : await this.runWithRetries(ctx, task, h, inh, ivars);
      const itemResult = { ...o.result, item, ansible_loop_var: task.loopControl.loopVar };
      if (inh.noLog) {
        this.secrets.addResult({ label, result: itemResult });
        censorResult(itemResult);
      }
      results.push(itemResult);
      this.emit({
        type: 'task_result', host: h, task: taskDisplayName(task), module: task.module, status: o.status,
        changed: outcomeChanged(o), msg: inh.noLog && o.status !== 'unreachable' ? NO_LOG_MESSAGE : o.msg,
        item: inh.noLog ? SECRET_MASK : label, durationMs: 0,
        ...(inh.noLog ? {} : { result: eventResult(o.result) }),
      });
      if (o.status === 'interrupted') return o;
      if (o.status !== 'skipped') allSkipped = false;
      if (outcomeChanged(o)) changed = true;
      if (o.status === 'failed' || o.status === 'unreachable') {
        failed = true;
        msgs.push(`${label}: ${o.msg ?? 'failed'}`);
        if (o.status === 'unreachable') return { status: 'unreachable', result: { results, changed, failed: true }, msg: o.msg };
      }
      if (task.loopControl.pause && !this.check) await sleep(task.loopControl.pause * 1000, this.stopSignal(inh));
    }
    // the msg Ansible's loop result registers
    const result = { results, changed, failed, skipped: allSkipped, msg: failed ? 'One or more items failed' : allSkipped ? 'All items skipped' : 'All items completed' };
    if (failed) return { status: 'failed', result, msg: `one or more items failed:\n${msgs.join('\n')}` };
    if (allSkipped) return { status: 'skipped', result, msg: 'all items skipped' };
    return { status: changed ? 'changed' : 'ok', result };
  }

  private async runWithRetries(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
    if (!task.until) return this.runOnce(ctx, task, h, inh, vars);
    const retries = task.retries ?? 3;
    const delay = (task.delay ?? 5) * 1000;
    let o: TaskOutcome = { status: 'failed', result: {} };
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      o = await this.runOnce(ctx, task, h, inh, vars);
      if (o.status === 'unreachable' || o.status === 'interrupted') return o;
      const scope = { ...vars, ...(task.register ? { [task.register]: o.result } : {}), result: o.result };
      if (evaluateCondition(task.until.expr, scope)) {
        o.result.attempts = attempt;
        return o;
      }
      if (this.check) break;
      if (attempt <= retries) await sleep(delay, this.stopSignal(inh));
      if (this.stopped(inh)) return interruptedOutcome(this.signalFor(inh));
    }
    return { status: 'failed', result: { ...o.result, attempts: retries + 1, failed: true }, msg: `until: ${task.until.source} still false after ${retries + 1} attempts${o.msg ? `: ${o.msg}` : ''}` };
  }

  private async runOnce(ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
    const mod = this.o.modules.get(task.module)!;
    const check = inh.checkMode ?? this.check;
    let plan: Verdict | undefined;
    let result: Obj;
    let status: TaskStatus;
    let msg: string | undefined;
    let steps: string[] | undefined;
    let commands: string[] | undefined;
    try {
      // A parameter that renders to omit (`{{ x | default(omit) }}`) or to null is not given.
      const args = Object.fromEntries(Object.entries(renderDeep(task.args, vars, task.loc)).filter(([, v]) => v !== null && v !== undefined));
      const params = parseParams(mod, args, task.loc);
      const execHost = inh.delegateTo ? String(renderString(inh.delegateTo, vars, task.loc)) : h;
      const hostTransport = this.forTask(await this.pool.transport(execHost), taskDisplayName(task), inh);
      // `chroot: DIR` runs this task's commands and file operations inside a mounted guest root.
      const transport = inh.chroot ? wrapChroot(hostTransport, String(renderString(inh.chroot, vars, task.loc))) : hostTransport;
      const become = this.pool.becomeFor(execHost, inh, execHost === h ? vars : undefined);
      const taskCtx = createTaskContext({
        host: h,
        transport,
        vars,
        become,
        env: renderEnvironment(inh.environment, vars, task.loc),
        check,
        diff: this.o.diff ?? false,
        verbosity: this.o.verbosity ?? 0,
        baseDir: ctx.play.baseDir,
        ...(inh.role ? { roleDir: inh.role.path } : {}),
        onProgress: (p) => this.emit({ type: 'progress', host: h, task: taskDisplayName(task), progress: p }),
        peer: (name) => this.peer(name, taskDisplayName(task), inh),
        signal: this.stopSignal(inh),
        factTools: this.o.factTools,
      });
      // read + decide (or an old-style plan), then the one place a destructive step meets `force`.
      plan = await planTask(mod, taskCtx, params);
      if ('refused' in plan) throw new TaskFailedError(plan.refused, plan.data ?? {});
      if (!plan.changed && plan.skipped) {
        status = 'skipped';
        msg = plan.reason;
        result = { ...plan.data, changed: false, failed: false, skipped: true, skipped_reason: plan.reason };
      } else if (!plan.changed) {
        status = 'ok';
        msg = plan.reason;
        // a module's own msg (Ansible's, often '' for no change) is what register stores; else the reason
        result = { msg: plan.reason, ...plan.data, changed: false, failed: false };
      } else if (check) {
        status = 'changed';
        msg = `would run: ${plan.steps.map((s) => s.title).join('; ')}`;
        steps = plan.steps.map((s) => s.title);
        commands = stepCommands(plan.steps);
        result = { ...plan.data, changed: true, failed: false, steps };
      } else {
        const data = await applyPlan(mod, taskCtx, params, plan);
        // A module whose steps turned out to change nothing says so (apt: a cache update, then nothing to install).
        status = data.changed === false ? 'ok' : 'changed';
        result = { ...plan.data, ...data, changed: status === 'changed', failed: false };
      }
      if (check && plan.partial) {
        result.check_mode_partial = plan.partial;
        msg = `${msg} (check mode is partial: ${plan.partial})`;
      }
      if ('exitCode' in result && !('rc' in result)) result.rc = result.exitCode;
    } catch (e) {
      if (this.signalFor(inh).aborted) return interruptedOutcome(this.signalFor(inh));
      // Check mode: a task that cannot be rendered or planned because an earlier task would have
      // changed the host first is reported as a change, not as a failure (and not silently skipped).
      if (check && this.host(h).wouldChange && !(e instanceof UnreachableError)) return dependentChange(e);
      const f = failure(e);
      // a step that failed: the event names what had been planned (a title says why it was planned)
      if (!check && plan && 'steps' in plan && plan.changed) f.steps = plan.steps.map((s) => s.title);
      if (f.status === 'unreachable' || (!task.failedWhen.length && !task.changedWhen.length)) return f;
      if (f.steps) steps = f.steps;
      status = 'failed';
      result = f.result;
      msg = f.msg;
    }
    const scope = { ...vars, ...(task.register ? { [task.register]: result } : {}), result };
    // Check mode: a condition on what planned steps would print (rc, stdout) is known only after a
    // real run; it leaves the planned outcome as it is instead of failing the task.
    const planned = check && steps !== undefined;
    const holds = (c: Condition): boolean | undefined => {
      try {
        return evaluateCondition(c.expr, scope);
      } catch (e) {
        const root = e instanceof UndefinedVariableError ? e.variable.split(/[.[]/)[0] : undefined;
        if (planned && (root === 'result' || root === task.register)) return undefined;
        throw e;
      }
    };
    const holdsOrUnknown = (c: Condition): boolean | undefined => {
      try {
        return holds(c);
      } catch {
        return undefined;
      }
    };
    if (task.changedWhen.length) {
      // As in Ansible, changed_when decides a failed result's changed too (a failing command with
      // changed_when: false is unchanged); one it cannot be read on leaves the failure as it is.
      const failed = status === 'failed';
      const verdicts = task.changedWhen.map((c) => (failed ? holdsOrUnknown(c) : holds(c)));
      if (!verdicts.includes(undefined)) {
        const changed = verdicts.every(Boolean);
        if (!failed) status = changed ? 'changed' : 'ok';
        result.changed = changed;
      }
    }
    if (task.failedWhen.length) {
      const verdicts = task.failedWhen.map(holds);
      const failed = verdicts.some(Boolean);
      if (verdicts.includes(undefined)) result.check_mode_dependent = true;
      if (failed) {
        status = 'failed';
        msg = `failed_when: ${task.failedWhen.map((c) => c.source).join(' or ')}`;
      } else if (status === 'failed') status = result.changed ? 'changed' : 'ok';
      result.failed = failed;
      // what Ansible registers of the condition's verdict
      if (!verdicts.includes(undefined)) result.failed_when_result = failed;
    }
    const diff = plan && 'diff' in plan ? plan.diff : undefined;
    return { status, result, msg, ...(diff && status === 'changed' ? { diff } : {}), ...(steps ? { steps } : {}), ...(commands?.some(Boolean) ? { commands } : {}) };
  }

  private async peer(name: string, task: string, inh: Inherited): Promise<PeerHost> {
    const transport = this.forTask(await this.pool.transport(name), task, inh);
    return { name, transport, become: this.pool.becomeFor(name, inh), vars: this.o.inventory.hostVars(name) };
  }

  /** Runs the handlers the hosts notified (runner/handlers.ts), each as a task of the play. */
  private runHandlers(ctx: PlayRun, hosts: string[]): Promise<void> {
    return runHandlers(
      {
        play: ctx.play,
        handlers: ctx.handlers,
        forceHandlers: this.o.forceHandlers,
        interrupted: () => this.interrupted,
        host: (h) => this.host(h),
        emit: (ev) => this.emit(ev),
        runOn: (handler, h, inh) => this.schedule(ctx, handler, h, inh, () => this.runTaskOnHost(ctx, handler, h, inh)),
      },
      hosts,
    );
  }

  /** Counts a host's result in the recap and reports it; a no_log task's event carries no result values. */
  private result(_ctx: PlayRun, h: string, task: string, module: string, o: TaskOutcome, t0: number, how: ResultHow = {}): void {
    const st = this.host(h);
    countOutcome(this.recap[h]!, st, o);
    this.emit(taskResultEvent(h, task, module, o, Date.now() - t0, how));
    // what executeTask hands back: the result as registered (a no_log one as it prints), the msg as events show it
    this.collected?.set(h, { host: h, status: o.status, result: how.noLog ? censoredView(o.result) : o.result, ...(o.msg !== undefined ? { msg: this.secrets.mask(o.msg) } : {}) });
  }
}
