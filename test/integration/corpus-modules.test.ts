// What the real-playbook corpus needed of ferry (issue 13), each run by ferry and by Debian's ansible-playbook
// on the same REAL sshd host (test/harness/sshd.ts) and compared: the task statuses, the registered values and
// the recap. Each piece also has its pure cases in the unit tables.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import type { HostRecap } from '../../runner/events.js';
import { NOPASSWD_USER, PASSWORD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { ansiblePlaybook, skipWithoutAnsible } from '../helpers/ansible.js';
import { CollectingReporter } from '../helpers/collect.js';

/** The built CLI (`npm run build`). */
const CLI = resolve(import.meta.dirname, '../../dist/app/cli.js');

/** One tool's run of a play: each task's status and registered value, in order, and the host's recap. */
interface Seen {
  statuses: string[];
  results: Record<string, unknown>[];
  recap: { ok: number; changed: number; failed: number; skipped: number; ignored: number; rescued: number };
}

describe('what the corpus needed, against ansible-playbook on the same sshd @integration', function () {
  this.timeout(180_000);
  let sshd: SshdHost;
  let dir: string;
  let inventory: string;

  before(async function () {
    skipWithoutAnsible(this);
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'ferry-corpus-modules-'));
    chmodSync(dir, 0o755);
    inventory = await writeInventory([sshd], dir, NOPASSWD_USER);
  });
  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** ferry's run of `tasks` in one play (become, as the ansible helper runs them). */
  async function ferry(tasks: unknown[], { inventory: inv = inventory, ...o }: { check?: boolean; verbosity?: number; inventory?: string } = {}): Promise<Seen> {
    const pb = join(mkdtempSync(join(dir, 'pb-')), 'play.yml');
    writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, become: true, tasks }]));
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: join(dir, 'state'), ...o });
    const mine = rep.results().filter((x) => x.host === sshd.name);
    const h: HostRecap = r.recap[sshd.name]!;
    return { statuses: mine.map((x) => x.status), results: mine.map((x) => x.result ?? {}), recap: { ok: h.ok, changed: h.changed, failed: h.failed, skipped: h.skipped, ignored: h.ignored, rescued: h.rescued } };
  }

  /** ansible-playbook's run of the same tasks. */
  function ansible(tasks: unknown[], { user = NOPASSWD_USER, ...o }: { check?: boolean; verbose?: number; user?: string; hostVars?: Record<string, unknown> } = {}): Seen {
    const a = ansiblePlaybook(sshd, user, tasks, o);
    assert.ok(a.results.length > 0, a.output);
    return {
      statuses: a.results.map((r) => (r.skipped ? 'skipped' : r.failed ? 'failed' : r.changed ? 'changed' : 'ok')),
      results: a.results,
      recap: { ok: a.stats.ok!, changed: a.stats.changed!, failed: a.stats.failures!, skipped: a.stats.skipped!, ignored: a.stats.ignored!, rescued: a.stats.rescued! },
    };
  }

  /** The keys of Ansible's result that ferry's must hold with the same values (ferry may say more). */
  function sameValues(f: Seen, a: Seen, keys: string[]): void {
    assert.deepEqual(f.statuses, a.statuses, 'task statuses, in order');
    assert.deepEqual(f.recap, a.recap, 'recap');
    a.results.forEach((ar, i) => {
      const want = Object.fromEntries(keys.filter((k) => ar[k] !== undefined).map((k) => [k, ar[k]]));
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, f.results[i]![k]]));
      assert.deepEqual(got, want, `registered values of task ${i + 1}`);
    });
  }

  describe('debug verbosity', () => {
    const tasks = [
      { debug: { var: 'probe', verbosity: 1 }, vars: { probe: 'seen' }, register: 'one' },
      { debug: { msg: 'deep', verbosity: '2' }, register: 'two' },
      { debug: { msg: 'always' } },
      // what the skipped debug registered, as a later task reads it
      { assert: { that: ['one is skipped or one.probe is defined or one.msg is defined'] } },
    ];

    it('without -v both are skipped ("Verbosity threshold not met."), registered and counted as Ansible does', async () => {
      const f = await ferry(tasks);
      const a = ansible(tasks);
      assert.deepEqual(a.statuses, ['skipped', 'skipped', 'ok', 'ok']);
      sameValues(f, a, ['changed', 'failed', 'skipped', 'skipped_reason']);
      assert.equal(f.results[0]!.skipped_reason, 'Verbosity threshold not met.');
    });

    it('with -v the verbosity-1 task prints and the verbosity-2 one is still skipped', async () => {
      const f = await ferry(tasks, { verbosity: 1 });
      const a = ansible(tasks, { verbose: 1 });
      assert.deepEqual(a.statuses, ['ok', 'skipped', 'ok', 'ok']);
      sameValues(f, a, ['changed', 'failed', 'skipped', 'skipped_reason']);
      assert.equal(f.results[0]!.msg, 'seen');
    });

    it('the command line passes its -v count: `ferry run -v` prints the verbosity-1 task, `ferry run` skips it', () => {
      const pb = join(mkdtempSync(join(dir, 'cli-')), 'play.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: tasks.slice(0, 2) }]));
      const cli = (...flags: string[]): string => {
        const r = spawnSync(process.execPath, [CLI, 'run', '-i', inventory, ...flags, pb], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', HOME: dir } });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        return r.stdout;
      };
      const skipped = `skipped: [${sshd.name}]: Verbosity threshold not met.`;
      const quiet = cli();
      assert.equal(quiet.split(skipped).length - 1, 2, quiet);
      assert.doesNotMatch(quiet, /probe = seen/);
      const v = cli('-v');
      assert.ok(v.includes(`ok: [${sshd.name}]: probe = seen`), v);
      assert.equal(v.split(skipped).length - 1, 1, v);
    });
  });

  describe('raw', () => {
    const tasks = [
      { raw: 'echo 汉语; echo err >&2', register: 'r' },
      { raw: 'echo $0', args: { executable: '/bin/bash' }, register: 'r' },
      { raw: 'exit 3', register: 'r', ignore_errors: true },
    ];

    it('runs the text on a terminal as Ansible does: the same stdout (\\r\\n, stderr merged), lines, rc and msg', async () => {
      const f = await ferry(tasks);
      const a = ansible(tasks);
      assert.deepEqual(a.statuses, ['changed', 'changed', 'failed']);
      assert.equal(f.statuses[2], 'failed');
      assert.deepEqual(f.statuses.slice(0, 2), a.statuses.slice(0, 2));
      a.results.forEach((ar, i) => {
        for (const k of ['rc', 'stdout', 'stdout_lines', 'msg']) assert.deepEqual(f.results[i]![k], ar[k], `${k} of task ${i + 1}`);
        // Ansible's stderr holds only its ssh client's "Shared connection to ... closed." line
        assert.match(String(ar.stderr), /^Shared connection to \S+ closed\.\r\n$/);
        assert.equal(f.results[i]!.stderr, '');
      });
      assert.equal(f.results[0]!.stdout, '汉语\r\nerr\r\n');
    });

    it('a failing raw reports changed: true as Ansible does: ignored it counts as ok, changed and ignored; else as failed alone; rescued as rescued alone', async () => {
      for (const failing of [
        [{ raw: 'echo out; exit 3', register: 'r', ignore_errors: true }, { assert: { that: ['r is failed', 'r is changed', 'r.rc == 3'] } }],
        [{ raw: 'exit 4', register: 'r' }],
        [{ block: [{ raw: 'exit 5', register: 'r' }], rescue: [{ assert: { that: ['r is changed', 'r.rc == 5'] } }] }],
      ]) {
        const f = await ferry(failing);
        const a = ansible(failing);
        assert.equal(a.results[0]!.changed, true, JSON.stringify(a.results));
        sameValues(f, a, ['changed', 'failed', 'rc', 'msg', 'stdout']);
      }
    });

    it('with a become password sudo asks on the terminal and is answered, as Ansible does: the same output, rc and recap', async () => {
      const become = [
        { raw: 'id -u; echo err >&2', register: 'r' },
        { raw: 'id -un; exit 3', register: 'r', ignore_errors: true },
        { raw: 'id -u', become: false, register: 'r' },
      ];
      const pwDir = mkdtempSync(join(dir, 'raw-pw-'));
      const pwInventory = await writeInventory([sshd], pwDir, PASSWORD_USER);
      writeFileSync(pwInventory, readFileSync(pwInventory, 'utf8').replace(/(ansible_user: ferrypw\n)/, `$1      ansible_become_password: ${JSON.stringify(sshd.users.password)}\n`));
      const f = await ferry(become, { inventory: pwInventory });
      const a = ansible(become, { user: PASSWORD_USER, hostVars: { ansible_become_password: sshd.users.password } });
      assert.deepEqual(a.statuses, ['changed', 'failed', 'changed']);
      sameValues(f, a, ['changed', 'failed', 'rc', 'stdout', 'stdout_lines', 'msg']);
      assert.equal(f.results[0]!.stdout, '\r\n0\r\nerr\r\n');
      assert.ok(!JSON.stringify(f.results).includes(sshd.users.password));
    });

    it('under no_log its output is in no event, as for command and shell', async () => {
      const pb = join(mkdtempSync(join(dir, 'raw-nolog-')), 'play.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [{ raw: 'echo hidden-raw-output-4711', no_log: true, register: 'r' }, { assert: { that: ["'hidden-raw-output-4711' in r.stdout"] } }] }]));
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [inventory], reporter: rep, stateDir: join(dir, 'state') });
      assert.equal(r.exitCode, 0, JSON.stringify(rep.results()));
      assert.equal(JSON.stringify(rep.events).includes('hidden-raw-output-4711'), false);
    });

    it('check mode: skipped and nothing runs, as in Ansible', async () => {
      const w = mkdtempSync(join(dir, 'raw-check-'));
      chmodSync(w, 0o777);
      const touch = [{ raw: `touch ${w}/ran`, register: 'r' }];
      const f = await ferry(touch, { check: true });
      const a = ansible(touch, { check: true });
      sameValues(f, a, ['changed', 'failed', 'skipped']);
      assert.deepEqual(f.statuses, ['skipped']);
      assert.deepEqual(readdirSync(w), []);
    });
  });

  describe('command and shell failures', () => {
    /** Each case, run by both tools: statuses, recap and the registered values Ansible gives must match. */
    async function compare(tasks: unknown[], keys = ['changed', 'failed', 'rc', 'msg', 'stdout', 'stdout_lines', 'stderr', 'stderr_lines', 'failed_when_result']): Promise<Seen> {
      const a = ansible(tasks);
      sameValues(await ferry(tasks), a, keys);
      return a;
    }

    it('a non-zero exit reports changed: true as Ansible does: ignored it counts as ok, changed and ignored; else as failed alone; rescued as rescued alone', async () => {
      for (const failing of [
        [
          { command: 'sh -c "echo out; echo err >&2; exit 3"', register: 'r', ignore_errors: true },
          { shell: 'exit 4', register: 's', ignore_errors: true },
          { assert: { that: ['r is failed', 'r is changed', 'r.rc == 3', "r.msg == 'non-zero return code'", 's is changed', 's.rc == 4'] } },
        ],
        [{ command: 'false', register: 'r' }],
        [{ shell: 'exit 5', register: 'r' }],
        [{ block: [{ shell: 'exit 5', register: 'r' }], rescue: [{ assert: { that: ['r is changed', 'r is failed', 'r.rc == 5'] } }] }],
      ]) {
        const a = await compare(failing);
        assert.equal(a.results[0]!.changed, true, JSON.stringify(a.results));
        assert.equal(a.results[0]!.msg, 'non-zero return code');
      }
    });

    it('changed_when and failed_when decide over it as in Ansible: changed_when: false on a failure, failed_when: false on a non-zero exit, failed_when: true on success', async () => {
      const a = await compare([
        { command: 'false', register: 'r', changed_when: false, ignore_errors: true },
        { shell: 'exit 2', register: 'r', failed_when: false },
        { shell: 'exit 0', register: 'r', failed_when: true, ignore_errors: true },
        { shell: 'exit 0', register: 'r', changed_when: false, failed_when: true, ignore_errors: true },
        { shell: 'exit 2', register: 'r', changed_when: 'r.rc == 2', failed_when: 'r.rc > 2' },
        { shell: 'exit 3', register: 'r', changed_when: 'r.rc == 2', failed_when: 'r.rc > 2', ignore_errors: true },
      ]);
      assert.deepEqual(a.statuses, ['failed', 'changed', 'failed', 'failed', 'changed', 'failed']);
      assert.deepEqual(a.results.map((r) => r.changed), [false, true, true, false, true, false]);
    });

    it('`ferry run --json`: the failed task_result event says changed, as its result does, and the recap counts it as Ansible does', () => {
      const pb = join(mkdtempSync(join(dir, 'cli-fail-')), 'play.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [{ command: 'false', ignore_errors: true }, { shell: 'exit 0', changed_when: false }] }]));
      const r = spawnSync(process.execPath, [CLI, 'run', '--json', '-i', inventory, pb], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; host?: string; status?: string; changed?: boolean; ignored?: boolean; result?: { changed?: boolean; msg?: string }; hosts?: Record<string, HostRecap> });
      const results = events.filter((e) => e.type === 'task_result' && e.host === sshd.name);
      assert.deepEqual(results.map((e) => [e.status, e.changed, e.ignored ?? false, e.result?.changed, e.result?.msg]), [['failed', true, true, true, 'non-zero return code'], ['ok', false, false, false, '']]);
      const recap = events.find((e) => e.type === 'recap')!.hosts![sshd.name]!;
      assert.deepEqual([recap.ok, recap.changed, recap.failed, recap.ignored], [2, 1, 0, 1]);
    });

    it('in a loop, items that failed after running make the loop changed, as in Ansible; changed_when: false still holds', async () => {
      const a = await compare(
        [
          { shell: 'exit {{ item }}', loop: [3, 4], register: 'r', ignore_errors: true },
          { shell: 'exit {{ item }}', loop: [3, 4], register: 's', changed_when: false, ignore_errors: true },
          { assert: { that: ["r.results | map(attribute='changed') | list == [true, true]", 'r.results[1].rc == 4', 's is not changed'] } },
        ],
        ['changed', 'failed', 'msg'],
      );
      assert.deepEqual(a.results.slice(0, 2).map((r) => r.changed), [true, false]);
    });

    it('creates and removes that say there is nothing to do report ok, unchanged, rc 0 and the same msg and stdout as Ansible', async () => {
      await compare(
        [
          { command: 'false', args: { creates: '/etc/passwd' }, register: 'r' },
          { shell: 'exit 1', args: { removes: '/nonexistent-ferry' }, register: 'r' },
        ],
      ).then((a) => assert.deepEqual(a.results.map((r) => r.msg), ["Did not run command since '/etc/passwd' exists", "Did not run command since '/nonexistent-ferry' does not exist"]));
    });
  });

  describe('module_defaults', () => {
    it('short, ansible.builtin. and ansible.legacy. keys apply to every spelling of the module, and an inner level replaces an outer one, as in Ansible', async () => {
      const w = mkdtempSync(join(dir, 'md-'));
      chmodSync(w, 0o755);
      const cmd = 'pwd; cat';
      const tasks = [
        {
          block: [
            { shell: cmd, register: 'r' },
            { 'ansible.builtin.shell': cmd, register: 'r', module_defaults: { 'ansible.legacy.shell': { stdin: 'task' } } },
            { 'ansible.legacy.shell': cmd, register: 'r', module_defaults: { shell: { chdir: '/' } } },
            { shell: cmd, register: 'r', module_defaults: [{ shell: { chdir: w, stdin: 'first' } }, { 'ansible.builtin.shell': { stdin: 'last' } }] },
            { shell: cmd, args: { chdir: w }, register: 'r', module_defaults: { 'ansible.builtin.shell': { chdir: '/', stdin: 'default' } } },
          ],
          module_defaults: { 'ansible.builtin.shell': { chdir: w, stdin: 'block' } },
        },
      ];
      const f = await ferry(tasks);
      const a = ansible(tasks);
      sameValues(f, a, ['changed', 'failed', 'rc', 'stdout_lines']);
      assert.deepEqual(f.results[0]!.stdout_lines, [w, 'block']);
    });
  });

  describe('lineinfile', () => {
    it('create makes the missing parent folders, as Ansible does (a local_action in the corpus relies on it)', async () => {
      const fw = mkdtempSync(join(dir, 'li-ferry-'));
      const aw = mkdtempSync(join(dir, 'li-ansible-'));
      const tasks = (w: string) => [{ lineinfile: { path: `${w}/语/深/汉语.txt`, create: true, line: '汉语' }, register: 'r' }];
      const f = await ferry(tasks(fw));
      const a = ansible(tasks(aw));
      sameValues(f, a, ['changed', 'msg']);
      assert.equal(readFileSync(join(fw, '语/深/汉语.txt'), 'utf8'), readFileSync(join(aw, '语/深/汉语.txt'), 'utf8'));
      assert.equal(statSync(join(fw, '语/深')).mode & 0o7777, statSync(join(aw, '语/深')).mode & 0o7777);
    });

    it('validate runs on the new content before it replaces the file, as Ansible does: passing, failing, and not in check mode', async () => {
      const fw = mkdtempSync(join(dir, 'val-ferry-'));
      const aw = mkdtempSync(join(dir, 'val-ansible-'));
      const tasks = (w: string) => [
        { copy: { dest: `${w}/f.conf`, content: 'a=1\nb=2\n' } },
        // the temporary copy holds the new content: grep finds the added line in it
        { lineinfile: { path: `${w}/f.conf`, line: 'c=3', validate: 'grep -q ^c=3$ %s' }, register: 'r' },
        { lineinfile: { path: `${w}/f.conf`, line: 'd=4', validate: 'grep -q ^nothing %s' }, register: 'r', ignore_errors: true },
        { replace: { path: `${w}/f.conf`, regexp: '^a=1$', replace: 'a=9', validate: 'sh -c "echo bad >&2; exit 3" %s' }, register: 'r', ignore_errors: true },
        { blockinfile: { path: `${w}/f.conf`, block: 'x=1', validate: 'test -s %s' }, register: 'r' },
        { blockinfile: { path: `${w}/f.conf`, block: 'y=1', validate: '/bin/false %s' }, register: 'r', ignore_errors: true },
        { replace: { path: `${w}/f.conf`, regexp: '^b=2$', replace: 'b=5', validate: `touch ${w}/validated %s` }, register: 'r', check_mode: true },
      ];
      const f = await ferry(tasks(fw));
      const a = ansible(tasks(aw));
      assert.deepEqual(a.statuses, ['changed', 'changed', 'failed', 'failed', 'changed', 'failed', 'changed']);
      sameValues(f, a, ['changed', 'failed', 'msg']);
      assert.equal(f.results[3]!.msg, 'failed to validate: rc:3 error:bad\n');
      assert.equal(readFileSync(join(fw, 'f.conf'), 'utf8'), readFileSync(join(aw, 'f.conf'), 'utf8'));
      assert.equal(readFileSync(join(fw, 'f.conf'), 'utf8'), 'a=1\nb=2\nc=3\n# BEGIN ANSIBLE MANAGED BLOCK\nx=1\n# END ANSIBLE MANAGED BLOCK\n');
      assert.deepEqual(readdirSync(fw), readdirSync(aw));
      assert.deepEqual(readdirSync(fw), ['f.conf']);
    });
  });

  describe('copy and template', () => {
    it('validate the new content as Ansible does: a failing check leaves dest untouched and fails with its output; the copy checked has the mode asked', async () => {
      const fw = mkdtempSync(join(dir, 'cval-ferry-'));
      const aw = mkdtempSync(join(dir, 'cval-ansible-'));
      const tpl = join(dir, 'cval.conf.j2');
      writeFileSync(tpl, 'name={{ inventory_hostname }}\n');
      const good = 'root ALL=(ALL) ALL\n';
      const tasks = (w: string) => [
        // the temporary copy already has the mode asked for (visudo -s is strict about the syntax only)
        { copy: { dest: `${w}/sudoers`, content: good, mode: '0440', validate: 'sh -c \'test "$(stat -c %%a "$0")" = 440 && visudo -csf "$0"\' %s' }, register: 'r' },
        { copy: { dest: `${w}/sudoers`, content: `${good}this is not sudoers\n`, validate: 'visudo -csf %s' }, register: 'r', ignore_errors: true },
        { template: { src: tpl, dest: `${w}/t.conf`, validate: 'grep -q ^name= %s' }, register: 'r' },
        { template: { src: tpl, dest: `${w}/u.conf`, validate: 'sh -c "echo bad >&2; echo out; exit 3" %s' }, register: 'r', ignore_errors: true },
        { copy: { dest: `${w}/sudoers`, content: 'x\n', validate: `touch ${w}/validated %s` }, register: 'r', check_mode: true },
      ];
      const f = await ferry(tasks(fw));
      const a = ansible(tasks(aw));
      assert.deepEqual(a.statuses, ['changed', 'failed', 'changed', 'failed', 'changed']);
      sameValues(f, a, ['changed', 'failed', 'msg', 'exit_status']);
      // the command's own output, registered as Ansible registers it, and said in the message
      assert.equal(f.results[3]!.stderr, 'bad\n');
      assert.equal(f.results[3]!.stdout, 'out\n');
      assert.deepEqual([a.results[3]!.stderr, a.results[3]!.stdout], ['bad\n', 'out\n']);
      assert.match(String(f.results[1]!.stdout) + String(f.results[1]!.stderr), /syntax error/);
      for (const w of [fw, aw]) {
        assert.equal(readFileSync(join(w, 'sudoers'), 'utf8'), good, 'the failed validate left the file as it was');
        assert.equal(statSync(join(w, 'sudoers')).mode & 0o7777, 0o440);
        assert.equal(readFileSync(join(w, 't.conf'), 'utf8'), `name=${sshd.name}\n`);
      }
      assert.deepEqual(readdirSync(fw), readdirSync(aw));
      assert.deepEqual(readdirSync(fw).sort(), ['sudoers', 't.conf']);
    });
  });
});
