// Templating of values and files: Jinja2 without HTML escaping (handlebars for .hbs files); errors
// name the variable and file:line; leftover handlebars in a value says what to write in Jinja2.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TemplateError } from '../../runner/errors.js';
import { checkTemplateSyntax, evaluateCondition, handlebarsHint, renderDeep, renderString, renderTemplateFile, templateFileVars } from '../../runner/template.js';
import { parseExpr } from '../../runner/expr/index.js';
import { parseYaml } from '../../runner/yaml-source.js';
import { LOOKUP_VAULT } from '../../runner/lookups.js';
import { resolveVarTemplates } from '../../runner/vars.js';
import { encryptVault } from '../../runner/vault/format.js';
import { VaultKeys } from '../../runner/vault/keys.js';

describe('templates', () => {
  const vars = { name: "O'Brien <x>", lv: 'xr1-disk', list: [1, 2], nested: { a: { b: 'deep' } }, hv: { 'lab-hv': { port: 22 } } };

  it('renders without HTML escaping', () => {
    assert.equal(renderString('hi {{ name }}', vars), "hi O'Brien <x>");
  });

  it('yields the value itself for a lone {{ expression }} (a list stays a list)', () => {
    assert.deepEqual(renderString('{{ list }}', vars), [1, 2]);
    assert.equal(renderString('{{ nested.a.b }}', vars), 'deep');
    assert.equal(renderString('{{ lv }}\n', vars), 'xr1-disk\n');
    assert.equal(renderString("{{ hv['lab-hv'].port }}", vars), 22);
    assert.equal(renderString('{{ list | length > 1 }}', vars), true);
  });

  it('names the undefined variable, with its full path, and the file:line', () => {
    const loc = { file: 'site.yaml', line: 7 };
    assert.throws(() => renderString('{{ nope }}', vars, loc), (e: unknown) => e instanceof TemplateError && /^site\.yaml:7: undefined variable 'nope'/.test(e.message));
    assert.throws(() => renderString('x {{ nested.a.missing }} y', vars, loc), /site\.yaml:7: undefined variable 'nested\.a\.missing' \('nested\.a' has no key 'missing'\)/);
    assert.throws(() => renderString('line 1\n{{ nope }}', vars, loc), /^TemplateError: site\.yaml:8: undefined variable 'nope'|site\.yaml:8: undefined variable 'nope'/);
  });

  it("yields default(...)'s value itself, typed; default(omit) drops the parameter", () => {
    assert.equal(renderString('{{ missing | default(none) }}', vars), null);
    assert.deepEqual(renderString("{{ list | default('x') }}", vars), [1, 2]);
    assert.equal(renderString("x{{ missing | default('y') }}", vars), 'xy');
    assert.deepEqual(renderDeep({ a: '{{ missing | default(omit) }}', b: '{{ lv }}', c: { d: '{{ missing | default(omit) }}' } }, vars), { b: 'xr1-disk', c: {} });
    assert.throws(() => renderDeep({ a: ['{{ omit }}'] }, vars, { file: 't.yaml', line: 2 }), /t\.yaml:2: omit can only be the value of a parameter, not an item of a list/);
  });

  it('reports syntax errors at file:line', () => {
    assert.throws(() => renderString('{{ foo bar', vars, { file: 'a.yaml', line: 3 }), /a\.yaml:3: template syntax error: missing '\}\}' to close the '\{\{'/);
    assert.throws(() => renderString('ok\n{{ a | }}', vars, { file: 'a.yaml', line: 3 }), /a\.yaml:4: template syntax error: expected a filter name/);
  });

  it('says what to write in Jinja2 for leftover handlebars syntax', () => {
    const cases: [string, string][] = [
      ['{{default missing "fallback"}}', "{{ missing | default('fallback') }}"],
      ['{{ default packages_dir null }}', '{{ packages_dir | default(omit) }}'],
      ['{{quote name}}', '{{ name | quote }}'],
      ['{{join list ","}}', "{{ list | join(',') }}"],
      ['{{ map.partitions.[0] }}', '{{ map.partitions[0] }}'],
      ['{{ hostvars.[lab-hv].x }}', "{{ hostvars['lab-hv'].x }}"],
      ['{{#if x}}a{{/if}}', '{% if %}…{% endif %}'],
      ['{{#each l}}a{{/each}}', '{% for x in list %}…{% endfor %}'],
    ];
    for (const [hbs, jinja] of cases) {
      const msg = checkTemplateSyntax(hbs);
      assert.equal(msg, `this is handlebars syntax; in Jinja2 write ${jinja}`, hbs);
      assert.throws(() => renderString(hbs, vars, { file: 'p.yaml', line: 1 }), (e: unknown) => e instanceof TemplateError && e.message.includes(jinja), hbs);
    }
    assert.equal(handlebarsHint('{{ x | default("y") }}'), undefined);
    assert.equal(checkTemplateSyntax('{{ x | default("y") }}'), undefined);
  });

  it('has the filters Ansible users reach for', () => {
    assert.equal(renderString("{{ missing | default('fallback') }}", vars), 'fallback');
    assert.equal(renderString('{{ name | quote }}', vars), `'O'"'"'Brien <x>'`);
    assert.equal(renderString("{{ list | join(',') }}", vars), '1,2');
  });

  it('renders nested arguments and points errors at the line of the value', () => {
    const args = parseYaml('a: "{{ lv }}"\nb:\n  - ok\n  - "{{ missing }}"\n', 'task.yaml') as Record<string, unknown>;
    assert.throws(() => renderDeep(args, vars), /task\.yaml:4(:\d+)?: undefined variable 'missing'/);
    assert.deepEqual(renderDeep({ a: '{{ lv }}', n: 3 }, vars), { a: 'xr1-disk', n: 3 });
  });

  it('reads lookups relative to playbook_dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
    writeFileSync(join(dir, 'motd'), 'hello\n');
    assert.equal(renderString("{{ lookup('file', 'motd') }}!", { playbook_dir: dir }), 'hello!');
    assert.equal(evaluateCondition(parseExpr("lookup('file', 'motd') == 'hello'"), { playbook_dir: dir }), true);
    assert.throws(() => renderString("{{ lookup('file', 'nope') }}", { playbook_dir: dir }, { file: 'p.yaml', line: 5 }), /p\.yaml:5: lookup\('file', "nope"\): no such file/);
  });

  it("decrypts a vault-encrypted file for lookup('file') with the passwords the variables carry, marking its text secret", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
    writeFileSync(join(dir, 'token'), encryptVault('vault-token-123\n', 'pw-1', { vaultId: 'prod' }));
    const keys = new VaultKeys([{ id: 'prod', password: 'pw-1', source: 'test' }]);
    const vars = { playbook_dir: dir, [LOOKUP_VAULT]: keys };
    assert.equal(renderString("{{ lookup('file', 'token') }}!", vars), 'vault-token-123!');
    assert.equal(keys.secrets.mask('t=vault-token-123'), 't=' + keys.secrets.mask('vault-token-123'));
    assert.notEqual(keys.secrets.mask('vault-token-123'), 'vault-token-123');
    // the passwords travel with copies of the variables, and are never listed
    const copy = resolveVarTemplates({ ...vars, t: "{{ lookup('file', 'token') }}" });
    assert.equal(copy.t, 'vault-token-123');
    assert.deepEqual(Object.keys(copy).sort(), ['playbook_dir', 't']);
    assert.throws(() => renderString("{{ lookup('file', 'token') }}", { playbook_dir: dir }, { file: 'p.yaml', line: 7 }), /p\.yaml:7: lookup\('file', "token"\): the file token is encrypted with Ansible Vault \(vault id 'prod'\) and no vault password was given/);
    const wrong = new VaultKeys([{ id: 'prod', password: 'nope', source: 'test' }]);
    assert.throws(() => renderString("{{ lookup('file', 'token') }}", { playbook_dir: dir, [LOOKUP_VAULT]: wrong }), /lookup\('file', "token"\): wrong vault password: none of those given opens the file token/);
  });

  it('renders .j2 files as Jinja2 strictly, naming the file and line of an undefined variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
    const f = join(dir, 'hosts.j2');
    writeFileSync(f, '# {{ ansible_managed }}\n{% for h in hosts %}\n{{ h }} {{ loop.index }}\n{% endfor %}\n{{ memory_mb }}\n');
    const tv = templateFileVars(f, 'hosts.j2', '/etc/hosts', {});
    assert.equal(tv.ansible_managed, 'Managed by ferry');
    assert.equal(templateFileVars(f, 'hosts.j2', undefined, { ansible_managed: 'mine' }).ansible_managed, 'mine');
    assert.throws(() => renderTemplateFile(f, { ...tv, hosts: ['a'] }), (e: unknown) => e instanceof TemplateError && e.message.startsWith(`${f}:5: undefined variable 'memory_mb'`));
    assert.equal(renderTemplateFile(f, { ...tv, hosts: ['a', 'b'], memory_mb: 512 }), '# Managed by ferry\na 1\nb 2\n512\n');
    writeFileSync(f, 'x\n{% if %}\n');
    assert.throws(() => renderTemplateFile(f, {}), (e: unknown) => e instanceof TemplateError && e.message.startsWith(`${f}:2: template syntax error: expected a value`));
  });

  it('renders .hbs files as handlebars, strictly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
    const f = join(dir, 'domain.xml.hbs');
    writeFileSync(f, '<name>{{ lv }}</name>\n<memory>{{ memory_mb }}</memory>\n');
    assert.throws(() => renderTemplateFile(f, vars), (e: unknown) => e instanceof TemplateError && e.message.includes(`${f}:2`) && e.message.includes("'memory_mb'"));
    assert.equal(renderTemplateFile(f, { ...vars, memory_mb: 512 }), '<name>xr1-disk</name>\n<memory>512</memory>\n');
  });
});
