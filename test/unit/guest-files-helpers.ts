// Shared by the guest-files tests: read a corpus file, and describe an edit as the lines it
// removed and added, so a test can assert that every other line is byte-for-byte the same.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { diffArrays } from 'diff';
import type { EditResult } from '../../tasks/guest-files/text-lines.js';
import { corpus as corporaPath } from '../helpers/corpora.js';

export const GUEST_FILES = corporaPath('guest-files');

/** Reads one file of corpora/guest-files as it is (no newline or whitespace normalisation). */
export function corpus(rel: string): string {
  return readFileSync(`${GUEST_FILES}/${rel}`, 'utf8');
}

function lines(text: string): string[] {
  const l = text.split('\n');
  if (text.endsWith('\n')) l.pop();
  return l;
}

/** The lines an edit removed and added (split on "\n" only: tabs, "\r" and trailing blanks count). */
export function lineChanges(before: string, after: string): { removed: string[]; added: string[] } {
  const parts = diffArrays(lines(before), lines(after));
  return {
    removed: parts.filter((p) => p.removed).flatMap((p) => p.value),
    added: parts.filter((p) => p.added).flatMap((p) => p.value),
  };
}

/** Runs an edit, checks exactly these lines changed, and that a second pass changes nothing. */
export function assertEdit<R extends EditResult>(
  edit: (text: string) => R,
  before: string,
  expected: { removed: string[]; added: string[] },
): R {
  const r = edit(before);
  assert.deepEqual(lineChanges(before, r.text), expected);
  if (before.endsWith('\n')) assert.ok(r.text.endsWith('\n'), 'final newline kept');
  else if (expected.added.length === 0) assert.ok(!r.text.endsWith('\n'), 'no final newline added');
  assert.equal(r.changed, expected.removed.length + expected.added.length > 0);
  const again = edit(r.text);
  assert.equal(again.changed, false, 'second pass must change nothing');
  assert.equal(again.text, r.text);
  return r;
}
