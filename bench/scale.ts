// Issue 15 §5: scale from one controller. 20 trivial `command` tasks on up to 500 inventory hosts,
// spread over a few harness sshd instances on loopback (each host its own SSH connection), with
// --forks 50 and --forks 500; 5% of the hosts unreachable (a closed port) and 5% failing one task.
// Measured inside the ferry process (a preload, so nothing in ferry changes for it): peak RSS and
// the longest event-loop stall (perf_hooks.monitorEventLoopDelay). Checked: the recap of every host.
// Run as root, after `npm run build`:
//   npx tsx bench/scale.ts      (BENCH_SCALE_HOSTS=500, BENCH_SCALE_SSHD=10, BENCH_TASKS=20, BENCH_NODE_ARGS;
//                                BENCH_SCALE_WIDE=N: after the warm-up, only N runs of all hosts at --forks all)
// Targets: wall time linear in hosts at fixed forks, peak RSS <= 300 MB, no stall over 100 ms,
// a correct recap.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { HostRecap } from '../runner/events.js';
import { NOPASSWD_USER, startSshd, type SshdHost } from '../test/harness/sshd.js';
import { reportResult, type BenchResult } from './lib.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app', 'cli.js');

/**
 * Preloaded into the ferry process: records the event loop's delay from the first turn after the
 * CLI module graph is loaded (module loading itself is start-up, measured by startup.ts), and at
 * exit writes the peak RSS and the delays to the file FERRY_BENCH_PROBE names.
 */
const PROBE = `
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const h = monitorEventLoopDelay({ resolution: 10 });
setTimeout(() => h.enable(), 0);
process.on('exit', () => {
  h.disable();
  writeFileSync(process.env.FERRY_BENCH_PROBE, JSON.stringify({
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    loopMaxMs: h.count ? h.max / 1e6 : 0,
    loopP99Ms: h.count ? h.percentile(99) / 1e6 : 0,
  }));
});
`;

interface Probe {
  maxRssBytes: number;
  loopMaxMs: number;
  loopP99Ms: number;
}

interface RunFigures extends Probe {
  hosts: number;
  forks: number;
  ms: number;
  recapProblems: string[];
}

/** A loopback port nothing listens on (bound, then closed): connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** What each kind of host's recap must be after the run. */
function expectedRecap(kind: 'ok' | 'fails' | 'unreachable', tasks: number, failAt: number): Partial<HostRecap> {
  if (kind === 'unreachable') return { ok: 0, changed: 0, failed: 0, unreachable: 1 };
  if (kind === 'fails') return { ok: failAt - 1, changed: failAt - 1, failed: 1, unreachable: 0 };
  return { ok: tasks, changed: tasks, failed: 0, unreachable: 0 };
}

async function main(): Promise<void> {
  const maxHosts = Number(process.env.BENCH_SCALE_HOSTS ?? 500);
  const nSshd = Number(process.env.BENCH_SCALE_SSHD ?? 10);
  const tasks = Number(process.env.BENCH_TASKS ?? 20);
  const failAt = Math.ceil(tasks / 2);
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-scale-'));
  const sshds: SshdHost[] = [];
  try {
    // hundreds of connections arrive at once: sshd's default MaxStartups (10:30:100) would drop most
    const extraConfig = ['MaxStartups 2000', 'MaxSessions 20'];
    // one login key for every sshd (the first one's), so one ansible_ssh_private_key_file serves all
    for (let i = 0; i < nSshd; i++) sshds.push(await startSshd({ extraConfig, userKeyFile: sshds[0]?.userKeyFile }));
    const refused = await closedPort();
    // every sshd's host keys in one file, so one ferry_known_hosts_file serves every host
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, sshds.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
    const playbook = join(dir, 'play.yml');
    const taskList = Array.from({ length: tasks }, (_, i) =>
      i + 1 === failAt ? { name: `t${i + 1}`, command: "{{ 'false' if bench_fails | default(false) else 'true' }}" } : { name: `t${i + 1}`, command: 'true' },
    );
    await writeFile(playbook, stringify([{ hosts: 'all', gather_facts: false, tasks: taskList }]));

    /** An inventory of n hosts: every 20th unreachable, every 20th (offset 10) failing task failAt. */
    const inventory = async (n: number): Promise<{ file: string; kinds: Map<string, 'ok' | 'fails' | 'unreachable'> }> => {
      const kinds = new Map<string, 'ok' | 'fails' | 'unreachable'>();
      const hosts: Record<string, Record<string, unknown>> = {};
      for (let i = 0; i < n; i++) {
        const name = `h${String(i + 1).padStart(4, '0')}`;
        const s = sshds[i % sshds.length]!;
        const kind = i % 20 === 19 ? 'unreachable' : i % 20 === 9 ? 'fails' : 'ok';
        kinds.set(name, kind);
        hosts[name] = { ansible_host: '127.0.0.1', ansible_port: kind === 'unreachable' ? refused : s.port, ...(kind === 'fails' ? { bench_fails: true } : {}) };
      }
      const file = join(dir, `inv-${n}.yml`);
      const vars = { ansible_user: NOPASSWD_USER, ansible_ssh_private_key_file: sshds[0]!.userKeyFile, ferry_known_hosts_file: knownHosts };
      await writeFile(file, stringify({ all: { vars, hosts } }));
      return { file, kinds };
    };

    const run = async (n: number, forks: number): Promise<RunFigures> => {
      const { file, kinds } = await inventory(n);
      const events = join(dir, `events-${n}-${forks}.ndjson`);
      const probeFile = join(dir, `probe-${n}-${forks}.json`);
      const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: '', FERRY_BENCH_PROBE: probeFile };
      // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where a stall comes from
      const args = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, CLI, 'run', playbook, '-i', file, '--plain', '--ssh-config', '/dev/null', '-f', String(forks), '--json', events];
      const t0 = performance.now();
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
        let err = '';
        child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
        child.on('error', reject);
        child.on('close', (c) => (c !== null && c <= 3 ? resolve(c) : reject(new Error(`ferry run exited ${c}: ${err}`))));
      });
      const ms = performance.now() - t0;
      const recapProblems: string[] = [];
      // as Ansible: 2 when a host failed, else 3 when one was unreachable
      const has = (k: string): boolean => [...kinds.values()].includes(k as 'ok');
      const wantCode = has('fails') ? 2 : has('unreachable') ? 3 : 0;
      if (code !== wantCode) recapProblems.push(`exit ${code}, expected ${wantCode}`);
      const recap = readFileSync(events, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; hosts?: Record<string, HostRecap> })
        .find((e) => e.type === 'recap');
      if (!recap?.hosts) recapProblems.push('no recap event');
      else {
        for (const [host, kind] of kinds) {
          const want = expectedRecap(kind, tasks, failAt);
          const got = recap.hosts[host];
          const diff = Object.entries(want).filter(([k, v]) => got?.[k as keyof HostRecap] !== v);
          if (diff.length) recapProblems.push(`${host} (${kind}): ${diff.map(([k, v]) => `${k} ${got?.[k as keyof HostRecap]} (want ${v})`).join(', ')}`);
        }
        const extra = Object.keys(recap.hosts).filter((h) => !kinds.has(h));
        if (extra.length) recapProblems.push(`hosts in the recap not in the inventory: ${extra.join(' ')}`);
      }
      const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as Probe;
      const f = { hosts: n, forks, ms, recapProblems, ...probe };
      console.log(
        `  ${String(n).padStart(4)} hosts, --forks ${String(forks).padEnd(3)}  ${(ms / 1000).toFixed(1).padStart(6)} s  ` +
          `peak RSS ${(f.maxRssBytes / 1e6).toFixed(0)} MB  event-loop delay max ${f.loopMaxMs.toFixed(0)} ms, p99 ${f.loopP99Ms.toFixed(0)} ms  ` +
          `recap ${recapProblems.length ? `WRONG (${recapProblems.length}: ${recapProblems.slice(0, 3).join('; ')})` : 'correct'}`,
      );
      return f;
    };

    await run(Math.min(50, maxHosts), 50); // warm: sshd, the page cache, Node's compile cache
    console.log(`${tasks} tasks per host; ${nSshd} sshd instances; every 20th host unreachable, every 20th fails task ${failAt}`);
    if (process.env.BENCH_SCALE_WIDE) {
      // only the wide run, BENCH_SCALE_WIDE times (a quick before/after of all hosts at once)
      const wides = [];
      for (let i = 0; i < Number(process.env.BENCH_SCALE_WIDE); i++) wides.push(await run(maxHosts, maxHosts));
      const wrongWide = wides.filter((f) => f.recapProblems.length);
      reportResult([
        { name: `${maxHosts} hosts, --forks ${maxHosts}`, measured: wides.map((f) => `${(f.ms / 1000).toFixed(1)} s`).join(', '), target: 'info', pass: null },
        { name: 'recap with 5% unreachable, 5% failed', measured: wrongWide.length ? `wrong in ${wrongWide.length} runs` : `correct in ${wides.length} runs`, target: 'correct', pass: wrongWide.length === 0 },
      ]);
      return;
    }
    const sizes = [...new Set([Math.round(maxHosts / 5), Math.round(maxHosts / 2), maxHosts])];
    const linear = [];
    for (const n of sizes) linear.push(await run(n, 50));
    const wide = await run(maxHosts, maxHosts);
    const all = [...linear, wide];

    // linear: the cost of each further host stays the same as hosts grow (start-up is a constant)
    const slope = (a: RunFigures, b: RunFigures): number => (b.ms - a.ms) / (b.hosts - a.hosts);
    const s1 = slope(linear[0]!, linear[1]!);
    const s2 = slope(linear[1]!, linear[2]!);
    const worstRss = Math.max(...all.map((f) => f.maxRssBytes));
    const worstStall = Math.max(...all.map((f) => f.loopMaxMs));
    const wrong = all.filter((f) => f.recapProblems.length);
    const results: BenchResult[] = [
      {
        name: `wall time linear in hosts (--forks 50, ${sizes.join('/')} hosts)`,
        measured: `${s1.toFixed(1)} then ${s2.toFixed(1)} ms per further host (${(s2 / s1).toFixed(2)}x)`,
        target: 'the second slope <= 1.5x the first',
        pass: s2 <= 1.5 * s1,
      },
      { name: `${maxHosts} hosts, --forks 500`, measured: `${(wide.ms / 1000).toFixed(1)} s (--forks 50: ${(linear[2]!.ms / 1000).toFixed(1)} s)`, target: 'info', pass: null },
      { name: 'controller peak RSS', measured: `${(worstRss / 1e6).toFixed(0)} MB`, target: '<= 300 MB', pass: worstRss <= 300e6 },
      { name: 'longest event-loop stall', measured: `${worstStall.toFixed(0)} ms`, target: '<= 100 ms', pass: worstStall <= 100 },
      { name: 'recap with 5% unreachable, 5% failed', measured: wrong.length ? `wrong in ${wrong.length} runs` : `correct in ${all.length} runs`, target: 'correct', pass: wrong.length === 0 },
    ];
    reportResult(results);
  } finally {
    for (const s of sshds) await s.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
