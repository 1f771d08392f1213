// Every module's `ferry doc` example is a task a user can paste: it loads as a playbook task with
// every load-time check (parameters, types, free-form, keywords) and names no unknown parameter.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '../../runner/playbook/load.js';
import { loadedTasks } from '../../runner/playbook/model.js';
import { builtinModules } from '../../tasks/index.js';

describe('ferry doc examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-doc-examples-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = builtinModules();

  for (const name of registry.names()) {
    const m = registry.get(name)!;
    it(`${m.name}: its example loads as a task of a playbook`, () => {
      const file = join(dir, `${m.name}.yaml`);
      const tasks = m.doc.example.trim().split('\n').map((l) => `    ${l}`).join('\n');
      writeFileSync(file, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}\n`);
      const pb = loadPlaybook(file, registry, dir);
      const modules = pb.plays.flatMap((p) => [...loadedTasks(p.tasks)]).flatMap((e) => (e.kind === 'task' ? [e.node.module] : []));
      assert.ok(modules.includes(m.name), `${m.name}: the example's tasks are ${modules.join(', ')}`);
    });
  }
});
