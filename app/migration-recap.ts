// `ferry migrate`'s recap per guest, read from the run's events: the phases come from the tags the
// shipped playbooks put on their tasks (preflight, precopy, shutdown, copy, convert, define, boot), so a user's own
// playbook tagged the same way gets the same recap. Pure: the CLI feeds it the events it saw.
import type { FerryEvent, Reporter } from '../runner/events.js';
import { humanBytes, humanDuration } from '../runner/reporter/format.js';
import { phaseOf } from '../runner/reporter/phase.js';

/** The phases of a migration, in order, as tags on the playbook's tasks. */
export const PHASES = ['preflight', 'precopy', 'shutdown', 'copy', 'convert', 'define', 'boot'] as const;
export type Phase = (typeof PHASES)[number];

type Result = Extract<FerryEvent, { type: 'task_result' }>;

/** One guest's migration, as the recap shows it. */
export interface GuestRecap {
  guest: string;
  /** done: something changed; unchanged: nothing had to (converted already); planned: --check found changes to make. */
  result: 'done' | 'unchanged' | 'planned' | 'refused' | 'failed' | 'unreachable' | 'interrupted';
  /** The task that failed, was refused or was interrupted, and why. */
  task?: string;
  msg?: string;
  /** rsync or dd: the copy module that ran (or would run, with --check). */
  method?: 'rsync' | 'dd';
  /** The hypervisor the preflight ran on (the Xen host), and the KVM host: where the copy landed or the domain was defined. */
  source?: string;
  destination?: string;
  /** Bytes the copy moved (rsync: its progress total; dd: the size copied). */
  bytesCopied?: number;
  /** Milliseconds spent in each phase that ran (the tasks tagged with it that were not skipped, added up). */
  phases: Partial<Record<Phase, number>>;
  /**
   * The time the guest cannot run (its tasks' times, see offlineOf): to the end of its boot check when one
   * ran, else to the end of the run; from the shutdown when ferry stopped it, else from the preflight
   * (no boot check) or from the first phase that changed something (boot check).
   */
  offlineMs: number;
  /** What the shutdown phase (shutdown_guest) did: stopped the guest, would (--check), or did not stop it; absent when it had nothing to stop. */
  shutdown?: 'stopped' | 'planned' | 'failed';
  /** What the boot check (boot_check in the boot phase, verify_boot) found: a login prompt, none, or it would look (--check); absent when it did not run (booted before, not asked). */
  boot?: 'booted' | 'planned' | 'failed';
}

const COPY_METHODS: Record<string, 'rsync' | 'dd'> = { rsync: 'rsync', blockcopy: 'dd' };

/** The boot check's task: the boot_check module in the boot phase. */
const isBootCheck = (e: Result) => e.module === 'boot_check' && phaseOf(e.tags, PHASES) === 'boot';

/** What a boot check's result says; undefined when it did not look (a `when` or --resume skipped it, it was cut short). */
function bootOf(e: Result, check: boolean): GuestRecap['boot'] {
  if (e.status === 'failed' && !e.ignored) return 'failed';
  // a skip of its own (--check: nothing was started) carries its reason; a `when` or --resume skip does not
  const looked = e.status === 'ok' || e.status === 'changed' || (e.status === 'skipped' && e.result?.skipped_reason !== undefined);
  return looked ? (check ? 'planned' : 'booted') : undefined;
}

/**
 * The time a guest cannot run, from its results in order: the times of its phases' tasks that ran, from
 * the shutdown when ferry stopped it (it ran through the preflight), else from the first task (no boot
 * check: it was stopped before the preflight) or from the first phase that changed something (a boot
 * check ran: the copy, usually); up to the end of the boot check when one ran (the shutdown after it
 * is not downtime: the guest was up), else of the last task.
 */
function offlineOf(results: readonly Result[], r: Pick<GuestRecap, 'shutdown' | 'boot'>): number {
  const phase = (e: Result) => phaseOf(e.tags, PHASES);
  const end = r.boot !== undefined ? results.findLastIndex(isBootCheck) : results.length - 1;
  let start = 0;
  if (r.shutdown === 'stopped') start = results.findIndex((e) => phase(e) === 'shutdown');
  else if (r.boot !== undefined) {
    const changing = results.find((e) => e.changed && phase(e) !== undefined);
    start = changing ? results.findIndex((e) => phase(e) === phase(changing)) : end + 1;
  }
  return results.slice(start, end + 1).reduce((ms, e) => (phase(e) !== undefined && e.status !== 'skipped' ? ms + e.durationMs : ms), 0);
}

/** Each guest's recap, in the order the guests first appear in the events (a --check run says so in its run_start). */
export function migrationRecap(events: readonly FerryEvent[]): GuestRecap[] {
  const check = events.some((ev) => ev.type === 'run_start' && ev.check);
  const guests = new Map<string, { results: Result[]; progress: Map<string, number> }>();
  const of = (h: string) => guests.get(h) ?? guests.set(h, { results: [], progress: new Map() }).get(h)!;
  for (const ev of events) {
    if (ev.type === 'task_result' && ev.item === undefined) of(ev.host).results.push(ev);
    // rsync reports its running total; the last (largest) one is what it moved
    if (ev.type === 'progress' && ev.progress.bytes !== undefined) {
      const p = of(ev.host).progress;
      p.set(ev.task, Math.max(p.get(ev.task) ?? 0, ev.progress.bytes));
    }
  }
  return [...guests].map(([guest, { results, progress }]) => {
    const r: GuestRecap = { guest, result: 'unchanged', phases: {}, offlineMs: 0 };
    let bytes: number | undefined;
    let copiedTo: string | undefined;
    for (const e of results) {
      const phase = phaseOf(e.tags, PHASES);
      // a phase whose tasks were all skipped (kvm_define=false, converted already) did not run
      if (phase && e.status !== 'skipped') {
        r.phases[phase] = (r.phases[phase] ?? 0) + e.durationMs;
      }
      if (phase === 'shutdown' && e.status !== 'ok' && e.status !== 'skipped') r.shutdown = e.status !== 'changed' ? 'failed' : check ? 'planned' : 'stopped';
      if (isBootCheck(e) && r.boot !== 'failed') {
        const boot = bootOf(e, check);
        if (boot) r.boot = boot;
      }
      // (a resumed run skips the preflight: the copy's and conversion's hosts say it then)
      if (phase && phase !== 'define' && phase !== 'boot' && e.delegatedTo) r.source ??= e.delegatedTo;
      const method = COPY_METHODS[e.module];
      // the KVM host: where the domain was defined, else where the copy landed (a move's other host)
      if (phase === 'define' && e.delegatedTo && e.status !== 'skipped') r.destination ??= e.delegatedTo;
      if (method && e.delegatedTo && e.status !== 'skipped') copiedTo ??= e.delegatedTo;
      if (method && e.status !== 'skipped') {
        r.method = method;
        const moved = progress.get(e.task) ?? (typeof e.result?.bytes === 'number' ? e.result.bytes : undefined);
        if (moved !== undefined && e.status === 'changed' && !check) bytes = (bytes ?? 0) + moved;
      }
      if (r.result === 'unchanged' || r.result === 'done' || r.result === 'planned') {
        if (e.status === 'changed') r.result = check ? 'planned' : 'done';
        const stop = e.status === 'failed' && !e.ignored ? (phase === 'preflight' ? 'refused' : 'failed') : e.status === 'unreachable' || e.status === 'interrupted' ? e.status : undefined;
        // a command's own error output says why better than the message, which starts with the command
        const why = typeof e.result?.stderr === 'string' && e.result.stderr.trim() ? e.result.stderr.trim() : e.msg;
        if (stop) Object.assign(r, { result: stop, task: e.task, ...(why !== undefined ? { msg: why } : {}) });
      }
    }
    if (copiedTo !== undefined) r.destination ??= copiedTo;
    if (bytes !== undefined) r.bytesCopied = bytes;
    r.offlineMs = offlineOf(results, r);
    return r;
  });
}

const RESULT_WORDS: Record<GuestRecap['result'], string> = {
  done: 'migrated', unchanged: 'nothing to do (converted already)', planned: 'would be migrated (--check)',
  refused: 'refused before any change', failed: 'FAILED', unreachable: 'UNREACHABLE', interrupted: 'interrupted (run again with --resume)',
};

// a rollback changes or finds nothing to undo, or would (--check); failures read as for a migration
const ROLLBACK_WORDS: Partial<Record<GuestRecap['result'], string>> = { done: 'rolled back', unchanged: 'nothing to roll back', planned: 'would be rolled back (--check)' };

/** The recap as lines for people: one line per guest, then its phases and what went wrong (`rollback`: the recap of xen-rollback.yaml). */
export function formatMigrationRecap(rows: readonly GuestRecap[], o: { rollback?: boolean } = {}): string[] {
  const width = Math.max(0, ...rows.map((r) => r.guest.length));
  const out: string[] = [];
  for (const r of rows) {
    const where = r.source ? (r.destination && r.destination !== r.source ? ` ${r.source} → ${r.destination}` : ` on ${r.source}`) : '';
    const copied = r.bytesCopied !== undefined ? `, ${humanBytes(r.bytesCopied)} copied` : '';
    const word = o.rollback ? (ROLLBACK_WORDS[r.result] ?? RESULT_WORDS[r.result]) : RESULT_WORDS[r.result];
    out.push(`${r.guest.padEnd(width)}  ${word}${r.method ? ` by ${r.method}` : ''}${where}${copied}`);
    const phases = PHASES.filter((p) => r.phases[p] !== undefined).map((p) => `${p} ${humanDuration(r.phases[p]! / 1000)}`);
    // offline: only for a guest whose disk ferry changed (a refused or planned one stays as it was) or
    // that it shut down; not for one that did not stop when asked (it may still run)
    const changed = (r.result === 'done' || r.result === 'failed' || r.result === 'interrupted') && r.shutdown !== 'failed';
    const since = r.shutdown === 'stopped' ? ' since ferry shut it down' : '';
    const until = r.boot === 'booted' ? ' until a login prompt' : r.boot === 'failed' ? ', and its boot check found no login prompt' : '';
    const offline = changed ? `; offline ${humanDuration(r.offlineMs / 1000)}${since}${until}` : r.boot === 'planned' ? '; its boot would be checked' : '';
    if (phases.length) out.push(`${' '.repeat(width)}  ${phases.join(' · ')}${offline}`);
    if (r.task) {
      out.push(`${' '.repeat(width)}  at "${r.task}":`);
      const why = (r.msg ?? '').split('\n').filter((l) => l.trim());
      for (const l of why.slice(0, 8)) out.push(`${' '.repeat(width)}    ${l.trim()}`);
      if (why.length > 8) out.push(`${' '.repeat(width)}    … (${why.length - 8} more lines in the task's output above)`);
    }
  }
  return out;
}

/** A reporter that keeps the events the recap needs. */
export class MigrationEvents implements Reporter {
  readonly events: FerryEvent[] = [];
  emit(ev: FerryEvent): void {
    if (ev.type === 'run_start' || ev.type === 'task_result' || ev.type === 'progress') this.events.push(ev);
  }
  async close(): Promise<void> {}
}
