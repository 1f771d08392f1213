// blockinfile's pure edit against what the real ansible-core blockinfile did to the same input
// (test/fixtures/core/blockinfile-ansible.json, produced by test/fixtures/core/gen-blockinfile-ansible.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { blockinfileModule, editBlock } from '../../tasks/blockinfile.js';

interface Case {
  name: string;
  input: string | null;
  text: string;
  params: Record<string, unknown>;
  result: string;
  changed: boolean;
  msg: string;
}
const table = JSON.parse(readFileSync(new URL('../fixtures/core/blockinfile-ansible.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('core modules: blockinfile edits (same results as ansible-core)', () => {
  it('the table covers insert, replace, remove, markers and anchors', () => {
    assert.ok(table.cases.length >= 25);
  });
  for (const c of table.cases) {
    it(`${c.name}${c.input ? ` (${c.input})` : ''}`, () => {
      const p = blockinfileModule.params.parse({ path: '/f', ...c.params });
      const got = editBlock(c.text, p);
      assert.equal(got.text, c.result);
      assert.equal(got.msg, c.msg);
      assert.equal(got.text !== c.text, c.changed);
    });
  }
});

describe('core modules: blockinfile parameters', () => {
  const parse = (o: Record<string, unknown>) => blockinfileModule.params.safeParse(o);
  it('dest and content are aliases of path and block', () => {
    const p = blockinfileModule.params.parse({ dest: '/etc/hosts', content: 'x' });
    assert.equal(p.path, '/etc/hosts');
    assert.equal(p.block, 'x');
  });
  it('refuses no path, two paths, both anchors and a bad regex, naming the parameter', () => {
    const msgs = (o: Record<string, unknown>) => {
      const r = parse(o);
      assert.equal(r.success, false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    assert.match(msgs({ block: 'x' }), /path: path is required/);
    assert.match(msgs({ path: '/a', dest: '/b' }), /dest: give one of path, dest, destfile and name, not path and dest/);
    assert.match(msgs({ path: '/a', insertafter: 'x', insertbefore: 'y' }), /insertbefore: give insertafter or insertbefore, not both/);
    assert.match(msgs({ path: '/a', insertafter: '(unclosed' }), /insertafter: insertafter: invalid regular expression/);
  });
  it('a missing file with create gives "File created" and the block alone', () => {
    const p = blockinfileModule.params.parse({ path: '/f', block: 'x', create: true });
    assert.deepEqual(editBlock(null, p), { text: '# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n', msg: 'File created' });
  });
});
