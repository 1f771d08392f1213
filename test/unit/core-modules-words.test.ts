// The command module's word splitter against Python's shlex.split (what Ansible uses), from a saved table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shlexSplit, ShlexError } from '../../runner/shlex.js';

interface Table {
  cases: { input: string; words: string[] }[];
  errors: { input: string; python_error: string }[];
}
const table = JSON.parse(readFileSync(new URL('../fixtures/core/shlex-split.json', import.meta.url), 'utf8')) as Table;

describe('core modules: command word splitting (shlex)', () => {
  for (const c of table.cases) {
    it(`splits ${JSON.stringify(c.input)}`, () => {
      assert.deepEqual(shlexSplit(c.input), c.words);
    });
  }
  for (const c of table.errors) {
    it(`refuses ${JSON.stringify(c.input)} (python: ${c.python_error})`, () => {
      assert.throws(() => shlexSplit(c.input), (e: unknown) => e instanceof ShlexError && e.message === c.python_error);
    });
  }
});
