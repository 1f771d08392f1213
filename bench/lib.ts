// Shared pieces of the benchmarks: harness sshd "hosts" reached as the plain-shell test user,
// a scratch directory that user can write, medians, and the one-line result that bench/run.ts reads.
import { spawn } from 'node:child_process';
import { mkdtemp, chmod, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshTransport } from '../runner/transport/ssh.js';
import { NOPASSWD_USER, type SshdHost } from '../test/harness/sshd.js';

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

/** Throughput in MB/s (10^6 bytes a second, as dd prints it). */
export function mbPerSec(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** A transport to a harness sshd as the plain /bin/sh user (no rc files in the measurement). */
export function benchTransport(h: SshdHost): SshTransport {
  return new SshTransport({
    host: h.name,
    hostName: h.host,
    port: h.port,
    user: NOPASSWD_USER,
    identityFiles: [h.userKeyFile],
    knownHostsFile: h.knownHostsFile,
    sshConfigFile: false,
    agent: false,
  });
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
