// Roles, import_playbook and include_vars end to end against real sshd hosts: the site fixture
// (two roles, one a dependency of the other, defaults overridden by play vars, a role template and
// handler, include_vars in and out of a role, an imported playbook), then run-time include_role.
import assert from 'node:assert/strict';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlaybookFile } from '../../app/api.js';
import { startSshdHosts, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'roles');

describe('roles, import_playbook and include_vars over real sshd @integration', function () {
  this.timeout(120_000);
  let hosts: SshdHost[];
  let dir: string;
  let inv: string;
  let names: string[];

  before(async () => {
    hosts = await startSshdHosts(2);
    names = hosts.map((h) => h.name);
    dir = await mkdtemp(join(tmpdir(), 'ferry-roles-'));
    await chmod(dir, 0o777);
    inv = await writeInventory(hosts, dir);
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  async function work(name: string): Promise<string> {
    const w = join(dir, name);
    await mkdir(w, { recursive: true });
    await chmod(w, 0o777);
    return w;
  }
  const text = (w: string, h: string, ext: string) => readFile(join(w, `${h}.${ext}`), 'utf8');

  it('runs the site fixture: files from the roles, the handler, the order, the registered values; a second run changes nothing', async () => {
    const w = await work('site');
    // --check first: the role's tasks report what they would change, and nothing is written
    const dry = new CollectingReporter();
    const checked = await runPlaybookFile(join(FIXTURES, 'site', 'site.yml'), { inventory: [inv], reporter: dry, check: true, stateDir: join(w, '.state'), extraVars: { w } });
    assert.equal(checked.exitCode, 0, JSON.stringify(dry.results().filter((r) => r.status === 'failed')));
    assert.equal(dry.result('web : motd', names[0]!)!.status, 'changed');
    assert.equal(checked.hostValues[names[0]!]!.seen, 'lab/front/9090/banner.txt');
    await assert.rejects(text(w, names[0]!, 'motd'), /ENOENT/);
    const rep = new CollectingReporter();
    const summary = await runPlaybookFile(join(FIXTURES, 'site', 'site.yml'), { inventory: [inv], reporter: rep, stateDir: join(w, '.state'), extraVars: { w } });
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    for (const h of names) {
      // import_playbook + include_vars from vars/ beside the playbook
      assert.equal(await text(w, h, 'site'), 'lab\n');
      // the role's own template (not the playbook's), play vars over role defaults, role parameters, role vars
      assert.equal(await text(w, h, 'motd'), 'hello on port 8080 (ferry-test, web)\n');
      assert.equal(await text(w, h, 'banner'), 'welcome from the web role\n');
      // the dependency ran first, once; roles after pre_tasks and before tasks
      assert.deepEqual((await text(w, h, 'order')).trim().split('\n'), ['pre', 'common', 'web', 'tasks']);
      // the role's handler, with the role's vars
      assert.equal(await text(w, h, 'handler'), 'restarted ferry-test\n');
      // include_role tasks_from, seeing the role's defaults and role_name
      assert.equal(await text(w, h, 'stamp'), 'stamp default-note common\n');
      const values = summary.hostValues[h]!;
      assert.equal((values.web_port_out as { stdout: string }).stdout, '8080 9090 default-note');
      assert.deepEqual(values.extra, { tier: 'front', label: 'lab-front' });
      assert.equal(values.seen, 'lab/front/9090/banner.txt');
      assert.equal(rep.result('web : motd', h)!.status, 'changed');
      assert.equal(rep.result('web : restart web', h)!.status, 'changed');
      assert.equal(rep.result('common : common marker', h)!.status, 'changed');
    }
    const again = new CollectingReporter();
    const second = await runPlaybookFile(join(FIXTURES, 'site', 'site.yml'), { inventory: [inv], reporter: again, stateDir: join(w, '.state'), extraVars: { w } });
    assert.equal(second.exitCode, 0);
    for (const h of names) {
      assert.equal(again.result('web : motd', h)!.status, 'ok');
      assert.equal(again.result('web : banner', h)!.status, 'ok');
      assert.equal(again.result('web : restart web', h), undefined, 'no change, no handler');
    }
    // --start-at-task takes a role's task as output names it (what the skipped include_vars set is given with -e)
    const late = new CollectingReporter();
    const extraVars = { w, site_name: 'lab', web_admin_port: 1 };
    const third = await runPlaybookFile(join(FIXTURES, 'site', 'site.yml'), { inventory: [inv], reporter: late, startAtTask: 'web : web marker', stateDir: join(w, '.state'), extraVars });
    assert.equal(third.exitCode, 0, JSON.stringify(late.results().filter((r) => r.status === 'failed')));
    assert.equal(late.result('web : motd', names[0]!), undefined);
    assert.equal(late.result('web : port', names[0]!), undefined);
    assert.equal(late.result('web : web marker', names[0]!)!.status, 'changed');
  });

  it('include_role by a templated name reads the role at run time, per host; its handler and include_vars work; when: on import_playbook', async () => {
    const w = await work('dynamic');
    const pbDir = join(w, 'pb');
    await cp(join(FIXTURES, 'site', 'roles'), join(pbDir, 'roles'), { recursive: true });
    await mkdir(join(pbDir, 'roles', 'other', 'tasks'), { recursive: true });
    await writeFile(join(pbDir, 'roles', 'other', 'tasks', 'main.yml'), '- name: other\n  shell: echo other >> {{ w }}/{{ inventory_hostname }}.order\n- include_tasks: "{{ \'more\' }}.yml"\n  loop: [1, 1]\n');
    // a task file a role includes by a templated name belongs to the role: its templates/ and defaults
    await writeFile(join(pbDir, 'roles', 'other', 'tasks', 'more.yml'), '- name: more\n  template: { src: other.j2, dest: "{{ w }}/{{ inventory_hostname }}.other" }\n');
    await mkdir(join(pbDir, 'roles', 'other', 'templates'));
    await mkdir(join(pbDir, 'roles', 'other', 'defaults'));
    await writeFile(join(pbDir, 'roles', 'other', 'templates', 'other.j2'), '{{ other_word }} from {{ role_name }}\n');
    await writeFile(join(pbDir, 'roles', 'other', 'defaults', 'main.yml'), 'other_word: hi\n');
    await writeFile(join(pbDir, 'roles', 'other', 'tasks', 'item.yml'), '- name: item\n  shell: echo {{ other_word }}-{{ letter }} >> {{ w }}/{{ inventory_hostname }}.order\n');
    await writeFile(join(pbDir, 'skipped.yml'), '- hosts: all\n  gather_facts: true\n  tasks:\n    - shell: echo skipped >> {{ w }}/{{ inventory_hostname }}.order\n');
    await writeFile(
      join(pbDir, 'pb.yml'),
      [
        '- import_playbook: skipped.yml',
        '  when: false',
        '- hosts: all',
        // (this play's subject is roles: it gathers no facts, so the only gathering would be skipped.yml's)
        '  gather_facts: false',
        '  vars: { web_port: 81, web_greeting: dyn }',
        '  tasks:',
        '    - include_role:',
        '        name: "{{ \'web\' if inventory_hostname == groups.all[0] else \'other\' }}"',
        '    - include_role: { name: other, tasks_from: item }',
        '      loop: [a, b]',
        '      loop_control: { loop_var: letter }',
        '',
      ].join('\n'),
    );
    const rep = new CollectingReporter();
    const summary = await runPlaybookFile(join(pbDir, 'pb.yml'), { inventory: [inv], reporter: rep, stateDir: join(w, '.state'), extraVars: { w } });
    assert.equal(summary.exitCode, 0, JSON.stringify(rep.results().filter((r) => r.status === 'failed')));
    // include_role with a loop: the role once per item, the item under loop_var
    assert.deepEqual((await text(w, names[0]!, 'order')).trim().split('\n'), ['common', 'web', 'hi-a', 'hi-b']);
    assert.deepEqual(rep.results().filter((r) => r.task === 'Gathering Facts'), [], 'a play imported with when: false gathers no facts');
    assert.equal(await text(w, names[0]!, 'motd'), 'dyn on port 81 (ferry-test, web)\n');
    assert.equal(await text(w, names[0]!, 'handler'), 'restarted ferry-test\n');
    assert.equal((summary.hostValues[names[0]!]!.web_port_out as { stdout: string }).stdout, '81 9090 default-note');
    assert.deepEqual((await text(w, names[1]!, 'order')).trim().split('\n'), ['other', 'hi-a', 'hi-b']);
    assert.equal(await text(w, names[1]!, 'other'), 'hi from other\n');
    assert.equal(rep.result('other : more', names[1]!)!.status, 'changed');
  });
});
