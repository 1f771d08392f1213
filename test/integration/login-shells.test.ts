// Users whose login shell is not POSIX sh: sshd runs every exec channel's text as `$SHELL -c TEXT`,
// and tcsh and fish read ferry's sh texts differently (csh: a newline inside quotes is an error,
// `${X:-y}` a bad modifier; fish: its own `if`, `\\` and `\'` escapes in single quotes). Every
// command must still reach /bin/sh unchanged, on exec channels and in the persistent shell.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote, sh, shellText } from '../../runner/command.js';
import { throughPosixSh } from '../../runner/transport/login-shell.js';
import { SshTransport } from '../../runner/transport/ssh.js';
import { FISH_USER, TCSH_USER, sshTransportOptions as optsFor, startSshd, type SshdHost } from '../harness/sshd.js';
import { killControllerMidCommand } from '../helpers/controller.js';
import { transportBasics } from './transport-shared.js';

/** A command text holding what csh, tcsh and fish read their own way: newlines, quotes, !, $, backslashes, %. */
const TRICKY = [
  `printf '%s\\n' 'it'"'"'s' "a \\"b\\"" 'x!y' "\${HOME:+home} \${UNSET:-dflt}" '100%' 'back\\slash' "tab\tend"`,
  `v=$(echo sub) && echo "$v" \`echo tick\``,
  `if [ -n "$v" ]; then echo if-ok; fi`,
  `cat | tr a-z A-Z`,
  `echo 'to stderr !$' >&2`,
  `exit 7`,
].join('\n');
const TRICKY_STDOUT = `it's\na "b"\nx!y\nhome dflt\n100%\nback\\slash\ntab\tend\nsub tick\nif-ok\nSTDIN LINE ONE\n`;

for (const user of [TCSH_USER, FISH_USER]) {
  for (const persistentShell of [true, false]) {
    describe(`a ${user} login (${user === TCSH_USER ? 'tcsh' : 'fish'}), persistent shell ${persistentShell ? 'on' : 'off'} @integration`, function () {
      this.timeout(60_000);
      let a: SshdHost;
      let t: SshTransport;
      const workDir = (): string => `/tmp/ferry-login-shell-${user}-${persistentShell ? 'shell' : 'exec'}-${a.port}`;

      before(async () => {
        a = await startSshd();
        t = new SshTransport(optsFor(a, user, { persistentShell }));
      });
      after(async () => {
        if (t) await t.run(sh`rm -rf ${workDir()}`).catch(() => undefined);
        await t?.close().catch(() => undefined);
        await a?.stop();
      });

      it('runs a command with newlines, quotes, !, $, backslashes and % in /bin/sh: exit code, stdout, stderr and stdin exact', async () => {
        const r = await t.run(shellText(TRICKY), { stdin: 'stdin line one\n' });
        assert.deepEqual({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr }, { code: 7, stdout: TRICKY_STDOUT, stderr: 'to stderr !$\n' });
        assert.equal((await t.run(sh`sh -c ${'echo "$0 $1"'} one two`)).stdout, 'one two\n');
        assert.equal((await t.run(shellText('echo "$0"'))).stdout, '/bin/sh\n');
      });

      it('uploads and reads back a file (copy), also with become', async () => {
        const data = "line 1 !$ 'q' \\ %\nline 2\n";
        await t.run(sh`mkdir -p ${workDir()}`);
        await t.put(`${workDir()}/up`, data, { mode: 0o640 });
        assert.equal((await t.get(`${workDir()}/up`))?.toString(), data);
        await t.put(`${workDir()}/root-up`, data, { become: { user: 'root' } });
        assert.equal((await t.run(sh`stat -c %U:%a -- ${`${workDir()}/root-up`}`)).stdout.trim().split(':')[0], 'root');
        assert.equal((await t.get(`${workDir()}/root-up`, { become: { user: 'root' } }))?.toString(), data);
      });

      it('becomes root through sudo: stdin, stdout and exit code exact', async () => {
        const r = await t.run(shellText('id -un; cat; echo "a!b $1%" >&2; exit 3'), { become: { user: 'root' }, stdin: 'in\n' });
        assert.deepEqual({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr }, { code: 3, stdout: 'root\nin\n', stderr: 'a!b %\n' });
      });

      it('stops the command on the host when the controller is SIGKILLed', async () => {
        await killControllerMidCommand((m) => ({ opts: optsFor(a, user, { persistentShell }), how: 'run', text: `sleep 1${m}; echo done` }));
      });

      describe('shared transport behaviour', () => {
        transportBasics({ transport: () => t, workDir, become: { opts: {}, user: 'root' } });
      });
    });
  }
}

describe('a /bin/sh login @integration', function () {
  this.timeout(60_000);
  it('runs texts unwrapped once the login shell is known, on exec channels and in the persistent shell', async () => {
    const a = await startSshd();
    try {
      for (const persistentShell of [false, true]) {
        const t = new SshTransport(optsFor(a, a.users.nopasswd, { persistentShell }));
        try {
          const cmdline = shellText(`tr '\\0' ' ' </proc/$$/cmdline`);
          await t.run(cmdline);
          const r = await t.run(cmdline);
          // sshd runs `sh -c TEXT` (the basename); the persistent shell `$SHELL -c TEXT`
          assert.match(r.stdout, /^(\/bin\/)?sh -c /);
          assert.doesNotMatch(r.stdout, /printf/);
        } finally {
          await t.close();
        }
      }
    } finally {
      await a.stop();
    }
  });
});

describe('the text every login shell passes on to /bin/sh @integration', () => {
  // every byte but NUL (which no command text holds), and the characters each shell family reads its own way
  const ALL = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)).toString('latin1');
  const TEXTS = ['-n leading dash', "'\"\\!$%`", 'a\\0101b\\n\\\\', 'x\n\n', '', ALL];
  // a HOME of its own: fish makes ~/.config/fish, and the developer's rc files stay out
  let home = '';
  before(() => (home = mkdtempSync(join(tmpdir(), 'ferry-login-home-'))));
  after(() => rmSync(home, { recursive: true, force: true }));
  for (const shell of ['/usr/bin/tcsh', '/usr/bin/fish', '/bin/dash', '/bin/bash']) {
    it(`${shell} -c passes it on unchanged`, () => {
      for (const text of TEXTS) {
        const out = execFileSync(shell, ['-c', throughPosixSh(`printf '%s' ${quote(text)}`)], { env: { ...process.env, HOME: home } });
        assert.equal(out.toString('latin1'), Buffer.from(text).toString('latin1'), JSON.stringify(text));
      }
    });
  }
});
