// raw's registered lines: Python's str.splitlines, as Ansible's raw computes stdout_lines (the
// expected lists were printed by python3's splitlines for each text).
import { strict as assert } from 'node:assert';
import { rawResult, splitLines } from '../../tasks/raw.js';

const CASES: [string, string[]][] = [
  ['', []],
  ['a', ['a']],
  ['a\r\n', ['a']],
  ['a\r\nb\r\n', ['a', 'b']],
  ['a\n\nb', ['a', '', 'b']],
  ['a\rb', ['a', 'b']],
  ['x\x0by\x0cz\x1c', ['x', 'y', 'z']],
  ['a\r\n\r\n', ['a', '']],
  ['\n', ['']],
];

describe('raw: stdout_lines as Python splitlines', () => {
  for (const [text, lines] of CASES) it(JSON.stringify(text), () => assert.deepEqual(splitLines(text), lines));

  it('keeps the output as it came (a terminal\'s \\r\\n included) beside its lines', () => {
    assert.deepEqual(rawResult({ exitCode: 0, stdout: '汉语\r\n', stderr: '' }), { rc: 0, stdout: '汉语\r\n', stdout_lines: ['汉语'], stderr: '', stderr_lines: [] });
  });
});
