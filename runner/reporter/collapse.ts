// The terminal view past a screenful of hosts: a task whose hosts would not fit on the screen is
// drawn as one line that counts its results ("312/500 hosts: 300 changed, 10 ok, 2 failed") instead
// of a line per host, and keeps under it, after the task, the lines worth reading (failures first,
// then messages and diffs) up to a screenful. listr2 redraws its whole frame on every change, so a
// line per host costs O(hosts) per result: 100 hosts on a terminal took 13.8x the CPU of plain lines
// (bench/listr-view.ts). Pure: the reporter feeds it results and draws what it returns.
import type { FerryEvent, TaskStatus } from '../events.js';
import { formatDiffs, paint, statusColor } from './format.js';

type Final = Extract<FerryEvent, { type: 'task_result' }>;

/** The rows a terminal has when it does not say (a pty without a size, a pipe): the classic 24. */
const DEFAULT_ROWS = 24;
/** Rows left for what is not the task's hosts: the play line, the task line, the prompt, a margin. */
const RESERVED_ROWS = 6;
/** Fewer hosts than this always get a line each, however small the terminal. */
const MIN_SCREENFUL = 8;

/** How many lines the view gives a task's hosts on a terminal of `rows` rows. */
export function screenful(rows: number | undefined): number {
  return Math.max(MIN_SCREENFUL, (rows || DEFAULT_ROWS) - RESERVED_ROWS);
}

/** Whether a task of `hosts` hosts is drawn as one summary line on a terminal of `rows` rows. */
export function collapses(hosts: number, rows: number | undefined): boolean {
  return hosts > screenful(rows);
}

/** The order the counts are named in, as a recap names them. */
const ORDER: TaskStatus[] = ['changed', 'ok', 'skipped', 'failed', 'unreachable', 'interrupted'];

/** One task's results on a collapsed line: counts by status and the lines worth keeping. */
export class TaskTally {
  private readonly counts = new Map<TaskStatus, number>();
  private readonly failures: string[] = [];
  private readonly notes: string[] = [];
  private failedHard = 0;

  /** `hosts`: how many hosts run the task; `diff`: keep each host's diffs (--diff). */
  constructor(
    readonly hosts: number,
    private readonly o: { diff?: boolean; color?: boolean } = {},
  ) {}

  /** A host's final result for the task (not an item's). */
  record(r: Final): void {
    this.counts.set(r.status, (this.counts.get(r.status) ?? 0) + 1);
    const host = r.delegatedTo ? `${r.host} -> ${r.delegatedTo}` : r.host;
    const bad = r.status === 'failed' || r.status === 'unreachable' || r.status === 'interrupted';
    if (bad && !r.ignored) this.failedHard++;
    const first = r.msg?.split('\n')[0];
    if (bad) this.failures.push(`${host}: ${r.status}${r.ignored ? ' (ignored)' : ''}${first ? `: ${first}` : ''}`);
    else if (r.msg && r.status !== 'skipped') this.notes.push(...`${host}: ${r.msg}`.split('\n'));
    if (this.o.diff && r.diff?.length) this.notes.push(`${host}:`, ...formatDiffs(r.diff, this.o.color ?? false).split('\n'));
  }

  /** How many hosts have their result. */
  private get settled(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Every host has its result. */
  get done(): boolean {
    return this.settled >= this.hosts;
  }

  /** A host failed (not ignored): the task's line is drawn as failed. */
  get failed(): boolean {
    return this.failedHard > 0;
  }

  /** The counts: "312/500 hosts: 300 changed, 10 ok, 2 failed" while running, "500 hosts: ..." when done. */
  summary(): string {
    const c = this.o.color ?? false;
    const parts = ORDER.filter((s) => this.counts.get(s)).map((s) => paint(c, statusColor(s), `${this.counts.get(s)} ${s}`));
    const head = this.done ? `${this.hosts} hosts` : `${this.settled}/${this.hosts} hosts`;
    return parts.length ? `${head}: ${parts.join(', ')}` : head;
  }

  /** The lines kept under the task: failures first, then messages and diffs, at most `limit` in all. */
  kept(limit: number): string[] {
    const all = [...this.failures, ...this.notes];
    if (all.length <= limit) return all;
    const shown = all.slice(0, Math.max(1, limit - 1));
    return [...shown, `... and ${all.length - shown.length} more lines (--plain or --json show every host)`];
  }
}
