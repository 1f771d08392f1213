// Shared steps for building a Debian root filesystem on this machine at native speed.
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../runner/facts/mountinfo.js';
import { run } from './exec.js';

/** Mount points at or under `dir` (debootstrap mounts /proc and /sys in its target and leaves them on failure). */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((m) => m === root || m.startsWith(root + '/'));
}

/** Deletes a root filesystem tree, unmounting anything left mounted in it first and never crossing into another filesystem. */
export async function removeTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  // Deepest first, so /x/proc/sys/fs/binfmt_misc goes before /x/proc.
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) {
    await run('umount', ['-l', m], { allowFailure: true });
  }
  if (mountsUnder(dir).length > 0) throw new Error(`refusing to delete ${dir}: still mounted: ${mountsUnder(dir).join(', ')}`);
  await run('rm', ['-rf', '--one-file-system', dir]);
}

/** Debootstraps `suite` into `dir` (its own package cache: two runs sharing one race). */
export async function debootstrap(dir: string, suite: string, mirror: string, include: string[], log: string): Promise<void> {
  await removeTree(dir);
  const r = await run(
    'debootstrap',
    ['--variant=minbase', `--include=${include.join(',')}`, suite, dir, mirror],
    { allowFailure: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  fs.writeFileSync(log, r.stdout + r.stderr);
  if (r.code !== 0) {
    // debootstrap's own log names the package that failed; the last lines of stdout rarely do.
    const inner = path.join(dir, 'debootstrap', 'debootstrap.log');
    const detail = fs.existsSync(inner) ? fs.readFileSync(inner, 'utf8').split('\n').slice(-20).join('\n') : r.stderr;
    throw new Error(`debootstrap of ${dir} failed (exit ${r.code}); see ${log}\n${detail}`);
  }
}

/** Runs a command inside the chroot (argument array, no shell unless the caller asks for one). */
export async function inChroot(dir: string, argv: string[], input?: string): Promise<string> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const r = await run('chroot', [dir, ...argv], { input, env });
  return r.stdout;
}

/** Writes a file into the root filesystem, creating its folder. */
export function writeInto(root: string, file: string, content: string, mode = 0o644): void {
  const p = path.join(root, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content, { mode });
  fs.chmodSync(p, mode);
}

/** The single kernel version installed under root/boot (the lab installs exactly one). */
export function kernelVersion(root: string): string {
  const versions = fs.readdirSync(path.join(root, 'boot')).filter((f) => f.startsWith('vmlinuz-')).map((f) => f.slice('vmlinuz-'.length));
  if (versions.length !== 1) throw new Error(`expected one kernel in ${root}/boot, found: ${versions.join(', ') || 'none'}`);
  return versions[0];
}

/** Size of a directory tree in MiB (du, counting hard links once). */
export async function treeSizeMb(dir: string): Promise<number> {
  const r = await run('du', ['-s', '-x', '--block-size=1M', dir]);
  return Number.parseInt(r.stdout, 10);
}

/** Makes an unpartitioned ext4 image of `dir` (mkfs.ext4 -d: no loop device, no mount). */
export async function makeExt4Image(dir: string, image: string, sizeMb: number, label: string): Promise<void> {
  // mkfs -d copies whatever it finds: a /proc left mounted would be copied into the image.
  if (mountsUnder(dir).length > 0) throw new Error(`${dir} still has mounts: ${mountsUnder(dir).join(', ')}`);
  fs.rmSync(image, { force: true });
  const fd = fs.openSync(image, 'w');
  fs.ftruncateSync(fd, sizeMb * 1024 * 1024);
  fs.closeSync(fd);
  await run('mkfs.ext4', ['-F', '-q', '-L', label, '-d', dir, image]);
}

/** Creates a sparse file of `sizeMb` MiB. */
export function sparseFile(file: string, sizeMb: number): void {
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, sizeMb * 1024 * 1024);
  fs.closeSync(fd);
}

/** Rounds MiB up to a multiple of `unit` MiB (LVM extents are 4 MiB). */
export function roundUpMb(mb: number, unit = 4): number {
  return Math.ceil(mb / unit) * unit;
}
