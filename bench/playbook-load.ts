// Benchmark: loading a big playbook through the API (`ferry run --syntax-check`'s path: runner/api.ts,
// withModulesLoaded with the command line's lazy module registry, app/cli-parts.ts). With its modules
// not loaded yet the playbook is read twice — once to learn which modules it names, once with them
// loaded — and each file should still be read and its YAML parsed once (runner/source-cache.ts); with
// them loaded it is read once. Both are timed, alternately, in the same process and minutes: their
// ratio says what the second reading costs, and a busy machine's load disturbs it less than either
// figure. No sshd: the controller alone. No target (information): a playbook just under the 10 MiB
// input limit, command and debug tasks.
// Run: npx tsx bench/playbook-load.ts   (BENCH_ROUNDS, default 2: each round loads it twice, ~25 s of CPU each)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withCliParts } from '../app/cli-parts.js';
import { describePlaybookFile } from '../runner/api.js';
import { loadAverage, median, reportResult, type BenchResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-pbload-'));
  try {
    const pb = join(dir, 'big.yaml');
    const lines: string[] = ['- hosts: all', '  gather_facts: false', '  tasks:'];
    let size = 0;
    let tasks = 0;
    while (size < 10 * 1024 * 1024 - 400) {
      const t = tasks % 2 ? `    - name: say ${tasks}\n      debug: { msg: "{{ inventory_hostname }} ${tasks}" }` : `    - name: task ${tasks}\n      command: echo {{ inventory_hostname }} ${tasks}`;
      lines.push(t);
      size += t.length + 1;
      tasks++;
    }
    await writeFile(pb, lines.join('\n') + '\n');
    const inv = join(dir, 'hosts.ini');
    await writeFile(inv, 'localhost ansible_connection=local\n');
    console.log(`${(size / 1024 / 1024).toFixed(1)} MiB, ${tasks} tasks; load average at the start ${loadAverage()}`);
    // the command line's parts with command and debug loaded: one reading
    const warm = withCliParts({ inventory: [inv], stateDir: join(dir, 'state') });
    await warm.modules.load(['command', 'debug']);
    const cases = [
      { name: 'modules not loaded (two readings)', parts: () => withCliParts({ inventory: [inv], stateDir: join(dir, 'state') }), wall: [] as number[], cpu: [] as number[] },
      { name: 'modules loaded (one reading)', parts: () => warm, wall: [] as number[], cpu: [] as number[] },
    ];
    for (let i = 0; i < ROUNDS; i++) {
      for (const c of i % 2 ? [...cases].reverse() : cases) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await describePlaybookFile(pb, c.parts(), {});
        c.wall.push(performance.now() - t0);
        const cpu = process.cpuUsage(c0);
        c.cpu.push((cpu.user + cpu.system) / 1000);
        console.log(`round ${i + 1}, ${c.name}: ${(c.wall.at(-1)! / 1000).toFixed(1)} s (CPU ${(c.cpu.at(-1)! / 1000).toFixed(1)} s)`);
      }
    }
    console.log(`load average at the end ${loadAverage()}`);
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const results: BenchResult[] = cases.map((c) => ({
      name: `playbook load through the API, 10 MiB, ${c.name}`,
      measured: `${s(median(c.wall))} (CPU ${s(median(c.cpu))}; medians of ${c.wall.length})`,
      target: 'info',
      pass: null,
    }));
    results.push({ name: 'playbook load: not loaded / loaded (CPU)', measured: `${(median(cases[0]!.cpu) / median(cases[1]!.cpu)).toFixed(2)}x`, target: 'info', pass: null });
    reportResult(results);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
