// Shared formatting for the human reporters: colours only on a TTY, sizes in human units, the recap table.
import { styleText } from 'node:util';
import type * as DiffLib from 'diff';
import type { FerryEvent, HostRecap, TaskStatus } from '../events.js';
import type { Diff } from '../module.js';
import type { LiveCommand } from '../transport/in-flight.js';
import { lazyRequire } from '../lazy-require.js';

type Color = Parameters<typeof styleText>[0];

/** Colours a string when `on`. */
export function paint(on: boolean, color: Color, s: string): string {
  return on ? styleText(color, s) : s;
}

/** The colour of a status, as Ansible uses them. */
export function statusColor(s: TaskStatus): Color {
  return s === 'ok' ? 'green' : s === 'changed' ? 'yellow' : s === 'skipped' ? 'cyan' : 'red';
}

/** Bytes in binary units for people: "10 GiB", "1.5 MiB", "512 B" (one decimal, dropped when it is 0). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${units[i]}`;
}

/** Seconds as `1m05s` / `12s`. */
export function humanDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

// `diff` (19 modules) is loaded by the first diff shown, not at start-up: most runs show none.
const diffLib = lazyRequire<typeof DiffLib>('diff');

/** A unified diff of each before/after pair. */
export function formatDiffs(diffs: Diff[], color: boolean): string {
  const { createTwoFilesPatch } = diffLib();
  return diffs
    .map((d) => {
      const patch = createTwoFilesPatch(`${d.path ?? 'before'} (before)`, `${d.path ?? 'after'} (after)`, d.before, d.after, '', '', { context: 3 });
      return patch
        .split('\n')
        .filter((l) => !l.startsWith('==='))
        .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? paint(color, 'green', l) : l.startsWith('-') && !l.startsWith('---') ? paint(color, 'red', l) : l))
        .join('\n');
    })
    .join('\n');
}

/** The recap as an aligned table, one row per host. */
export function formatRecap(hosts: Record<string, HostRecap>, color: boolean): string {
  const names = Object.keys(hosts);
  const cols: (keyof HostRecap)[] = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];
  // only an interrupted run has the column
  if (names.some((n) => hosts[n]!.interrupted > 0)) cols.push('interrupted');
  const w = Math.max(4, ...names.map((n) => n.length));
  const head = `${'HOST'.padEnd(w)}  ${cols.map((c) => c.padStart(Math.max(c.length, 3))).join('  ')}`;
  const rows = names.map((n) => {
    const r = hosts[n]!;
    const c: Color = r.failed || r.unreachable || r.interrupted ? 'red' : r.changed ? 'yellow' : 'green';
    return `${paint(color, c, n.padEnd(w))}  ${cols.map((k) => String(r[k]).padStart(Math.max(k.length, 3))).join('  ')}`;
  });
  return [head, ...rows].join('\n');
}

/** What an interrupt stops, in lines: the reason, then each running command with its host and task. */
export function formatInterrupt(ev: Extract<FerryEvent, { type: 'interrupt' }>): string[] {
  const n = ev.running.length;
  return [
    `INTERRUPTED (${ev.reason}): stopping ${n} running command${n === 1 ? '' : 's'}; no other task starts; ` +
      `always: blocks still run (for at most ${humanDuration(ev.cleanupTimeoutMs / 1000)})`,
    ...ev.running.map(formatLiveCommand),
  ];
}

/** One running command as a line: host, command, task. */
export function formatLiveCommand(c: LiveCommand): string {
  return `  [${c.host}] ${c.command} (task: ${c.task})`;
}
