// Benchmark: loading big input (issue 10 §6). A 100,000-host inventory — as one range, as 100,000
// YAML host entries with a variable each, and as 100,000 INI lines — loaded and matched against
// patterns; `web[1:1000000]` refused; a 10 MiB playbook parsed. No sshd: this is the controller alone.
// Target: a 100,000-host range and 100,000 INI lines load and resolve `all` and `web:!web1*` in
// under 2 s (100,000 YAML entries are reported: there the yaml package's parser is most of it).
// Run: npx tsx bench/inventory-load.ts
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../runner/errors.js';
import { loadInventory } from '../runner/inventory/index.js';
import { matchHosts } from '../runner/inventory/patterns.js';
import { loadPlaybook } from '../runner/playbook/load.js';
import { builtinModules } from '../tasks/index.js';
import { median, reportResult, type BenchResult } from './lib.js';

const HOSTS = 100_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_MS = 2000;

interface Shape {
  name: string;
  file: string;
  text: () => string;
  /** Held to TARGET_MS; otherwise reported for information. */
  target: boolean;
}

const SHAPES: Shape[] = [
  { name: 'YAML range web[1:100000]', file: 'range.yaml', target: true, text: () => `all:\n  children:\n    web:\n      hosts:\n        web[1:${HOSTS}]:\n    db:\n      hosts:\n        db[1:10]:\n` },
  {
    name: 'YAML, 100,000 host entries with a variable each',
    file: 'hosts.yaml',
    // 3.3 MB of YAML: the yaml package's parser takes most of the time, not ferry.
    target: false,
    text: () => {
      const lines = ['all:', '  children:', '    web:', '      hosts:'];
      for (let i = 1; i <= HOSTS; i++) lines.push(`        web${i}: { rack: r${i % 40} }`);
      return lines.join('\n') + '\n';
    },
  },
  {
    name: 'INI, 100,000 host lines',
    file: 'hosts.ini',
    target: true,
    text: () => {
      const lines = ['[web]'];
      for (let i = 1; i <= HOSTS; i++) lines.push(`web${i} rack=r${i % 40}`);
      return lines.join('\n') + '\n';
    },
  },
];

/** Loads the inventory and resolves two patterns; returns the time of each step in ms. */
function loadAndMatch(path: string): { load: number; match: number; hosts: number } {
  const t0 = performance.now();
  const inv = loadInventory(path);
  const t1 = performance.now();
  const all = matchHosts(inv, 'all');
  const some = matchHosts(inv, 'web:!web1*');
  const t2 = performance.now();
  if (all.length < HOSTS || some.length !== 88_888) throw new Error(`wrong match: ${all.length} / ${some.length}`);
  return { load: t1 - t0, match: t2 - t1, hosts: all.length };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-input-'));
  const results: BenchResult[] = [];
  try {
    for (const s of SHAPES) {
      const path = join(dir, s.file);
      await writeFile(path, s.text());
      const runs: { load: number; match: number }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const m = loadAndMatch(path);
        runs.push(m);
        console.log(`${s.name}: load ${m.load.toFixed(0)} ms, match all + web:!web1* ${m.match.toFixed(0)} ms (${m.hosts} hosts)`);
      }
      const whole = median(runs.map((m) => m.load + m.match));
      results.push({
        name: `inventory load: ${s.name}`,
        measured: `${whole.toFixed(0)} ms (load ${median(runs.map((m) => m.load)).toFixed(0)}, match ${median(runs.map((m) => m.match)).toFixed(0)}; median of ${ROUNDS})`,
        target: s.target ? `< ${TARGET_MS} ms` : '-',
        pass: s.target ? whole < TARGET_MS : null,
      });
    }

    const huge = join(dir, 'huge.yaml');
    await writeFile(huge, 'all:\n  hosts:\n    web[1:1000000]:\n');
    const t0 = performance.now();
    let refused = false;
    try {
      loadInventory(huge);
    } catch (e) {
      refused = e instanceof ValidationError && /one range may name at most/.test(e.message);
    }
    const refuseMs = performance.now() - t0;
    console.log(`web[1:1000000]: ${refused ? 'refused' : 'NOT refused'} in ${refuseMs.toFixed(1)} ms`);
    results.push({ name: 'inventory load: web[1:1000000] refused', measured: `${refused ? 'refused' : 'loaded'} in ${refuseMs.toFixed(1)} ms`, target: 'refused', pass: refused });

    // A playbook just under the 10 MiB limit: what the limit costs at most (the yaml package's parser dominates).
    const pb = join(dir, 'big.yaml');
    const tasks: string[] = ['- hosts: all', '  tasks:'];
    let size = 0;
    for (let i = 0; size < 10 * 1024 * 1024 - 200; i++) {
      const t = `    - name: task ${i}\n      command: echo {{ inventory_hostname }} ${i}`;
      tasks.push(t);
      size += t.length + 1;
    }
    await writeFile(pb, tasks.join('\n') + '\n');
    const p0 = performance.now();
    const loaded = loadPlaybook(pb, builtinModules(), dir);
    const parseMs = performance.now() - p0;
    console.log(`10 MiB playbook (${loaded.plays[0]!.tasks.length} tasks): loaded in ${(parseMs / 1000).toFixed(1)} s`);
    results.push({ name: 'playbook load: 10 MiB (the size limit)', measured: `${(parseMs / 1000).toFixed(1)} s, ${loaded.plays[0]!.tasks.length} tasks`, target: '-', pass: null });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  reportResult(results);
}

await main();
