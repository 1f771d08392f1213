// Commands on exec channels when the controller dies: a child process holding an SshTransport to a
// harness sshd starts a long command, is SIGKILLed (its TCP connection goes with it), and the host
// must stop the command, as the persistent shell's watcher does for the commands it runs
// (shell-watcher.test.ts). sshd does not signal a session without a terminal when its client goes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { sh, shellText } from '../../runner/command.js';
import { SshTransport, type SshTransportOptions } from '../../runner/transport/ssh.js';
import { sshTransportOptions as optsFor, startSshd, type SshdHost } from '../harness/sshd.js';
import { killMatching, processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** What the child does: `run` (an ordinary command) or `spawn` (a stream), with these run options. */
interface ChildPlan {
  opts: SshTransportOptions;
  how: 'run' | 'spawn';
  text: string;
  become?: { user: string; password?: string };
  tty?: boolean;
}

/** Starts a node process that runs `plan` over its own connection and waits; returns its pid. */
function controller(plan: ChildPlan): { pid: number; exited: Promise<void> } {
  const script = `
import { SshTransport } from './runner/transport/ssh.ts';
import { secret, shellText } from './runner/command.ts';
const plan = JSON.parse(process.env.FERRY_CHILD_PLAN);
const t = new SshTransport(plan.opts);
const become = plan.become ? { user: plan.become.user, ...(plan.become.password ? { password: secret(plan.become.password) } : {}) } : undefined;
const opts = { ...(become ? { become } : {}), ...(plan.tty ? { tty: true } : {}) };
if (plan.how === 'spawn') await (await t.spawn(shellText(plan.text), opts)).done;
else await t.run(shellText(plan.text), opts);
`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, FERRY_CHILD_PLAN: JSON.stringify(plan) },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((res) => child.once('close', () => res()));
  return { pid: child.pid!, exited };
}

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
      name: 'a become (sudo) command without a password',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: true }), how: 'run', text: `sleep 1${m}; echo done`, become: { user: 'root' } }),
    },
    {
      name: 'a become (sudo) command with a password',
      plan: (m) => ({
        opts: optsFor(a, a.users.passwordUser, { persistentShell: true }),
        how: 'run',
        text: `sleep 1${m} | dd of=/dev/null count=2${m} status=none`,
        become: { user: 'root', password: a.users.password },
      }),
    },
    {
      name: 'a command with persistent shells off',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: false }), how: 'run', text: `sleep 1${m} | dd of=/dev/null count=2${m} status=none` }),
    },
    {
      name: 'a single command with persistent shells off (the login shell execs it)',
      plan: (m) => ({ opts: optsFor(a, a.users.nopasswd, { persistentShell: false }), how: 'run', text: `sleep 1${m}` }),
    },
  ];

  for (const c of CASES) {
    it(`${c.name}: SIGKILL the controller, and no process of the command is left`, async () => {
      const m = uniqueMarker();
      try {
        const child = controller(c.plan(m));
        await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the command started on the host');
        process.kill(child.pid, 'SIGKILL');
        await child.exited;
        await waitUntil(() => processesMatching(m).length === 0, 15_000, `no process of the command left: ${processesMatching(m).join('; ')}`);
      } finally {
        killMatching(m);
      }
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
});
