// Issue 15 §5: the cost of recording completions in the run state (--resume) alone, no sshd. 500
// hosts (BENCH_STATE_HOSTS) × 20 tasks (BENCH_TASKS), each completion with a registered value shaped
// like a `command` result; per task the hosts complete BENCH_STATE_BATCH (default 50, as --forks 50)
// at a time, the next group once the previous one is recorded, as the engine waits on markCompleted.
// Two variants in the same rounds, order alternating: "journal" is runner/state.ts, "whole file" is
// the version before the journal (runner/state.ts at WHOLE_FILE_COMMIT, read from git and imported
// as it was: every batch a JSON.stringify of all hosts and a rename). Each round's state is read
// back with the variant's own readPrevious and compared with what was recorded.
// Figures per variant, medians over BENCH_ROUNDS (default 3): wall time, this process's CPU time,
// bytes written (/proc/self/io wchar), and the longest event-loop delay (monitorEventLoopDelay).
// Run: npx tsx bench/run-state.ts   (information only: no target)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { PreviousRun } from '../runner/task-identity.js';
import { RunState } from '../runner/state.js';
import { loadAverage, median, reportResult } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
/** The last commit whose run state rewrote the whole file after every batch. */
const WHOLE_FILE_COMMIT = 'be07d8d';
const HOSTS = Number(process.env.BENCH_STATE_HOSTS ?? 500);
const TASKS = Number(process.env.BENCH_TASKS ?? 20);
const BATCH = Number(process.env.BENCH_STATE_BATCH ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** What the benchmark needs of a run state: the API both versions share. */
interface StateLike {
  start(tasks: []): void;
  markCompleted(host: string, taskKey: string, registered?: unknown): Promise<void>;
  finish(succeeded: boolean): Promise<void>;
  readPrevious(): PreviousRun | undefined;
}
type StateClass = new (dir: string, key: string) => StateLike;

interface Figures {
  ms: number;
  cpuMs: number;
  bytes: number;
  loopMaxMs: number;
}

/** The run state as it was at WHOLE_FILE_COMMIT, copied into `dir` with its imports pointed at runner/. */
async function wholeFileState(dir: string): Promise<StateClass> {
  const source = execFileSync('git', ['show', `${WHOLE_FILE_COMMIT}:runner/state.ts`], { cwd: ROOT, encoding: 'utf8' })
    .replaceAll("from './", `from '${pathToFileURL(join(ROOT, 'runner')).href}/`);
  const file = join(dir, 'state-whole-file.ts');
  await writeFile(file, source);
  return ((await import(pathToFileURL(file).href)) as { RunState: StateClass }).RunState;
}

/** Bytes this process has written so far (Linux). */
function bytesWritten(): number {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

/** A registered value like a `command` task's result. */
function result(host: number, task: number): Record<string, unknown> {
  const at = '2026-12-05 13:00:00.000000';
  return { changed: true, cmd: `/usr/local/bin/step-${task} --host web${host}`, rc: 0, stdout: `step ${task} done on web${host}`, stderr: '', start: at, end: at, delta: '0:00:00.010000', msg: '' };
}

/** Records every completion of `hosts` hosts in a fresh state of `cls`, checks what it reads back, and returns the figures. */
async function oneRun(cls: StateClass, base: string, name: string, hosts = HOSTS): Promise<Figures> {
  const dir = await mkdtemp(join(base, `${name}-`));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const bytes0 = bytesWritten();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  loop.enable();
  const s = new cls(dir, 'bench');
  s.start([]);
  for (let t = 0; t < TASKS; t++) {
    for (let first = 0; first < hosts; first += BATCH) {
      const marks: Promise<void>[] = [];
      for (let h = first; h < Math.min(hosts, first + BATCH); h++) marks.push(s.markCompleted(`web${h}`, `0.t${t}.0`, result(h, t)));
      await Promise.all(marks);
    }
  }
  await s.finish(false);
  loop.disable();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const figures = { ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes: bytesWritten() - bytes0, loopMaxMs: loop.max / 1e6 };
  const prev = new cls(dir, 'bench').readPrevious();
  const done = Object.values(prev?.completed ?? {});
  if (done.length !== hosts || done.some((c) => c.length !== TASKS)) throw new Error(`${name}: the state read back does not hold ${hosts} hosts × ${TASKS} tasks`);
  await rm(dir, { recursive: true, force: true });
  return figures;
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'ferry-bench-state-'));
  try {
    const variants: [string, StateClass][] = [['journal', RunState], ['whole file', await wholeFileState(base)]];
    console.log(`${HOSTS} hosts × ${TASKS} tasks, ${BATCH} completing at once; ${ROUNDS} rounds; load average at the start ${loadAverage()}`);
    // untimed, so that neither variant pays for compiling the code both use
    for (const [name, cls] of variants) await oneRun(cls, base, `warm-up-${name.replace(' ', '-')}`, Math.ceil(HOSTS / 10));
    const runs = new Map<string, Figures[]>(variants.map(([n]) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...variants].reverse() : variants;
      for (const [name, cls] of order) {
        const f = await oneRun(cls, base, name.replace(' ', '-'));
        runs.get(name)!.push(f);
        console.log(`round ${round + 1} ${name.padEnd(10)} ${f.ms.toFixed(0).padStart(6)} ms  cpu ${f.cpuMs.toFixed(0).padStart(6)} ms  written ${(f.bytes / 1e6).toFixed(1).padStart(7)} MB  loop max ${f.loopMaxMs.toFixed(1)} ms`);
      }
    }
    const med = (name: string, k: keyof Figures) => median(runs.get(name)!.map((f) => f[k]));
    for (const [name] of variants) {
      console.log(`median ${name.padEnd(10)} ${med(name, 'ms').toFixed(0).padStart(6)} ms  cpu ${med(name, 'cpuMs').toFixed(0).padStart(6)} ms  written ${(med(name, 'bytes') / 1e6).toFixed(1).padStart(7)} MB  loop max ${med(name, 'loopMaxMs').toFixed(1)} ms`);
    }
    console.log(`load average at the end ${loadAverage()}`);
    const perCompletion = (name: string) => ((med(name, 'ms') * 1000) / (HOSTS * TASKS)).toFixed(0);
    reportResult([{
      name: `run state, ${HOSTS} hosts × ${TASKS} tasks`,
      measured: `journal ${med('journal', 'ms').toFixed(0)} ms (${perCompletion('journal')} µs a completion, ${(med('journal', 'bytes') / 1e6).toFixed(1)} MB), whole file ${med('whole file', 'ms').toFixed(0)} ms (${perCompletion('whole file')} µs, ${(med('whole file', 'bytes') / 1e6).toFixed(1)} MB)`,
      target: 'none (information)',
      pass: null,
    }]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

await main();
