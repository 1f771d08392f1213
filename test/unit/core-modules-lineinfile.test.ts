// lineinfile's pure edit against what the real ansible-core lineinfile did to the same input
// (test/fixtures/core/lineinfile-ansible.json, produced by running Ansible on real guest files).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compilePythonRegex, editLines, expandBackrefs, splitLines, type LineEdit } from '../../tasks/lib/lineinfile-edit.js';

interface Case {
  name: string;
  input: string | null;
  text: string;
  params: Partial<LineEdit>;
  result: string;
  changed: boolean;
  msg: string;
}
const table = JSON.parse(readFileSync(new URL('../fixtures/core/lineinfile-ansible.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('core modules: lineinfile edits (same results as ansible-core)', () => {
  it('the table covers replace, insert, backrefs and absent', () => {
    assert.ok(table.cases.length >= 25);
  });
  for (const c of table.cases) {
    it(`${c.name}${c.input ? ` (${c.input})` : ''}`, () => {
      const got = editLines(c.text, { state: 'present', ...c.params });
      assert.equal(got.text, c.result);
      assert.equal(got.changed, c.changed);
      assert.equal(got.msg, c.msg);
      if (!c.changed) assert.equal(got.text, c.text, 'no change means the same text');
    });
  }
});

describe('core modules: lineinfile helpers', () => {
  it('inserting after the last line that has no newline keeps the lines apart (Ansible would glue them)', () => {
    const r = editLines('a\nb', { state: 'present', line: 'c', insertafter: '^b' });
    assert.equal(r.text, 'a\nb\nc\n');
  });
  it('splits lines keeping their newline, last line may lack one', () => {
    assert.deepEqual(splitLines('a\r\nb\n\nc'), ['a\r\n', 'b\n', '\n', 'c']);
    assert.deepEqual(splitLines(''), []);
  });
  it('expands Python backreferences', () => {
    const m = compilePythonRegex('^(?P<k>\\w+)=(\\d+)?(x)?', 'regexp').exec('key=12')!;
    assert.equal(expandBackrefs('\\g<k>:\\2:\\g<2>:[\\3]\\t\\\\', m), 'key:12:12:[]\t\\');
  });
  it('names the parameter of a bad regular expression', () => {
    assert.throws(() => compilePythonRegex('(unclosed', 'insertafter'), /^SyntaxError: insertafter: invalid regular expression/);
  });
  it('Python named backreference (?P=name) works', () => {
    assert.ok(compilePythonRegex('^(?P<q>["\']).*(?P=q)$', 'regexp').test('"abc"'));
    assert.ok(!compilePythonRegex('^(?P<q>["\']).*(?P=q)$', 'regexp').test('"abc\''));
  });
});
