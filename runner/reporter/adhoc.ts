// `ferry exec` output as `ansible` prints it (its minimal callback): one block per host,
// `h1 | CHANGED | rc=0 >>` then stdout and stderr for commands, `h1 | SUCCESS => {json}` otherwise.
import type { FerryEvent, Reporter } from '../events.js';
import { formatDiffs, formatInterrupt, paint } from './format.js';

type Result = Extract<FerryEvent, { type: 'task_result' }>;

// Modules whose output ansible prints as text, not JSON (its MODULE_NO_JSON).
const TEXT_MODULES = new Set(['command', 'shell', 'raw']);

/** Options of the ad hoc reporter. */
export interface AdhocOptions {
  out?: NodeJS.WritableStream;
  color?: boolean;
  diff?: boolean;
  /** -vvv: each command as it starts. */
  verbosity?: number;
}

/** Ansible's `_dump_results`: the result as indented JSON with sorted keys, ferry's empty fields left out. */
function dump(result: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
      : Array.isArray(v) ? v.map(sorted) : v;
  const shown = Object.fromEntries(Object.entries(result).filter(([k, v]) => v !== undefined && !(k === 'failed' && v === false)));
  return JSON.stringify(sorted(shown), null, 4);
}

/** One host's result as `ansible` prints it. */
export function formatAdhocResult(ev: Result): string {
  const host = ev.delegatedTo ? `${ev.host} -> ${ev.delegatedTo}` : ev.host;
  // no_log: the event carries no values, as ansible prints only "censored".
  const result: Record<string, unknown> = ev.result ?? { censored: ev.msg, changed: ev.changed };
  if (ev.status === 'skipped') return `${host} | SKIPPED${ev.msg ? ` => ${dump({ changed: false, skip_reason: ev.msg })}` : ''}`;
  if (ev.status === 'unreachable' || ev.status === 'interrupted') return `${host} | ${ev.status.toUpperCase()}! => ${dump({ changed: false, msg: ev.msg, [ev.status]: true })}`;
  const failed = ev.status === 'failed';
  if (TEXT_MODULES.has(ev.module) && ev.result && 'rc' in result) {
    const caption = failed ? 'FAILED' : ev.status === 'changed' ? 'CHANGED' : 'SUCCESS';
    const text = [result.stdout, result.stderr, failed ? ev.msg : undefined].filter((s) => typeof s === 'string' && s !== '').join('\n');
    return `${host} | ${caption} | rc=${String(result.rc)} >>\n${text}`;
  }
  const caption = failed ? 'FAILED!' : ev.status === 'changed' ? 'CHANGED' : 'SUCCESS';
  return `${host} | ${caption} => ${dump(failed && ev.msg && result.msg === undefined ? { ...result, msg: ev.msg } : result)}`;
}

/** Writes each host's result of `ferry exec` as `ansible` does; no play, task or recap lines. */
export class AdhocReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  constructor(private readonly o: AdhocOptions = {}) {
    this.out = o.out ?? process.stdout;
  }

  emit(ev: FerryEvent): void {
    const c = this.o.color ?? false;
    switch (ev.type) {
      case 'task_result': {
        const color = ev.status === 'failed' || ev.status === 'unreachable' || ev.status === 'interrupted' ? 'red' : ev.status === 'changed' ? 'yellow' : ev.status === 'skipped' ? 'cyan' : 'green';
        this.out.write(paint(c, color, formatAdhocResult(ev)) + '\n');
        if (this.o.diff && ev.diff?.length) this.out.write(formatDiffs(ev.diff, c) + '\n');
        break;
      }
      case 'command':
        if ((this.o.verbosity ?? 0) >= 3) this.out.write(paint(c, 'dim', `<${ev.host}> EXEC ${ev.command}`) + '\n');
        break;
      case 'interrupt':
        for (const l of formatInterrupt(ev)) this.out.write(paint(c, 'red', l) + '\n');
        break;
      default:
        break;
    }
  }

  async close(): Promise<void> {}
}
