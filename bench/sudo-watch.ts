// Micro benchmark: what watching a sudo command for a lost connection costs (become.ts). Sequential
// `sudo true` commands on one warm connection to a harness sshd, with the become-side watcher and
// without it, sudo without a password and with one, in rounds with the order rotated. Two figures
// per variant: wall time per command, and the host's CPU time per command (each variant has an sshd
// of its own in a cgroup v1 cpuacct group, so that everything its sessions fork, a watcher that
// outlives its command included, is counted, however loaded the machine is). The cost of watching
// is, per round, watched minus not watched, and the median over the rounds. BENCH_BEFORE=DIR adds
// another checkout's transport (its runner/transport/ssh.ts, e.g. main's) to the same rounds.
// Run as root: npx tsx bench/sudo-watch.ts [N per variant and round]   (BENCH_ROUNDS, default 7)
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { secret, sh } from '../runner/command.js';
import { SshTransport, type SshTransportOptions } from '../runner/transport/ssh.js';
import { sshTransportOptions, startSshd, type SshdHost } from '../test/harness/sshd.js';
import { loadAverage, median, reportResult, rotated } from './lib.js';

type TransportClass = typeof SshTransport;

/** The transport class as given, and one whose become commands are not watched. */
function withAndWithout(Transport: TransportClass): { watched: TransportClass; unwatched: TransportClass } {
  class Unwatched extends Transport {
    protected override readonly watchesLoginParent: boolean = false;
  }
  return { watched: Transport, unwatched: Unwatched };
}

const CPUACCT = '/sys/fs/cgroup/cpuacct';

/** A cpuacct group holding process `pid` (and what it forks from now on); undefined without cgroup v1 cpuacct. */
async function cpuGroup(name: string, pid: number): Promise<{ ns: () => Promise<number>; remove: () => Promise<void> } | undefined> {
  if (!existsSync(join(CPUACCT, 'cpuacct.usage'))) return undefined;
  const dir = join(CPUACCT, `ferry-bench-${process.pid}-${name}`);
  await mkdir(dir);
  await writeFile(join(dir, 'cgroup.procs'), String(pid));
  return {
    ns: async () => Number(await readFile(join(dir, 'cpuacct.usage'), 'utf8')),
    // a watcher ends within a second or so of its sshd: wait for it, up to 10 s
    remove: async () => {
      for (let i = 0; ; i++) {
        try {
          return await rmdir(dir);
        } catch {
          if (i === 20) return console.log(`(cgroup ${dir} still holds processes: not removed)`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
  };
}

interface Variant {
  label: string;
  host: SshdHost;
  transport: SshTransport;
  password?: string;
  cpu?: Awaited<ReturnType<typeof cpuGroup>>;
}

/** Runs `n` sequential `sudo true`; returns the mean wall and host CPU milliseconds per command. */
async function measure(v: Variant, n: number): Promise<{ wall: number; cpu: number }> {
  const become = { user: 'root', ...(v.password ? { password: secret(v.password) } : {}) };
  const cpu0 = (await v.cpu?.ns()) ?? 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await v.transport.run(sh`true`, { become });
    if (r.exitCode !== 0) throw new Error(`${v.label}: sudo true exited ${r.exitCode}: ${r.stderr}`);
  }
  const wall = (performance.now() - t0) / n;
  return { wall, cpu: (((await v.cpu?.ns()) ?? 0) - cpu0) / 1e6 / n };
}

/** The four variants of one checkout's transport, each on an sshd of its own. */
async function variants(name: string, Transport: TransportClass): Promise<Variant[]> {
  const { watched, unwatched } = withAndWithout(Transport);
  const out: Variant[] = [];
  for (const [mode, password] of [['sudo -n', false], ['sudo -S', true]] as const) {
    for (const [watch, T] of [['watched', watched], ['not watched', unwatched]] as const) {
      const host = await startSshd();
      const opts: SshTransportOptions = sshTransportOptions(host, password ? host.users.passwordUser : host.users.nopasswd);
      const label = `${name} ${mode}, ${watch}`;
      const cpu = await cpuGroup(label.replace(/[^a-zA-Z]+/g, '-'), host.pid);
      out.push({ label, host, transport: new T(opts), ...(password ? { password: host.users.password } : {}), cpu });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  const before = process.env.BENCH_BEFORE;
  const all: Variant[] = [];
  try {
    all.push(...(await variants('this', SshTransport)));
    if (before) {
      const mod = (await import(join(resolve(before), 'runner/transport/ssh.ts'))) as { SshTransport: TransportClass };
      all.push(...(await variants('before', mod.SshTransport)));
    }
    for (const v of all) await measure(v, 10); // warm up: connection, watchers, sudo's caches
    const times = new Map<string, { wall: number; cpu: number }[]>(all.map((v) => [v.label, []]));
    for (let r = 0; r < rounds; r++) {
      const order = rotated(all, r);
      for (const v of order) times.get(v.label)!.push(await measure(v, n));
      console.log(`round ${r + 1}/${rounds} done, load ${loadAverage()}`);
    }
    const results = [];
    for (const name of before ? ['this', 'before'] : ['this']) {
      for (const mode of ['sudo -n', 'sudo -S']) {
        const on = times.get(`${name} ${mode}, watched`)!;
        const off = times.get(`${name} ${mode}, not watched`)!;
        const parts: string[] = [];
        for (const k of ['wall', 'cpu'] as const) {
          if (k === 'cpu' && !all[0]!.cpu) continue;
          const diffs = on.map((x, i) => x[k] - off[i]![k]);
          const cost = median(diffs);
          console.log(
            `${name} ${mode} ${k} ms/command: watched ${median(on.map((x) => x[k])).toFixed(2)}, not watched ${median(off.map((x) => x[k])).toFixed(2)}; ` +
              `difference per round ${diffs.map((x) => x.toFixed(1)).join(' ')}, median ${cost.toFixed(2)}`,
          );
          parts.push(`${cost >= 0 ? '+' : ''}${cost.toFixed(2)} ms ${k === 'wall' ? 'wall' : 'host CPU'}`);
        }
        results.push({ name: `sudo-watch ${name} ${mode}`, measured: `${parts.join(', ')} per command watched`, target: '', pass: null });
      }
    }
    console.log(`${n} commands per variant and round, ${rounds} rounds, load at the end ${loadAverage()}`);
    reportResult(results);
  } finally {
    await Promise.all(all.map((v) => v.transport.close()));
    for (const v of all) await v.host.stop();
    for (const v of all) await v.cpu?.remove();
  }
}

await main();
