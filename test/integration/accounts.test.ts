// The group and user modules through a REAL sshd (test/harness/sshd.ts) on this machine, as the
// unprivileged login user with become: effects read back from /etc/group, /etc/passwd and /etc/shadow,
// second runs report no change with a reason, check mode changes nothing, and the same tasks run by
// Debian's ansible-playbook leave the same entries and register the same values. Every user and group
// has a throwaway random name and is removed in after(), also when a test fails.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Plan, TaskModule } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { groupModule } from '../../tasks/group.js';
import { userModule } from '../../tasks/user.js';
import { NOPASSWD_USER, sshTransport, startSshd, type SshdHost } from '../harness/sshd.js';
import { ansiblePlaybook, skipWithoutAnsible } from '../helpers/ansible.js';
import { assertNoChange as noChange, looseModule as mod, runModule } from '../helpers/run-module.js';

/** The entry `getent DB NAME` prints on this machine, or '' when there is none. */
function entry(db: 'group' | 'passwd' | 'shadow', name: string): string {
  const r = spawnSync('getent', [db, '--', name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** A GID (or UID) in 42000-61999 that no group (user) has. */
function freeId(db: 'group' | 'passwd'): number {
  for (;;) {
    const id = 42000 + (randomBytes(2).readUInt16BE() % 20000);
    if (spawnSync('getent', [db, String(id)]).status === 2) return id;
  }
}

/**
 * Runs `tasks` with ansible-playbook in one play, each followed by `getent DB NAME`; returns what each
 * task registered (the keys compared) and the entry after it.
 */
function ansibleEntries(h: SshdHost, tasks: Record<string, unknown>[], db: 'group' | 'passwd', name: string, keys: string[]): { entry: string; result: Record<string, unknown> }[] {
  const probe = { command: `getent ${db} -- ${name}`, failed_when: false, changed_when: false };
  const a = ansiblePlaybook(h, NOPASSWD_USER, tasks.flatMap((t) => [t, probe]));
  assert.equal(a.code, 0, a.output);
  return tasks.map((_, i) => ({ entry: String(a.results[2 * i + 1]!.stdout), result: pick(a.results[2 * i]!, keys) }));
}

/** The keys of `r` that are in `keys`. */
function pick(r: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
}

describe('group and user modules @integration', function () {
  this.timeout(120_000);
  let sshd: SshdHost;
  let transport: SshTransport;
  const groups = new Set<string>();
  const users = new Set<string>();

  /** A throwaway name, removed in after(). */
  const groupName = () => {
    const n = `fzg${randomBytes(4).toString('hex')}`;
    groups.add(n);
    return n;
  };

  async function run(mod: TaskModule<never>, raw: Record<string, unknown>, check = false): Promise<{ plan: Plan; result: Record<string, unknown> }> {
    const { plan, data } = await runModule(mod, raw, { host: sshd.name, transport, become: {}, check });
    return { plan, result: data };
  }

  before(async () => {
    sshd = await startSshd();
    transport = sshTransport(sshd, NOPASSWD_USER);
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
    for (const u of users) spawnSync('userdel', ['-r', '--', u]);
    for (const g of groups) spawnSync('groupdel', ['--', g]);
    const left = [...users].filter((u) => entry('passwd', u)).concat([...groups].filter((g) => entry('group', g)));
    assert.deepEqual(left, [], 'throwaway users/groups were left behind');
  });

  describe('group', () => {
    it('adds a group with a GID, predicts it in check mode, then reports no change; moves it to another GID; removes it', async () => {
      const name = groupName();
      const gid = freeId('group');
      const check = await run(mod(groupModule), { name, gid }, true);
      assert.equal(check.plan.changed, true);
      assert.equal(entry('group', name), '', 'check mode added the group');
      const made = await run(mod(groupModule), { name, gid });
      assert.equal(entry('group', name), `${name}:x:${gid}:`);
      assert.deepEqual(made.result, { name, state: 'present', gid, system: false });
      noChange((await run(mod(groupModule), { name, gid })).plan, new RegExp(`group ${name} exists with GID ${gid}`));
      noChange((await run(mod(groupModule), { name })).plan, /exists/);
      const gid2 = freeId('group');
      const moved = await run(mod(groupModule), { name, gid: gid2 });
      assert.equal(moved.plan.changed, true);
      assert.equal(entry('group', name), `${name}:x:${gid2}:`);
      const gone = await run(mod(groupModule), { name, state: 'absent' });
      assert.equal(gone.plan.changed, true);
      assert.deepEqual(gone.result, { name, state: 'absent' });
      assert.equal(entry('group', name), '');
      noChange((await run(mod(groupModule), { name, state: 'absent' })).plan, new RegExp(`group ${name} does not exist`));
    });

    it('refuses a GID another group holds before anything runs; a system group gets a GID below 1000', async () => {
      const name = groupName();
      await assert.rejects(run(mod(groupModule), { name, gid: 0 }), /GID '0' already exists with group 'root'/);
      assert.equal(entry('group', name), '');
      await run(mod(groupModule), { name, system: true });
      const gid = Number(entry('group', name).split(':')[2]);
      assert.ok(gid > 0 && gid < 1000, `system GID ${gid}`);
    });

    it('leaves the same /etc/group entry and registers the same values as ansible-playbook', function () {
      skipWithoutAnsible(this);
      return (async () => {
        const name = groupName();
        const gid = freeId('group');
        const gid2 = freeId('group');
        const tasks = [{ group: { name, gid } }, { group: { name, gid } }, { group: { name, gid: gid2 } }, { group: { name, state: 'absent' } }, { group: { name, state: 'absent' } }];
        const keys = ['changed', 'name', 'state', 'gid', 'system'];
        const ansible = ansibleEntries(sshd, tasks, 'group', name, keys);
        for (const [i, t] of tasks.entries()) {
          const { plan, result } = await run(mod(groupModule), t.group);
          assert.deepEqual({ entry: entry('group', name), result: pick({ ...result, changed: plan.changed }, keys) }, ansible[i], `task ${i + 1}: ${JSON.stringify(t)}`);
        }
      })();
    });
  });

  describe('user', () => {
    const userName = () => {
      const n = `fzu${randomBytes(4).toString('hex')}`;
      users.add(n);
      groups.add(n);
      return n;
    };
    // A SHA-512 crypt hash (of 'fz-test'); it must never be printed.
    const HASH = '$6$fzsalt0123$7p8GsSg9oq4b5XwLQ4lWq7o5cV6n4C3o3s0H2o1bOq3vP0x8m4Qh5u6bJ2hZcC9v0lR1y2tX3kQ4w5e6r7t8y.';
    let home: string;
    before(() => {
      home = mkdtempSync(join(tmpdir(), 'ferry-user-'));
    });
    after(() => rmSync(home, { recursive: true, force: true }));

    it('adds a user (check mode first), reports no change on a second run, changes one field with one usermod, removes it with its home', async () => {
      const name = userName();
      const grp = groupName();
      const uid = freeId('passwd');
      await run(mod(groupModule), { name: grp });
      const dir = join(home, 'nested', name);
      const params = { name, uid, group: grp, groups: ['adm'], shell: '/bin/sh', comment: 'Fz Test', home: dir, password: HASH };
      const check = await run(mod(userModule), params, true);
      assert.equal(check.plan.changed, true);
      assert.equal(entry('passwd', name), '', 'check mode added the user');
      const made = await run(mod(userModule), params);
      const gid = Number(entry('group', grp).split(':')[2]);
      assert.equal(entry('passwd', name), `${name}:x:${uid}:${gid}:Fz Test:${dir}:/bin/sh`);
      assert.equal(entry('shadow', name).split(':')[1], HASH);
      assert.equal(spawnSync('id', ['-Gn', '--', name], { encoding: 'utf8' }).stdout.trim(), `${grp} adm`);
      assert.ok(existsSync(dir), 'the home (and its missing parent) were made');
      assert.deepEqual(made.result, { name, state: 'present', system: false, create_home: true, password: 'NOT_LOGGING_PASSWORD', uid, group: gid, comment: 'Fz Test', home: dir, shell: '/bin/sh', groups: 'adm' });
      noChange((await run(mod(userModule), params)).plan, new RegExp(`user ${name} exists as asked \\(uid ${uid}, group ${gid}`));
      const changed = await run(mod(userModule), { ...params, shell: '/bin/bash' });
      assert.equal(changed.plan.changed && changed.plan.steps.map((s) => s.cmd?.display).join(), `usermod -s /bin/bash -- ${name}`);
      assert.equal(entry('passwd', name).split(':')[6], '/bin/bash');
      const gone = await run(mod(userModule), { name, state: 'absent', remove: true });
      assert.equal(gone.plan.changed, true);
      assert.deepEqual(gone.result, { name, state: 'absent', force: false, remove: true });
      assert.equal(entry('passwd', name), '');
      assert.equal(existsSync(dir), false, 'remove: true removed the home');
      noChange((await run(mod(userModule), { name, state: 'absent' })).plan, new RegExp(`user ${name} does not exist`));
    });

    it('refuses a missing group and a UID another user has before anything runs', async () => {
      const name = userName();
      await assert.rejects(run(mod(userModule), { name, groups: ['fz-no-such-group'] }), /Group fz-no-such-group does not exist/);
      await assert.rejects(run(mod(userModule), { name, uid: 0 }), /UID '0' already exists with user 'root'/);
      assert.equal(entry('passwd', name), '');
    });

    it('never prints the password hash: ferry run --check -v --diff and the real run, text and --json events', async () => {
      const name = userName();
      const cli = join(resolve(import.meta.dirname, '../..'), 'dist/app/cli.js');
      const pb = join(home, 'pw.yml');
      writeFileSync(pb, `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - user: { name: ${name}, password: '${HASH}', create_home: false }\n      register: u\n    - debug: { var: u }\n`);
      const ferry = (...args: string[]) => spawnSync(process.execPath, [cli, 'run', pb, '-i', 'localhost,', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      for (const args of [['--check', '-v', '--diff'], ['-vvv', '--diff'], ['--json']]) {
        const r = ferry(...args);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.ok(!(r.stdout + r.stderr).includes(HASH) && !(r.stdout + r.stderr).includes('fzsalt0123'), `the hash was printed with ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      }
      assert.equal(entry('shadow', name).split(':')[1], HASH);
      const second = ferry('--json');
      assert.match(second.stdout, /NOT_LOGGING_PASSWORD/);
      assert.match(second.stdout, /"status":"ok"/);
    });

    it('leaves the same passwd, shadow and group entries and registers the same values as ansible-playbook', function () {
      skipWithoutAnsible(this);
      return (async () => {
        const name = userName();
        const grp = groupName();
        const uid = freeId('passwd');
        await run(mod(groupModule), { name: grp });
        const dir = join(home, 'ansible', name);
        const base = { name, uid, groups: [grp], shell: '/bin/sh', comment: 'Fz Ansible', home: dir, password: HASH };
        const tasks = [
          { user: base },
          { user: base },
          { user: { ...base, shell: '/bin/bash', groups: ['adm'], append: true, expires: 1893456000 } },
          { user: { ...base, groups: [] } },
          { user: { name, state: 'absent', remove: true } },
          { user: { name, state: 'absent' } },
        ];
        const keys = ['changed', 'name', 'state', 'uid', 'group', 'groups', 'comment', 'home', 'shell', 'system', 'create_home', 'append', 'move_home', 'force', 'remove', 'password'];
        /** passwd, shadow (without the date of the last change), the groups: what each task left. */
        const probe = `getent passwd -- ${name}; getent shadow -- ${name} | cut -d: -f1,2,4-; id -Gn -- ${name}; true`;
        const a = ansiblePlaybook(sshd, NOPASSWD_USER, tasks.flatMap((t) => [t, { shell: probe, changed_when: false }]));
        assert.equal(a.code, 0, a.output);
        for (const [i, t] of tasks.entries()) {
          const { plan, result } = await run(mod(userModule), t.user);
          const now = spawnSync('sh', ['-c', probe], { encoding: 'utf8' }).stdout.trim();
          assert.deepEqual(
            { entries: now, result: pick({ ...result, changed: plan.changed }, keys) },
            { entries: String(a.results[2 * i + 1]!.stdout), result: pick(a.results[2 * i]!, keys) },
            `task ${i + 1}: ${JSON.stringify(t)}`,
          );
        }
      })();
    });
  });
});
