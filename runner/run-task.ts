// One task on one host: --resume's skip, `timeout:`, the loop and its items, `until` retries, the
// module's plan (read + decide) and its apply or check-mode verdict, changed_when / failed_when,
// no_log, register, notify, and the result reported. What it needs of the run is TaskRun; the pure
// decisions are in run-task-decisions.ts.
import { SECRET_MASK } from './command.js';
import type { ConnectionPool } from './connection-pool.js';
import { TaskFailedError, UnreachableError, formatLoc } from './errors.js';
import type { FerryEvent, TaskStatus } from './events.js';
import { applyPlan, stepCommands } from './apply-steps.js';
import { whenFalse } from './conditions.js';
import { renderEnvironment } from './environment.js';
import type { HostState } from './host-state.js';
import type { Inherited } from './inherited.js';
import { planTask, type ModuleRegistry, type PeerHost, type Verdict } from './module.js';
import { parseParams } from './playbook/params.js';
import { taskDisplayName, type TaskNode } from './playbook/model.js';
import type { ResultHow } from './recap.js';
import { judgeResult, loopOutcome, retryPolicy, untilExhausted, untilHolds, type LoopItem } from './run-task-decisions.js';
import { NO_LOG_MESSAGE, censorResult, type SecretValues } from './secrets.js';
import { settledOrAbandoned } from './settled-or-abandoned.js';
import { sleep } from './sleep.js';
import type { RunState } from './state.js';
import { createTaskContext } from './task-context.js';
import { readsOnly, skippedOnResume } from './task-identity.js';
import { SET_VARS_KEY, dependentChange, eventResult, failure, interruptedOutcome, notStarted, outcomeChanged, timedOut, type TaskOutcome } from './task-outcome.js';
import { renderDeep, renderString } from './template.js';
import { wrapChroot } from './transport/chroot.js';
import type { Transport } from './transport/types.js';
import type { PlayRun } from './walk.js';

type Obj = Record<string, unknown>;

/** What running one task on one host needs of the run it belongs to (the engine). */
export interface TaskRun {
  modules: ModuleRegistry;
  /** The run's check mode (a task's `check_mode` overrides it). */
  check: boolean;
  /** --diff: modules show what they change. */
  diff: boolean;
  /** How many -v the run was given. */
  verbosity: number;
  /** The tools whose presence gathered facts report (the setup module looks for them). */
  factTools: readonly string[];
  /** After an interrupt or a timeout: how long a running task may take to stop before the run goes on without it. */
  stopGraceMs: number;
  /** The run's secret values: a no_log result's are added, and the run state never keeps one. */
  secrets: SecretValues;
  /** The run state --resume reads and completions are recorded in (none in check mode). */
  state: RunState | undefined;
  host(name: string): HostState;
  /** A host's inventory variables (what a peer host carries). */
  hostVars(name: string): Obj;
  /** A task's variables on a host (runner/scope.ts). */
  vars(ctx: PlayRun, host: string, inh: Inherited, task: Obj): Obj;
  /** Stores registered / set values of a host. */
  remember(st: HostState, values: Obj): void;
  /** The key a task's completion is recorded under (--resume). */
  taskKey(task: TaskNode, inh: Inherited): string;
  /** After an interrupt nothing starts, except inside always: sections until their time is over. */
  stopped(inh: Inherited): boolean;
  /** The signal that stops a task's commands (an interrupt, or the end of the cleanup time). */
  signalFor(inh: Inherited): AbortSignal;
  /** What stops a task's commands and waits: signalFor, or the task's own timeout. */
  stopSignal(inh: Inherited): AbortSignal;
  /** A host's pooled transport as a task uses it: stopped by the task's signal, its commands tracked. */
  transport(host: string, task: string, inh: Inherited): Promise<Transport>;
  /** A host's become options for a task (runner/connection-pool.ts). */
  become: ConnectionPool['becomeFor'];
  /** Sends an event (masked). */
  emit(ev: FerryEvent): void;
  /** Counts a host's outcome in the recap and reports it. */
  result(host: string, task: string, module: string, o: TaskOutcome, t0: number, how?: ResultHow): void;
}

/** Runs one task on one host and reports its outcome: what a host's share of a task is. */
export async function runTaskOnHost(run: TaskRun, ctx: PlayRun, task: TaskNode, h: string, inh: Inherited): Promise<void> {
  const t0 = Date.now();
  const name = taskDisplayName(task);
  const st = run.host(h);
  // queued before an interrupt (forks): it never started
  if (run.stopped(inh)) return run.result(h, name, task.module, notStarted(), t0, { tags: inh.tags });
  const key = run.taskKey(task, inh);
  if (run.state?.completed(h, key) && skippedOnResume({ module: task.module, reads: readsOnly(task) }, (m) => run.modules.get(m)?.runsEveryTime === true)) {
    // Resume: a command that completed is not run again; its registered value is restored.
    // Every other module is re-planned: it reports no change, or restores what an always: undid;
    // and a command that only reads (changed_when: false) reads again, as what it read may have changed.
    const saved = run.state.registered(h, key);
    if (task.register && saved !== undefined) run.remember(st, { [task.register]: saved });
    const lost = task.register && saved === undefined ? `; its registered value '${task.register}' was not kept (no_log, or it held a secret)` : '';
    run.result(h, name, task.module, { status: 'skipped', result: {}, msg: `completed in the run being resumed${lost}` }, t0, { tags: inh.tags });
    return;
  }
  let vars: Obj | undefined;
  // `timeout:` stops the task's commands and waits, as an interrupt would, and fails the task.
  const deadline = task.timeout ? AbortSignal.timeout(task.timeout * 1000) : undefined;
  if (deadline) inh = { ...inh, deadline };
  const work = (async (): Promise<TaskOutcome> => {
    try {
      vars = run.vars(ctx, h, inh, task.vars);
      if (task.loop !== undefined) return await runLoop(run, ctx, task, h, inh, vars);
      const skip = whenFalse(inh.when, vars);
      return skip ? { status: 'skipped', result: { skipped: true, changed: false }, msg: skip } : await runWithRetries(run, ctx, task, h, inh, vars);
    } catch (e) {
      return run.check && st.wouldChange && !(e instanceof UnreachableError) ? dependentChange(e) : failure(e);
    }
  })();
  const signal = run.signalFor(inh);
  const settled = work.then((o) => ({ o, late: deadline?.aborted ?? false }));
  const ended = await settledOrAbandoned(settled, deadline ? AbortSignal.any([signal, deadline]) : signal, run.stopGraceMs);
  // Whatever it returned, a task that was running at the interrupt did not complete: --resume runs it again.
  const outcome: TaskOutcome = signal.aborted ? interruptedOutcome(signal) : !ended || ended.late ? timedOut(task.timeout!, ended?.o) : ended.o;
  if (outcome.status === 'failed' && inh.ignoreErrors) outcome.ignored = true;
  if (inh.noLog) {
    // no_log: what the result holds is masked wherever it shows up later, the result itself prints
    // censored (debug var, the run state), and the events get neither its message, steps nor diff.
    run.secrets.addResult(outcome.result);
    censorResult(outcome.result);
    if (outcome.status !== 'unreachable') outcome.msg = NO_LOG_MESSAGE;
    delete outcome.diff;
    delete outcome.steps;
    delete outcome.commands;
  }
  if (task.register) run.remember(st, { [task.register]: outcome.result });
  const setVars = outcome.result[SET_VARS_KEY];
  if (setVars && typeof setVars === 'object' && outcome.status !== 'failed') run.remember(st, setVars as Obj);
  if (outcome.status === 'changed') for (const n of task.notify) st.notified.add(n);
  run.result(h, name, task.module, outcome, t0, { delegatedTo: inh.delegateTo ? delegateName(inh, vars) : undefined, noLog: inh.noLog, tags: inh.tags });
  if (outcome.status === 'changed' && run.check) st.wouldChange = true;
  if (outcome.status === 'ok' || outcome.status === 'changed' || outcome.ignored) {
    // The run state never holds a secret: a registered value that shows one is not kept.
    const keep = task.register && !inh.noLog && !run.secrets.appearsIn(outcome.result);
    await run.state?.markCompleted(h, key, keep ? outcome.result : undefined);
  }
}

/**
 * The delegate host's name for reports, rendered with the variables the task ran with (task vars
 * included); the template as written when it cannot be rendered (a loop's per-item delegate).
 */
function delegateName(inh: Inherited, vars: Obj | undefined): string {
  if (!vars) return inh.delegateTo!;
  try {
    return String(renderString(inh.delegateTo!, vars));
  } catch {
    return inh.delegateTo!;
  }
}

/** Runs a task once per item of its loop, each item reported as it ends (when and until per item). */
async function runLoop(run: TaskRun, ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
  const items = typeof task.loop === 'string' ? renderString(task.loop, vars, task.loc) : renderDeep(task.loop, vars, task.loc);
  if (!Array.isArray(items)) {
    throw new TaskFailedError(`${formatLoc(task.loc)}: loop must be a list, got ${items === null ? 'null' : typeof items}: ${JSON.stringify(items)?.slice(0, 80)}`);
  }
  const done: LoopItem[] = [];
  for (const [index, item] of items.entries()) {
    if (run.stopped(inh)) break;
    const loopVars = { [task.loopControl.loopVar]: item, ansible_loop: { index: index + 1, index0: index, length: items.length } };
    const ivars = { ...run.vars(ctx, h, inh, { ...task.vars, ...loopVars }), ...loopVars };
    const label = task.loopControl.label ? String(renderString(task.loopControl.label, ivars, task.loc)) : typeof item === 'string' ? item : JSON.stringify(item);
    const skip = whenFalse(inh.when, ivars);
    const o = skip ? { status: 'skipped' as const, result: { skipped: true, changed: false }, msg: skip } : await runWithRetries(run, ctx, task, h, inh, ivars);
    const itemResult = { ...o.result, item, ansible_loop_var: task.loopControl.loopVar };
    if (inh.noLog) {
      run.secrets.addResult({ label, result: itemResult });
      censorResult(itemResult);
    }
    done.push({ label, outcome: o, result: itemResult });
    run.emit({
      type: 'task_result', host: h, task: taskDisplayName(task), module: task.module, status: o.status,
      changed: outcomeChanged(o), msg: inh.noLog && o.status !== 'unreachable' ? NO_LOG_MESSAGE : o.msg,
      item: inh.noLog ? SECRET_MASK : label, durationMs: 0,
      ...(inh.noLog ? {} : { result: eventResult(o.result) }),
    });
    if (o.status === 'interrupted') return o;
    if (o.status === 'unreachable') break;
    if (task.loopControl.pause && !run.check) await sleep(task.loopControl.pause * 1000, run.stopSignal(inh));
  }
  return loopOutcome(done, items.length);
}

/** Runs a task once, or with `until` until it holds (retries, delay); check mode tries once. */
async function runWithRetries(run: TaskRun, ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
  if (!task.until) return runOnce(run, ctx, task, h, inh, vars);
  const { retries, delayMs } = retryPolicy(task);
  let o: TaskOutcome = { status: 'failed', result: {} };
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    o = await runOnce(run, ctx, task, h, inh, vars);
    if (o.status === 'unreachable' || o.status === 'interrupted') return o;
    if (untilHolds(task, vars, o.result)) {
      o.result.attempts = attempt;
      return o;
    }
    if (run.check) break;
    if (attempt <= retries) await sleep(delayMs, run.stopSignal(inh));
    if (run.stopped(inh)) return interruptedOutcome(run.signalFor(inh));
  }
  return untilExhausted(task, o);
}

/** Runs a task's module once: plan, then apply (or the check-mode verdict), then changed_when / failed_when. */
async function runOnce(run: TaskRun, ctx: PlayRun, task: TaskNode, h: string, inh: Inherited, vars: Obj): Promise<TaskOutcome> {
  const mod = run.modules.get(task.module)!;
  const check = inh.checkMode ?? run.check;
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
    const hostTransport = await run.transport(execHost, taskDisplayName(task), inh);
    // `chroot: DIR` runs this task's commands and file operations inside a mounted guest root.
    const transport = inh.chroot ? wrapChroot(hostTransport, String(renderString(inh.chroot, vars, task.loc))) : hostTransport;
    const become = run.become(execHost, inh, execHost === h ? vars : undefined);
    const taskCtx = createTaskContext({
      host: h,
      execHost,
      transport,
      vars,
      become,
      env: renderEnvironment(inh.environment, vars, task.loc),
      check,
      diff: run.diff,
      verbosity: run.verbosity,
      baseDir: ctx.play.baseDir,
      ...(inh.role ? { roleDir: inh.role.path } : {}),
      onProgress: (p) => run.emit({ type: 'progress', host: h, task: taskDisplayName(task), progress: p }),
      peer: (name) => peer(run, name, taskDisplayName(task), inh),
      signal: run.stopSignal(inh),
      factTools: run.factTools,
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
    if (run.signalFor(inh).aborted) return interruptedOutcome(run.signalFor(inh));
    // Check mode: a task that cannot be rendered or planned because an earlier task would have
    // changed the host first is reported as a change, not as a failure (and not silently skipped).
    if (check && run.host(h).wouldChange && !(e instanceof UnreachableError)) return dependentChange(e);
    const f = failure(e);
    // a step that failed: the event names what had been planned (a title says why it was planned)
    if (!check && plan && 'steps' in plan && plan.changed) f.steps = plan.steps.map((s) => s.title);
    if (f.status === 'unreachable' || (!task.failedWhen.length && !task.changedWhen.length)) return f;
    if (f.steps) steps = f.steps;
    status = 'failed';
    result = f.result;
    msg = f.msg;
  }
  // Check mode: a condition on what planned steps would print is known only after a real run.
  const judged = judgeResult(task, vars, { status, result, msg }, check && steps !== undefined);
  const diff = plan && 'diff' in plan ? plan.diff : undefined;
  return { ...judged, ...(diff && judged.status === 'changed' ? { diff } : {}), ...(steps ? { steps } : {}), ...(commands?.some(Boolean) ? { commands } : {}) };
}

/** Another host a module reaches during the task (a relayed copy's source), with its transport and become. */
async function peer(run: TaskRun, name: string, task: string, inh: Inherited): Promise<PeerHost> {
  const transport = await run.transport(name, task, inh);
  return { name, transport, become: run.become(name, inh), vars: run.hostVars(name) };
}
