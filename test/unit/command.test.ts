// Quoting by construction: an interpolated value is always one word for POSIX sh, whatever it holds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { asArgument, joinCommands, quote, raw, secret, sh } from '../../runner/command.js';

const HOSTILE = [
  'plain',
  'with space',
  "it's",
  'double "quoted"',
  '$(touch /tmp/ferry-pwned)',
  '`id`',
  'a;rm -rf /',
  'line1\nline2',
  '$HOME',
  '*',
  '-n',
  '',
  '\\back\\slash',
  "'; echo owned; '",
  'tab\there',
];

describe('command builder', () => {
  it('keeps every hostile value as exactly one argument when run by sh', () => {
    for (const v of HOSTILE) {
      const cmd = sh`printf '%s\\0' ${v}`;
      const out = execFileSync('sh', ['-c', cmd.text]).toString();
      assert.equal(out, v + '\0', `value ${JSON.stringify(v)} → ${cmd.text}`);
    }
  });

  it('expands arrays into several quoted words', () => {
    const cmd = sh`printf '%s\\0' ${['a b', "c'd", '$(x)']}`;
    assert.equal(execFileSync('sh', ['-c', cmd.text]).toString(), 'a b\0c\'d\0$(x)\0');
  });

  it('nests a command as one argument with asArgument (sh -c, sudo, chroot)', () => {
    const inner = sh`printf '%s' ${"it's $(nothing)"}`;
    const outer = sh`sh -c ${asArgument(inner)}`;
    assert.equal(execFileSync('sh', ['-c', outer.text]).toString(), "it's $(nothing)");
  });

  it('masks secrets in the display form but not in the text that runs', () => {
    const cmd = sh`echo ${secret('hunter2')} ${'visible'}`;
    assert.match(cmd.text, /hunter2/);
    assert.doesNotMatch(cmd.display, /hunter2/);
    assert.doesNotMatch(String(cmd), /hunter2/);
    assert.doesNotMatch(JSON.stringify({ c: String(cmd), s: secret('hunter2') }), /hunter2/);
    assert.equal(cmd.mask('got hunter2 back'), 'got ******** back');
    const joined = joinCommands([cmd, sh`true`]);
    assert.doesNotMatch(joined.display, /hunter2/);
    assert.deepEqual(joined.secrets, ['hunter2']);
  });

  it('leaves safe words unquoted and inserts raw() text as is', () => {
    assert.equal(quote('/dev/vg1/xr1-disk'), '/dev/vg1/xr1-disk');
    assert.equal(quote("a'b"), `'a'\\''b'`);
    assert.equal(sh`lvs ${'vg1'} ${raw('2>/dev/null')}`.text, 'lvs vg1 2>/dev/null');
  });

  it('refuses null and undefined instead of printing "undefined" into a command', () => {
    assert.throws(() => sh`rm ${undefined as unknown as string}`, /null or undefined/);
  });
});
