// The persistent shell (ferry_persistent_shell) against a real harness sshd: the shared transport
// behaviour, then the framing against hostile output and a shell that dies under a command.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { secret, sh, shellText } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import { transportForHost } from '../../runner/connections.js';
import { SshTransport, type SshTransportOptions } from '../../runner/transport/ssh.js';
import { sshTransportOptions as optsFor, startSshd, type SshdHost } from '../harness/sshd.js';
import { killMatching, noProcessLeft, uniqueMarker } from '../helpers/processes.js';
import { transportBasics } from './transport-shared.js';

/** All 256 byte values, twice, the second time reversed. */
const ALL_BYTES = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 256 }, (_, i) => 255 - i)]);

describe('ssh transport with a persistent shell @integration', function () {
  this.timeout(60_000);
  let a: SshdHost;
  const open: SshTransport[] = [];
  const make = (o: SshTransportOptions): SshTransport => {
    const t = new SshTransport({ persistentShell: true, ...o });
    open.push(t);
    return t;
  };
  let main: SshTransport;
  const workDir = (): string => `/tmp/ferry-shell-work-${a.port}`;

  before(async () => {
    a = await startSshd();
    main = make(optsFor(a, a.users.nopasswd));
  });
  after(async () => {
    if (main && a) await main.run(sh`rm -rf ${workDir()}`).catch(() => undefined);
    for (const t of open) await t.close().catch(() => undefined);
    await a?.stop();
  });

  describe('shared transport behaviour', () => {
    transportBasics({ transport: () => main, workDir, become: { opts: {}, user: 'root' } });
  });

  it('runs commands in one shell: one sshd session serves them all', async () => {
    const t = make(optsFor(a, a.users.nopasswd));
    // the command's parent is the loop's sh, whose parent is the session's sshd
    const parents = new Set<string>();
    for (let i = 0; i < 5; i++) parents.add((await t.run(sh`echo $PPID`)).stdout);
    assert.equal(parents.size, 1);
    const [ppid] = [...parents];
    assert.match((await t.run(shellText(`cat /proc/${(ppid ?? '').trim()}/cmdline | tr '\\0' ' '`))).stdout, /ferry-shell/);
  });

  it("watches the session's sshd with one tail --pid (GNU tail), no sleep forked every second", async function () {
    const t = make(optsFor(a, a.users.nopasswd));
    if (!(await t.run(sh`tail --version`)).stdout.includes('GNU coreutils')) this.skip();
    // the loop leads its process group; its parent is the session's sshd
    const [loop, sshd] = (await t.run(sh`echo $PPID; cut -d' ' -f4 /proc/$PPID/stat`)).stdout.trim().split('\n');
    const group = async (): Promise<string[]> => (await t.run(shellText(`pgrep -a -g ${Number(loop)} | cut -d' ' -f2-`))).stdout.trim().split('\n');
    const watcher = `tail --pid=${Number(sshd)} -f /dev/null`;
    let members = await group();
    // the watcher starts beside the loop, so it may not be in tail yet when the first command runs
    for (let i = 0; i < 50 && !members.includes(watcher); i++) {
      await new Promise((r) => setTimeout(r, 100));
      members = await group();
    }
    assert.ok(members.includes(watcher), members.join('; '));
    assert.ok(!members.includes('sleep 1'), members.join('; '));
  });

  it('is on by default; ferry_persistent_shell, else FERRY_PERSISTENT_SHELL, turns it off or on', async () => {
    const vars = {
      ansible_host: a.host,
      ansible_port: a.port,
      ansible_user: a.users.nopasswd,
      ansible_ssh_private_key_file: a.userKeyFile,
      ferry_known_hosts_file: a.knownHostsFile,
    };
    const inShell = async (extra: Record<string, unknown>): Promise<boolean> => {
      const t = transportForHost(a.name, { ...vars, ...extra }, { sshConfigFile: false });
      try {
        const r = await t.run(shellText('tr "\\0" " " < /proc/$PPID/cmdline'));
        assert.equal(r.exitCode, 0, r.stderr);
        return r.stdout.includes('ferry-shell');
      } finally {
        await t.close();
      }
    };
    const saved = process.env.FERRY_PERSISTENT_SHELL;
    try {
      delete process.env.FERRY_PERSISTENT_SHELL;
      assert.equal(await inShell({}), true);
      assert.equal(await inShell({ ferry_persistent_shell: false }), false);
      assert.equal(await inShell({ ferry_persistent_shell: true }), true);
      process.env.FERRY_PERSISTENT_SHELL = '0';
      assert.equal(await inShell({}), false);
      assert.equal(await inShell({ ferry_persistent_shell: 'yes' }), true);
      process.env.FERRY_PERSISTENT_SHELL = '1';
      assert.equal(await inShell({}), true);
      assert.equal(await inShell({ ferry_persistent_shell: 'no' }), false);
    } finally {
      if (saved === undefined) delete process.env.FERRY_PERSISTENT_SHELL;
      else process.env.FERRY_PERSISTENT_SHELL = saved;
    }
  });

  it('passes output that looks like a delimiter through as data', async () => {
    // the framing of the previous command, and text shaped like any frame
    const first = await main.run(sh`echo one`);
    assert.equal(first.stdout, 'one\n');
    const tricky = 'ferry-AAAAAAAAAAAAAAAAAAAAAAAA\nferry-xB\n0\n1\nferry-E0\n';
    const r = await main.run(sh`printf '%s' ${tricky}; printf '%s' ${tricky} >&2; exit 3`);
    assert.equal(r.stdout, tricky);
    assert.equal(r.stderr, tricky);
    assert.equal(r.exitCode, 3);
    // a command reading its own shell's variables finds nothing of the framing
    const vars = await main.run(sh`printf '[%s][%s][%s]' "$d" "$c" "$k"`);
    assert.equal(vars.stdout, '[][][]');
  });

  it('returns every byte value exactly, on stdout and stderr, with no newline added or lost', async () => {
    // printf's \xHH is not POSIX: the bytes go in through stdin and come back out of both streams
    const r = await main.run(sh`cat; cat /dev/null >&2`, { stdin: ALL_BYTES, binary: true });
    assert.ok(r.stdoutBuffer?.equals(ALL_BYTES), `got ${r.stdoutBuffer?.length} bytes`);
    const both = await main.run(sh`tee /dev/stderr`, { stdin: ALL_BYTES, binary: true });
    assert.ok(both.stdoutBuffer?.equals(ALL_BYTES));
    assert.equal(both.stderr, ALL_BYTES.toString('utf8'));
    for (const text of ['no newline', 'two newlines\n\n', '', '\n']) {
      const t = await main.run(sh`printf '%s' ${text}; printf '%s' ${text} >&2`);
      assert.equal(t.stdout, text);
      assert.equal(t.stderr, text);
    }
  });

  it('keeps exit codes exact (0, 1, 255, a signal as the shell reports it)', async () => {
    for (const code of [0, 1, 2, 126, 255]) assert.equal((await main.run(shellText(`exit ${code}`))).exitCode, code);
    assert.equal((await main.run(shellText('nonexistent-command-ferry'))).exitCode, 127);
    // a command killed by a signal exits 128+n as its shell reports it
    assert.equal((await main.run(shellText('kill -KILL $$'))).exitCode, 137);
  });

  it('carries huge output intact (50 MB) and then the next command', async () => {
    const size = 50_000_000;
    const r = await main.run(sh`head -c ${size} /dev/urandom | tee /tmp/ferry-shell-big-${a.port} | cat`, { binary: true });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdoutBuffer?.length, size);
    const sum = (await main.run(sh`sha256sum < /tmp/ferry-shell-big-${a.port}; rm -f /tmp/ferry-shell-big-${a.port}`)).stdout.split(' ')[0];
    assert.equal(createHash('sha256').update(r.stdoutBuffer ?? Buffer.alloc(0)).digest('hex'), sum);
    assert.equal((await main.run(sh`echo next`)).stdout, 'next\n');
  });

  it('feeds stdin: huge, streamed, partly read, or not read at all, and the shell goes on', async () => {
    const big = Buffer.alloc(20_000_000, 7);
    assert.equal((await main.run(sh`wc -c`, { stdin: big })).stdout.trim(), String(big.length));
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100_000, i));
    const want = createHash('sha256');
    for (const c of chunks) want.update(c);
    const streamed = await main.run(sh`sha256sum`, { stdin: Readable.from(chunks) });
    assert.equal(streamed.stdout.split(' ')[0], want.digest('hex'));
    // reads 3 bytes of 20 MB and exits: the rest must not reach the shell as commands
    const partly = await main.run(sh`head -c 3`, { stdin: big });
    assert.equal(partly.stdout, '\x07\x07\x07');
    const ignored = await main.run(sh`echo ignored`, { stdin: 'echo injected\n' });
    assert.equal(ignored.stdout, 'ignored\n');
    assert.equal((await main.run(sh`echo after`)).stdout, 'after\n');
    // a command without stdin reads EOF, never the shell's protocol
    assert.equal((await main.run(sh`cat; echo eof`)).stdout, 'eof\n');
  });

  it('fails only the command in flight when its shell is killed; the next runs in a new shell', async () => {
    const t = make(optsFor(a, a.users.nopasswd));
    const before = (await t.run(sh`echo $PPID`)).stdout.trim();
    const err = await t.run(sh`kill -9 $PPID; sleep 1`).then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TaskFailedError, String(err));
    assert.match(err.message, /persistent shell .* ended \(signal (SIG)?KILL\) while this command ran/);
    const after = await t.run(sh`echo $PPID; echo fine`);
    assert.equal(after.exitCode, 0);
    assert.match(after.stdout, /fine\n$/);
    assert.notEqual(after.stdout.split('\n')[0], before);
  });

  it('runs a command on an exec channel when the idle shell died before it began', async () => {
    const t = make(optsFor(a, a.users.nopasswd, { maxShells: 1 }));
    const loop = (await t.run(sh`echo $PPID`)).stdout.trim();
    // killed from outside while idle (the harness sshd runs on this machine)
    process.kill(Number(loop), 'SIGKILL');
    const r = await t.run(sh`echo still`);
    assert.equal(r.stdout, 'still\n');
  });

  it('bounds a hanging command by its timeout: the shell is killed with it, and replaced', async () => {
    const m = uniqueMarker();
    const t = make(optsFor(a, a.users.nopasswd));
    try {
      const r = await t.run(shellText(`sleep 3${m}`), { timeoutMs: 300 });
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, null);
      await noProcessLeft(m);
      assert.equal((await t.run(sh`echo again`)).stdout, 'again\n');
    } finally {
      killMatching(m);
    }
  });

  it('runs become commands on exec channels: sudo without a password, and with one (prompt answered from stdin)', async () => {
    assert.equal((await main.run(sh`id -un`, { become: { user: 'root' } })).stdout, 'root\n');
    // the command lines of the command's ancestors up to sshd: the loop is among them only without sudo
    const ancestors = shellText('p=$PPID; while [ "$(cat /proc/$p/comm)" != sshd ]; do tr "\\0" " " < /proc/$p/cmdline; echo; p=$(cut -d" " -f4 /proc/$p/stat); done');
    assert.doesNotMatch((await main.run(ancestors, { become: { user: 'root' } })).stdout, /ferry-shell/);
    assert.match((await main.run(ancestors)).stdout, /ferry-shell/);
    const t = make(optsFor(a, a.users.passwordUser));
    const become = { password: secret(a.users.password) };
    const r = await t.run(sh`id -un; cat`, { become, stdin: 'after the password' });
    assert.equal(r.stdout, 'root\nafter the password');
    assert.equal(r.stderr, '');
    const none = await t.run(sh`id -u; cat; echo end`, { become });
    assert.equal(none.stdout, '0\nend\n');
  });

  it('runs concurrent commands correctly (shells plus exec channels), each with its own output', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => main.run(sh`printf '%s' ${i}; printf '%s' ${-i} >&2; exit ${i % 7}`)));
    results.forEach((r, i) => {
      assert.equal(r.stdout, String(i));
      assert.equal(r.stderr, String(-i));
      assert.equal(r.exitCode, i % 7);
    });
  });
});
