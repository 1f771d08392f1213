// replace's pure edit against what the real ansible-core replace did to the same input
// (test/fixtures/core/replace-ansible.json, made by gen-replace-ansible.py from real guest files).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { replaceModule, replaceText } from '../../tasks/replace.js';

interface Case {
  name: string;
  input: string | null;
  text: string;
  params: { regexp: string; replace?: string; after?: string; before?: string };
  result: string;
  changed: boolean;
  msg: string;
}
const table = JSON.parse(readFileSync(new URL('../fixtures/core/replace-ansible.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('replace: the edit (same results as ansible-core)', () => {
  it('the table covers groups, MULTILINE, after/before and no-change cases', () => {
    assert.ok(table.cases.length >= 14);
    assert.ok(table.cases.some((c) => !c.changed) && table.cases.some((c) => c.params.after && c.params.before));
  });
  for (const c of table.cases) {
    it(`${c.name}${c.input ? ` (${c.input})` : ''}`, () => {
      const got = replaceText(c.text, { replace: '', ...c.params });
      assert.equal(got.text, c.result);
      assert.equal(got.text !== c.text, c.changed);
      const msg = got.sectionMissing !== undefined ? `Pattern for before/after params did not match the given file: ${got.sectionMissing}` : got.count ? `${got.count} replacements made` : '';
      assert.equal(msg, c.msg);
    });
  }
  it('a regexp that does not compile is refused before any host is contacted, naming the parameter; one JavaScript also reads is taken', () => {
    const r = replaceModule.params.safeParse({ path: '/etc/x', regexp: '(?<=a|bc)x' });
    const bad = replaceModule.params.safeParse({ path: '/etc/x', regexp: 'a', after: '(' });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error?.issues.map((i) => i.path), [['after']]);
    assert.equal(r.success, true, 'a lookbehind JS also has is fine');
  });
});
