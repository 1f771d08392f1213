import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { parse } from 'yaml';
import { secret, sh, shellText } from '../../runner/command.js';
import { HostKeyError, UnreachableError } from '../../runner/errors.js';
import { BecomePasswordError } from '../../runner/transport/become.js';
import { transportForHost } from '../../runner/connections.js';
import { formatKnownHostsLine } from '../../runner/transport/known-hosts.js';
import { SshTransport, type SshTransportOptions } from '../../runner/transport/ssh.js';
import { sshTransportOptions as optsFor, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { transportBasics } from './transport-shared.js';

/** `ssh-keygen -lf` of a public key line, as OpenSSH prints the fingerprint. */
function opensshFingerprint(dir: string, pubLine: string): string {
  const f = join(dir, `fp-${Math.random().toString(16).slice(2)}.pub`);
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', pubLine, f]);
  return execFileSync('ssh-keygen', ['-lf', f, '-E', 'sha256']).toString().split(' ')[1] ?? '';
}

describe('ssh transport @integration', function () {
  this.timeout(60_000);
  let a: SshdHost;
  let b: SshdHost;
  const open: SshTransport[] = [];
  /**
   * A transport closed after the suite, on exec channels: the persistent shell (the default) has
   * its own suite, transport-shell.test.ts, which runs the shared tests too.
   */
  const make = (o: SshTransportOptions): SshTransport => {
    const t = new SshTransport({ persistentShell: false, ...o });
    open.push(t);
    return t;
  };
  let main: SshTransport;
  /** Where the shared tests write on the host (a fresh path per sshd port, removed after). */
  const workDir = (): string => `/tmp/ferry-ssh-work-${a.port}`;

  before(async () => {
    a = await startSshd();
    // b shares a's login key, so that one key works through the ProxyJump chain
    b = await startSshd({ userKeyFile: a.userKeyFile });
    main = make(optsFor(a, a.users.nopasswd));
  });
  after(async () => {
    if (main && a) await main.run(sh`rm -rf ${workDir()}`).catch(() => undefined);
    for (const t of open) await t.close().catch(() => undefined);
    await a?.stop();
    await b?.stop();
  });

  describe('shared transport behaviour', () => {
    transportBasics({
      transport: () => main,
      workDir,
      become: { opts: {}, user: 'root' },
    });
  });

  it('becoming the user it already logs in as runs no sudo (hosts reached as root may not have it)', async () => {
    const root = make(optsFor(a, 'root'));
    // the names of the command's ancestors up to sshd (sudo's child is a shell that watches for signals)
    const ancestors = shellText('p=$PPID; while [ "$(cat /proc/$p/comm)" != sshd ]; do cat /proc/$p/comm; p=$(cut -d" " -f4 /proc/$p/stat); done');
    assert.doesNotMatch((await root.run(ancestors, { become: { user: 'root' } })).stdout, /^sudo$/m);
    // and one that does need it still gets it
    assert.equal((await main.run(sh`id -u`, { become: { user: 'root' } })).stdout.trim(), '0');
    assert.match((await main.run(ancestors, { become: { user: 'root' } })).stdout, /^sudo$/m);
  });

  it('authenticates with keys held by a real ssh-agent (no key file given)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-agent-'));
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      execFileSync('ssh-add', [a.userKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const t = make(optsFor(a, a.users.nopasswd, { identityFiles: [], defaultIdentityFiles: [], agent: sock }));
      assert.equal((await t.run(sh`id -un`)).stdout.trim(), a.users.nopasswd);
    } finally {
      agent.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reuses one connection for every command', async () => {
    const ports = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await main.run(sh`echo "$SSH_CONNECTION"`);
      ports.add(r.stdout.split(' ')[1] ?? '');
    }
    assert.equal(ports.size, 1);
  });

  it('reports a connection lost mid-command as unreachable, and reconnects for the next command', async () => {
    const t = make(optsFor(a, a.users.nopasswd));
    // the nearest sshd above the command serves this connection (its parent with exec channels,
    // the persistent shell's parent with ferry_persistent_shell)
    const killSshd = shellText('p=$PPID; while [ "$(cat /proc/$p/comm)" != sshd ]; do p=$(cut -d" " -f4 /proc/$p/stat); done; kill -9 $p; sleep 5');
    const err = await t.run(killSshd).then(() => assert.fail('must fail'), (e: unknown) => e);
    assert.ok(err instanceof UnreachableError, String(err));
    assert.match(err.message, /connection lost/);
    assert.equal((await t.run(sh`echo back`)).stdout, 'back\n');
  });

  it('runs more concurrent commands than the channel limit, all succeeding, at most 8 at a time', async () => {
    const t = make(optsFor(a, a.users.nopasswd, { maxChannels: 8 }));
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => t.run(sh`sleep 0.4; echo ${i}`)));
    const took = Date.now() - t0;
    results.forEach((r, i) => {
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, `${i}\n`);
    });
    // 24 commands of 0.4 s in waves of 8 need three waves
    assert.ok(took >= 1150, `took ${took} ms: more than 8 channels ran at once`);
  });

  describe('become with a password', () => {
    it('answers the sudo prompt from stdin and then passes the command its own stdin', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const become = { password: secret(a.users.password) };
      const r = await t.run(sh`id -un; cat; echo done >&2`, { become, stdin: 'payload' });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'root\npayload');
      assert.equal(r.stderr, 'done\n'); // the markers are gone
      assert.ok(!JSON.stringify(r).includes(a.users.password));
      await t.put('/root/ferry-pw-put', 'secret file', { become, mode: 0o600 });
      assert.equal((await t.get('/root/ferry-pw-put', { become }))?.toString(), 'secret file');
      await t.run(sh`rm -f /root/ferry-pw-put`, { become });
    });

    it('holds spawn stdin back until sudo has read the password', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const rc = await t.spawn(sh`id -un; cat`, { become: { password: secret(a.users.password) } });
      rc.stdin.end('streamed after the prompt');
      let out = '';
      let err = '';
      rc.stderr.on('data', (c: Buffer) => (err += c.toString()));
      for await (const c of rc.stdout) out += (c as Buffer).toString();
      assert.equal((await rc.done).exitCode, 0);
      assert.equal(out, 'root\nstreamed after the prompt');
      assert.equal(err, '');
    });

    it('fails clearly and fast on a wrong password, never echoing it', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const t0 = Date.now();
      const err = await t.run(sh`id -un`, { become: { password: secret('not-the-password') } }).then(
        () => assert.fail('a wrong password must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BecomePasswordError, String(err));
      assert.match(err.message, /become password rejected/);
      assert.ok(!err.message.includes('not-the-password'));
      assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
    });

    it('on a terminal (raw) answers the prompt sudo writes there; the markers and the password stay out of the output', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const r = await t.run(sh`id -un; echo err >&2; exit 3`, { become: { password: secret(a.users.password) }, tty: true });
      assert.equal(r.exitCode, 3);
      // a terminal merges stderr and ends lines in \r\n; the first line break is sudo's, after the password
      assert.equal(r.stdout, '\r\nroot\r\nerr\r\n');
      assert.equal(r.stderr, '');
      assert.ok(!JSON.stringify(r).includes(a.users.password));
    });

    it('on a terminal a wrong password fails as without one, never echoing it', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const err = await t.run(sh`id -un`, { become: { password: secret('not-the-password') }, tty: true }).then(
        () => assert.fail('a wrong password must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BecomePasswordError, String(err));
      assert.ok(!JSON.stringify(err).includes('not-the-password') && !err.message.includes('not-the-password'));
    });

    it('without a password, sudo -n fails at once when a password is needed', async () => {
      const t = make(optsFor(a, a.users.passwordUser));
      const r = await t.run(sh`id -un`, { become: {}, timeoutMs: 5000 });
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /password is required/);
    });
  });

  describe('host keys', () => {
    it('refuses an unknown host key, naming its type and SHA256 fingerprint and how to accept it', async () => {
      const empty = join(a.dir, 'empty_known_hosts');
      await writeFile(empty, '');
      const t = make(optsFor(a, a.users.nopasswd, { knownHostsFile: empty }));
      const err = await t.connect().then(() => assert.fail('must refuse'), (e: unknown) => e);
      assert.ok(err instanceof HostKeyError, String(err));
      assert.match(err.message, /unknown host key for \[127\.0\.0\.1\]:\d+: ssh-ed25519 SHA256:/);
      assert.ok(err.message.includes(opensshFingerprint(a.dir, a.hostKeys.ed25519)), err.message);
      assert.match(err.message, /--accept-new-hosts/);
      assert.equal(await readFile(empty, 'utf8'), '');
    });

    it('with acceptNewHosts records the key, and the next connection checks against it', async () => {
      const file = join(a.dir, 'sub', 'new_known_hosts'); // the directory does not exist yet
      const t = make(optsFor(a, a.users.nopasswd, { knownHostsFile: file, acceptNewHosts: true }));
      assert.equal((await t.run(sh`echo ok`)).stdout, 'ok\n');
      const recorded = await readFile(file, 'utf8');
      assert.equal(recorded, `[127.0.0.1]:${a.port} ${a.hostKeys.ed25519}\n`);
      assert.equal((await stat(file)).mode & 0o777, 0o600, 'a new known_hosts is created 0600');
      const again = make(optsFor(a, a.users.nopasswd, { knownHostsFile: file }));
      assert.equal((await again.run(sh`echo again`)).stdout, 'again\n');
    });

    it('with acceptNewHosts writes a hashed line into a known_hosts holding hashed lines, keeping its mode', async () => {
      const file = join(a.dir, 'hashed_known_hosts');
      // b recorded as `ssh-keyscan -H` / HashKnownHosts would: a hashed name only
      await writeFile(file, `${formatKnownHostsLine('127.0.0.1', b.port, Buffer.from(b.hostKeys.ed25519.split(' ')[1]!, 'base64'), { hashed: true })}\n`);
      await chmod(file, 0o644);
      const t = make(optsFor(a, a.users.nopasswd, { knownHostsFile: file, acceptNewHosts: true }));
      assert.equal((await t.run(sh`echo ok`)).stdout, 'ok\n');
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2);
      const [name, type, key] = lines[1]!.split(' ');
      assert.match(name!, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}=$/, 'no host name in clear');
      assert.equal(`${type} ${key}`, a.hostKeys.ed25519);
      const [, , salt, hash] = name!.split('|');
      assert.equal(createHmac('sha1', Buffer.from(salt!, 'base64')).update(`[127.0.0.1]:${a.port}`).digest('base64'), hash, 'the hash is OpenSSH\'s HMAC-SHA1 of [host]:port');
      assert.equal((await stat(file)).mode & 0o777, 0o644, 'an existing known_hosts keeps its mode');
      const again = make(optsFor(a, a.users.nopasswd, { knownHostsFile: file }));
      assert.equal((await again.run(sh`echo again`)).stdout, 'again\n');
    });

    it('refuses a changed host key, even with acceptNewHosts, naming the file:line of the old key', async () => {
      // b's port recorded with a's keys: b now "presents a different key" for a known name
      const file = join(b.dir, 'stale_known_hosts');
      await writeFile(file, `# old keys\n[127.0.0.1]:${b.port} ${a.hostKeys.ed25519}\n[127.0.0.1]:${b.port} ${a.hostKeys.rsa}\n`);
      for (const acceptNewHosts of [false, true]) {
        const t = make(optsFor(b, b.users.nopasswd, { knownHostsFile: file, acceptNewHosts }));
        const err = await t.connect().then(() => assert.fail('must refuse'), (e: unknown) => e);
        assert.ok(err instanceof HostKeyError, String(err));
        assert.match(err.message, /has CHANGED/);
        assert.ok(err.message.includes(`${file}:2`), err.message);
        assert.ok(err.message.includes(opensshFingerprint(b.dir, b.hostKeys.ed25519)), err.message);
      }
      assert.equal((await readFile(file, 'utf8')).split('\n').length, 4); // nothing was appended
    });

    it('prefers the key type already known (a host known by RSA only is not "changed")', async () => {
      const file = join(a.dir, 'rsa_only');
      await writeFile(file, `[127.0.0.1]:${a.port} ${a.hostKeys.rsa}\n`);
      const t = make(optsFor(a, a.users.nopasswd, { knownHostsFile: file }));
      assert.equal((await t.run(sh`echo rsa`)).stdout, 'rsa\n');
    });
  });

  describe('failures to connect', () => {
    it('reports a closed port as connection refused, fast', async () => {
      const closedPort = a.port === 1 ? 2 : 1; // ports below 1024 nobody listens on here
      const t = make({ ...optsFor(a, 'ferrytest'), port: closedPort });
      const t0 = Date.now();
      const err = await t.connect().then(() => assert.fail('must fail'), (e: unknown) => e);
      assert.ok(err instanceof UnreachableError);
      assert.match(err.message, /connection refused \(127\.0\.0\.1:\d+\)/);
      assert.ok(Date.now() - t0 < 1000);
    });

    it('reports a handshake that never comes as a timeout after N s', async () => {
      // a TCP server that accepts and says nothing: the SSH banner never arrives
      const { createServer } = await import('node:net');
      const silent = createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as { port: number }).port;
      try {
        const t = make({ ...optsFor(a, 'ferrytest'), port, connectTimeoutMs: 500 });
        const err = await t.connect().then(() => assert.fail('must fail'), (e: unknown) => e);
        assert.ok(err instanceof UnreachableError);
        assert.match(err.message, /timed out after 0\.5s/);
      } finally {
        silent.close();
      }
    });

    it('says which authentication methods were tried when all fail', async () => {
      const otherKey = join(a.dir, 'other_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
      const t = make(optsFor(a, 'ferrytest', { identityFiles: [otherKey, join(a.dir, 'missing_key')] }));
      const err = await t.connect().then(() => assert.fail('must fail'), (e: unknown) => e);
      assert.ok(err instanceof UnreachableError);
      assert.match(err.message, /authentication failed as ferrytest \(tried: publickey .*other_key; skipped: .*missing_key: ENOENT\)/);
    });

    it('uses an encrypted key with its passphrase and names the problem without it', async () => {
      const enc = join(a.dir, 'enc_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', enc]);
      await writeFile(join(a.dir, 'authorized_keys', 'ferrytest'), (await readFile(`${enc}.pub`, 'utf8')) + (await readFile(`${a.userKeyFile}.pub`, 'utf8')));
      const ok = make(optsFor(a, 'ferrytest', { identityFiles: [enc], passphrase: secret('correct horse') }));
      assert.equal((await ok.run(sh`echo enc`)).stdout, 'enc\n');
      const noPass = make(optsFor(a, 'ferrytest', { identityFiles: [enc] }));
      const err = await noPass.connect().then(() => assert.fail('must fail'), (e: unknown) => e);
      assert.match(String(err), /enc_key: encrypted, no passphrase given/);
    });

    it('decrypts an encrypted key once for every connection that uses it (bcrypt blocks the event loop)', async () => {
      const enc = join(a.dir, 'enc_key_shared');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'staple', '-f', enc]);
      await writeFile(join(a.dir, 'authorized_keys', 'ferrytest'), (await readFile(`${enc}.pub`, 'utf8')) + (await readFile(`${a.userKeyFile}.pub`, 'utf8')));
      const parseKey = ssh2.utils.parseKey;
      let parses = 0;
      ssh2.utils.parseKey = (...args: Parameters<typeof parseKey>) => {
        parses += 1;
        return parseKey(...args);
      };
      try {
        const hosts = [1, 2, 3].map(() => make(optsFor(a, 'ferrytest', { identityFiles: [enc], passphrase: secret('staple') })));
        const out = await Promise.all(hosts.map((t) => t.run(sh`echo shared`)));
        assert.deepEqual(out.map((r) => r.stdout), ['shared\n', 'shared\n', 'shared\n']);
      } finally {
        ssh2.utils.parseKey = parseKey;
      }
      assert.equal(parses, 1);
    });

    it('authenticates with a password only when one is given', async () => {
      const t = make(optsFor(a, a.users.passwordUser, { identityFiles: [], password: secret(a.users.password) }));
      assert.equal((await t.run(sh`id -un`)).stdout, 'ferrypw\n');
    });
  });

  describe('ProxyJump and ssh_config', () => {
    it('reaches a host through a jump host (one connection forwarded through the other)', async () => {
      const knownHostsFile = join(b.dir, 'both_known_hosts');
      await writeFile(knownHostsFile, (await readFile(a.knownHostsFile, 'utf8')) + (await readFile(b.knownHostsFile, 'utf8')));
      const t = make(optsFor(b, 'ferrytest', { knownHostsFile, proxyJump: `ferrytest@127.0.0.1:${a.port}` }));
      const r = await t.run(sh`echo "$SSH_CONNECTION"`);
      // sshd b sees the connection arrive at its own port
      assert.equal(r.stdout.trim().split(' ')[3], String(b.port));
      // and the path really goes through a: a jump that cannot be reached fails the target
      const broken = make(optsFor(b, 'ferrytest', { knownHostsFile, proxyJump: `ferrytest@127.0.0.1:1`, connectTimeoutMs: 2000 }));
      const err = await broken.connect().then(() => assert.fail('must fail'), (e: unknown) => e);
      assert.ok(err instanceof UnreachableError);
      assert.match(err.message, /via jump host .*connection refused/);
    });

    it('honours an ssh_config file: HostName, Port, User, IdentityFile and ProxyJump by alias', async () => {
      const knownHostsFile = join(b.dir, 'cfg_known_hosts');
      await writeFile(knownHostsFile, (await readFile(a.knownHostsFile, 'utf8')) + (await readFile(b.knownHostsFile, 'utf8')));
      const config = join(b.dir, 'ssh_config');
      await writeFile(
        config,
        [
          'Host jumpbox',
          '  HostName 127.0.0.1',
          `  Port ${a.port}`,
          '  User ferrytest',
          `  IdentityFile ${a.userKeyFile}`,
          'Host target',
          '  HostName 127.0.0.1',
          `  Port ${b.port}`,
          '  User ferrypw',
          `  IdentityFile ${a.userKeyFile}`,
          '  ProxyJump jumpbox',
          '',
        ].join('\n'),
      );
      const t = make({ host: 'target', sshConfigFile: config, knownHostsFile, agent: false });
      const r = await t.run(sh`id -un; echo "$SSH_CONNECTION"`);
      const [user, conn] = r.stdout.split('\n');
      assert.equal(user, 'ferrypw');
      assert.equal(conn?.split(' ')[3], String(b.port));
      assert.deepEqual(t.resolve().proxyJump, ['jumpbox']);
    });
  });

  it('writes an inventory naming each harness host', async () => {
    const path = await writeInventory([a, b], a.dir);
    const text = await readFile(path, 'utf8');
    assert.match(text, new RegExp(`${a.name}:\\n\\s+ansible_host: 127.0.0.1\\n\\s+ansible_port: ${a.port}`));
    assert.ok(text.includes(`ferry_known_hosts_file: ${b.knownHostsFile}`));
    // and each entry's variables are enough to reach its host
    const hosts = (parse(text) as { all: { hosts: Record<string, Record<string, unknown>> } }).all.hosts;
    for (const [name, vars] of Object.entries(hosts)) {
      const t = transportForHost(name, vars, { sshConfigFile: false });
      try {
        const r = await t.run(sh`echo "$SSH_CONNECTION"`);
        assert.equal(r.stdout.trim().split(' ')[3], String(vars.ansible_port));
      } finally {
        await t.close();
      }
    }
  });
});
