// Plain lines, for logs and pipes (and TTYs when asked): one line per task result.
import type { FerryEvent, Reporter } from '../events.js';
import { formatDiffs, formatInterrupt, formatRecap, humanBytes, humanDuration, paint, statusColor } from './format.js';
import { formatPhaseLine, hostLabel, PhaseTracker } from './phase.js';

/** Options of the plain reporter. */
export interface PlainOptions {
  out?: NodeJS.WritableStream;
  color?: boolean;
  diff?: boolean;
  /** -v: each planned step and each result's values; -vvv: also each command as it starts. */
  verbosity?: number;
  /** Tags that name phases (ferry migrate's): a line `host: phase` when a host starts a task of a new one. */
  phases?: readonly string[];
}

/** Writes Ansible-like lines: PLAY, TASK, `changed: [host] ...`, and the recap table. */
export class PlainReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  private readonly color: boolean;
  private lastProgress = new Map<string, number>();
  private readonly phases?: PhaseTracker;

  constructor(private readonly o: PlainOptions = {}) {
    this.out = o.out ?? process.stdout;
    this.color = o.color ?? false;
    if (o.phases?.length) this.phases = new PhaseTracker(o.phases);
  }

  private line(s: string): void {
    this.out.write(s + '\n');
  }

  emit(ev: FerryEvent): void {
    const c = this.color;
    switch (ev.type) {
      case 'run_start':
        if (ev.check) this.line(paint(c, 'magenta', 'CHECK MODE: nothing will be changed; every "changed" is what a real run would do'));
        break;
      case 'play_start':
        this.line(`\nPLAY [${ev.play}] ${paint(c, 'dim', `(${ev.loc}) hosts: ${ev.hosts.join(', ') || 'none'}`)}`);
        break;
      case 'task_start': {
        const entered = this.phases?.enter(ev) ?? [];
        if (entered.length) this.line(`\n${entered.map((e) => paint(c, 'bold', formatPhaseLine(e.host, e.phase))).join('\n')}`);
        this.line(`\nTASK [${ev.task}] ${paint(c, 'dim', ev.loc)}`);
        break;
      }
      case 'handlers_start':
        this.line(`\nRUNNING HANDLERS [${ev.play}]`);
        break;
      case 'task_result': {
        const label = ev.status === 'failed' && ev.ignored ? 'failed (ignored)' : ev.status;
        const host = ev.delegatedTo ? `${ev.host} -> ${ev.delegatedTo}` : ev.host;
        const item = ev.item !== undefined ? ` => (item=${ev.item})` : '';
        const msg = ev.msg ? `: ${ev.msg}` : '';
        this.line(paint(c, statusColor(ev.status), `${label}: [${host}]${item}${msg}`));
        const v = this.o.verbosity ?? 0;
        if (v >= 1 && ev.steps) {
          ev.steps.forEach((st, i) => {
            this.line(`    - ${st}`);
            if (ev.commands?.[i]) this.line(paint(c, 'dim', `      $ ${ev.commands[i]}`));
          });
        }
        if (v >= 1 && ev.result && ev.status !== 'skipped') this.line(paint(c, 'dim', `    => ${JSON.stringify(ev.result)}`));
        if (this.o.diff && ev.diff?.length) this.line(formatDiffs(ev.diff, c));
        break;
      }
      case 'command':
        if ((this.o.verbosity ?? 0) >= 3) this.line(paint(c, 'dim', `<${ev.host}> EXEC ${ev.command}`));
        break;
      case 'progress': {
        const key = `${ev.host}/${ev.task}`;
        const now = Date.now();
        if (now - (this.lastProgress.get(key) ?? 0) < 5000) return;
        this.lastProgress.set(key, now);
        const p = ev.progress;
        const parts = [
          p.bytes !== undefined ? humanBytes(p.bytes) + (p.totalBytes ? ` / ${humanBytes(p.totalBytes)}` : '') : undefined,
          p.bytesPerSec !== undefined ? `${humanBytes(p.bytesPerSec)}/s` : undefined,
          p.etaSec !== undefined ? `ETA ${humanDuration(p.etaSec)}` : undefined,
          p.message,
        ].filter(Boolean);
        this.line(paint(c, 'dim', `  ... [${hostLabel(ev.host, this.phases?.of(ev.host))}] ${parts.join(', ')}`));
        break;
      }
      case 'interrupt':
        this.line('');
        for (const l of formatInterrupt(ev)) this.line(paint(c, 'red', l));
        break;
      case 'recap':
        this.line(`\nPLAY RECAP (${humanDuration(ev.durationMs / 1000)})`);
        this.line(formatRecap(ev.hosts, c));
        break;
      case 'summary':
        this.line(`\n${ev.title}`);
        for (const l of ev.lines) this.line(l);
        break;
    }
  }

  async close(): Promise<void> {}
}
