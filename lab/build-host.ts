// Builds the lab hypervisor host: a minimal Debian booted by direct kernel boot with a tiny init,
// an ext4 root image and two empty data disks that become vg0 and vg1 at the end of the build.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './exec.js';
import { LAB_HALT, LAB_INIT, SSHD_CONFIG } from './host-setup.js';
import { HOST_DISKS, HOST_PACKAGES, SUITE } from './recipe.js';
import { debootstrap, inChroot, kernelVersion, makeExt4Image, roundUpMb, sparseFile, treeSizeMb, writeInto } from './rootfs.js';
import type { LabPaths } from './paths.js';

/** Debootstraps the host into `root` (the slow, network part; run it alongside the guest's). */
export async function debootstrapHost(root: string, mirror: string, log: string): Promise<void> {
  await debootstrap(root, SUITE, mirror, HOST_PACKAGES, log);
}

/** Makes a throwaway ed25519 key pair (no passphrase) at `file` and `file.pub`. */
export async function makeKeyPair(file: string, comment: string): Promise<void> {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** Configures the debootstrapped host in `root`, then writes its images, kernel and initrd into the build folder. */
export async function finishHostImages(root: string, p: LabPaths): Promise<{ kernel: string; rootMb: number }> {
  const kernel = kernelVersion(root);
  writeInto(root, 'sbin/lab-init', LAB_INIT, 0o755);
  writeInto(root, 'sbin/lab-halt', LAB_HALT, 0o755);
  writeInto(root, 'etc/hostname', 'lab-hv\n');
  writeInto(root, 'etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\tlab-hv\n');
  writeInto(root, 'etc/fstab', '/dev/vda / ext4 defaults 0 1\n');
  writeInto(root, 'etc/ssh/sshd_config.d/ferry-lab.conf', SSHD_CONFIG);
  // One known host key, made here so clients can check it strictly from the very first connection.
  for (const f of fs.readdirSync(path.join(root, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) {
    fs.rmSync(path.join(root, 'etc/ssh', f));
  }
  await makeKeyPair(path.join(root, 'etc/ssh/ssh_host_ed25519_key'), 'root@lab-hv');
  fs.copyFileSync(path.join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), p.hostKeyPub);
  await makeKeyPair(p.clientKey, 'ferry-lab');
  writeInto(root, 'root/.ssh/authorized_keys', fs.readFileSync(`${p.clientKey}.pub`, 'utf8'), 0o600);
  fs.chmodSync(path.join(root, 'root/.ssh'), 0o700);
  await inChroot(root, ['apt-get', 'clean']);
  fs.rmSync(path.join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  fs.mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  fs.copyFileSync(path.join(root, 'boot', `vmlinuz-${kernel}`), p.kernel);
  fs.copyFileSync(path.join(root, 'boot', `initrd.img-${kernel}`), p.initrd);
  const rootMb = roundUpMb((await treeSizeMb(root)) + HOST_DISKS.rootFreeMb);
  await makeExt4Image(root, p.hostImage, rootMb, 'lab-root');
  sparseFile(p.vg0Image, HOST_DISKS.vg0Mb);
  sparseFile(p.vg1Image, HOST_DISKS.vg1Mb);
  return { kernel, rootMb };
}
