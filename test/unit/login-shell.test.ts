import { strict as assert } from 'node:assert';
import { isPosixLoginShell, printfFormat } from '../../runner/transport/login-shell.js';

describe('login shells', () => {
  const SHELLS: [string, boolean][] = [
    ['/bin/sh', true],
    ['/usr/bin/bash', true],
    ['/bin/dash', true],
    ['/bin/ksh', true],
    ['/usr/bin/tcsh', false],
    ['/bin/csh', false],
    ['/usr/bin/fish', false],
    ['/usr/bin/zsh', false], // does not split unquoted words
    ['', false],
  ];
  for (const [shell, posix] of SHELLS) {
    it(`${shell || '(none)'} ${posix ? 'runs' : 'does not run'} ferry's texts as they are`, () => assert.equal(isPosixLoginShell(shell), posix));
  }

  const FORMATS: [string, string][] = [
    ['ls -l /tmp', 'ls -l /tmp'],
    ['-n', '\\055n'],
    ['a -n -', 'a -n -'], // only a leading dash is escaped
    ['', ''],
    ["a'b\"c\\d!e$f%g`h", 'a\\047b\\042c\\134d\\041e\\044f\\045g\\140h'],
    ['x\ny\t', 'x\\012y\\011'],
    ['é', '\\303\\251'],
  ];
  for (const [text, format] of FORMATS) {
    it(`printf format of ${JSON.stringify(text)}`, () => assert.equal(printfFormat(text), format));
  }
});
