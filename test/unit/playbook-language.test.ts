// vars_prompt, module_defaults and local_action: what the loader makes of them, the problems it
// reports with file:line, and how prompts are answered (a scripted terminal stands in for a person).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError, type Problem } from '../../runner/errors.js';
import { loadPlaybook, loadTaskFile } from '../../runner/playbook/load.js';
import type { Node, TaskNode } from '../../runner/playbook/model.js';
import { preflight } from '../../runner/playbook/preflight.js';
import { MISMATCH, answerVarsPrompts, promptQuestion, unsafeText } from '../../runner/playbook/vars-prompt.js';
import { SecretValues } from '../../runner/secrets.js';
import { renderString } from '../../runner/template.js';
import { resolveVarTemplates } from '../../runner/vars.js';
import { locOf } from '../../runner/yaml-source.js';
import { builtinModules } from '../../tasks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-lang-unit-'));
function load(text: string, extra: Record<string, string> = {}) {
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const p = join(dir, 'pb.yaml');
  writeFileSync(p, text);
  return loadPlaybook(p, builtinModules(), dir);
}
/** One test per bad case: the playbook `wrap(text)` makes is refused with a problem matching `re`. */
function itReports(cases: [string, string, RegExp][], wrap: (text: string) => string): void {
  for (const [what, text, re] of cases) {
    it(`reports ${what} with file:line`, () => {
      const found = problems(wrap(text));
      assert.ok(found.some((p) => re.test(p)), `expected ${re} in:\n${found.join('\n')}`);
    });
  }
}

/** What preflight refuses for one host with no variables. */
function preflightProblems(pb: ReturnType<typeof load>): Problem[] {
  try {
    preflight(pb, () => ['h1'], () => ({}), {});
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.problems;
  }
  return [];
}
function problems(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message}${p.hint ? ` | ${p.hint}` : ''}`);
    throw e;
  }
  return [];
}
function task(n: Node | undefined): TaskNode {
  assert.ok(n && n.kind === 'task', `not a task: ${JSON.stringify(n)}`);
  return n;
}

describe('vars_prompt: loading', () => {
  it('reads entries with Ansible defaults (private yes, confirm and unsafe no), each at its line', () => {
    const pb = load('- hosts: all\n  vars_prompt:\n    - name: who\n      prompt: Who are you\n      private: no\n      default: bob\n    - name: pw\n      confirm: yes\n      unsafe: true\n  tasks: []\n');
    assert.deepEqual(pb.plays[0]!.varsPrompt, [
      { name: 'who', prompt: 'Who are you', private: false, default: 'bob', confirm: false, unsafe: false, loc: { file: 'pb.yaml', line: 3, col: 7 } },
      { name: 'pw', prompt: 'input for pw', private: true, confirm: true, unsafe: true, loc: { file: 'pb.yaml', line: 7, col: 7 } },
    ]);
  });

  const BAD: [string, string, RegExp][] = [
    ['not a list', '  vars_prompt: { who: Who }\n', /pb\.yaml:2: 'vars_prompt' must be a list of variables to ask for/],
    ['an entry without a name', '  vars_prompt:\n    - prompt: Who\n', /pb\.yaml:3: a vars_prompt entry needs the name: of the variable it sets/],
    ['a name that is no variable', '  vars_prompt:\n    - name: my-var\n', /pb\.yaml:3: vars_prompt: 'my-var' cannot be a variable name/],
    ['encrypt, which ferry does not do', '  vars_prompt:\n    - name: pw\n      encrypt: sha512_crypt\n', /pb\.yaml:4: vars_prompt: 'encrypt' is not supported by ferry \(it does not hash answers\) \| remove 'encrypt'/],
    ['a misspelt key', '  vars_prompt:\n    - name: pw\n      privte: no\n', /pb\.yaml:4: unknown keyword 'privte' in a vars_prompt entry \| did you mean 'private'/],
    ['private that is no boolean', '  vars_prompt:\n    - name: pw\n      private: maybe\n', /pb\.yaml:4: 'private' must be true or false/],
  ];
  itReports(BAD, (text) => `- hosts: all\n${text}  tasks: []\n`);

  it('a prompted name counts as defined for the undefined-variable check (preflight)', () => {
    const pb = load('- hosts: all\n  vars_prompt:\n    - name: who\n  tasks:\n    - debug: { msg: "{{ who }} {{ other }}" }\n');
    assert.deepEqual(preflightProblems(pb).map((p) => p.message), ["undefined variable 'other'"]);
  });
});

describe('vars_prompt: answering', () => {
  const pbText = '- hosts: all\n  vars_prompt:\n    - name: who\n      prompt: Who\n      private: no\n    - name: pw\n      prompt: Password\n      default: dflt-pass\n      confirm: yes\n  tasks: []\n';

  /** A scripted terminal: answers in order, recording each question. */
  function terminal(answers: string[]) {
    const asked: { q: string; secret: boolean }[] = [];
    const said: string[] = [];
    return {
      asked,
      said,
      io: {
        ask: (q: string, secret: boolean) => {
          asked.push({ q, secret });
          const a = answers.shift();
          return a === undefined ? Promise.reject(new Error('asked more than scripted')) : Promise.resolve(a);
        },
        say: (l: string) => void said.push(l),
      },
    };
  }

  it('asks as ansible-playbook words it, confirms until both answers match, takes the default on Enter, marks private answers secret', async () => {
    const pb = load(pbText);
    const t = terminal(['alice', 'one', 'two', '', '']);
    const secrets = new SecretValues();
    await answerVarsPrompts(pb, {}, t.io, secrets);
    assert.deepEqual(t.asked, [
      { q: 'Who: ', secret: false },
      { q: 'Password [dflt-pass]: ', secret: true },
      { q: 'confirm Password [dflt-pass]: ', secret: true },
      { q: 'Password [dflt-pass]: ', secret: true },
      { q: 'confirm Password [dflt-pass]: ', secret: true },
    ]);
    assert.deepEqual(t.said, [MISMATCH]);
    assert.equal(pb.plays[0]!.vars.who, 'alice');
    assert.equal(pb.plays[0]!.vars.pw, 'dflt-pass');
    assert.equal(locOf(pb.plays[0]!.vars, 'pw')?.line, 6);
    assert.equal(secrets.mask('pw=dflt-pass who=alice'), `pw=${secrets.mask('dflt-pass')} who=alice`);
    assert.notEqual(secrets.mask('dflt-pass'), 'dflt-pass');
  });

  it('does not ask for a name given with -e', async () => {
    const pb = load(pbText);
    const t = terminal(['alice']);
    await answerVarsPrompts(pb, { pw: 'from-e' }, t.io, new SecretValues());
    assert.deepEqual(t.asked.map((a) => a.q), ['Who: ']);
    assert.equal(pb.plays[0]!.vars.pw, undefined);
  });

  it('off a terminal: defaults are taken, and every prompt without one is bad input at its file:line, before anything is asked', async () => {
    const pb = load(pbText);
    await assert.rejects(answerVarsPrompts(pb, {}, { say: () => undefined }, new SecretValues()), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message} | ${p.hint}`), [
        'pb.yaml:3: vars_prompt \'who\': there is no terminal to ask "Who" on, and it has no default | give it on the command line (-e who=VALUE), add default: to the prompt, or run ferry on a terminal',
      ]);
      return true;
    });
    const ok = load(pbText);
    await answerVarsPrompts(ok, { who: 'x' }, { say: () => undefined }, new SecretValues());
    assert.equal(ok.plays[0]!.vars.pw, 'dflt-pass');
  });

  it('the question shows the default in brackets; an unsafe answer is never rendered', () => {
    assert.equal(promptQuestion({ name: 'a', prompt: 'Name', private: true, confirm: false, unsafe: false, loc: { file: 'f', line: 1 } }), 'Name: ');
    assert.equal(unsafeText('plain'), 'plain');
    const typed = "{{ lookup('env', 'HOME') }} {% if x %}";
    assert.equal(renderString(unsafeText(typed), {}), typed);
    assert.equal(resolveVarTemplates({ v: unsafeText(typed) }).v, typed);
  });
});

describe('module_defaults', () => {
  it('gives a module its defaults at play, block and task level: task args win, inner levels win over outer', () => {
    const pb = load(
      [
        '- hosts: all',
        '  module_defaults:',
        '    ansible.builtin.file: { owner: play, mode: "0600", group: play }',
        '    command: { chdir: /play }',
        '  tasks:',
        '    - file: { path: /a }',
        '    - block:',
        '        - file: { path: /b, mode: "0644" }',
        '        - ansible.builtin.file:',
        '            path: /c',
        '          module_defaults: { file: { group: task } }',
        '        - command: ls',
        '      module_defaults:',
        '        ansible.legacy.file: { owner: block }',
        '  handlers:',
        '    - name: h',
        '      command: pwd',
        '',
      ].join('\n'),
    );
    const play = pb.plays[0]!;
    assert.deepEqual(task(play.tasks[0]).args, { owner: 'play', mode: '0600', group: 'play', path: '/a' });
    const b = play.tasks[1]!;
    assert.ok(b.kind === 'block');
    // as ansible-playbook 2.14 does: an inner level's defaults of a module replace the outer ones as a whole
    assert.deepEqual(task(b.block[0]).args, { owner: 'block', mode: '0644', path: '/b' });
    assert.deepEqual(task(b.block[1]).args, { group: 'task', path: '/c' });
    assert.deepEqual(task(b.block[2]).args, { chdir: '/play', cmd: 'ls' });
    assert.deepEqual(play.handlers[0]!.args, { chdir: '/play', cmd: 'pwd' });
    // a default's problems are reported where it is written
    assert.equal(locOf(task(b.block[0]).args, 'owner')?.line, 14);
  });

  it('the short, ansible.builtin. and ansible.legacy. names are one module: the last one written wins as a whole, as in Ansible', () => {
    const pb = load(
      [
        '- hosts: all',
        '  module_defaults:',
        '    file: { owner: short, mode: "0600" }',
        '    ansible.builtin.file: { owner: builtin }',
        '  tasks:',
        '    - file: { path: /a }',
        '    - ansible.legacy.file: { path: /b }',
        '      module_defaults:',
        '        - ansible.legacy.file: { group: one }',
        '        - ansible.builtin.file: { group: two }',
        '',
      ].join('\n'),
    );
    const [a, b] = pb.plays[0]!.tasks.map(task);
    assert.deepEqual(a!.args, { owner: 'builtin', path: '/a' });
    assert.deepEqual(b!.args, { group: 'two', path: '/b' });
  });

  it('a task file read at run time gets the module_defaults in effect at its include', () => {
    const pb = load('- hosts: all\n  module_defaults: { file: { owner: play } }\n  tasks:\n    - include_tasks: "{{ which }}.yaml"\n', { 'inc.yaml': '- file: { path: /x }\n' });
    const inc = pb.plays[0]!.tasks[0]!;
    assert.ok(inc.kind === 'include');
    assert.deepEqual(inc.moduleDefaults, { file: { owner: 'play' } });
    const nodes = loadTaskFile(join(dir, 'inc.yaml'), builtinModules(), 'x', dir, { moduleDefaults: inc.moduleDefaults });
    assert.deepEqual(task(nodes[0]).args, { owner: 'play', path: '/x' });
  });

  const BAD: [string, string, RegExp][] = [
    ['an action group', '  module_defaults:\n    group/aws: { region: x }\n', /pb\.yaml:3: module_defaults: action groups \(group\/aws\) are not supported by ferry: ansible-core's group 'aws' gathers modules of amazon\.aws, community\.aws, none of which ferry has \| name each module instead/],
    ['a builtin action group, fully qualified', '  module_defaults:\n    group/ansible.builtin.k8s: { kubeconfig: x }\n', /pb\.yaml:3: .*\(group\/ansible\.builtin\.k8s\) .*group 'k8s' gathers modules of kubernetes\.core/],
    ['a collection\'s action group', '  module_defaults:\n    - group/community.general.proxmox: { api_host: x }\n', /pb\.yaml:3: .*it is a group of the collection community\.general, whose modules ferry does not have \| name each module instead/],
    ['an action group no one defines', '  module_defaults:\n    group/files: { owner: x }\n', /pb\.yaml:3: .*ansible-core defines no group 'files' \(ansible-playbook fails with "could not resolve the module_defaults group"\)/],
    ['an unknown module', '  module_defaults:\n    ansible.builtin.fiel: { owner: x }\n', /pb\.yaml:3: module_defaults: unknown module 'ansible\.builtin\.fiel' \| did you mean 'file'/],
    ['an unknown parameter', '  module_defaults:\n    file:\n      ownr: x\n', /pb\.yaml:4: module_defaults: module 'file' has no parameter 'ownr' \| did you mean 'owner'/],
    ['defaults that are no mapping', '  module_defaults:\n    file: root\n', /pb\.yaml:3: module_defaults: the defaults of 'file' must be a mapping/],
    ['module_defaults that is no mapping', '  module_defaults: file\n', /pb\.yaml:2: 'module_defaults' must be a mapping of module names/],
  ];
  itReports(BAD, (text) => `- hosts: all\n${text}  tasks: []\n`);

  it('a required parameter may come from the defaults alone', () => {
    assert.deepEqual(problems('- hosts: all\n  module_defaults: { file: { path: /x } }\n  tasks:\n    - file: { state: touch }\n'), []);
    assert.ok(problems('- hosts: all\n  tasks:\n    - file: { state: touch }\n').length > 0, 'file without path must be a problem');
  });
});

describe('local_action', () => {
  it('free form and mapping forms become the module delegated to localhost', () => {
    const pb = load('- hosts: all\n  tasks:\n    - local_action: command echo hi chdir=/tmp\n    - local_action:\n        module: ansible.builtin.file\n        path: /tmp/x\n        state: touch\n    - local_action: ping\n');
    const [a, b, c] = pb.plays[0]!.tasks.map(task);
    assert.deepEqual([a!.module, a!.args, a!.delegateTo], ['command', { cmd: 'echo hi', chdir: '/tmp' }, 'localhost']);
    assert.deepEqual([b!.module, b!.args, b!.delegateTo], ['file', { path: '/tmp/x', state: 'touch' }, 'localhost']);
    assert.equal(locOf(b!.args, 'state')?.line, 7);
    assert.deepEqual([c!.module, c!.args, c!.delegateTo], ['ping', {}, 'localhost']);
  });

  it('takes module_defaults like any task', () => {
    const pb = load('- hosts: all\n  module_defaults: { command: { chdir: /srv } }\n  tasks:\n    - local_action: command ls\n');
    assert.deepEqual(task(pb.plays[0]!.tasks[0]).args, { chdir: '/srv', cmd: 'ls' });
  });

  const BAD: [string, string, RegExp][] = [
    ['an unknown module', '    - local_action: comand ls\n', /pb\.yaml:3: local_action: unknown module 'comand' \| did you mean 'command'/],
    ['a mapping without module', '    - local_action: { path: /x }\n', /pb\.yaml:3: 'local_action' needs 'module:' naming the module to run/],
    ['a second module', '    - local_action: command ls\n      ping:\n', /pb\.yaml:4: a task can call only one module, this one names ping and local_action/],
    ['delegate_to beside it', '    - local_action: command ls\n      delegate_to: h1\n', /pb\.yaml:4: 'delegate_to' cannot be used with 'local_action'/],
    ['a bad parameter', '    - local_action: { module: file, path: /x, stat: touch }\n', /pb\.yaml:3: module 'file' has no parameter 'stat' \| did you mean 'state'/],
    ['an empty local_action', '    - local_action: ""\n', /pb\.yaml:3: 'local_action' must name a module and its parameters/],
  ];
  itReports(BAD, (text) => `- hosts: all\n  tasks:\n${text}`);
});

describe('\\N{NAME} escapes in key=value arguments', () => {
  it('a command\'s own words keep them as written, as Ansible keeps them', () => {
    const pb = load('- hosts: all\n  tasks:\n    - command: echo \\N{BULLET} chdir=/tmp\n');
    assert.deepEqual(task(pb.plays[0]!.tasks[0]).args, { cmd: 'echo \\N{BULLET}', chdir: '/tmp' });
  });

  const BAD: [string, string, RegExp][] = [
    ['one in a free-form option', '    - debug: msg=a\\N{BULLET}b\n', /pb\.yaml:3: \\N\{BULLET\} in 'msg=': ferry does not decode Python's \\N\{NAME\} escapes .* \| write the character itself/],
    ['one in a command\'s option', '    - name: second\n      command: ls chdir="/srv/\\N{SNOWMAN}"\n', /pb\.yaml:4: \\N\{SNOWMAN\} in 'chdir='/],
    ['one in local_action', '    - local_action: file path=/x\\N{SOLIDUS} state=touch\n', /pb\.yaml:3: \\N\{SOLIDUS\} in 'path='/],
  ];
  itReports(BAD, (text) => `- hosts: all\n  tasks:\n${text}`);
});

describe('action (Ansible\'s older task form)', () => {
  it('free form and mapping forms call the module on the task\'s own host; delegate_to still applies', () => {
    const pb = load('- hosts: all\n  tasks:\n    - action: command echo hi chdir=/tmp\n    - action:\n        module: ansible.builtin.file\n        path: /tmp/x\n        state: touch\n      delegate_to: h2\n');
    const [a, b] = pb.plays[0]!.tasks.map(task);
    assert.deepEqual([a!.module, a!.args, a!.delegateTo], ['command', { cmd: 'echo hi', chdir: '/tmp' }, undefined]);
    assert.deepEqual([b!.module, b!.args, b!.delegateTo], ['file', { path: '/tmp/x', state: 'touch' }, 'h2']);
    assert.equal(locOf(b!.args, 'state')?.line, 7);
  });

  const BAD: [string, string, RegExp][] = [
    ['an unknown module', '    - action: comand ls\n', /pb\.yaml:3: action: unknown module 'comand' \| did you mean 'command'/],
    ['a mapping without module', '    - action: { path: /x }\n', /pb\.yaml:3: 'action' needs 'module:' naming the module to run/],
    ['a second module', '    - action: command ls\n      ping:\n', /pb\.yaml:4: a task can call only one module, this one names ping and action/],
    ['action and local_action', '    - action: command ls\n      local_action: ping\n', /pb\.yaml:4: a task can call only one module, this one has both action and local_action/],
  ];
  itReports(BAD, (text) => `- hosts: all\n  tasks:\n${text}`);
});

describe('limits: what the loader keeps and what it refuses, with file:line', () => {
  it('keeps each key with its number and line, on tasks and blocks', () => {
    const pb = load('- hosts: all\n  tasks:\n    - block:\n        - command: "true"\n          limits: { "{{ vg }}": 1 }\n      limits:\n        hv: "{{ n }}"\n');
    const block = pb.plays[0]!.tasks[0]! as Node & { kind: 'block' };
    assert.deepEqual(block.limits?.map((l) => [l.key, l.max, l.loc?.line]), [['hv', '{{ n }}', 7]]);
    assert.deepEqual((block.block[0] as TaskNode).limits?.map((l) => [l.key, l.max, l.loc?.line]), [['{{ vg }}', 1, 5]]);
  });

  it('refuses a list, a zero and a word, naming the line', () => {
    const found = problems('- hosts: all\n  tasks:\n    - command: "true"\n      limits: [vg1]\n    - command: "true"\n      limits: { vg1: 0, vg2: many }\n');
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(found[0]!, /pb\.yaml:4: 'limits' must be a mapping/);
    assert.match(found[1]!, /pb\.yaml:6: limits: 'vg1' must map a resource key to a whole number of hosts from 1, got 0/);
    assert.match(found[2]!, /pb\.yaml:6: limits: 'vg2' .* got "many"/);
  });

  it('preflight finds an undefined variable in a key or number, a block\'s at its tasks', () => {
    const pb = load('- hosts: all\n  tasks:\n    - block:\n        - command: "true"\n      limits:\n        "{{ nope }}": "{{ neither }}"\n');
    assert.deepEqual(preflightProblems(pb).map((p) => `${p.loc?.line}: ${p.message}`), ["6: undefined variable 'nope'", "6: undefined variable 'neither'"]);
  });
});
