// Issue 15 §3: `ferry exec` of one command on 10 hosts ≤ 1.2× `ssh HOST true` run in parallel with
// OpenSSH, process start included on both sides. 10 harness sshd hosts (BENCH_HOSTS), logged in as
// the plain-/bin/sh test user. Run as root, after `npm run build`:
//   npx tsx bench/exec-hosts.ts            (BENCH_ROUNDS=N, default 7; BENCH_HOSTS, default 10)
// BENCH_CLI=OTHER/dist/app/bin.cjs adds that build's `exec` (persistent shell and exec channels) to
// the same rounds, for a before/after on the same machine and hour; BENCH_NODE_ARGS are given to
// ferry's node (e.g. "--cpu-prof --cpu-prof-dir=DIR").
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SshdHost } from '../test/harness/sshd.js';
import { loadAverage, median, opensshArgs, reportResult, roundsAgainstFirst, withBenchHosts, withChildCpu, type BenchResult, type Variant } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
// what `ferry` runs: package.json's bin
const BIN = join(ROOT, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { ferry: string } }).bin.ferry);
const BEFORE = process.env.BENCH_CLI;
const TARGET = 1.2;

/** What one run of a command gave: exit code and its output (stdout, then stderr). */
interface Ran {
  code: number | null;
  out: string;
}

/** Starts a process with its output collected; resolves when it has exited. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out + err }));
  });
}

/** One `ssh HOST true` per host, all started at once (a fresh connection each, no ControlMaster); ms from the first spawn to the last exit. */
async function openssh(hosts: SshdHost[]): Promise<number> {
  const t0 = performance.now();
  const all = await Promise.all(hosts.map((h) => run('ssh', [...opensshArgs(h), 'true'])));
  const ms = performance.now() - t0;
  all.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`ssh ${hosts[i]!.name} true exited ${r.code}: ${r.out.trim()}`);
  });
  return ms;
}

/**
 * `node BIN exec all -i INV -m command -a true -f N`, process start included; checks the exit code
 * and that every host printed its `HOST | CHANGED | rc=0` line (the ad hoc output, as a user sees it).
 */
async function ferryExec(hosts: SshdHost[], inventory: string, bin = BIN): Promise<number> {
  // no agent; the inventory alone turns the persistent shell on or off
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: '', NO_COLOR: '1' };
  delete env.FERRY_PERSISTENT_SHELL;
  const t0 = performance.now();
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where ferry's time goes
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const r = await run(process.execPath, [...nodeArgs, bin, 'exec', 'all', '-i', inventory, '-m', 'command', '-a', 'true', '-f', String(hosts.length), '--ssh-config', '/dev/null'], env);
  const ms = performance.now() - t0;
  const missing = hosts.filter((h) => !new RegExp(`^${h.name} \\| CHANGED \\| rc=0\\b`, 'm').test(r.out));
  if (r.code !== 0 || missing.length) throw new Error(`ferry exec exited ${r.code}; no ok line for ${missing.map((h) => h.name).join(', ') || 'none'}:\n${r.out.slice(-2000)}`);
  return ms;
}

/** `node BIN --version`: Node's start and the bin, which every ferry run pays; ms. */
async function ferryVersion(): Promise<number> {
  const t0 = performance.now();
  const r = await run(process.execPath, [BIN, '--version']);
  if (r.code !== 0) throw new Error(`ferry --version exited ${r.code}: ${r.out}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const nHosts = Number(process.env.BENCH_HOSTS ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  await withBenchHosts(nHosts, async ({ hosts, invShell, invExec }) => {
    // the CPU time the processes of each run used (the client side: 10 ssh, or one node), runs after the untimed first
    const cpu = new Map<string, number[]>();
    // the persistent shell is ferry's default; exec channels are ferry_persistent_shell: false
    const timed: Variant[] = [
      ['openssh: ssh HOST true, in parallel', () => openssh(hosts)],
      ['ferry exec', () => ferryExec(hosts, invShell)],
      ['ferry exec, exec channels', () => ferryExec(hosts, invExec)],
      ['ferry --version (process start)', () => ferryVersion()],
      ...(BEFORE
        ? ([
            ['before: ferry exec', () => ferryExec(hosts, invShell, BEFORE)],
            ['before: ferry exec, exec channels', () => ferryExec(hosts, invExec, BEFORE)],
          ] as Variant[])
        : []),
    ];
    const variants = timed.map((v) => withChildCpu(cpu, v));
    console.log(`load average at the start ${loadAverage()}`);
    const ratios = await roundsAgainstFirst(variants, rounds, `${nHosts} hosts, ${rounds} rounds (ms; ratio: median of the per-round ratios to OpenSSH)`);
    console.log(`load average at the end ${loadAverage()}`);
    console.log('CPU time of the processes each run started (user + system; 10 ms ticks)');
    for (const [name] of variants) console.log(`  ${name.padEnd(38)} median ${median(cpu.get(name)!.slice(1)).toFixed(0).padStart(6)} ms`);
    const figure = (name: string): BenchResult => {
      const ratio = ratios.get(name)!;
      return { name: `${name} (${nHosts} hosts)`, measured: `${ratio.toFixed(2)}x parallel ssh HOST true`, target: `<= ${TARGET}x`, pass: ratio <= TARGET };
    };
    reportResult([figure('ferry exec'), figure('ferry exec, exec channels')]);
  });
}

await main();
