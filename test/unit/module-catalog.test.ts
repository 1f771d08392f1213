// The lazy module registry (issue 15): tasks/catalog.ts names the same modules as tasks/index.ts,
// a playbook loads only the modules it uses, and its load-time problems are exactly those the
// eagerly loaded registry reports.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../runner/errors.js';
import { ModuleRegistry, withModulesLoaded, type TaskModule } from '../../runner/module.js';
import { loadPlaybook } from '../../runner/playbook/load.js';
import type { SourceCache } from '../../runner/source-cache.js';
import { locOf } from '../../runner/yaml-source.js';
import { BUILTIN_MODULE_LOADERS, lazyBuiltinModules } from '../../tasks/catalog.js';
import { BUILTIN_MODULES, builtinModules } from '../../tasks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-catalog-'));

/** What loading the playbook gives: its task modules, or its problems as text. */
async function loadWith(modules: ModuleRegistry, text: string): Promise<{ modules?: string[]; problems?: string[] }> {
  const p = join(dir, 'pb.yaml');
  writeFileSync(p, text);
  try {
    const pb = await withModulesLoaded(modules, (m, sources) => loadPlaybook(p, m, dir, { sources }));
    return { modules: pb.plays.flatMap((play) => play.tasks.map((t) => (t.kind === 'task' ? t.module : t.kind))) };
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return { problems: e.problems.map((x) => `${x.loc?.file}:${x.loc?.line}:${x.loc?.col ?? ''}: ${x.message} | ${x.hint ?? ''}`) };
  }
}

describe('the lazy module catalog', () => {
  it('names every built-in module, and each loader gives that module', async () => {
    assert.deepEqual(Object.keys(BUILTIN_MODULE_LOADERS).sort(), BUILTIN_MODULES.map((m) => m.name).sort());
    for (const [name, load] of Object.entries(BUILTIN_MODULE_LOADERS)) {
      const m = await load();
      const listed = BUILTIN_MODULES.find((x) => x.name === name);
      // compared by content, not identity: mocha loads this file as CommonJS (tsx), so the loader's
      // import() gives the ES module instance of the same source
      assert.equal(m.name, name);
      assert.deepEqual({ doc: m.doc, freeForm: m.freeForm }, { doc: listed?.doc, freeForm: listed?.freeForm }, name);
    }
  });

  it('knows every name before loading any module, and refuses to hand out one not loaded', () => {
    const lazy = lazyBuiltinModules();
    assert.deepEqual(lazy.names(), builtinModules().names());
    assert.ok(lazy.has('grub') && !lazy.has('grubb'));
    assert.equal(lazy.get('grubb'), undefined);
    assert.throws(() => lazy.get('grub'), /not loaded yet/);
  });

  it('loads only the modules a playbook uses', async () => {
    const lazy = lazyBuiltinModules();
    const r = await loadWith(lazy, '- hosts: all\n  tasks:\n    - command: uptime\n    - debug: { msg: hi }\n');
    assert.deepEqual(r.modules, ['command', 'debug']);
    assert.equal(lazy.get('command')?.name, 'command');
    assert.throws(() => lazy.get('grub'), /not loaded yet/);
    assert.throws(() => lazy.get('copy'), /not loaded yet/);
  });

  it('reads and parses each file once while it learns the modules a playbook names and loads them', async () => {
    writeFileSync(join(dir, 'once-tasks.yaml'), '- debug: { msg: "{{ greeting }}" }\n');
    writeFileSync(join(dir, 'once-vars.yaml'), 'greeting: hi\n');
    const p = join(dir, 'once.yaml');
    writeFileSync(p, '- hosts: all\n  vars_files: [once-vars.yaml]\n  tasks:\n    - command: uptime\n    - import_tasks: once-tasks.yaml\n');
    const lazy = lazyBuiltinModules();
    const caches = new Set<SourceCache>();
    let readings = 0;
    await withModulesLoaded(lazy, (m, sources) => {
      readings++;
      caches.add(sources);
      return loadPlaybook(p, m, dir, { sources });
    });
    assert.equal(lazy.get('debug')?.name, 'debug');
    // read twice (with stand-ins, then with command and debug loaded), yet three files read and parsed once
    assert.equal(readings, 2);
    assert.equal(caches.size, 1);
    assert.deepEqual([...caches][0]!.counts, { reads: 3, parses: 3 });
  });

  it('gives each reading values of its own: what a loader changes in one is not seen by the next', async () => {
    const p = join(dir, 'own.yaml');
    writeFileSync(p, '- hosts: all\n  tasks:\n    - debug: { msg: hi }\n');
    const args: Record<string, unknown>[] = [];
    await withModulesLoaded(lazyBuiltinModules(), (m, sources) => {
      const pb = loadPlaybook(p, m, dir, { sources });
      const task = pb.plays[0]!.tasks[0]!;
      assert.ok(task.kind === 'task');
      args.push(task.args);
      if (args.length === 1) task.args.msg = 'changed by the first reading';
      return pb;
    });
    assert.equal(args.length, 2);
    assert.deepEqual(args[1], { msg: 'hi' });
    assert.equal(locOf(args[1], 'msg')?.line, 3);
  });

  const BAD: Record<string, string> = {
    'an unknown module with a suggestion': '- hosts: all\n  tasks:\n    - comand: uptime\n    - command: uptime\n',
    'bad parameters, free form and mapping': '- hosts: all\n  tasks:\n    - copy: { dest: /x, bogus: 1 }\n    - file: path=/x stat=directory\n    - lvm: { vg: vg1 }\n',
    'module_defaults': '- hosts: all\n  module_defaults:\n    file: { mdoe: "0644" }\n    nosuch: {}\n  tasks:\n    - file: { path: /x, state: directory }\n',
    'action and local_action': '- hosts: all\n  tasks:\n    - action: { module: stat, pth: /x }\n    - local_action: grub frob=1\n',
    'problems of other kinds between them': '- hosts: all\n  tasks:\n    - ping:\n      when: "a and"\n    - user: { nme: x }\n    - name: nothing\n',
  };
  for (const [name, text] of Object.entries(BAD)) {
    it(`reports exactly what the loaded registry reports: ${name}`, async () => {
      const eager = await loadWith(builtinModules(), text);
      assert.ok(eager.problems?.length, 'the case has problems');
      assert.deepEqual(await loadWith(lazyBuiltinModules(), text), eager);
    });
  }

  it('a module registered loaded wins over a lazy one of the same name', async () => {
    const own = { ...BUILTIN_MODULES.find((m) => m.name === 'ping')! } as TaskModule<never>;
    const reg = lazyBuiltinModules().register(own);
    await reg.load(['ping']);
    assert.equal(reg.get('ping'), own);
  });
});
