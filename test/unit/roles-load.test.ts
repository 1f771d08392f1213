// Roles, import_playbook and include_vars at load time: what is read, in which order, with which
// variables, and every mistake reported with file:line before any host is contacted.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../runner/errors.js';
import { loadPlaybook, type LoadOptions } from '../../runner/playbook/load.js';
import type { Node, Playbook, RoleNode, TaskNode } from '../../runner/playbook/model.js';
import { preflight } from '../../runner/playbook/preflight.js';
import { rolesPathFromEnv } from '../../runner/playbook/roles.js';
import type { TaskContext } from '../../runner/module.js';
import { renderString } from '../../runner/template.js';
import { includeVarsModule } from '../../tasks/include-vars.js';
import { builtinModules } from '../../tasks/index.js';

const SITE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'roles', 'site');

/** A tree of files from a mapping path → text, in a fresh folder. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-roles-'));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  return dir;
}

function load(dir: string, options: LoadOptions = {}): Playbook {
  return loadPlaybook(join(dir, 'pb.yml'), builtinModules(), dir, options);
}

function problems(dir: string, options: LoadOptions = {}): string[] {
  try {
    load(dir, options);
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message}${p.hint ? ` | ${p.hint}` : ''}`);
    throw e;
  }
  return [];
}

/** The tasks a list runs, in order, as `role : name` (roles and includes flattened). */
function flat(nodes: Node[]): string[] {
  return nodes.flatMap((n) => {
    if (n.kind === 'task') return [n.role ? `${n.role.name} : ${n.name ?? n.module}` : n.name ?? n.module];
    if (n.kind === 'role' || n.kind === 'include') return flat(n.tasks ?? []);
    if (n.kind === 'block') return flat([...n.block, ...n.rescue, ...n.always]);
    return [];
  });
}

const PLAY = (body: string): string => `- hosts: all\n${body}`;

describe('roles, import_playbook and include_vars: loading', () => {
  it('loads the site fixture: imported plays first, roles after pre_tasks (dependency first), role handlers in the play', () => {
    const pb = loadPlaybook(join(SITE, 'site.yml'), builtinModules(), SITE);
    assert.deepEqual(pb.plays.map((p) => [p.index, p.name]), [[0, 'base'], [1, 'web servers']]);
    const play = pb.plays[1]!;
    assert.deepEqual(flat(play.tasks), [
      'pre',
      'common : common marker',
      'web : motd', 'web : banner', 'web : admin port', 'web : port', 'web : web marker',
      'after the roles', 'read the extra vars under one name', 'common : stamp', 'collect',
    ]);
    assert.deepEqual(play.handlers.map((h) => `${h.role?.name} : ${h.name}`), ['web : restart web', 'notifier : notify nobody']);
    const web = play.tasks[1] as RoleNode;
    assert.equal(web.kind, 'role');
    // the role sees its dependency's defaults; its own win; the play entry's vars are role parameters
    assert.deepEqual(web.ref!.defaults, { common_note: 'default-note', web_port: 80, web_greeting: 'hi', web_banner: 'banner.txt' });
    assert.deepEqual(web.ref!.vars, { web_agent: 'ferry-test' });
    assert.deepEqual(web.vars, { web_greeting: 'hello' });
    assert.match(web.ref!.path, /roles\/site\/roles\/web$/);
    // include_vars named literally: read now, so preflight knows what it sets
    const adminPort = flat(play.tasks).indexOf('web : admin port');
    assert.ok(adminPort > 0);
    const task = (web.tasks!.find((n) => n.kind === 'task' && n.name === 'admin port') as TaskNode);
    assert.deepEqual(task.provides, ['web_admin_port']);
    assert.equal(task.loc.file.endsWith('roles/web/tasks/main.yml'), true);
    preflight(pb, () => ['h1'], () => ({}), { w: '/tmp' });
  });

  it('a role not found names the line and every folder searched, roles path included', () => {
    const dir = tree({ 'pb.yml': PLAY('  roles:\n    - nginx\n') });
    const [p] = problems(dir, { rolesPath: ['/opt/roles'] });
    assert.match(p!, /^pb\.yml:3: role 'nginx' not found \| looked in roles\/nginx, nginx, \/opt\/roles\/nginx; put it in roles\/ beside the playbook/);
  });

  it('finds a role through the roles path (option, else ANSIBLE_ROLES_PATH)', () => {
    const shelf = tree({ 'r1/tasks/main.yml': '- name: from the shelf\n  ping:\n' });
    const dir = tree({ 'pb.yml': PLAY('  roles: [r1]\n') });
    assert.deepEqual(flat(load(dir, { rolesPath: [shelf] }).plays[0]!.tasks), ['r1 : from the shelf']);
    assert.deepEqual(rolesPathFromEnv({ ANSIBLE_ROLES_PATH: `${shelf}:~/roles`, HOME: '/home/u' }), [shelf, '/home/u/roles']);
  });

  it('a role with only handlers or defaults needs no tasks/main.yml; tasks_from naming a missing file is an error', () => {
    const dir = tree({
      'pb.yml': PLAY('  roles: [h]\n  tasks:\n    - ping:\n      notify: h said\n    - import_role:\n        name: h\n        tasks_from: nope\n'),
      'roles/h/handlers/main.yml': '- name: h said\n  ping:\n',
      'roles/h/defaults/main.yml': 'x: 1\n',
    });
    assert.deepEqual(problems(dir), [`pb.yml:7: tasks_from: nope: role 'h' has no such task file | looked for roles/h/tasks/nope.yml, roles/h/tasks/nope.yaml, roles/h/tasks/nope.json, roles/h/tasks/nope`]);
  });

  it("a dependency runs once per play unless its parameters differ or its meta allows duplicates", () => {
    const dir = tree({
      'pb.yml': PLAY('  roles:\n    - base\n    - a\n    - { role: base, x: 2 }\n    - dup\n    - dup\n'),
      'roles/base/tasks/main.yml': '- name: base\n  debug: { msg: "{{ x | default(1) }}" }\n',
      'roles/a/meta/main.yml': 'dependencies: [base]\n',
      'roles/a/tasks/main.yml': '- name: a\n  ping:\n',
      'roles/dup/meta/main.yml': 'allow_duplicates: true\n',
      'roles/dup/tasks/main.yml': '- name: dup\n  ping:\n',
    });
    assert.deepEqual(flat(load(dir).plays[0]!.tasks), ['base : base', 'a : a', 'base : base', 'dup : dup', 'dup : dup']);
  });

  it('refuses what cannot work, each at its line: a circular dependency, a templated import_role, a bad roles entry', () => {
    const dir = tree({
      'pb.yml': PLAY('  roles:\n    - a\n    - { vars: { x: 1 } }\n  tasks:\n    - import_role:\n        name: "{{ r }}"\n    - include_role:\n        name: "{{ r }}"\n    - include_role:\n        nmae: a\n'),
      'roles/a/meta/main.yml': 'dependencies:\n  - b\n',
      'roles/b/meta/main.yml': 'dependencies:\n  - a\n',
    });
    const ps = problems(dir);
    assert.equal(ps.length, 5, ps.join('\n'));
    assert.match(ps[0]!, /^roles\/b\/meta\/main\.yml:2: role 'a' depends on itself \(a -> b -> a\)/);
    assert.match(ps[1]!, /^pb\.yml:4: a role entry must be a role name, or a mapping with role:/);
    assert.match(ps[2]!, /^pb\.yml:7: import_role: the name "\{\{ r \}\}" is a template.* \| use include_role/);
    assert.match(ps[3]!, /^pb\.yml:11: unknown keyword 'nmae' in include_role \| did you mean 'name'/);
    assert.match(ps[4]!, /^pb\.yml:11: 'include_role' needs the role's name/);
  });

  it('include_role with a templated name is kept for run time; ansible.builtin names are accepted', () => {
    const dir = tree({
      'pb.yml': PLAY('  tasks:\n    - include_role:\n        name: "{{ r }}"\n    - ansible.builtin.import_role:\n        name: a\n'),
      'roles/a/tasks/main.yml': '- name: a\n  ping:\n',
    });
    const [dyn, imp] = load(dir).plays[0]!.tasks as RoleNode[];
    assert.equal(dyn!.static, false);
    assert.equal(dyn!.tasks, undefined);
    assert.deepEqual(dyn!.searchPath.slice(0, 2), [join(dir, 'roles'), dir]);
    assert.deepEqual(flat(imp!.tasks!), ['a : a']);
  });

  it("a role's handlers may be notified as `role : handler`; an unknown one is still an error", () => {
    const dir = tree({
      'pb.yml': PLAY('  roles: [a]\n  tasks:\n    - ping:\n      notify: "a : done"\n    - ping:\n      notify: "a : gone"\n'),
      'roles/a/handlers/main.yml': '- name: done\n  ping:\n',
    });
    const ps = problems(dir);
    assert.equal(ps.length, 1);
    assert.match(ps[0]!, /^pb\.yml:6: notify: no handler named 'a : gone'/);
  });

  it("preflight knows role defaults and vars: those of roles: and import_role in the whole play, an include_role's in the role only", () => {
    const dir = tree({
      'pb.yml': PLAY('  roles: [a]\n  tasks:\n    - debug: { msg: "{{ a_port }} {{ a_user }}" }\n    - include_role: { name: b }\n    - debug: { msg: "{{ b_port }}" }\n'),
      'roles/a/defaults/main.yml': 'a_port: 1\n',
      'roles/a/vars/main.yml': 'a_user: u\n',
      'roles/a/tasks/main.yml': '- debug: { msg: "{{ a_port }}" }\n',
      'roles/b/defaults/main.yml': 'b_port: 1\n',
      'roles/b/tasks/main.yml': '- debug: { msg: "{{ b_port }} {{ a_port }}" }\n',
    });
    const pb = load(dir);
    assert.deepEqual(pb.plays[0]!.roleDefaults, { a_port: 1 });
    assert.deepEqual(pb.plays[0]!.roleVars, { a_user: 'u' });
    assert.throws(() => preflight(pb, () => ['h1'], () => ({}), {}), (e: ValidationError) => {
      assert.deepEqual(e.problems.map((p) => `${p.loc?.file}:${p.loc?.line}: ${p.message}`), ["pb.yml:6: undefined variable 'b_port'"]);
      return true;
    });
  });

  it('import_playbook: relative to the importing file, its when/vars/tags put on each play; missing and self imports are errors', () => {
    const dir = tree({
      'pb.yml': '- import_playbook: sub/one.yml\n  when: go\n  vars: { v: 1 }\n  tags: [t]\n- import_playbook: missing.yml\n- import_playbook: pb.yml\n- hosts: all\n  tasks: [ping: ]\n',
      'sub/one.yml': '- hosts: all\n  tasks:\n    - ping:\n',
    });
    const ps = problems(dir);
    assert.equal(ps.length, 2, ps.join('\n'));
    assert.match(ps[0]!, /^pb\.yml:5: .*missing\.yml/);
    assert.match(ps[1]!, /^pb\.yml:6: import_playbook: pb\.yml imports itself/);
    writeFileSync(join(dir, 'pb.yml'), '- import_playbook: sub/one.yml\n  when: go\n  vars: { v: 1 }\n  tags: [t]\n- hosts: all\n  tasks: [ping: ]\n');
    const pb = load(dir);
    assert.equal(pb.plays.length, 2);
    assert.deepEqual(pb.plays[0]!.when!.map((c) => c.source), ['go']);
    assert.deepEqual(pb.plays[0]!.vars, { v: 1 });
    assert.deepEqual(pb.plays[0]!.tags, ['t']);
    assert.equal(pb.plays[1]!.when, undefined);
  });

  it('include_vars: a literal file is read at load time (role vars/ first, then vars/ beside the playbook); missing or not a mapping is an error', () => {
    const dir = tree({
      'pb.yml': PLAY('  roles: [a]\n  tasks:\n    - include_vars: nope.yml\n    - include_vars: { file: list.yml }\n    - include_vars: { dir: vars, name: all_vars }\n    - include_vars: "{{ os }}.yml"\n    - include_vars: broken.yml\n    - import_role: { name: a }\n      loop: [1, 2]\n'),
      'vars/list.yml': '- 1\n',
      'vars/broken.yml': 'ok: 1\nbad: "{{ x | }}"\n',
      'roles/a/vars/own.yml': 'own: 1\n',
      'roles/a/tasks/main.yml': '- include_vars: own.yml\n',
    });
    const ps = problems(dir);
    assert.equal(ps.length, 4, ps.join('\n'));
    assert.match(ps[2]!, /^vars\/broken\.yml:2: template syntax error/);
    assert.match(ps[3]!, /^pb\.yml:10: 'loop' cannot be used on import_role .* \| use include_role to run a role once per item/);
    assert.match(ps[0]!, /^pb\.yml:4: include_vars: nope\.yml not found \| looked for vars\/nope\.yml, nope\.yml/);
    assert.match(ps[1]!, /^pb\.yml:5: include_vars: vars\/list\.yml must hold a mapping/);
  });
});

describe('include_vars: reading the files', () => {
  const plan = async (dir: string, args: Record<string, unknown>, roleDir?: string) =>
    (await includeVarsModule.plan({ baseDir: dir, vars: { outer: 'o' }, host: 'h', ...(roleDir ? { roleDir } : {}) } as unknown as TaskContext, includeVarsModule.params.parse(args))) as {
      changed: boolean;
      data: Record<string, unknown>;
    };

  it('sets the values, rendered in file order; one that cannot be rendered is undefined and names its file:line when used', async () => {
    const dir = tree({ 'vars/x.yml': 'a: 1\nb: "{{ missing }}-x"\nc: "{{ a }}-{{ outer }}"\n' });
    const p = await plan(dir, { free_form: 'x.yml' });
    assert.equal(p.changed, false);
    const set = p.data.ferry_set_vars as Record<string, unknown>;
    assert.equal(set.a, 1);
    assert.equal(set.c, '1-o');
    assert.throws(() => renderString('{{ b }}', set, { file: 'pb.yml', line: 9 }), /^TemplateError: pb\.yml:9: undefined variable 'b' \(its value cannot be rendered: .*vars\/x\.yml:2(:\d+)?: undefined variable 'missing'/);
  });

  it("dir: reads every file in name order (later wins), under name:; in a role, the role's vars/ comes first", async () => {
    const dir = tree({ 'vars/d/1.yml': 'k: one\nx: 1\n', 'vars/d/2.yaml': 'k: two\n', 'vars/d/skip.txt': 'k: no\n', 'r/vars/own.yml': 'k: role\n', 'vars/own.yml': 'k: play\n' });
    const p = await plan(dir, { dir: 'd', name: 'site' });
    assert.deepEqual(p.data.ferry_set_vars, { site: { k: 'two', x: 1 } });
    assert.deepEqual((await plan(dir, { file: 'own.yml' }, join(dir, 'r'))).data.ferry_set_vars, { k: 'role' });
    assert.deepEqual((await plan(dir, { file: 'own.yml' })).data.ferry_set_vars, { k: 'play' });
    await assert.rejects(plan(dir, { file: 'none.yml' }), /include_vars: file none\.yml not found \(looked for .*vars\/none\.yml, .*none\.yml\)/);
  });
});
