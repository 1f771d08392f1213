// Commands on exec channels when the controller dies: a child process holding an SshTransport to a
// harness sshd starts a long command, is SIGKILLed (its TCP connection goes with it), and the host
// must stop the command, as the persistent shell's watcher does for the commands it runs
// (shell-watcher.test.ts). sshd does not signal a session without a terminal when its client goes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { secret, sh, shellText } from '../../runner/command.js';
import { SshTransport } from '../../runner/transport/ssh.js';
import { sshTransportOptions as optsFor, startSshd, type SshdHost } from '../harness/sshd.js';
import { killControllerMidCommand, type ChildPlan } from '../helpers/controller.js';
import { processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

describe('exec channel commands stop on the host when the controller dies @integration', function () {
  this.timeout(60_000);
  let a: SshdHost;
  before(async () => {
    a = await startSshd();
  });
  after(async () => {
    await a?.stop();
  });

  const CASES: { name: string; plan: (m: string) => ChildPlan }[] = [
    {
      name: 'a streaming command (a channel of its own, persistent shells on)',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: true }), how: 'spawn', text: `sleep 1${m} | dd of=/dev/null count=2${m} status=none` }),
    },
    {
      name: 'a command with persistent shells off',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: false }), how: 'run', text: `sleep 1${m} | dd of=/dev/null count=2${m} status=none` }),
    },
    {
      name: 'a single command with persistent shells off (the login shell execs it)',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: false }), how: 'run', text: `sleep 1${m}` }),
    },
    // sudo commands, with and without a password, persistent shells on and off (sudo keeps exec
    // channels either way), the first on the connection or after others (the watcher an earlier one's)
    ...[false, true].flatMap((password) =>
      [
        { persistentShell: true, before: 0 },
        { persistentShell: false, before: 3 },
      ].map(({ persistentShell, before }) => ({
        name:
          `a become (sudo) command ${password ? 'with' : 'without'} a password, persistent shells ${persistentShell ? 'on' : 'off'}` +
          (before ? `, after ${before} others on the connection` : ''),
        plan: (m: string): ChildPlan => ({
          opts: optsFor(a, password ? a.users.passwordUser : a.users.nopasswd, { persistentShell }),
          how: 'run',
          text: password ? `sleep 1${m} | dd of=/dev/null count=2${m} status=none` : `sleep 1${m}; echo done`,
          become: { user: 'root', ...(password ? { password: a.users.password } : {}) },
          before,
        }),
      })),
    ),
  ];

  for (const c of CASES) {
    it(`${c.name}: SIGKILL the controller, and no process of the command is left`, async () => {
      await killControllerMidCommand(c.plan);
    });
  }

  it('exec commands keep exit code and output exact; one watcher per connection, gone with it, leaving nothing behind', async () => {
    const lists = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('.ferry-exec-'));
    const listsBefore = lists();
    const t = new SshTransport(optsFor(a, a.users.nopasswd, { persistentShell: false }));
    let sshd = '';
    try {
      const r = await t.run(shellText(`echo "$? $#"; printf 'out'; printf 'err' >&2; echo " $PPID" >&2; exit 7`));
      assert.equal(r.exitCode, 7);
      assert.equal(r.stdout, '0 0\nout');
      assert.match(r.stderr, /^err \d+\n$/);
      sshd = r.stderr.slice(4).trim();
      for (let i = 0; i < 5; i++) {
        const quiet = await t.run(sh`true`);
        assert.deepEqual([quiet.exitCode, quiet.stdout, quiet.stderr], [0, '', '']);
      }
      const watchers = (): string[] => processesMatching(`tail --pid=${Number(sshd)} `);
      await waitUntil(() => watchers().length === 1, 10_000, `one watcher for the connection: ${watchers().join('; ')}`);
    } finally {
      await t.close();
    }
    await waitUntil(() => processesMatching(`pid=${Number(sshd)} `).length === 0, 10_000, 'the watcher ended with the connection');
    await waitUntil(() => lists().every((f) => listsBefore.includes(f)), 10_000, `the connection's list is removed: ${lists().join(', ')}`);
  });

  it("sudo commands keep exit code, output and stdin exact; one become-side watcher per connection and become user, none left by a finished command, none once the connection is gone", async () => {
    const folders = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('.ferry-become-'));
    const foldersBefore = folders();
    const m = uniqueMarker();
    const t = new SshTransport(optsFor(a, a.users.nopasswd, { persistentShell: false }));
    const pw = new SshTransport(optsFor(a, a.users.passwordUser, { persistentShell: false }));
    let sshd = 0;
    try {
      sshd = Number((await t.run(sh`echo $PPID`)).stdout.trim());
      const asRoot = { become: { user: 'root' } };
      const r = await t.run(shellText(`: ${m}; echo "$? $# $(id -un)"; printf 'out'; printf 'err' >&2; exit 7`), asRoot);
      assert.deepEqual([r.exitCode, r.stdout, r.stderr], [7, '0 0 root\nout', 'err']);
      const withPassword = { become: { user: 'root', password: secret(a.users.password) } };
      const p = await pw.run(shellText(`: ${m}; id -un; printf 'err' >&2; exit 3`), withPassword);
      assert.deepEqual([p.exitCode, p.stdout, p.stderr], [3, 'root\n', 'err']);
      const piped = await pw.run(shellText(`: ${m}; cat`), { ...withPassword, stdin: 'in\n' });
      assert.deepEqual([piped.exitCode, piped.stdout, piped.stderr], [0, 'in\n', '']);
      for (let i = 0; i < 5; i++) {
        const quiet = await t.run(shellText(`: ${m}; true`), asRoot);
        assert.deepEqual([quiet.exitCode, quiet.stdout, quiet.stderr], [0, '', '']);
      }
      await t.run(shellText(`: ${m}; true`), { become: { user: a.users.passwordUser } });
      // nothing forked for a command outlives it: no process holds the commands' text
      assert.deepEqual(processesMatching(m), []);
      const watchers = (user: string): string[] => {
        try {
          return execFileSync('pgrep', ['-u', user, '-af', `tail --pid=${sshd} `], { encoding: 'utf8' }).trim().split('\n');
        } catch {
          return [];
        }
      };
      assert.equal(watchers('root').length, 1, `one watcher as root for the connection: ${watchers('root').join('; ')}`);
      assert.equal(watchers(a.users.passwordUser).length, 1, `one watcher as the other become user: ${watchers(a.users.passwordUser).join('; ')}`);
    } finally {
      await t.close();
      await pw.close();
    }
    await waitUntil(() => processesMatching(`pid=${sshd} `).length === 0, 10_000, `the watchers ended with the connection: ${processesMatching(`pid=${sshd} `).join('; ')}`);
    await waitUntil(() => folders().every((f) => foldersBefore.includes(f)), 10_000, `the lists are removed: ${folders().join(', ')}`);
  });
});
