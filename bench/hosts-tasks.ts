// Issue 15 §1/§3: 20 trivial `command` tasks on each of 10 harness sshd hosts, ferry against a
// bare ssh2 loop (one connection per host, one exec channel per command, TCP_NODELAY), with the
// persistent shell (the default) and with exec channels. Run as root, after `npm run build`:
//   npx tsx bench/hosts-tasks.ts            (BENCH_ROUNDS=N, default 5; BENCH_HOSTS, BENCH_TASKS)
// BENCH_BEFORE=OTHER/dist/app/cli.js adds that build's `run` and `run --check` to the same rounds
// (information: a before/after on the same machine and hour); BENCH_NODE_ARGS are given to node
// before the CLI (e.g. "--cpu-prof --cpu-prof-dir=DIR").
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { stringify } from 'yaml';
import { NOPASSWD_USER, type SshdHost } from '../test/harness/sshd.js';
import { loadAverage, median, reportResult, roundsAgainstFirst, withBenchHosts, withChildCpu, type Variant } from './lib.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app', 'cli.js');
const BEFORE = process.env.BENCH_BEFORE;

/** One host's loop: connect, run `tasks` execs of `true` one after another, disconnect. */
function bareHost(h: SshdHost, tasks: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: h.host, port: h.port });
    sock.setNoDelay(true);
    const client = new ssh2.Client();
    const one = (left: number): void => {
      if (left === 0) {
        client.end();
        return;
      }
      client.exec('true', (err, ch) => {
        if (err) return reject(err);
        ch.resume();
        ch.stderr.resume();
        ch.once('close', (code: number | null) => (code === 0 ? one(left - 1) : reject(new Error(`true exited ${code}`))));
      });
    };
    client.once('ready', () => one(tasks));
    client.once('close', () => resolve());
    client.once('error', reject);
    client.connect({
      sock: sock as unknown as NonNullable<ssh2.ConnectConfig['sock']>,
      username: NOPASSWD_USER,
      privateKey: readFileSync(h.userKeyFile),
      hostVerifier: () => true, // the harness's own throwaway host on loopback
    });
  });
}

/** The bare ssh2 loop on every host at once; returns milliseconds. */
async function bare(hosts: SshdHost[], tasks: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(hosts.map((h) => bareHost(h, tasks)));
  return performance.now() - t0;
}

/** `node dist/app/cli.js run PLAYBOOK -i INV [extra]`, process start included; returns milliseconds. */
function ferry(playbook: string, inventory: string, extra: string[], cli = CLI): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // no agent; the inventory alone turns the persistent shell on or off
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: '' };
    delete env.FERRY_PERSISTENT_SHELL;
    // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to see where ferry's time goes
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, cli, 'run', playbook, '-i', inventory, '--plain', '--ssh-config', '/dev/null', '-f', '10', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`ferry run ${extra.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
      else resolve(ms);
    });
  });
}

async function main(): Promise<void> {
  const nHosts = Number(process.env.BENCH_HOSTS ?? 10);
  const tasks = Number(process.env.BENCH_TASKS ?? 20);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  await withBenchHosts(nHosts, async ({ hosts, dir, invShell, invExec }) => {
    const playbook = join(dir, 'play.yml');
    const taskList = Array.from({ length: tasks }, (_, i) => ({ name: `t${i + 1}`, command: 'true' }));
    await writeFile(playbook, stringify([{ hosts: 'all', gather_facts: false, tasks: taskList }]));
    // Ansible's free strategy: each host runs its tasks without waiting for the others after each
    // one (as the bare loop does); the default, linear, waits for the slowest host after every task
    const freePlaybook = join(dir, 'play-free.yml');
    await writeFile(freePlaybook, stringify([{ hosts: 'all', gather_facts: false, strategy: 'free', tasks: taskList }]));

    // the CPU time of the process each ferry run started (which the load inflates less than wall time)
    const cpu = new Map<string, number[]>();
    // the persistent shell is ferry's default; exec channels are ferry_persistent_shell: false
    const timed: Variant[] = [
      ['bare ssh2 loop', () => bare(hosts, tasks)],
      ['ferry run', () => ferry(playbook, invShell, [])],
      ['ferry run, exec channels', () => ferry(playbook, invExec, [])],
      ['ferry run, strategy free', () => ferry(freePlaybook, invShell, [])],
      ['ferry run --check', () => ferry(playbook, invShell, ['--check'])],
      ['ferry run --check, exec channels', () => ferry(playbook, invExec, ['--check'])],
      ...(BEFORE
        ? ([
            ['before: ferry run', () => ferry(playbook, invExec, [], BEFORE)],
            ['before: ferry run --check', () => ferry(playbook, invExec, ['--check'], BEFORE)],
          ] as Variant[])
        : []),
    ];
    const variants = timed.map((v) => withChildCpu(cpu, v));
    console.log(`load average at the start ${loadAverage()}`);
    const ratios = await roundsAgainstFirst(variants, rounds, `${nHosts} hosts x ${tasks} tasks, ${rounds} rounds (ms; ratio to the bare loop of the same round)`);
    console.log(`load average at the end ${loadAverage()}`);
    console.log('CPU time of the ferry process of each timed run (user + system; 10 ms ticks; the bare loop runs in this process)');
    for (const [name] of variants.slice(1)) console.log(`  ${name.padEnd(38)} median ${median(cpu.get(name)!.slice(1)).toFixed(0).padStart(6)} ms`);
    const fmt = (n: string): string => `${ratios.get(n)!.toFixed(2)}x the bare ssh2 loop`;
    const size = `(${nHosts}x${tasks})`;
    reportResult([
      { name: `ferry run ${size}`, measured: fmt('ferry run'), target: '<= 1.0x', pass: ratios.get('ferry run')! <= 1.0 },
      { name: `ferry run, exec channels ${size}`, measured: fmt('ferry run, exec channels'), target: '<= 1.0x', pass: ratios.get('ferry run, exec channels')! <= 1.0 },
      { name: `ferry run, strategy free ${size}`, measured: fmt('ferry run, strategy free'), target: '<= 1.0x', pass: ratios.get('ferry run, strategy free')! <= 1.0 },
      { name: `ferry run --check ${size}`, measured: fmt('ferry run --check'), target: '<= 0.5x', pass: ratios.get('ferry run --check')! <= 0.5 },
      {
        name: `ferry run --check, exec channels ${size}`,
        measured: fmt('ferry run --check, exec channels'),
        target: '<= 0.5x',
        pass: ratios.get('ferry run --check, exec channels')! <= 0.5,
      },
    ]);
  });
}

await main();
