// Shared pieces of the benchmarks: harness sshd "hosts" reached as the plain-shell test user,
// a scratch directory that user can write, medians, and the one-line result that bench/run.ts reads.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Command } from '../runner/command.js';
import { applyPlan } from '../runner/apply-steps.js';
import type { TaskModule } from '../runner/module.js';
import { createTaskContext, type TaskContextOptions } from '../runner/task-context.js';
import type { SshTransport } from '../runner/transport/ssh.js';
import { inventoryEntry, NOPASSWD_USER, sshTransport, startSshdHosts, type SshdHost } from '../test/harness/sshd.js';

/** The prefix of the machine-readable line each benchmark prints last (bench/run.ts parses it). */
export const RESULT_PREFIX = 'BENCH-RESULT ';

/** One benchmark's verdict: what it measured, the target, and whether the target was met. */
export interface BenchResult {
  name: string;
  /** The measured figure compared against the target, in words ("ferry 95.1% of OpenSSH"). */
  measured: string;
  target: string;
  /** null when the benchmark only informs (no target). */
  pass: boolean | null;
}

/** Prints the result line for bench/run.ts and sets the exit code on a miss. */
export function reportResult(results: BenchResult[]): void {
  for (const r of results) console.log(RESULT_PREFIX + JSON.stringify(r));
  if (results.some((r) => r.pass === false)) process.exitCode = 1;
}

/** The median of a non-empty list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The load average (1, 5, 15 min) as printed beside every figure: "0.12 0.84 1.29". */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** `xs` rotated left by `r`: round r's order, so that each variant runs in each place in turn. */
export function rotated<T>(xs: T[], r: number): T[] {
  return xs.map((_, i) => xs[(i + r) % xs.length]!);
}

/**
 * CPU time (user + system, ms) of this process's children that have exited and been waited for
 * (cutime + cstime of /proc/self/stat, 10 ms ticks): the difference across a run is what the
 * processes it started used, whatever the machine's load.
 */
export function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // the fields after the command name, which is in parentheses and may hold spaces
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

/** A variant of a side-by-side benchmark: its name and one timed run (ms). */
export type Variant = [name: string, run: () => Promise<number>];

/** The same variant, also adding the CPU time of the processes each run started (childCpuMs) to `cpu` under its name. */
export function withChildCpu(cpu: Map<string, number[]>, [name, run]: Variant): Variant {
  return [
    name,
    async () => {
      const c0 = childCpuMs();
      const ms = await run();
      cpu.set(name, [...(cpu.get(name) ?? []), childCpuMs() - c0]);
      return ms;
    },
  ];
}

/**
 * Runs each variant once untimed (sshd, the page cache), then `rounds` rounds with the order rotated
 * each round; prints each variant's runs, median and the median of its per-round ratios to the
 * first variant (the baseline), and returns those ratios by name.
 */
export async function roundsAgainstFirst(variants: Variant[], rounds: number, heading: string): Promise<Map<string, number>> {
  for (const [, run] of variants) await run();
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    // the order rotates every round, so no variant always meets another's leftovers
    for (const [name, run] of rotated(variants, r)) times.get(name)!.push(await run());
  }
  const base = times.get(variants[0]![0])!;
  console.log(heading);
  const ratios = new Map<string, number>();
  for (const [name] of variants) {
    const ts = times.get(name)!;
    const ratio = median(ts.map((t, i) => t / base[i]!));
    ratios.set(name, ratio);
    console.log(`  ${name.padEnd(38)} median ${median(ts).toFixed(0).padStart(6)} ms  [${ts.map((t) => t.toFixed(0)).join(', ')}]  ${ratio.toFixed(2)}x`);
  }
  return ratios;
}

/** Harness hosts for a side-by-side benchmark, with a scratch dir and an inventory of them with the persistent shell on and one with it off. */
export interface BenchHosts {
  hosts: SshdHost[];
  dir: string;
  /** `ferry_persistent_shell: true` (ferry's default). */
  invShell: string;
  /** `ferry_persistent_shell: false`: an exec channel per command. */
  invExec: string;
}

/** Starts `count` harness sshd hosts, writes their two inventories, runs `body`, then stops the hosts and removes the dir. */
export async function withBenchHosts<T>(count: number, body: (b: BenchHosts) => Promise<T>): Promise<T> {
  const hosts: SshdHost[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-hosts-'));
  try {
    hosts.push(...(await startSshdHosts(count)));
    const b: BenchHosts = { hosts, dir, invShell: join(dir, 'shell.yml'), invExec: join(dir, 'exec.yml') };
    await writeBenchInventory(hosts, b.invShell, true);
    await writeBenchInventory(hosts, b.invExec, false);
    return await body(b);
  } finally {
    for (const h of hosts) await h.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a YAML inventory of the harness hosts, reached as the plain-shell test user, with the persistent shell on or off. */
async function writeBenchInventory(hosts: SshdHost[], file: string, persistentShell: boolean): Promise<void> {
  await writeFile(file, stringify({ all: { vars: { ferry_persistent_shell: persistentShell }, hosts: Object.fromEntries(hosts.map((h) => [h.name, inventoryEntry(h)])) } }));
}

/** Throughput in MB/s (10^6 bytes a second, as dd prints it). */
export function mbPerSec(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** A transport to a harness sshd as the plain /bin/sh user (no rc files in the measurement). */
export function benchTransport(h: SshdHost): SshTransport {
  return sshTransport(h, NOPASSWD_USER);
}

/** The OpenSSH client arguments that reach a harness sshd as the test user (before the remote command). */
export function opensshArgs(h: SshdHost): string[] {
  return [
    '-F', '/dev/null', // no user or system ssh_config: the client's own defaults (ciphers, no compression)
    '-p', String(h.port),
    '-i', h.userKeyFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${h.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ControlMaster=no',
    `${NOPASSWD_USER}@${h.host}`,
  ];
}

/** Runs a local shell command; resolves with its stdout, rejects with its stderr on a non-zero exit. */
export function shell(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sh -c '${script}' exited ${code}: ${err.trim()}`))));
  });
}

/** Makes a scratch directory the test user can write, after checking `needBytes` fit on its filesystem. */
export async function scratchDir(prefix: string, needBytes: number): Promise<string> {
  const fs = await statfs(tmpdir());
  const free = fs.bavail * fs.bsize;
  // keep a margin so a benchmark never fills the disk other work shares
  if (free < needBytes + 2 * 1024 ** 3) {
    throw new Error(`${tmpdir()} has ${(free / 1024 ** 3).toFixed(1)} GiB free; this benchmark needs ${(needBytes / 1024 ** 3).toFixed(1)} GiB plus 2 GiB of margin`);
  }
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o777);
  return dir;
}

/** Removes a scratch directory (best effort: a benchmark's own failure matters more). */
export async function removeScratch(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Bytes from a size given as a number of MiB on the command line or in BENCH_MIB (default `mib`). */
export function sizeFromArgs(mib: number): number {
  const v = process.argv[2] ?? process.env.BENCH_MIB;
  const n = v === undefined ? mib : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`size must be a whole number of MiB, got '${v}'`);
  return n * 1024 * 1024;
}

/** How many files the generated rsync tree has. */
export const TREE_FILES = 20_000;

/** A small deterministic PRNG (mulberry32), so every run generates the same tree shape. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes ~20k files in 200 directories, sized like a system tree (mostly small, log-uniform up to
 * 64 KiB, four of 8 MiB), plus symlinks and hard links so -H has work; returns the byte total.
 */
export async function generateTree(root: string): Promise<number> {
  const rnd = prng(5);
  const pool = randomBytes(9 * 1024 * 1024);
  let bytes = 0;
  for (let d = 0; d < 200; d++) {
    const dir = join(root, `d${String(d).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < TREE_FILES / 200; f++) {
      const i = d * (TREE_FILES / 200) + f;
      const size = i % 5000 === 0 ? 8 * 1024 * 1024 : Math.floor(Math.exp(rnd() * Math.log(64 * 1024)));
      const off = Math.floor(rnd() * (pool.length - size));
      const path = join(dir, `f${f}`);
      if (f % 40 === 39) {
        await link(join(dir, 'f0'), path); // a hard link: same inode, no new bytes
        continue;
      }
      await writeFile(path, pool.subarray(off, off + size));
      bytes += size;
    }
    await symlink('f1', join(dir, 'link-to-f1'));
  }
  return bytes;
}

/**
 * Waits for `p`, then flushes dirty pages: without it the writeback of the previous run's copy
 * (or of the freshly made source) lands in the next run's time, and that was a 5x swing for rsync.
 */
export async function settle(p: Promise<unknown>): Promise<void> {
  await p;
  await shell('sync');
}

/**
 * Opens an OpenSSH master connection (ControlMaster) to the host, so that commands run "by hand"
 * start on an open connection as ferry's do, with no handshake to subtract; returns its stop.
 */
export async function openMaster(h: SshdHost, controlPath: string): Promise<() => Promise<void>> {
  const master = spawn('ssh', ['-M', '-N', '-o', `ControlPath=${controlPath}`, ...opensshArgs(h)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  master.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => master.once('close', () => resolve()));
  for (let i = 0; ; i++) {
    const up = await shell('ssh -O check "$@" 2>/dev/null && echo up || true', '-o', `ControlPath=${controlPath}`, ...opensshArgs(h));
    if (up.trim() === 'up') break;
    if (i === 100 || master.exitCode !== null) {
      master.kill();
      throw new Error(`the OpenSSH master connection did not come up: ${err.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return async () => {
    master.kill();
    await exited;
  };
}

/** Runs one command by hand: `ssh HOST 'TEXT'` with OpenSSH over the master connection, output consumed; returns ms. */
export function byHand(h: SshdHost, controlPath: string, cmd: Command): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-o', `ControlPath=${controlPath}`, ...opensshArgs(h), cmd.text], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`ssh ${cmd.display} exited ${code}: ${err.trim()}`))));
  });
}

/** One task planned and applied as the engine does (the module's apply, else its steps), the two timed apart. */
export interface TaskTiming {
  planMs: number;
  applyMs: number;
  /** What the apply returned. */
  data: Record<string, unknown>;
}

/** Validates `input`, plans (which must find a change) and applies one task; returns the times and the applied data. */
export async function timedTask<P>(mod: TaskModule<P>, input: Record<string, unknown>, ctxOpts: TaskContextOptions): Promise<TaskTiming> {
  const ctx = createTaskContext(ctxOpts);
  const params = mod.params.parse(input);
  const t0 = performance.now();
  const plan = await mod.plan(ctx, params);
  if (!plan.changed) throw new Error(`${mod.name} planned no change: ${plan.reason}`);
  const t1 = performance.now();
  const data = await applyPlan(mod, ctx, params, plan);
  return { planMs: t1 - t0, applyMs: performance.now() - t1, data };
}

/**
 * Runs one round of a by-hand / ferry pair back to back, in alternating order (odd rounds by hand
 * first, even rounds ferry first), so that neither side always meets the other's leftovers
 * (writeback, discards) while the machine's load drifts.
 */
export async function pairedRound<H, F>(round: number, byHandRun: () => Promise<H>, ferryRun: () => Promise<F>): Promise<{ hand: H; ferry: F }> {
  if (round % 2) {
    const hand = await byHandRun();
    return { hand, ferry: await ferryRun() };
  }
  const ferry = await ferryRun();
  return { hand: await byHandRun(), ferry };
}
