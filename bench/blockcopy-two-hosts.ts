// Benchmark: blockcopy between two hosts through the controller vs OpenSSH's
// `ssh A dd ... | ssh B dd ...`, same dd commands on both ends, 1 GiB of random data.
// Target (issue 5): ferry >= 90% of OpenSSH's throughput. Run as root: npx tsx bench/blockcopy-two-hosts.ts [MiB]
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { quote, sh } from '../runner/command.js';
import type { PeerHost } from '../runner/module.js';
import type { SshTransport } from '../runner/transport/ssh.js';
import { blockcopyModule } from '../tasks/blockcopy.js';
import { startSshdHosts, type SshdHost } from '../test/harness/sshd.js';
import {
  type BenchResult,
  benchTransport,
  mbPerSec,
  median,
  opensshArgs,
  removeScratch,
  reportResult,
  scratchDir,
  shell,
  sizeFromArgs,
  timedTask,
  type TaskTiming,
} from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const TARGET = 0.9;
const BS = 4 * 1024 * 1024;

/** `ssh A 'dd if=SRC' | ssh B 'dd of=DEST'` with the dd flags blockcopy itself uses; returns ms. */
async function opensshCopy(a: SshdHost, b: SshdHost, src: string, dest: string, size: number, cipher?: string): Promise<number> {
  // The same reader and writer blockcopy builds (tasks/blockcopy.ts readCommand/writeCommand), so
  // only the transport differs: fullblock reads, notrunc + fsync on the writer.
  const reader = sh`dd ${`if=${src}`} ${`bs=${BS}`} ${`count=${size / BS}`} iflag=fullblock status=none`.text;
  const writer = sh`dd ${`of=${dest}`} ${`bs=${BS}`} iflag=fullblock conv=notrunc,fsync status=none`.text;
  const c = cipher ? `-c ${quote(cipher)} ` : '';
  const pipe = `ssh ${c}${opensshArgs(a).map(quote).join(' ')} ${quote(reader)} | ssh ${c}${opensshArgs(b).map(quote).join(' ')} ${quote(writer)}`;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', `set -e; ${pipe}`], { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh | ssh exited ${code}: ${err.trim()}`))));
  });
  return performance.now() - t0;
}

/** blockcopy src_host → dest_host through this process; times plan and apply apart. */
function ferryCopy(ta: SshTransport, tb: SshTransport, src: string, dest: string, size: number, extra: Record<string, unknown>): Promise<TaskTiming> {
  const peers = new Map<string, SshTransport>([[ta.host, ta], [tb.host, tb]]);
  const peer = async (name: string): Promise<PeerHost> => {
    const t = peers.get(name);
    if (!t) throw new Error(`no host ${name}`);
    return { name, transport: t, become: false, vars: {} };
  };
  return timedTask(blockcopyModule, { src, dest, size, src_host: ta.host, dest_host: tb.host, ...extra }, { host: ta.host, transport: ta, peer });
}

/** Wall time of `ssh A true` and `ssh B true` started together: what connecting costs the OpenSSH pipe. */
async function opensshSetupMs(a: SshdHost, b: SshdHost, cipher?: string): Promise<number> {
  const c = cipher ? ['-c', cipher] : [];
  const t0 = performance.now();
  await Promise.all([a, b].map((h) => shell(`exec ssh "$@"`, ...c, ...opensshArgs(h), 'true')));
  return performance.now() - t0;
}

interface Variant {
  name: string;
  /** Milliseconds the copy took, the part of it that was connection setup, and a note for the log. */
  run(): Promise<{ ms: number; setupMs?: number; note?: string }>;
}

async function main(): Promise<void> {
  const size = sizeFromArgs(1024);
  if (size % BS !== 0) throw new Error('size must be a multiple of 4 MiB');
  let dir: string | undefined;
  const hosts = await startSshdHosts(2);
  const [a, b] = hosts as [SshdHost, SshdHost];
  const ta = benchTransport(a);
  const tb = benchTransport(b);
  try {
    dir = await scratchDir('ferry-bench-bc2-', 2 * size);
    const src = join(dir, 'src.img');
    const dest = join(dir, 'dest.img');
    console.log(`making ${size / 1024 / 1024} MiB of random data in ${dir} ...`);
    await shell('head -c "$1" /dev/urandom > "$2" && chmod 644 "$2"', String(size), src);
    await Promise.all([ta.connect(), tb.connect()]);

    const openssh = (cipher?: string): Variant['run'] => async () => {
      const setupMs = await opensshSetupMs(a, b, cipher);
      return { ms: await opensshCopy(a, b, src, dest, size, cipher), setupMs, note: `connecting ${setupMs.toFixed(0)} ms` };
    };
    const ferry = (extra: Record<string, unknown>): Variant['run'] => async () => {
      const cpu0 = process.cpuUsage();
      const f = await ferryCopy(ta, tb, src, dest, size, { verify: 'none', ...extra });
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      return { ms: f.applyMs, note: `plan ${f.planMs.toFixed(0)} ms, ${String(f.data.compression)}, controller CPU ${cpuS.toFixed(1)} s` };
    };
    const variants: Variant[] = [
      { name: 'openssh (default cipher)', run: openssh() },
      // ssh2's first default cipher (node_modules/ssh2/lib/protocol/constants.js on an AES-NI CPU)
      { name: 'openssh aes128-gcm', run: openssh('aes128-gcm@openssh.com') },
      { name: 'ferry compress=none', run: ferry({ compress: 'none' }) },
      { name: 'ferry compress=auto', run: ferry({}) },
    ];
    const copyMs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const streamMs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    // Rounds in turn, each starting one variant later: every variant meets the same page cache,
    // and none always follows the same neighbour while the machine's load drifts.
    for (let round = 1; round <= ROUNDS; round++) {
      const k = (round - 1) % variants.length;
      for (const v of [...variants.slice(k), ...variants.slice(0, k)]) {
        await rm(dest, { force: true });
        // the previous copy's writeback (or the source's) must not land in this one's time
        await shell('sync');
        const { ms, setupMs, note } = await v.run();
        // Every copy is checked: a fast broken copy must not pass for a fast copy.
        const ok = round === 1 ? await shell('cmp "$1" "$2" && echo same', src, dest) : await shell('stat -c %s "$1"', dest);
        if (ok.trim() !== (round === 1 ? 'same' : String(size))) throw new Error(`${v.name}: the copy differs from the source`);
        copyMs.get(v.name)!.push(ms);
        streamMs.get(v.name)!.push(ms - (setupMs ?? 0));
        console.log(`round ${round} ${v.name.padEnd(26)} ${mbPerSec(size, ms).toFixed(1).padStart(7)} MB/s  ${(ms / 1000).toFixed(2)} s${note ? `  (${note})` : ''}`);
      }
    }
    await rm(dest, { force: true });
    await shell('sync');
    // For information: the whole task with its verify step (sha256 of the range on both hosts).
    const t0 = performance.now();
    const fv = await ferryCopy(ta, tb, src, dest, size, { verify: 'sha256', compress: 'none' });
    const wholeMs = performance.now() - t0;
    await rm(dest, { force: true });
    console.log(`ferry compress=none verify=sha256: plan ${(fv.planMs / 1000).toFixed(2)} s + copy and verify ${(fv.applyMs / 1000).toFixed(2)} s = ${mbPerSec(size, wholeMs).toFixed(1)} MB/s overall`);

    const rate = (m: Map<string, number[]>, n: string): number => mbPerSec(size, median(m.get(n)!));
    console.log(`\nmedian of ${ROUNDS} (MB/s; OpenSSH also without its connection setup, which ferry's warm connections do not pay):`);
    for (const v of variants) {
      const s = v.name.startsWith('openssh') ? `  (${rate(streamMs, v.name).toFixed(1)} without setup)` : '';
      console.log(`  ${v.name.padEnd(26)} ${rate(copyMs, v.name).toFixed(1).padStart(7)}${s}`);
    }
    // The baseline of each round: the faster OpenSSH cipher of that round, its connection setup
    // taken out (the strictest). The target is the median of the per-round ratios.
    const base = Array.from({ length: ROUNDS }, (_, i) =>
      Math.min(streamMs.get('openssh (default cipher)')![i]!, streamMs.get('openssh aes128-gcm')![i]!),
    );
    const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
    const check = (label: string, n: string): BenchResult => {
      const ratios = copyMs.get(n)!.map((ms, i) => base[i]! / ms);
      const r = median(ratios);
      console.log(`  ${n}: ${pct(r)} of the faster OpenSSH (rounds ${ratios.map(pct).join(' ')})`);
      return {
        name: `blockcopy two hosts, ${label}`,
        measured: `${pct(r)} (rounds ${pct(Math.min(...ratios))}..${pct(Math.max(...ratios))}); ${rate(copyMs, n).toFixed(0)} MB/s`,
        target: `>= ${TARGET * 100}% of ssh|ssh`,
        pass: r >= TARGET,
      };
    };
    reportResult([check('default compress', 'ferry compress=auto'), check('compress=none', 'ferry compress=none')]);
  } finally {
    await Promise.all([ta.close(), tb.close()]);
    for (const h of hosts) await h.stop();
    await removeScratch(dir);
  }
}

await main();
