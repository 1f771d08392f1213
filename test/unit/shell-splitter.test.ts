import { strict as assert } from 'node:assert';
import { Splitter } from '../../runner/transport/shell-session.js';

/** Feeds `chunks` to a splitter for `mark`; returns what passed before the mark and what followed it. */
function feed(mark: string, chunks: string[]): { passed: string[]; after: string | undefined } {
  const s = new Splitter(Buffer.from(mark));
  const passed: string[] = [];
  for (const c of chunks) {
    const { before, after } = s.push(Buffer.from(c, 'latin1'));
    passed.push(before.toString('latin1'));
    if (after !== undefined) return { passed, after: after.toString('latin1') };
  }
  return { passed, after: undefined };
}

describe('persistent shell: finding a delimiter in chunked output', () => {
  const cases: { name: string; chunks: string[]; passed: string[]; after: string | undefined }[] = [
    { name: 'mark inside one chunk', chunks: ['abcMARK\nrest'], passed: ['abc'], after: '\nrest' },
    { name: 'mark split over three chunks', chunks: ['abcM', 'AR', 'Kxyz'], passed: ['abc', '', ''], after: 'xyz' },
    // a prompt without a newline (sudo's) must not wait for more output
    { name: 'an end that cannot start the mark passes at once', chunks: ['Password: '], passed: ['Password: '], after: undefined },
    { name: 'a partial mark that turns out not to be one is passed on', chunks: ['xMA', 'Y'], passed: ['x', 'MAY'], after: undefined },
    { name: 'a repeated beginning holds only what may still match', chunks: ['MMMA', 'RK!'], passed: ['MM', ''], after: '!' },
    { name: 'empty output before the mark', chunks: ['MARK'], passed: [''], after: '' },
    { name: 'binary bytes pass untouched', chunks: ['\x00\xff\nM', 'ARK'], passed: ['\x00\xff\n', ''], after: '' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(feed('MARK', c.chunks), { passed: c.passed, after: c.after });
    });
  }
});
