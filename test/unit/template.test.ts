// Templating: strict handlebars without HTML escaping; errors name the variable and file:line.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TemplateError } from '../../runner/errors.js';
import { renderDeep, renderString, renderTemplateFile } from '../../runner/template.js';
import { parseYaml } from '../../runner/yaml-source.js';

describe('templates', () => {
  const vars = { name: "O'Brien <x>", lv: 'xr1-disk', list: [1, 2], nested: { a: { b: 'deep' } }, hv: { 'lab-hv': { port: 22 } } };

  it('renders without HTML escaping', () => {
    assert.equal(renderString('hi {{ name }}', vars), "hi O'Brien <x>");
  });

  it('yields the value itself for a lone {{ var }} (a list stays a list)', () => {
    assert.deepEqual(renderString('{{ list }}', vars), [1, 2]);
    assert.equal(renderString('{{ nested.a.b }}', vars), 'deep');
    assert.equal(renderString('{{ lv }}\n', vars), 'xr1-disk\n');
  });

  it('names the undefined variable, with its full path, and the file:line', () => {
    const loc = { file: 'site.yaml', line: 7 };
    assert.throws(() => renderString('{{ nope }}', vars, loc), (e: unknown) => e instanceof TemplateError && /site\.yaml:7/.test(e.message) && /'nope'/.test(e.message));
    assert.throws(() => renderString('x {{ nested.a.missing }} y', vars, loc), /undefined variable 'nested\.a\.missing'/);
  });

  it('yields a lone helper call\'s value itself, typed (null, lists, numbers)', () => {
    assert.equal(renderString('{{default missing null}}', vars), null);
    assert.deepEqual(renderString('{{ default list "x" }}', vars), [1, 2]);
    assert.equal(renderString('{{default nested.a.b "x"}}', vars), 'deep');
    assert.equal(renderString('x{{default missing "y"}}', vars), 'xy');
  });

  it('reports syntax errors', () => {
    assert.throws(() => renderString('{{ foo bar', vars, { file: 'a.yaml', line: 3 }), /a\.yaml:3: template syntax error/);
  });

  it('has default, quote and join helpers that Ansible users reach for', () => {
    assert.equal(renderString('{{default missing "fallback"}}', vars), 'fallback');
    assert.equal(renderString('{{quote name}}', vars), `'O'\\''Brien <x>'`);
    assert.equal(renderString('{{join list ","}}', vars), '1,2');
  });

  it('renders nested arguments and points errors at the line of the value', () => {
    const args = parseYaml('a: "{{ lv }}"\nb:\n  - ok\n  - "{{ missing }}"\n', 'task.yaml') as Record<string, unknown>;
    assert.throws(() => renderDeep(args, vars), /task\.yaml:4(:\d+)?: undefined variable 'missing'/);
    assert.deepEqual(renderDeep({ a: '{{ lv }}', n: 3 }, vars), { a: 'xr1-disk', n: 3 });
  });

  it('renders template files strictly, naming the file and line of an undefined variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
    const f = join(dir, 'domain.xml.hbs');
    writeFileSync(f, '<name>{{ lv }}</name>\n<memory>{{ memory_mb }}</memory>\n');
    assert.throws(() => renderTemplateFile(f, vars), (e: unknown) => e instanceof TemplateError && e.message.includes(`${f}:2`) && e.message.includes("'memory_mb'"));
    assert.equal(renderTemplateFile(f, { ...vars, memory_mb: 512 }), '<name>xr1-disk</name>\n<memory>512</memory>\n');
  });
});
