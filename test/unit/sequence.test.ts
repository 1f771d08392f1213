// with_sequence as Ansible's sequence lookup expands it: each row's items are what ansible-core 2.14's
// `lookup('sequence', SPEC, wantlist=True)` gave for the same spec; its errors use Ansible's words.
import assert from 'node:assert/strict';
import { sequenceItems } from '../../runner/playbook/sequence.js';

describe('with_sequence specs', () => {
  const rows: [string, string[]][] = [
    ['start=0 end=6 format=%02x', ['00', '01', '02', '03', '04', '05', '06']],
    ['4', ['1', '2', '3', '4']],
    ['2-10/2', ['2', '4', '6', '8', '10']],
    ['0x0a-0x0f:host%02d', ['host10', 'host11', 'host12', 'host13', 'host14', 'host15']],
    ['count=3 start=5', ['5', '6', '7']],
    ['start=10 end=4 stride=-3', ['10', '7', '4']],
    ['count=0', []],
  ];
  for (const [spec, items] of rows) it(`${spec} → ${JSON.stringify(items)}`, () => assert.deepEqual(sequenceItems(spec), { items }));

  const bad: [string, RegExp][] = [
    ['start=5 end=1', /to count backwards make stride negative/],
    ['format=a%d%d end=2', /bad formatting string: a%d%d/],
    ['end=3 format=x', /bad formatting string: x/],
    ['start=1', /must specify count or end/],
    ['end=3 step=2', /unrecognized with_sequence argument 'step'/],
    ['end=three', /can't parse end=three as integer/],
  ];
  for (const [spec, re] of bad) {
    it(`${spec} is refused: ${re.source}`, () => {
      const got = sequenceItems(spec);
      assert.ok('error' in got, JSON.stringify(got));
      assert.match(got.error, re);
    });
  }
});
