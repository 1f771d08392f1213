// `ferry doc` without the modules: the list format, and the docs read from the sources when no
// build has written the index (the index itself is checked against the modules in
// test/integration/cli-startup.test.ts, on the build).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { moduleDoc, moduleDocs, moduleParams } from '../../runner/doc.js';
import { ModuleRegistry, type TaskModule } from '../../runner/module.js';
import { DOC_INDEX_URL, builtinModuleDocs } from '../../app/doc-index.js';
import { formatModuleList } from '../../runner/doc-list.js';
import { builtinModules } from '../../tasks/index.js';

describe('doc index', () => {
  it('lists modules sorted by name, names padded to the longest', () => {
    const text = formatModuleList([
      { name: 'lvm', summary: 'Logical volumes' },
      { name: 'chroot_exec', summary: 'Run in a guest root' },
    ]);
    assert.equal(text, "chroot_exec  Run in a guest root\nlvm          Logical volumes\n\nferry doc MODULE shows one module's parameters, result and an example.");
  });

  it('renders every built-in module, by name, as `ferry doc NAME` prints it', () => {
    const mods = builtinModules();
    const docs = moduleDocs(mods);
    assert.deepEqual(docs.map((d) => d.name), mods.names());
    for (const d of docs) {
      assert.equal(d.text, moduleDoc(mods.get(d.name)!));
      assert.ok(d.text.startsWith(`${d.name} — ${d.summary}\n`), d.name);
    }
  });

  it('reads the modules themselves from the sources, where no build wrote an index', async () => {
    // An index in the source tree would shadow the modules for every run from the sources.
    assert.equal(existsSync(DOC_INDEX_URL), false, `${fileURLToPath(DOC_INDEX_URL)} must not exist in the sources`);
    assert.deepEqual(await builtinModuleDocs(), moduleDocs(builtinModules()));
  });
});

describe('ferry doc MODULE: parameters', () => {
  const fake = (params: z.ZodType): TaskModule => ({ name: 'fake', params, doc: { summary: 'A module for the test', checkMode: 'full', example: '- fake: {}' } }) as unknown as TaskModule;
  const parameters = (m: TaskModule) => moduleDoc(m).split('PARAMETERS\n')[1]!.split('\n\n')[0];

  it('prints the options of a list of objects, and of an object, indented under the parameter', () => {
    const m = fake(
      z.strictObject({
        disks: z
          .array(
            z.strictObject({
              source: z.string().describe('The device'),
              bus: z.enum(['virtio', 'sata']).default('virtio').describe('Disk bus'),
              vlan: z.strictObject({ tags: z.array(z.number().int()).describe('VLAN ids') }).optional().describe('VLAN tags'),
            }),
          )
          .default([])
          .describe('Disks, in boot order'),
        name: z.string().describe('Domain name'),
      }),
    );
    assert.equal(
      parameters(m),
      [
        '  disks  (list of object; default [])',
        '      Disks, in boot order',
        '      - source  (string; required)',
        '            The device',
        '      - bus  ("virtio" | "sata"; default "virtio")',
        '            Disk bus',
        '      - vlan  (object)',
        '            VLAN tags',
        '            - tags  (list of integer; required)',
        '                  VLAN ids',
        '  name  (string; required)',
        '      Domain name',
      ].join('\n'),
    );
    assert.deepEqual(moduleParams(m)[0]!.options!.map((o) => [o.name, o.required]), [['source', true], ['bus', false], ['vlan', false]]);
  });

  it("documents a record's values under one row (set's variables)", () => {
    const m = fake(z.record(z.string(), z.unknown()).describe('each key is a variable'));
    assert.equal(parameters(m), '  <any name>  (any)\n      each key is a variable');
  });

  it('fails naming the module and the option when a part of the schema has no JSON Schema form', () => {
    const m = fake(z.strictObject({ name: z.string().describe('fine'), when: z.date().optional().describe('a date') }));
    assert.throws(() => moduleDoc(m), /^Error: ferry doc: module fake: option 'when' cannot be documented: .*Date/);
    assert.throws(() => moduleDocs(new ModuleRegistry().register(m as TaskModule<never>)), /module fake: option 'when'/);
  });

  it('fails naming the module when its parameters are not an object', () => {
    assert.throws(() => moduleDoc(fake(z.string())), /^Error: ferry doc: module fake: its parameters are not an object \(JSON Schema type string\)$/);
  });
});
