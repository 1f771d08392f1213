// Benchmark: how long the built CLI takes to start and answer (issue 15 §4), process start included:
// `node BIN --version`, `--help`, `doc`, `doc command` (BIN: the package.json's bin, dist/app/bin.cjs), each run BENCH_ROUNDS times
// (default 21), the commands interleaved and their order rotated each round so that a busy spell
// of a shared machine falls on all of them; the figure is the median. `node -e 0` is timed the same
// way, for information: it is Node's own start, the floor under every figure. Each run's output is
// checked, so a fast broken CLI cannot pass for a fast one. BENCH_NPX=1 also times `npx ferry --version`.
// Targets: --version ≤ 150 ms; doc and doc MODULE ≤ 250 ms.
// Run: npm run build && npx tsx bench/startup.ts   (BENCH_CLI=OTHER/dist/app/cli.js times another build's bin or cli.js)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAverage, median, reportResult, type BenchResult } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: { ferry: string } };
// what `ferry` runs; BENCH_CLI: another build's (e.g. main's cli.js, for a before/after on the same machine and hour)
const CLI = resolve(process.env.BENCH_CLI ?? join(ROOT, PKG.bin.ferry));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const VERSION = PKG.version;

interface Case {
  name: string;
  cmd: string;
  args: string[];
  /** What the output must show, so that a fast failure is not taken for a fast start. */
  check: (stdout: string) => boolean;
  /** The target in ms; none: reported for information. */
  targetMs?: number;
}

const CASES: Case[] = [
  { name: 'node -e 0 (Node alone)', cmd: process.execPath, args: ['-e', '0'], check: () => true },
  { name: 'ferry --version', cmd: process.execPath, args: [CLI, '--version'], check: (o) => o === `${VERSION}\n`, targetMs: 150 },
  { name: 'ferry --help', cmd: process.execPath, args: [CLI, '--help'], check: (o) => o.startsWith('Usage: ferry') && /^ {2}xen-import /m.test(o) },
  { name: 'ferry doc', cmd: process.execPath, args: [CLI, 'doc'], check: (o) => /^command\s+\S/m.test(o) && /^xen_import\s/m.test(o), targetMs: 250 },
  { name: 'ferry doc command', cmd: process.execPath, args: [CLI, 'doc', 'command'], check: (o) => o.startsWith('command — ') && o.includes('\nPARAMETERS\n'), targetMs: 250 },
];
if (process.env.BENCH_NPX === '1') {
  CASES.push({ name: 'npx ferry --version', cmd: 'npx', args: ['--no-install', 'ferry', '--version'], check: (o) => o === `${VERSION}\n` });
}

/** Runs one case once; returns its wall time in ms. */
function timeOnce(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(c.cmd, c.args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !c.check(r.stdout)) throw new Error(`${c.name}: exit ${r.status}, unexpected output:\n${r.stdout}${r.stderr}`);
  return ms;
}

function main(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const load = loadAverage();
  console.log(`${ROUNDS} rounds; load average at the start ${load}`);
  // One untimed run each: the first start reads the files from disk, later ones from the page cache.
  for (const c of CASES) timeOnce(c);
  const times = new Map<Case, number[]>(CASES.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < CASES.length; i++) {
      const c = CASES[(i + round) % CASES.length]!;
      times.get(c)!.push(timeOnce(c));
    }
  }
  const results: BenchResult[] = [];
  for (const c of CASES) {
    const ms = times.get(c)!;
    const sorted = [...ms].sort((a, b) => a - b);
    const m = median(ms);
    console.log(`${c.name.padEnd(24)} median ${m.toFixed(0).padStart(5)} ms  (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)})`);
    results.push({
      name: c.name,
      measured: `${m.toFixed(0)} ms (median of ${ms.length}; ${sorted[0]!.toFixed(0)}..${sorted.at(-1)!.toFixed(0)})`,
      target: c.targetMs === undefined ? 'info' : `≤ ${c.targetMs} ms`,
      pass: c.targetMs === undefined ? null : m <= c.targetMs,
    });
  }
  console.log(`load average at the end ${loadAverage()}`);
  reportResult(results);
}

main();
