// Playbook validation: every problem is found at load time, with file:line and a hint.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../runner/errors.js';
import { loadPlaybook } from '../../runner/playbook/load.js';
import { parseKeyValueArgs } from '../../runner/playbook/free-form.js';
import { preflight } from '../../runner/playbook/preflight.js';
import { builtinModules } from '../../tasks/index.js';
import { locOf } from '../../runner/yaml-source.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-load-'));
function load(text: string, extra: Record<string, string> = {}) {
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const p = join(dir, 'pb.yaml');
  writeFileSync(p, text);
  return loadPlaybook(p, builtinModules(), dir);
}
function problems(text: string, extra: Record<string, string> = {}): string[] {
  try {
    load(text, extra);
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message}${p.hint ? ` | ${p.hint}` : ''}`);
    throw e;
  }
  return [];
}

const CASES: { name: string; text: string; expect: RegExp[]; extra?: Record<string, string> }[] = [
  { name: 'unknown play keyword', text: '- hosts: all\n  taskz: []\n', expect: [/pb\.yaml:2: unknown keyword 'taskz' in a play \| did you mean 'tasks'/] },
  { name: 'play without hosts', text: '- name: x\n  tasks: []\n', expect: [/pb\.yaml:1: the play has no 'hosts'/] },
  { name: 'unknown task keyword', text: '- hosts: all\n  tasks:\n    - ping:\n      regsiter: x\n', expect: [/pb\.yaml:4: unknown keyword 'regsiter' in a task \| did you mean 'register'/] },
  { name: 'play keyword on a task', text: '- hosts: all\n  tasks:\n    - ping:\n      serial: 2\n', expect: [/pb\.yaml:4: .*'serial'.* \| 'serial' is a play keyword/] },
  { name: 'two modules in one task', text: '- hosts: all\n  tasks:\n    - ping:\n      debug: { msg: x }\n', expect: [/pb\.yaml:3: a task can call only one module/] },
  { name: 'a task with no module', text: '- hosts: all\n  tasks:\n    - name: nothing\n', expect: [/pb\.yaml:3: this task names no module/] },
  { name: 'bad condition', text: '- hosts: all\n  tasks:\n    - ping:\n      when: "a and"\n', expect: [/pb\.yaml:4: bad condition/] },
  { name: 'bad changed_when', text: '- hosts: all\n  tasks:\n    - ping:\n      changed_when: "x ==="\n', expect: [/pb\.yaml:4: bad condition/] },
  { name: 'notify to nothing', text: '- hosts: all\n  tasks:\n    - ping:\n      notify: nope\n  handlers:\n    - name: yes\n      ping:\n', expect: [/pb\.yaml:3: notify: no handler named 'nope' in this play \| handlers: yes/] },
  { name: 'unknown parameter', text: '- hosts: all\n  tasks:\n    - file:\n        path: /x\n        stat: directory\n', expect: [/pb\.yaml:5: module 'file' has no parameter 'stat' \| did you mean 'state'/] },
  {
    name: 'unknown parameter beside templated ones (found at load time, not when the task runs)',
    text: '- hosts: all\n  vars: { d: /x }\n  tasks:\n    - lineinfile:\n        dest: "{{ d }}/f"\n        line: "{{ d }}"\n        validat: "true %s"\n',
    expect: [/pb\.yaml:7: module 'lineinfile' has no parameter 'validat' \| did you mean 'validate'/],
  },
  {
    name: "validate without %s: Ansible's message, at load time",
    text: '- hosts: all\n  tasks:\n    - replace:\n        path: /x\n        regexp: a\n        validate: visudo -cf\n',
    expect: [/pb\.yaml:6: module 'replace', parameter 'validate': validate must contain %s: visudo -cf/],
  },
  {
    name: "copy and template validate without %s: Ansible's message, at load time, each naming its line",
    text: '- hosts: all\n  tasks:\n    - copy:\n        content: x\n        dest: /etc/sudoers\n        validate: visudo -cf\n    - template:\n        src: t.j2\n        dest: /x\n        validate: "true"\n',
    expect: [/pb\.yaml:6: module 'copy', parameter 'validate': validate must contain %s: visudo -cf/, /pb\.yaml:10: module 'template', parameter 'validate': validate must contain %s: true/],
  },
  { name: 'wrong parameter type', text: '- hosts: all\n  tasks:\n    - copy:\n        dest: [a]\n', expect: [/pb\.yaml:4: module 'copy', parameter 'dest'/] },
  { name: 'template syntax', text: '- hosts: all\n  tasks:\n    - debug:\n        msg: "{{ oops"\n', expect: [/pb\.yaml:4: template syntax error: missing '\}\}' to close the '\{\{'/] },
  {
    name: 'leftover handlebars, with the Jinja2 to write instead',
    text: '- hosts: all\n  tasks:\n    - debug:\n        msg: "{{default x \\"y\\"}}"\n    - command: echo {{quote p}}\n',
    expect: [/pb\.yaml:4: template syntax error: this is handlebars syntax; in Jinja2 write \{\{ x \| default\('y'\) \}\}/, /pb\.yaml:5: .*in Jinja2 write \{\{ p \| quote \}\}/],
  },
  { name: 'bad serial', text: '- hosts: all\n  serial: many\n  tasks: []\n', expect: [/pb\.yaml:2: 'serial' must be a number/] },
  { name: 'broken imported file', text: '- hosts: all\n  tasks:\n    - import_tasks: sub.yaml\n', extra: { 'sub.yaml': '- comand: x\n' }, expect: [/sub\.yaml:1: unknown module or keyword 'comand'/] },
  { name: 'not a list of plays', text: 'hosts: all\n', expect: [/pb\.yaml:1: a playbook must be a list of plays/] },
  { name: 'bad meta', text: '- hosts: all\n  tasks:\n    - meta: flush\n', expect: [/pb\.yaml:3: unknown meta action "flush"/] },
  { name: 'a loop over a non-list', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      loop: { a: 1 }\n', expect: [/pb\.yaml:4: 'loop' must be a list/] },
  { name: 'duplicate key', text: '- hosts: all\n  hosts: web\n  tasks: []\n', expect: [/pb\.yaml:2: duplicate key 'hosts'/] },
  { name: 'a key written twice after a merge key', text: '- hosts: all\n  tasks:\n    - debug: { <<: { msg: a }, msg: b, msg: c }\n', expect: [/pb\.yaml:3: duplicate key 'msg'/] },
  { name: 'a loop over a plain string', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      loop: "a b c"\n', expect: [/pb\.yaml:4: 'loop' must be a list .*got the string "a b c" \| write a YAML list/] },
  { name: 'with_sequence with a template', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      with_sequence: end={{ n }}\n', expect: [/pb\.yaml:4: with_sequence: ferry expands the sequence when the playbook is loaded.* \| write loop: "{{ range\(START, END \+ 1\)/] },
  { name: 'with_sequence counting backwards', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      with_sequence: start=5 end=1\n', expect: [/pb\.yaml:4: with_sequence: to count backwards make stride negative/] },
  { name: 'with_items over a number', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      with_items: 3\n', expect: [/pb\.yaml:4: 'with_items' must be a list .*got the number 3/] },
  { name: 'a loop template that always renders to a string', text: '- hosts: all\n  tasks:\n    - debug: { msg: x }\n      loop: "{{ a }},{{ b }}"\n', expect: [/pb\.yaml:4: 'loop' is a template that always renders to a string/] },
  { name: 'an include looping over a mapping', text: '- hosts: all\n  tasks:\n    - include_tasks: sub.yaml\n      loop: { a: 1 }\n', extra: { 'sub.yaml': '- ping:\n' }, expect: [/pb\.yaml:4: 'loop' must be a list .*got a mapping/] },
  { name: 'a register name with a dash', text: '- hosts: all\n  tasks:\n    - ping:\n      register: my-result\n', expect: [/pb\.yaml:4: register: 'my-result' is not a variable name \| use letters, digits and _/] },
  { name: 'a register name starting with a digit', text: '- hosts: all\n  tasks:\n    - ping:\n      register: 1st\n', expect: [/pb\.yaml:4: register: '1st' is not a variable name/] },
  { name: 'a register name ferry sets itself', text: '- hosts: all\n  tasks:\n    - ping:\n      register: hostvars\n', expect: [/pb\.yaml:4: register: 'hostvars' cannot be used: ferry sets it for every task/] },
  { name: 'a register name that is a word of conditions', text: '- hosts: all\n  tasks:\n    - ping:\n      register: not\n', expect: [/pb\.yaml:4: register: 'not' cannot be used: it is a word of the condition language/] },
  { name: 'a missing vars file, at the line naming it', text: '- hosts: all\n  vars_files:\n    - vars/none.yaml\n  tasks: []\n', expect: [/pb\.yaml:3: cannot read vars file: ENOENT.* \(.*vars\/none\.yaml\)/] },
  { name: 'a vars file holding a list', text: '- hosts: all\n  vars_files: [list.yaml]\n  tasks: []\n', extra: { 'list.yaml': '- a\n- b\n' }, expect: [/pb\.yaml:2: vars_files: list\.yaml must hold a mapping of variable names to values, got a list/] },
  { name: 'a vars file with a syntax error, at its own line', text: '- hosts: all\n  vars_files: [broken.yaml]\n  tasks: []\n', extra: { 'broken.yaml': 'a: 1\nb: [2\n' }, expect: [/broken\.yaml:\d+: YAML syntax error/] },
  { name: 'a templated vars file name', text: '- hosts: all\n  vars_files: ["vars/{{ env }}.yaml"]\n  tasks: []\n', expect: [/pb\.yaml:2: vars_files: 'vars\/\{\{ env \}\}\.yaml' is a template/] },
  { name: 'a missing imported task file, at the line naming it', text: '- hosts: all\n  tasks:\n    - import_tasks: nothere.yaml\n', expect: [/pb\.yaml:3: cannot read task file: ENOENT/] },
  { name: 'a second play list after "---"', text: '- hosts: all\n  tasks: []\n---\n- hosts: web\n  tasks: []\n', expect: [/pb\.yaml:3: a second YAML document starts here/] },
];

describe('playbook loading', () => {
  for (const c of CASES) {
    it(`reports ${c.name} with file:line`, () => {
      const found = problems(c.text, c.extra);
      for (const re of c.expect) assert.ok(found.some((p) => re.test(p)), `expected ${re} in:\n${found.join('\n')}`);
    });
  }

  it('loads a valid playbook into plays, tasks and blocks that keep their lines', () => {
    const pb = load(
      '- name: p\n  hosts: hv\n  vars: { a: 1 }\n  tasks:\n    - name: t\n      command: uptime\n      register: up\n    - block:\n        - ping:\n      rescue:\n        - debug: { msg: r }\n      when: up.rc == 0\n',
    );
    const play = pb.plays[0]!;
    assert.equal(play.hosts, 'hv');
    assert.equal(play.tasks.length, 2);
    const t = play.tasks[0]!;
    assert.ok(t.kind === 'task');
    assert.equal(t.module, 'command');
    assert.deepEqual(t.args, { cmd: 'uptime' });
    assert.equal(t.loc.line, 5);
    const b = play.tasks[1]!;
    assert.ok(b.kind === 'block');
    assert.equal(b.rescue.length, 1);
    assert.equal(b.when[0]!.source, 'up.rc == 0');
  });

  it('lets a key written in a mapping override the same key from a merge key (<<: *defaults), before or after it', () => {
    const pb = load('- hosts: all\n  vars:\n    d: &d { msg: merged, verbosity: 0 }\n  tasks:\n    - debug: { <<: *d, msg: own }\n    - debug: { msg: own, <<: *d }\n');
    for (const t of pb.plays[0]!.tasks) {
      assert.ok(t.kind === 'task');
      assert.deepEqual(t.args, { msg: 'own', verbosity: 0 });
    }
  });

  it('accepts ansible.builtin. names and key=value argument strings', () => {
    const pb = load('- hosts: all\n  tasks:\n    - ansible.builtin.file: path=/tmp/x state=directory\n');
    const t = pb.plays[0]!.tasks[0]!;
    assert.ok(t.kind === 'task');
    assert.equal(t.module, 'file');
    assert.deepEqual(t.args, { path: '/tmp/x', state: 'directory' });
    assert.deepEqual(parseKeyValueArgs('a=1 b="x y" c=\'z\''), { a: '1', b: 'x y', c: 'z' });
    assert.equal(parseKeyValueArgs('not key value'), undefined);
  });

  it('takes play and task vars as a list of mappings (Ansible), later ones winning, each value keeping its line', () => {
    const pb = load('- hosts: all\n  vars:\n    - a: 1\n      b: 1\n    - b: 2\n  tasks:\n    - debug: { msg: "{{ a }}{{ b }}{{ c }}" }\n      vars:\n        - c: 3\n');
    const play = pb.plays[0]!;
    assert.deepEqual(play.vars, { a: 1, b: 2 });
    assert.equal(locOf(play.vars, 'b')?.line, 5);
    const t = play.tasks[0]!;
    assert.ok(t.kind === 'task');
    assert.deepEqual(t.vars, { c: 3 });
    assert.deepEqual(problems('- hosts: all\n  vars:\n    - a: 1\n    - just-a-string\n  tasks: []\n'), [
      `pb.yaml:2: 'vars' must be a mapping of variable names to values (or a list of such mappings)`,
    ]);
  });

  it('reads vars_files at load time, later files winning, keeping where each value is written', () => {
    const pb = load('- hosts: all\n  vars_files: [one.yaml, two.yaml]\n  tasks: []\n', { 'one.yaml': 'a: 1\nb: 1\n', 'two.yaml': '# two\nb: 2\n' });
    const play = pb.plays[0]!;
    assert.deepEqual(play.varsFromFiles, { a: 1, b: 2 });
    assert.deepEqual(play.varsFiles, ['one.yaml', 'two.yaml']);
    assert.deepEqual(locOf(play.varsFromFiles, 'b'), { file: 'two.yaml', line: 2, col: 1 });
  });

  it('accepts loops that may yield a list: a list, one variable, one helper call', () => {
    assert.deepEqual(problems('- hosts: all\n  tasks:\n    - debug: { msg: x }\n      loop: [1, 2]\n    - debug: { msg: x }\n      loop: "{{ xs }}"\n    - debug: { msg: x }\n      loop: "{{default xs null}}"\n      register: r_1\n'), []);
  });

  it('accepts templated values where a type is expected, to check them once rendered', () => {
    assert.deepEqual(problems('- hosts: all\n  tasks:\n    - wait_for:\n        port: "{{ p }}"\n        timeout: "{{ t }}"\n'), []);
  });
});

describe('gather_facts: on unless the play (or ansible.cfg gathering = explicit) says otherwise', () => {
  it('absent: true; no / false: false; absent with gatherByDefault false (explicit): false, and true still true', () => {
    const p = join(dir, 'gather.yaml');
    writeFileSync(p, '- hosts: all\n  tasks: []\n- hosts: all\n  gather_facts: no\n  tasks: []\n- hosts: all\n  gather_facts: true\n  tasks: []\n');
    assert.deepEqual(loadPlaybook(p, builtinModules(), dir).plays.map((x) => x.gatherFacts), [true, false, true]);
    assert.deepEqual(loadPlaybook(p, builtinModules(), dir, { gatherByDefault: false }).plays.map((x) => x.gatherFacts), [false, false, true]);
  });
});

describe('preflight: undefined variables in Jinja2 values, and the guards that accept them', () => {
  const hostVars: Record<string, Record<string, unknown>> = { web1: { port: 80 }, web2: {} };
  function preflightProblems(text: string): string[] {
    const pb = load(text);
    try {
      preflight(pb, () => ['web1', 'web2'], (h) => hostVars[h]!, {});
    } catch (e) {
      if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message}${p.hint ? ` | ${p.hint}` : ''}`);
      throw e;
    }
    return [];
  }
  const cases: [string, string, RegExp[]][] = [
    ['an unguarded read', '- hosts: all\n  tasks:\n    - command: echo {{ nope.x }}\n', [/pb\.yaml:3: undefined variable 'nope' \| .*default\(\.\.\.\).*'when: nope is defined'/]],
    ['a read some hosts lack', '- hosts: all\n  tasks:\n    - command: echo {{ port }}\n', [/pb\.yaml:3: undefined variable 'port' for host web2/]],
    ['| default(...)', "- hosts: all\n  tasks:\n    - command: echo {{ nope | default('x') }} {{ port | default(omit) }}\n", []],
    ['is defined inside the value', "- hosts: all\n  tasks:\n    - command: echo {{ nope.x if nope is defined else 'y' }}\n", []],
    // web1 has port, web2 has not: a branch is read only on the hosts that take it
    ['the else branch of is defined, on the host that takes it', '- hosts: all\n  tasks:\n    - command: echo {{ port if port is defined else nope }}\n', [/pb\.yaml:3: undefined variable 'nope' for host web2 \|/]],
    ['the then branch of is undefined, on the host that takes it', '- hosts: all\n  tasks:\n    - command: echo {{ nope if port is undefined else port }}\n', [/pb\.yaml:3: undefined variable 'nope' for host web2 \|/]],
    ['both guards of a conjunction hold', '- hosts: all\n  tasks:\n    - command: echo {{ 1 if port is defined and inventory_hostname is defined else nope }}\n', [/pb\.yaml:3: undefined variable 'nope' for host web2 \|/]],
    ['a condition that is more than is defined decides nothing', '- hosts: all\n  tasks:\n    - command: echo {{ port if port is defined and port > 1 else nope }}\n', [/pb\.yaml:3: undefined variable 'nope' \|/]],
    ['when: x is defined on the task', '- hosts: all\n  tasks:\n    - command: echo {{ nope.x }} {{ port }}\n      when: nope is defined and port is defined\n', []],
    ['when: on an enclosing block', '- hosts: all\n  tasks:\n    - block:\n        - block:\n            - command: echo {{ nope }}\n      when: [nope is defined]\n', []],
    ['a when: that does not guard', '- hosts: all\n  tasks:\n    - command: echo {{ nope }}\n      when: nope is undefined or port > 1\n', [/pb\.yaml:3: undefined variable 'nope'/]],
    ['a guard on another name', '- hosts: all\n  tasks:\n    - command: echo {{ nope }}\n      when: other is defined\n', [/pb\.yaml:3: undefined variable 'nope'/]],
    ['names a template sets itself', "- hosts: all\n  tasks:\n    - debug:\n        msg: \"{% for i in [1] %}{{ i }}{{ loop.index }}{% endfor %}{% set z = 1 %}{{ z }}\"\n", []],
    ['loop and register', '- hosts: all\n  tasks:\n    - command: echo {{ item }}\n      loop: [1]\n      register: out\n    - debug: { msg: "{{ out.results | length }}" }\n', []],
    // plays gather facts unless they say not to (as Ansible's gathering = implicit)
    ['facts, where the play gathers them (the default)', "- hosts: all\n  tasks:\n    - debug: { msg: \"{{ ansible_distribution }} {{ ansible_facts['os_family'] }}\" }\n      when: ansible_os_family == 'Debian'\n", []],
    ['facts, with gather_facts: no', "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: { msg: \"{{ ansible_distribution }}\" }\n      when: ansible_os_family == 'Debian'\n", [
      /pb\.yaml:5: when: undefined variable 'ansible_os_family' \(this play does not gather facts\) \| .*set gather_facts: true \(or run setup\)/,
      /pb\.yaml:4: undefined variable 'ansible_distribution' \| .*set gather_facts: true \(or run setup\)/,
    ]],
    ['facts, with gather_facts: false and a setup task before', "- hosts: all\n  gather_facts: false\n  tasks:\n    - setup: { filter: 'ansible_d*' }\n    - debug: { msg: \"{{ ansible_distribution }}\" }\n      when: ansible_os_family == 'Debian'\n", []],
    ['facts, with gather_facts: false and a guard', "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: { msg: hi }\n      when: ansible_os_family is defined and ansible_os_family == 'Debian'\n", []],
    ['an ansible_ name gathering does not give', '- hosts: all\n  tasks:\n    - debug: { msg: "{{ ansible_date_time }}" }\n', [/pb\.yaml:3: undefined variable 'ansible_date_time' \| 'ansible_date_time' is not one of the facts ferry gathers/]],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const found = preflightProblems(text);
      assert.equal(found.length, want.length, found.join('\n'));
      want.forEach((re, i) => assert.match(found[i]!, re));
    });
  }
});
