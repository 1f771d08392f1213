// `npm run bench [-- NAME...]`: runs every benchmark in bench/ in turn (or those whose file name
// contains a NAME), then prints one summary table; exits non-zero when one misses its target or fails.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_PREFIX, type BenchResult } from './lib.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Files in bench/ that are not benchmarks themselves. */
const NOT_BENCHMARKS = new Set(['run.ts', 'lib.ts', 'fleet.ts', 'lab-copy.ts']);

interface Row {
  file: string;
  result: BenchResult | null;
  exitCode: number | null;
  /** The benchmark's last output lines, for one without a result line (ssh-exec.ts prints plain figures). */
  tail: string[];
}

/** Runs one benchmark under tsx, echoing its output, and collects its result lines. */
function runOne(file: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const results: BenchResult[] = [];
    const lines: string[] = [];
    let partial = '';
    child.stdout.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.startsWith(RESULT_PREFIX)) results.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchResult);
        else {
          console.log(`  ${line}`);
          if (line.trim()) lines.push(line.trim());
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial.trim()) lines.push(partial.trim());
      const tail = lines.slice(-2);
      resolve(results.length ? results.map((r) => ({ file, result: r, exitCode: code, tail })) : [{ file, result: null, exitCode: code, tail }]);
    });
  });
}

function verdict(r: Row): string {
  if (r.result) return r.result.pass === null ? 'info' : r.result.pass ? 'ok' : 'MISS';
  return r.exitCode === 0 ? 'info' : `ERROR (exit ${r.exitCode})`;
}

/** Prints rows as an aligned text table. */
function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r));
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const files = readdirSync(HERE)
    .filter((f) => f.endsWith('.ts') && !NOT_BENCHMARKS.has(f))
    .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
    .sort();
  if (files.length === 0) throw new Error(`no benchmark in bench/ matches ${names.join(', ')}`);
  const rows: Row[] = [];
  for (const f of files) {
    console.log(`\n=== ${f}`);
    const t0 = performance.now();
    rows.push(...(await runOne(f)));
    console.log(`=== ${f} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  console.log('');
  printTable(
    ['benchmark', 'measured', 'target', 'result'],
    rows.map((r) => [r.result?.name ?? basename(r.file, '.ts'), r.result?.measured ?? r.tail.join(' / '), r.result?.target ?? '-', verdict(r)]),
  );
  if (rows.some((r) => verdict(r) !== 'ok' && verdict(r) !== 'info')) process.exitCode = 1;
}

await main();
