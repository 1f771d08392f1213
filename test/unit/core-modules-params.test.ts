// Parameter schemas refuse bad input before any host is contacted, naming the field and what to do.
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { checkParams, parseParams } from '../../runner/playbook/params.js';
import { commandModule } from '../../tasks/command.js';
import { copyModule } from '../../tasks/copy.js';
import { fileModule } from '../../tasks/file.js';
import { lineinfileModule } from '../../tasks/lineinfile.js';
import { pingModule } from '../../tasks/ping.js';
import { replaceModule } from '../../tasks/replace.js';
import { shellModule } from '../../tasks/shell.js';
import { templateModule } from '../../tasks/template.js';
import { waitForModule } from '../../tasks/wait-for.js';

const modules = [commandModule, shellModule, copyModule, templateModule, fileModule, lineinfileModule, waitForModule, pingModule];

function issues(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('core modules: parameters', () => {
  const bad: [string, z.ZodType, Record<string, unknown>, RegExp][] = [
    ['command needs cmd or argv', commandModule.params, {}, /exactly one of cmd and argv/],
    ['command refuses both', commandModule.params, { cmd: 'a', argv: ['a'] }, /exactly one of cmd and argv/],
    ['command: an unclosed quote is reported with the way out', commandModule.params, { cmd: 'echo "abc' }, /cmd: no closing quotation .*use argv/],
    ['command: unknown parameter', commandModule.params, { cmd: 'ls', chdri: '/' }, /chdri/],
    ['copy needs src or content', copyModule.params, { dest: '/x' }, /exactly one of src and content/],
    ['copy: a decimal-looking mode that is not octal', copyModule.params, { content: 'x', dest: '/x', mode: 888 }, /mode: mode 888 is not an octal mode; quote it/],
    ['copy: a nonsense mode', copyModule.params, { content: 'x', dest: '/x', mode: 'rw-r--r--' }, /neither octal .* nor symbolic/],
    ['copy: a NUL in dest', copyModule.params, { content: 'x', dest: '/x\0y' }, /dest: must not contain a NUL byte/],
    ['file: link without src', fileModule.params, { path: '/x', state: 'link' }, /src: state: link needs src/],
    ['file: recurse without directory', fileModule.params, { path: '/x', recurse: true }, /recurse needs state: directory/],
    ['file: unknown state', fileModule.params, { path: '/x', state: 'hard' }, /state/],
    ['lineinfile: present without line', lineinfileModule.params, { path: '/x', regexp: 'a' }, /line: line is required with state: present/],
    ['lineinfile: backrefs without regexp', lineinfileModule.params, { path: '/x', line: 'a', backrefs: true }, /backrefs needs a regexp/],
    ['lineinfile: both anchors', lineinfileModule.params, { path: '/x', line: 'a', insertafter: 'a', insertbefore: 'b' }, /not both/],
    ['lineinfile: a bad regexp', lineinfileModule.params, { path: '/x', line: 'a', regexp: '(' }, /regexp: regexp: invalid regular expression/],
    ['lineinfile: path given twice', lineinfileModule.params, { path: '/x', dest: '/y', line: 'a' }, /give one of path, dest, destfile and name, not path and dest/],
    ['lineinfile: no path under any name', lineinfileModule.params, { line: 'a' }, /path is required/],
    ['replace: path given twice', replaceModule.params, { name: '/x', destfile: '/y', regexp: 'a' }, /not destfile and name/],
    ['lineinfile: absent with nothing to match', lineinfileModule.params, { path: '/x', state: 'absent' }, /needs one of regexp, search_string or line/],
    ['wait_for: two conditions', waitForModule.params, { port: 22, path: '/x' }, /one of port, path and cmd/],
    ['wait_for: port out of range', waitForModule.params, { port: 70000 }, /port/],
    ['wait_for: present for a port', waitForModule.params, { port: 22, state: 'present' }, /started or stopped/],
    ['ping takes nothing', pingModule.params, { data: 'x' }, /data/],
  ];
  for (const [name, schema, input, re] of bad) {
    it(name, () => {
      const got = issues(schema, input);
      assert.ok(got.some((m) => re.test(m)), `issues: ${JSON.stringify(got)}`);
    });
  }

  it("takes Ansible's aliases of path (dest, destfile, name) for lineinfile and replace", () => {
    assert.equal(lineinfileModule.params.parse({ dest: '/etc/x', line: 'a' }).path, '/etc/x');
    assert.equal(lineinfileModule.params.parse({ name: '/etc/y', line: 'a' }).path, '/etc/y');
    assert.equal(replaceModule.params.parse({ destfile: '/etc/z', regexp: 'a' }).path, '/etc/z');
    assert.ok(!('dest' in lineinfileModule.params.parse({ dest: '/etc/x', line: 'a' })));
  });

  it('fills Ansible defaults', () => {
    assert.deepEqual(shellModule.params.parse({ cmd: 'ls' }), { cmd: 'ls', executable: '/bin/sh', stdin_add_newline: true });
    const w = waitForModule.params.parse({ port: 22 });
    assert.equal(w.host, '127.0.0.1');
    assert.equal(w.timeout, 300);
    assert.equal(copyModule.params.parse({ content: '', dest: '/x', owner: 0 }).owner, '0');
  });

  it('every module documents every parameter and gives an example', () => {
    for (const m of modules) {
      const shape = ((m.params as unknown as { shape?: Record<string, z.ZodType> }).shape ??
        (m.params as unknown as { def: { in?: { shape: Record<string, z.ZodType> } } }).def.in?.shape) as Record<string, z.ZodType> | undefined;
      assert.ok(shape, `${m.name}: schema shape`);
      for (const [k, f] of Object.entries(shape)) assert.ok(f.description, `${m.name}.${k} has no .describe()`);
      assert.ok(m.doc.example.includes(m.name), `${m.name}: example uses the module`);
    }
  });
});

describe('parameters as Ansible converts them: numbers and booleans given as text', () => {
  const loc = { file: 'pb.yaml', line: 3, col: 7 };
  it('a number or a boolean as text is taken as one, at load time and once rendered (-e t=15 gives text)', () => {
    const p = parseParams(waitForModule, { cmd: 'true', timeout: '15', sleep: ' 2 ' }, loc);
    assert.deepEqual([p.timeout, p.sleep], [15, 2]);
    for (const [text, want] of [['yes', true], ['No', false], ['on', true], ['0', false], ['True', true]] as const) {
      assert.equal(parseParams(copyModule, { content: 'x', dest: '/x', backup: text }, loc).backup, want, text);
    }
    assert.deepEqual(checkParams(waitForModule, { cmd: 'true', timeout: '15' }, loc), []);
  });
  it('text that is neither is still refused, naming the parameter; the arguments given are left as they were', () => {
    assert.throws(() => parseParams(waitForModule, { cmd: 'true', timeout: 'soon' }, loc), /parameter 'timeout': Invalid input: expected number, received string/);
    assert.throws(() => parseParams(copyModule, { content: 'x', dest: '/x', backup: 'maybe' }, loc), /parameter 'backup'/);
    assert.equal(checkParams(waitForModule, { cmd: 'true', timeout: 'soon' }, loc).length, 1);
    const args = { path: '/x', line: 'a', create: 'yes' };
    assert.equal(parseParams(lineinfileModule, args, loc).create, true);
    assert.equal(args.create, 'yes', 'the arguments given are not changed');
  });
});
