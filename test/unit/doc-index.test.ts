// `ferry doc` without the modules: the list format, and the docs read from the sources when no
// build has written the index (the index itself is checked against the modules in
// test/integration/cli-startup.test.ts, on the build).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleDoc, moduleDocs } from '../../runner/doc.js';
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
