// A fleet on loopback for the scale benchmarks: up to hundreds of inventory hosts spread over a few
// harness sshd instances (each host its own SSH connection), a playbook of trivial `command` tasks,
// 5% of the hosts unreachable (a closed port) and 5% failing one task, and a ferry run over it
// measured inside the ferry process (a preload, so nothing in ferry changes for it): peak RSS, CPU,
// the longest event-loop stall (perf_hooks.monitorEventLoopDelay), and the recap of every host.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { HostRecap } from '../runner/events.js';
import { quote } from '../runner/command.js';
import { NOPASSWD_USER, startSshd, type SshdHost } from '../test/harness/sshd.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app', 'cli.js');

/**
 * Preloaded into the ferry process: records the event loop's delay from the first turn after the
 * CLI module graph is loaded (module loading itself is start-up, measured by startup.ts), and at
 * exit writes the peak RSS, the CPU time and the delays to the file FERRY_BENCH_PROBE names.
 */
const PROBE = `
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const h = monitorEventLoopDelay({ resolution: 10 });
setTimeout(() => h.enable(), 0);
process.on('exit', () => {
  h.disable();
  const u = process.resourceUsage();
  writeFileSync(process.env.FERRY_BENCH_PROBE, JSON.stringify({
    maxRssBytes: u.maxRSS * 1024,
    cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000,
    loopMaxMs: h.count ? h.max / 1e6 : 0,
    loopP99Ms: h.count ? h.percentile(99) / 1e6 : 0,
  }));
});
`;

interface Probe {
  maxRssBytes: number;
  cpuMs: number;
  loopMaxMs: number;
  loopP99Ms: number;
}

/** What one ferry run over the fleet measured. */
export interface RunFigures extends Probe {
  hosts: number;
  forks: number;
  ms: number;
  /** Bytes ferry wrote to its stdout (the terminal, with `tty`). */
  outBytes: number;
  recapProblems: string[];
}

/** How a run is made: `tty` runs ferry on a pseudo-terminal of that size (through util-linux `script`), so it draws its live view. */
export interface RunOptions {
  tty?: { rows: number; cols: number };
}

export interface Fleet {
  tasks: number;
  failAt: number;
  sshds: number;
  run(hosts: number, forks: number, o?: RunOptions): Promise<RunFigures>;
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

/** Starts `nSshd` sshd instances, runs `body` with the fleet over them, then stops them and removes the scratch dir. */
export async function withFleet<T>(nSshd: number, tasks: number, body: (f: Fleet) => Promise<T>): Promise<T> {
  const failAt = Math.ceil(tasks / 2);
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-fleet-'));
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

    let runs = 0;
    const run = async (n: number, forks: number, o: RunOptions = {}): Promise<RunFigures> => {
      const { file, kinds } = await inventory(n);
      const id = `${n}-${forks}-${runs++}`;
      const events = join(dir, `events-${id}.ndjson`);
      const probeFile = join(dir, `probe-${id}.json`);
      const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: '', FERRY_BENCH_PROBE: probeFile };
      // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where a stall comes from
      const node = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', `data:text/javascript,${encodeURIComponent(PROBE)}`, CLI, 'run', playbook, '-i', file];
      const common = ['--ssh-config', '/dev/null', '-f', String(forks), '--json', events];
      // on a terminal: `script` gives ferry a pty, sized by stty before ferry starts (a pty of 0x0 gets plain lines)
      const [cmd, args] = o.tty
        ? ['script', ['-qefc', `stty rows ${o.tty.rows} cols ${o.tty.cols}; exec ${[process.execPath, ...node, ...common].map(quote).join(' ')}`, '/dev/null']]
        : [process.execPath, [...node, '--plain', ...common]];
      const t0 = performance.now();
      let outBytes = 0;
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
        let err = '';
        child.stdout.on('data', (c: Buffer) => {
          outBytes += c.length;
          if (process.env.BENCH_VIEW_OUT) appendFileSync(process.env.BENCH_VIEW_OUT, c);
        });
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
      const f: RunFigures = { hosts: n, forks, ms, outBytes, recapProblems, ...probe };
      console.log(
        `  ${String(n).padStart(4)} hosts, --forks ${String(forks).padEnd(3)}${o.tty ? ` tty ${o.tty.cols}x${o.tty.rows}` : ' no tty   '}  ${(ms / 1000).toFixed(1).padStart(6)} s  ` +
          `CPU ${(f.cpuMs / 1000).toFixed(1)} s  out ${(outBytes / 1e6).toFixed(2)} MB  peak RSS ${(f.maxRssBytes / 1e6).toFixed(0)} MB  ` +
          `event-loop delay max ${f.loopMaxMs.toFixed(0)} ms, p99 ${f.loopP99Ms.toFixed(0)} ms  ` +
          `recap ${recapProblems.length ? `WRONG (${recapProblems.length}: ${recapProblems.slice(0, 3).join('; ')})` : 'correct'}`,
      );
      return f;
    };
    return await body({ tasks, failAt, sshds: nSshd, run });
  } finally {
    for (const s of sshds) await s.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
