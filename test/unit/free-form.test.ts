// Arguments written as one string, read as Ansible reads them (module_utils splitter / parse_kv):
// command-like modules take their options out of the line, others read key=value pairs.
import assert from 'node:assert/strict';
import { parseArgString, parseKeyValueArgs } from '../../runner/playbook/free-form.js';
import { builtinModules } from '../../tasks/index.js';

const modules = builtinModules();

const CASES: { module: string; text: string; expect: Record<string, unknown> | RegExp }[] = [
  // The cases: today the first ran `ls` with the argument chdir=/tmp, the others printed the raw text.
  { module: 'command', text: 'ls -d . chdir=/tmp creates=/x', expect: { cmd: 'ls -d .', chdir: '/tmp', creates: '/x' } },
  { module: 'debug', text: 'var=x', expect: { var: 'x' } },
  { module: 'debug', text: 'msg="text {{ v }}"', expect: { msg: 'text {{ v }}' } },
  // Options anywhere in the line, quoted values unquoted; the rest keeps its own spacing and quotes.
  { module: 'command', text: 'chdir="/srv/a b" tar  -xf "x y.tar"', expect: { cmd: 'tar  -xf "x y.tar"', chdir: '/srv/a b' } },
  { module: 'shell', text: 'echo {{ a ~ " b=c" }} > out removes=/tmp/f', expect: { cmd: 'echo {{ a ~ " b=c" }} > out', removes: '/tmp/f' } },
  // Words that are not options stay in the command, also inside quotes or Jinja2.
  { module: 'command', text: 'echo "chdir=/x" foo=bar', expect: { cmd: 'echo "chdir=/x" foo=bar' } },
  { module: 'shell', text: "echo 'creates=/a b'", expect: { cmd: "echo 'creates=/a b'" } },
  { module: 'shell', text: 'for f in *; do\n  echo "$f"\ndone', expect: { cmd: 'for f in *; do\n  echo "$f"\ndone' } },
  // An Ansible option this module lacks is refused rather than run as part of the command.
  { module: 'command', text: 'ls executable=/bin/bash', expect: /'executable=' in the command line of 'command' is an Ansible option/ },
  // Only options: no cmd (the schema then says to give cmd or argv).
  { module: 'command', text: 'chdir=/tmp', expect: { chdir: '/tmp' } },
  // debug/fail: a message that is not all options is the message.
  { module: 'debug', text: 'hello world', expect: { msg: 'hello world' } },
  { module: 'debug', text: 'a=b', expect: { msg: 'a=b' } },
  { module: 'fail', text: 'msg="disk {{ d }} is full"', expect: { msg: 'disk {{ d }} is full' } },
  // Other modules: key=value pairs only.
  { module: 'file', text: "path=/tmp/x state=directory mode='0755'", expect: { path: '/tmp/x', state: 'directory', mode: '0755' } },
  { module: 'file', text: 'path=/tmp/x touch', expect: /module 'file' takes parameters as a mapping or key=value pairs/ },
  // \N{NAME}: Ansible decodes it in an option's value by Python's Unicode names, which ferry has not: refused, saying what to write.
  { module: 'debug', text: 'msg=a\\N{BULLET}b', expect: /^\\N\{BULLET\} in 'msg=': ferry does not decode Python's \\N\{NAME\} escapes/ },
  { module: 'file', text: 'path=/tmp/x\\N{SOLIDUS}y state=touch', expect: /^\\N\{SOLIDUS\} in 'path='/ },
  { module: 'command', text: 'ls chdir="/t\\N{LATIN SMALL LETTER M}p"', expect: /^\\N\{LATIN SMALL LETTER M\} in 'chdir='/ },
  // as Ansible's escape pattern: an empty name is no escape
  { module: 'file', text: 'path=/tmp/\\N{} state=touch', expect: { path: '/tmp/\\N{}', state: 'touch' } },
  // ...but not in the command's own words (Ansible keeps those as written), nor after an escaped backslash, nor in a plain message.
  { module: 'command', text: 'echo \\N{BULLET} chdir=/tmp', expect: { cmd: 'echo \\N{BULLET}', chdir: '/tmp' } },
  { module: 'file', text: 'path=/tmp/\\\\N{X} state=touch', expect: { path: '/tmp/\\N{X}', state: 'touch' } },
  { module: 'debug', text: 'say \\N{BULLET} please', expect: { msg: 'say \\N{BULLET} please' } },
];

describe('free-form arguments (Ansible splitter)', () => {
  for (const c of CASES) {
    it(`${c.module}: ${JSON.stringify(c.text)}`, () => {
      const r = parseArgString(modules.get(c.module)!, c.text);
      if (c.expect instanceof RegExp) {
        assert.ok('error' in r, `expected a refusal, got ${JSON.stringify(r)}`);
        assert.match(r.error, c.expect);
      } else {
        assert.deepEqual(r, { args: c.expect });
      }
    });
  }

  // Expected values printed by ansible-core 2.14's own parse_kv (ansible.parsing.splitter) for each text.
  const ESCAPES: [string, Record<string, string>][] = [
    ["regexp='\\b(.+)\\b' replace='\"\\1\"'", { regexp: '\b(.+)\b', replace: '"\\1"' }],
    ["regexp='\\\\b(.+)\\\\b' path=/x", { regexp: '\\b(.+)\\b', path: '/x' }],
    ['msg="a\\tb\\nc"', { msg: 'a\tb\nc' }],
    ['line=caf\\xe9 path=/x', { line: 'caf\u00e9', path: '/x' }],
    ['line=\\u00e9\\U0001F600', { line: '\u00e9\u{1F600}' }],
    ['line="say \\"hi\\""', { line: 'say "hi"' }],
    ['line=\\d\\s\\w\\1', { line: '\\d\\s\\w\\1' }],
    ['x=\\a\\f\\v\\r', { x: '\x07' }],
  ];
  for (const [text, want] of ESCAPES) {
    it(`key=value escapes as Ansible's parse_kv decodes them: ${JSON.stringify(text)}`, () => assert.deepEqual(parseKeyValueArgs(text), want));
  }

  it('the refusal of \\N{NAME} says what to write instead', () => {
    const r = parseArgString(modules.get('debug')!, 'msg=\\N{BULLET}');
    assert.ok('error' in r);
    assert.equal(r.hint, 'write the character itself, or its code point as \\uXXXX or \\UXXXXXXXX (e.g. \\u2022 for \\N{BULLET})');
  });

  it('escapes are decoded in key=value words only: a command keeps them, a YAML mapping is not parsed here', () => {
    assert.deepEqual(parseArgString(modules.get('shell')!, 'printf "a\\tb" chdir=/t\\x6dp'), { args: { cmd: 'printf "a\\tb"', chdir: '/tmp' } });
  });

  it('key=value pairs: quoted values, undefined unless every word is a pair', () => {
    assert.deepEqual(parseKeyValueArgs('a=1 b="x y" c=\'z\' d="q\\"t"'), { a: '1', b: 'x y', c: 'z', d: 'q"t' });
    assert.deepEqual(parseKeyValueArgs('msg="{{ a }} {{ b }}"'), { msg: '{{ a }} {{ b }}' });
    assert.equal(parseKeyValueArgs('not key value'), undefined);
    assert.equal(parseKeyValueArgs(''), undefined);
  });
});
