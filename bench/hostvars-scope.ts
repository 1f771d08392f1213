// What a task's variables cost as hosts grow (issue 15 §5: linear in hosts): RunScope.vars() for
// every host of an inventory of N hosts (8 variables each, one a template), as the engine calls it
// once per host-task; no sshd. Run: npx tsx bench/hostvars-scope.ts [N ...] (default 100 500 2000).
import { RunScope, type PlayScope } from '../runner/scope.js';
import { SecretValues } from '../runner/secrets.js';
import type { InventoryView } from '../runner/inventory-view.js';

function inventory(n: number): InventoryView {
  const names = Array.from({ length: n }, (_, i) => `web${i}`);
  const vars = new Map(names.map((h, i) => [h, { inventory_hostname: h, ansible_host: `10.0.${i >> 8}.${i & 255}`, ansible_user: 'ops', site: 'fra1', role: 'web', fqdn: '{{ inventory_hostname }}.fra1.example.net', port: 8080 + (i % 4), tags: ['a', 'b'] }]));
  const groups = { all: names, web: names, ungrouped: [] as string[] };
  return { resolve: () => names, hostVars: (h) => vars.get(h)!, groups: () => groups, hostNames: () => names, has: (h) => vars.has(h) };
}

const play = { vars: { app: 'shop', url: 'https://{{ fqdn }}:{{ port }}/' }, baseDir: '/tmp', roleDefaults: {}, roleVars: {} } as unknown as PlayScope['play'];
for (const n of (process.argv.slice(2).length ? process.argv.slice(2) : ['100', '500', '2000']).map(Number)) {
  const inv = inventory(n);
  const registered = new Map<string, Record<string, unknown>>();
  const scope = new RunScope({ inventory: inv, check: false, secrets: new SecretValues() }, (h) => registered.get(h));
  const ps: PlayScope = { play, batch: inv.hostNames(), varsFiles: {} };
  const t0 = performance.now();
  let check = '';
  for (const h of inv.hostNames()) {
    const st = { name: h, registered: {} } as unknown as Parameters<RunScope['vars']>[1];
    const v = scope.vars(ps, st, { vars: [], role: undefined } as unknown as Parameters<RunScope['vars']>[2], {});
    check = String(v.url);
  }
  const ms = performance.now() - t0;
  console.log(`${String(n).padStart(6)} hosts: ${ms.toFixed(0).padStart(6)} ms for one vars() per host, ${((ms / n) * 1000).toFixed(0)} µs per host (last url ${check})`);
}
