// The TTY view: listr2 shows a live line per host under each task (with progress, rate and ETA),
// then the recap as a table. Plain lines are used when stdout is not a TTY. A task of more hosts
// than fit on the screen is one line of counts instead (collapse.ts), redrawn at most every 100 ms.
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import type { FerryEvent, Reporter } from '../events.js';
import { formatDiffs, formatInterrupt, formatRecap, humanBytes, humanDuration, paint } from './format.js';
import { collapses, screenful, TaskTally } from './collapse.js';
import { hostLabel, PhaseTracker } from './phase.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;
type Final = Extract<FerryEvent, { type: 'task_result' }>;

interface HostSlot {
  /** The host's phase, shown on its line, when the reporter follows phases. */
  phase?: string;
  result?: Final;
  wrapper?: Wrapper;
  resolve?: () => void;
  reject?: (e: Error) => void;
}

/** How often, at most, a collapsed task's line of counts is redrawn while results arrive (ms). */
const REDRAW_MS = 100;

/** A task drawn as one line of counts (more hosts than fit on the screen). */
interface Collapsed {
  title: string;
  tally: TaskTally;
  wrapper?: Wrapper;
  resolve?: () => void;
  reject?: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** Renders a run with listr2 on a TTY. */
export class ListrReporter implements Reporter {
  private chain: Promise<void> = Promise.resolve();
  private slots = new Map<string, HostSlot>();
  private collapsed?: Collapsed;
  private readonly out = process.stdout;
  private readonly phases?: PhaseTracker;

  /** `phases`: tags that name phases (ferry migrate's); each host's line then shows its current one. */
  constructor(private readonly o: { diff?: boolean; phases?: readonly string[] } = {}) {
    if (o.phases?.length) this.phases = new PhaseTracker(o.phases);
  }

  private settle(slot: HostSlot): void {
    const r = slot.result;
    if (!r || !slot.wrapper || !slot.resolve) return;
    const host = hostLabel(r.delegatedTo ? `${r.host} -> ${r.delegatedTo}` : r.host, slot.phase);
    // A message of one line goes in the title; a longer one (debug of a mapping) stays under it, whole.
    const multiline = r.msg?.includes('\n') ?? false;
    const msg = r.msg && !multiline ? ` ${paint(true, 'dim', r.msg)}` : '';
    // What stays on the screen under the host's line after the run: the whole message and the diffs.
    const kept = [multiline ? r.msg! : '', this.o.diff && r.diff?.length ? formatDiffs(r.diff, true) : ''].filter(Boolean).join('\n');
    if (kept) slot.wrapper.output = kept;
    if (r.status === 'skipped') {
      slot.wrapper.skip(`${host}: skipped${msg}`);
      slot.resolve();
    } else if (r.status === 'failed' || r.status === 'unreachable' || r.status === 'interrupted') {
      slot.wrapper.title = `${host}: ${r.status}${r.ignored ? ' (ignored)' : ''}`;
      if (r.ignored) slot.resolve();
      else slot.reject!(new Error(`${host}: ${r.msg ?? r.status}`));
    } else {
      slot.wrapper.title = `${host}: ${r.status === 'changed' ? paint(true, 'yellow', 'changed') : paint(true, 'green', 'ok')}${msg}`;
      slot.resolve();
    }
  }

  /** Draws a collapsed task's counts now; when every host has its result, ends its line. */
  private draw(c: Collapsed): void {
    if (!c.wrapper || !c.resolve) return;
    clearTimeout(c.timer);
    c.timer = undefined;
    c.wrapper.title = `${c.title}  ${c.tally.summary()}`;
    if (!c.tally.done) return;
    // what stays under the line: as a failed task's error (listr2 draws it under the line), else as its output
    const kept = c.tally.kept(screenful(this.out.rows)).join('\n');
    if (c.tally.failed) c.reject!(new Error(kept));
    else {
      if (kept) c.wrapper.output = kept;
      c.resolve();
    }
  }

  /** Redraws a collapsed task's counts within REDRAW_MS: listr2 redraws its whole frame on each change. */
  private redraw(c: Collapsed): void {
    if (c.tally.done) this.draw(c);
    else c.timer ??= setTimeout(() => this.draw(c), REDRAW_MS).unref();
  }

  /** A task whose hosts do not fit on the screen: one line of counts, and what is worth keeping under it. */
  private startCollapsed(ev: Extract<FerryEvent, { type: 'task_start' }>): Listr<unknown> {
    const c: Collapsed = { title: `${ev.task} ${paint(true, 'dim', ev.loc)}`, tally: new TaskTally(ev.hosts.length, { diff: this.o.diff, color: true }) };
    this.collapsed = c;
    return new Listr(
      [
        {
          title: `${c.title}  ${c.tally.summary()}`,
          rendererOptions: { persistentOutput: true },
          task: (_ctx, w) =>
            new Promise<void>((resolve, reject) => {
              Object.assign(c, { wrapper: w, resolve, reject });
              this.draw(c);
            }),
        },
      ],
      { exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: false } },
    );
  }

  emit(ev: FerryEvent): void {
    switch (ev.type) {
      case 'play_start':
        this.chain = this.chain.then(() => void this.out.write(`\nPLAY [${ev.play}] ${paint(true, 'dim', ev.loc)}\n`));
        break;
      case 'task_start': {
        const slots = new Map<string, HostSlot>();
        this.phases?.enter(ev);
        this.slots = slots;
        this.collapsed = undefined;
        if (collapses(ev.hosts.length, this.out.rows)) {
          const listr = this.startCollapsed(ev);
          this.chain = this.chain.then(() => listr.run().then(() => undefined, () => undefined));
          break;
        }
        for (const h of ev.hosts) slots.set(h, { phase: this.phases?.of(h) });
        const listr = new Listr(
          [
            {
              title: `${ev.task} ${paint(true, 'dim', ev.loc)}`,
              task: (_ctx, task) =>
                task.newListr(
                  ev.hosts.map((h) => ({
                    title: hostLabel(h, slots.get(h)!.phase),
                    // the last output written (the message, the diffs) stays on the screen after the task
                    rendererOptions: { persistentOutput: true },
                    task: (_c: unknown, w: Wrapper) =>
                      new Promise<void>((resolve, reject) => {
                        const slot = slots.get(h)!;
                        Object.assign(slot, { wrapper: w, resolve, reject });
                        this.settle(slot);
                      }),
                  })),
                  { concurrent: true, exitOnError: false },
                ),
            },
          ],
          // the CLI handles SIGINT (stop the run, clean up); listr2's own handler would exit at once
          { exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false } },
        );
        this.chain = this.chain.then(() => listr.run().then(() => undefined, () => undefined));
        break;
      }
      case 'task_result': {
        const c = this.collapsed;
        if (c) {
          if (ev.item === undefined) {
            c.tally.record(ev);
            this.redraw(c);
          }
          return;
        }
        if (ev.item !== undefined) {
          const w = this.slots.get(ev.host)?.wrapper;
          if (w) w.output = `item ${ev.item}: ${ev.status}`;
          return;
        }
        const slot = this.slots.get(ev.host);
        if (!slot) return;
        slot.result = ev;
        this.settle(slot);
        break;
      }
      case 'progress': {
        const w = this.slots.get(ev.host)?.wrapper;
        const p = ev.progress;
        if (w) {
          w.output = [
            p.bytes !== undefined ? humanBytes(p.bytes) + (p.totalBytes ? ` / ${humanBytes(p.totalBytes)}` : '') : '',
            p.bytesPerSec !== undefined ? `${humanBytes(p.bytesPerSec)}/s` : '',
            p.etaSec !== undefined ? `ETA ${humanDuration(p.etaSec)}` : '',
            p.message ?? '',
          ].filter(Boolean).join('  ');
        }
        break;
      }
      case 'interrupt':
        this.chain = this.chain.then(() => void this.out.write(`\n${formatInterrupt(ev).map((l) => paint(true, 'red', l)).join('\n')}\n`));
        break;
      case 'recap':
        this.chain = this.chain.then(() => {
          this.out.write(`\nPLAY RECAP (${humanDuration(ev.durationMs / 1000)})\n${formatRecap(ev.hosts, true)}\n`);
        });
        break;
      case 'summary':
        this.chain = this.chain.then(() => void this.out.write(`\n${ev.title}\n${ev.lines.map((l) => `${l}\n`).join('')}`));
        break;
      default:
        break;
    }
  }

  async close(): Promise<void> {
    await this.chain;
  }
}
