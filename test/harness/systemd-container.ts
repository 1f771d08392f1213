// A host that runs systemd as PID 1, for the tests of what ferry does with systemd (this machine's
// PID 1 is not systemd): the lab's Debian 12 guest image (built by lab/lab.ts, cached) booted with
// systemd-nspawn, read-only under a throwaway overlay (--volatile=overlay: nothing is written to the
// image), sharing this machine's network so that the guest's own OpenSSH sshd, started by systemd,
// answers on a free port of 127.0.0.1 with a throwaway host key and login key. The result is an
// SshdHost: the harness's transports and inventories reach it as they reach startSshd's.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile, chmod, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt } from '../../lab/lab.js';
import { freePort, keygen, type SshdHost } from './sshd.js';

const execFileP = promisify(execFile);

/** Why a systemd container cannot run here (undefined when it can). */
export function systemdContainerMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/usr/bin/systemd-nspawn')) return 'no systemd-nspawn (Debian package systemd-container)';
  return undefined;
}

/**
 * Boots the lab's guest image under systemd-nspawn and waits until its sshd (a unit of its systemd)
 * lets root in with the throwaway key and systemd says the system is up (running or degraded).
 */
export async function startSystemdContainer(): Promise<SshdHost> {
  const image = (await ensureBuilt()).guestImage;
  const dir = await mkdtemp(join(tmpdir(), 'ferry-systemd-'));
  await chmod(dir, 0o755);
  const root = join(dir, 'root');
  await mkdir(root);
  // the image read-only (noload: not even its journal replayed); the container's writes go to tmpfs
  await execFileP('mount', ['-o', 'loop,ro,noload', image, root]);
  let child: ReturnType<typeof spawn> | undefined;
  const cleanUp = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      // SIGTERM: nspawn asks the container's systemd to power off; KILL if it takes too long
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await execFileP('umount', [root]).catch(() => execFileP('umount', ['-l', root]).catch(() => undefined));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hostKey = await keygen(join(dir, 'host_key'), 'ed25519');
    const userKeyFile = join(dir, 'user_key');
    const userPub = await keygen(userKeyFile, 'ed25519');
    await writeFile(join(dir, 'authorized_keys'), `${userPub}\n`, { mode: 0o644 });
    const port = await freePort();
    // Debian's sshd_config includes sshd_config.d first, and sshd keeps the first value it reads
    await writeFile(
      join(dir, 'sshd.conf'),
      [`Port ${port}`, 'ListenAddress 127.0.0.1', 'HostKey /etc/ssh/ferry_test_host_key', 'AuthorizedKeysFile /etc/ssh/ferry_test_authorized_keys', 'PermitRootLogin prohibit-password', 'UseDNS no', ''].join('\n'),
    );
    const knownHostsFile = join(dir, 'known_hosts');
    await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostKey}\n`);
    const name = `ferry-systemd-${port}`;
    const log = await open(join(dir, 'console.log'), 'w');
    child = spawn(
      'systemd-nspawn',
      [
        '-q', '-D', root, '--volatile=overlay', '--boot', '--register=no', '--keep-unit', `--machine=${name}`,
        // the guest's ifupdown would wait minutes for an eth0 the shared network does not have
        '--bind-ro=/dev/null:/etc/systemd/system/networking.service',
        `--bind-ro=${join(dir, 'sshd.conf')}:/etc/ssh/sshd_config.d/ferry-test.conf`,
        `--bind-ro=${join(dir, 'host_key')}:/etc/ssh/ferry_test_host_key`,
        `--bind-ro=${join(dir, 'authorized_keys')}:/etc/ssh/ferry_test_authorized_keys`,
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    await log.close();
    const ssh = ['-F', '/dev/null', '-i', userKeyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=5', '-p', String(port), 'root@127.0.0.1'];
    let state = '';
    for (let i = 0; i < 120 && child.exitCode === null; i++) {
      state = await execFileP('ssh', [...ssh, 'systemctl is-system-running --wait'], { env: { ...process.env, SSH_AUTH_SOCK: '' } }).then(
        (r) => r.stdout.trim(),
        (e: { stdout?: string }) => (e.stdout ?? '').trim(),
      );
      if (state === 'running' || state === 'degraded') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (state !== 'running' && state !== 'degraded') throw new Error(`the systemd container did not come up (systemctl is-system-running: '${state}'); its console is in ${join(dir, 'console.log')}`);
    const pid = child.pid ?? 0;
    return {
      name,
      host: '127.0.0.1',
      port,
      dir,
      userKeyFile,
      knownHostsFile,
      hostKeys: { ed25519: hostKey, rsa: '' },
      users: { nopasswd: 'root', passwordUser: 'root', password: '', root: 'root' },
      pid,
      stop: cleanUp,
    };
  } catch (e) {
    await cleanUp();
    throw e;
  }
}
