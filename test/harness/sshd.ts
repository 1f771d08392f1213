// Starts real OpenSSH sshd processes on loopback with throwaway keys, for integration tests.
// Needs root (it creates test users and a sudoers drop-in) and openssh-server + sudo installed;
// it never touches the developer's ~/.ssh or the system sshd.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { SshTransport, type SshTransportOptions } from '../../runner/transport/ssh.js';

const execFileP = promisify(execFile);

/** The test users the harness creates: a passwordless-sudo one and one whose sudo needs a password. */
export const NOPASSWD_USER = 'ferrytest';
export const PASSWORD_USER = 'ferrypw';
/** Passwordless-sudo test users whose login shells are not POSIX sh (csh family, fish): sshd runs every command text through them. */
export const TCSH_USER = 'ferrytcsh';
export const FISH_USER = 'ferryfish';
const LOGIN_SHELLS: Record<string, string> = { [TCSH_USER]: '/usr/bin/tcsh', [FISH_USER]: '/usr/bin/fish' };
/**
 * Root (uid 0) under a second name whose login shell is /bin/sh: the user the tests log in as when they
 * need root (sshTransport's default). Root's own bash here sources a ~/.bashrc that runs pyenv init on
 * every SSH command: ~0.1 s on a quiet machine, ~0.9 s while a lab VM runs beside the tests.
 */
export const ROOT_USER = 'ferryroot';

/** One running sshd and everything a client needs to reach it. */
export interface SshdHost {
  /** A short name for inventories (`sshd1`, `sshd2`, ...). */
  name: string;
  host: string;
  port: number;
  dir: string;
  /** Private key accepted for every user this sshd knows. */
  userKeyFile: string;
  /** A known_hosts file holding exactly this sshd's host keys. */
  knownHostsFile: string;
  /** The public host keys, one `type base64` line each. */
  hostKeys: { ed25519: string; rsa: string };
  /** Users that may log in, with the sudo password of the password user. */
  users: { nopasswd: string; password: string; passwordUser: string; root: string };
  pid: number;
  stop(): Promise<void>;
}

/** Options of startSshd. */
export interface StartSshdOptions {
  /** Users whose authorized_keys get the throwaway key (default root, ferryroot, ferrytest, ferrypw, ferrytcsh, ferryfish). */
  users?: string[];
  /** Reuse this private key instead of generating one (so several hosts share a login key). */
  userKeyFile?: string;
  /** More sshd_config lines, e.g. `MaxStartups 1000` for a benchmark with hundreds of connections at once. */
  extraConfig?: string[];
}

let counter = 0;
let usersReady: Promise<string> | undefined;

async function run(file: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await execFileP(file, args)).stdout;
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

async function userExists(name: string): Promise<boolean> {
  try {
    await run('id', ['-u', name]);
    return true;
  } catch {
    return false;
  }
}

// Random once per machine and kept root-only: this user has sudo rights, so a password known
// from the source would be a standing hole; one per process would break test processes running
// at the same time (each chpasswd would invalidate the others').
const PASSWORD_FILE = '/var/lib/ferry-test/ferrypw.password';

async function testPassword(): Promise<string> {
  await mkdir(dirname(PASSWORD_FILE), { recursive: true, mode: 0o700 });
  try {
    await writeFile(PASSWORD_FILE, 'pw-' + randomBytes(12).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // read back even after writing: when two processes race, the file that won is the password
  for (let i = 0; i < 20; i++) {
    const pw = (await readFile(PASSWORD_FILE, 'utf8')).trim();
    if (pw) return pw;
    await new Promise((r) => setTimeout(r, 25)); // the winner has created it but not written it yet
  }
  throw new Error(`${PASSWORD_FILE} stays empty: remove it and run again`);
}

/** Writes /etc/sudoers.d/NAME (checked by visudo first, moved into place whole). */
async function installSudoers(name: string, text: string): Promise<void> {
  const tmp = `/etc/sudoers.d/.${name}.${process.pid}`;
  await writeFile(tmp, text, { mode: 0o440 });
  try {
    await run('visudo', ['-cf', tmp]);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await run('mv', ['-f', tmp, `/etc/sudoers.d/${name}`]);
}

/** Creates the test users and their sudo rules once per process; returns the password user's password. */
function ensureUsers(): Promise<string> {
  usersReady ??= (async () => {
    if (process.getuid?.() !== 0) throw new Error('test/harness/sshd.ts must run as root (it creates test users)');
    // A plain /bin/sh login shell: root's bash here runs pyenv init on every command (~110 ms).
    for (const u of [NOPASSWD_USER, PASSWORD_USER]) {
      if (!(await userExists(u))) await run('useradd', ['--create-home', '--shell', '/bin/sh', u]);
    }
    for (const [u, shell] of Object.entries(LOGIN_SHELLS)) {
      if (!(await userExists(u))) await run('useradd', ['--create-home', '--shell', shell, u]);
    }
    // (after root in /etc/passwd, so uid 0 still reads back as root: whoami, id -un, ls -l)
    if (!(await userExists(ROOT_USER))) await run('useradd', ['--non-unique', '--uid', '0', '--gid', '0', '--create-home', '--shell', '/bin/sh', ROOT_USER]);
    // sshd without PAM refuses accounts whose password field starts with '!' (locked): '*' is "no password".
    for (const u of [NOPASSWD_USER, ROOT_USER, ...Object.keys(LOGIN_SHELLS)]) await run('usermod', ['-p', '*', u]);
    const password = await testPassword();
    await run('chpasswd', [], `${PASSWORD_USER}:${password}\n`);
    const sudoers =
      `# written by ferry's test harness (test/harness/sshd.ts)\n` +
      `${NOPASSWD_USER} ALL=(ALL) NOPASSWD: ALL\n` +
      `${PASSWORD_USER} ALL=(ALL) ALL\n` +
      `Defaults:${PASSWORD_USER} lecture=never\n`;
    await installSudoers('ferry-test', sudoers);
    // a drop-in of their own: a harness of an older checkout rewrites ferry-test without them
    const shellsRules = Object.keys(LOGIN_SHELLS).map((u) => `${u} ALL=(ALL) NOPASSWD: ALL\n`).join('');
    await installSudoers('ferry-test-login-shells', `# written by ferry's test harness (test/harness/sshd.ts)\n${shellsRules}`);
    return password;
  })();
  return usersReady;
}

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Makes a throwaway key pair at `path`; returns its public key as `type base64`. */
export async function keygen(path: string, type: 'ed25519' | 'rsa'): Promise<string> {
  const args = ['-q', '-t', type, '-N', '', '-C', 'ferry-test', '-f', path];
  if (type === 'rsa') args.push('-b', '2048');
  await run('ssh-keygen', args);
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/);
  return `${pub[0]} ${pub[1]}`;
}

/** Waits for sshd to say it listens; rejects with its stderr if it exits first. */
function waitListening(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10s:\n${err}`)), 10_000);
    const onData = (d: Buffer): void => {
      err += d.toString();
      if (err.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        // keep draining so sshd never blocks on a full pipe; FERRY_SSHD_LOG=1 shows its log
        if (process.env.FERRY_SSHD_LOG) child.stderr?.pipe(process.stderr);
        else child.stderr?.resume();
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code} before listening:\n${err}`));
    });
  });
}

/** Starts one real sshd on 127.0.0.1 on a free port, with its own host keys, user key and known_hosts. */
export async function startSshd(opts: StartSshdOptions = {}): Promise<SshdHost> {
  const password = await ensureUsers();
  // privilege separation directory; a clean Debian creates it only when the ssh service starts
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  // sshd reads authorized_keys as the target user: the directory must be traversable.
  await chmod(dir, 0o755);
  const ed25519 = await keygen(join(dir, 'ssh_host_ed25519_key'), 'ed25519');
  const rsa = await keygen(join(dir, 'ssh_host_rsa_key'), 'rsa');
  let userKeyFile = opts.userKeyFile;
  let userPub: string;
  if (userKeyFile) {
    userPub = (await run('ssh-keygen', ['-y', '-f', userKeyFile])).trim();
  } else {
    userKeyFile = join(dir, 'user_key');
    userPub = await keygen(userKeyFile, 'ed25519');
  }
  const authDir = join(dir, 'authorized_keys');
  await mkdir(authDir, { mode: 0o755 });
  for (const u of opts.users ?? ['root', ROOT_USER, NOPASSWD_USER, PASSWORD_USER, ...Object.keys(LOGIN_SHELLS)]) {
    await writeFile(join(authDir, u), userPub + '\n', { mode: 0o644 });
  }
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `HostKey ${join(dir, 'ssh_host_rsa_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authDir}/%u`,
    'StrictModes no',
    'UsePAM no',
    'MaxSessions 10',
    'PermitRootLogin yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'AllowTcpForwarding yes',
    'PrintMotd no',
    `LogLevel ${process.env.FERRY_SSHD_LOG === 'debug' ? 'DEBUG' : 'INFO'}`, // the "Server listening" line is how waitListening knows it is up
    ...(opts.extraConfig ?? []),
    '',
  ].join('\n');
  const configFile = join(dir, 'sshd_config');
  await writeFile(configFile, config);
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${ed25519}\n[127.0.0.1]:${port} ${rsa}\n`);

  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitListening(child, port).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  counter += 1;
  const pid = child.pid ?? 0;
  return {
    name: `sshd${counter}`,
    host: '127.0.0.1',
    port,
    dir,
    userKeyFile,
    knownHostsFile,
    hostKeys: { ed25519, rsa },
    users: { nopasswd: NOPASSWD_USER, passwordUser: PASSWORD_USER, password, root: ROOT_USER },
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `count` sshd hosts (distinct ports and host keys). */
export async function startSshdHosts(count: number, opts: StartSshdOptions = {}): Promise<SshdHost[]> {
  const hosts: SshdHost[] = [];
  for (let i = 0; i < count; i++) hosts.push(await startSshd(opts));
  return hosts;
}

/** The inventory variables that reach a harness sshd as `user`: one host's entry (several names may share it). */
export function inventoryEntry(h: SshdHost, user: string = NOPASSWD_USER): Record<string, string | number> {
  return {
    ansible_host: h.host,
    ansible_port: h.port,
    ansible_user: user,
    ansible_ssh_private_key_file: h.userKeyFile,
    ferry_known_hosts_file: h.knownHostsFile,
  };
}

/** Writes an Ansible-style YAML inventory naming the hosts (and `extra` hosts as given); returns its path. */
export async function writeInventory(
  hosts: SshdHost[],
  dir: string,
  user: string = NOPASSWD_USER,
  extra: Record<string, Record<string, string | number>> = {},
): Promise<string> {
  const entries = Object.fromEntries(hosts.map((h) => [h.name, inventoryEntry(h, user)]));
  const path = join(dir, 'inventory.yml');
  await writeFile(path, stringify({ all: { hosts: { ...entries, ...extra } } }));
  return path;
}

/** Options reaching a harness sshd as `user` (default root), isolated from the developer's ~/.ssh, ssh_config and agent. */
export function sshTransportOptions(h: SshdHost, user: string = h.users.root, extra: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return {
    host: h.name,
    hostName: h.host,
    port: h.port,
    user,
    identityFiles: [h.userKeyFile],
    knownHostsFile: h.knownHostsFile,
    sshConfigFile: false,
    agent: false,
    connectTimeoutMs: 5000,
    ...extra,
  };
}

/** An SshTransport to a harness sshd as `user` (default root); see sshTransportOptions. */
export function sshTransport(h: SshdHost, user?: string, extra?: Partial<SshTransportOptions>): SshTransport {
  return new SshTransport(sshTransportOptions(h, user, extra));
}
