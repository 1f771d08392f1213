// Builds a Xen-era Ubuntu 22.04 (jammy) PV guest root, as a Xen host would hold it: an unpartitioned
// ext4 filesystem (xvda1) with systemd, initramfs-tools naming the Xen frontends, a getty on hvc0
// and NO kernel (Xen booted it from dom0), so a conversion must install linux-image-virtual online.
// Ubuntu's mirror is the one debootstrap's own suite script names, and the archive is verified from
// a pinned key fingerprint: Debian has no ubuntu-keyring package.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './exec.js';
import { withLabLock } from './lock.js';
import { repoRoot } from './paths.js';
import { inChroot, makeExt4Image, removeTree, roundUpMb, treeSizeMb, writeInto } from './rootfs.js';

export const UBUNTU_SUITE = 'jammy';
const ARCH = 'amd64';

/**
 * Ubuntu Archive Automatic Signing Key (2018), which signs jammy's Release
 * files: the root of trust. The key itself comes from the archive's ubuntu-keyring package, which
 * proves nothing until its fingerprint is this one.
 */
export const UBUNTU_ARCHIVE_KEY_FPR = 'F6ECB3762474EDA9D21B7022871920D1991BC93C';

/** The guest's packages beyond minbase: what a real Xen-era 22.04 guest runs, less its kernel (and netplan, which brings python3; ifupdown is in universe). */
export const UBUNTU_GUEST_PACKAGES = ['systemd-sysv', 'udev', 'kmod', 'initramfs-tools', 'zstd', 'iproute2', 'openssh-server'];

export const UBUNTU_GUEST = { hostname: 'ur1', rootPassword: 'ferry' } as const;

/** /etc/default/grub.d/50-cloudimg-settings.cfg as a Xen-era Ubuntu cloud image has it. */
export const XEN_CLOUDIMG_GRUB_DROP_IN = [
  '# Cloud Image specific Grub settings for Generic Cloud Images',
  '# CLOUD_IMG: This file was created/modified by the Cloud Image build process',
  '',
  '# Set the recordfail timeout',
  'GRUB_RECORDFAIL_TIMEOUT=0',
  '',
  '# Do not wait on grub prompt',
  'GRUB_TIMEOUT=0',
  '',
  '# Set the default commandline',
  'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 console=hvc0"',
  '',
  '# Set the grub console type',
  'GRUB_TERMINAL=console',
  '',
].join('\n');

/** The files whose content shapes the image (the cache key). */
const RECIPE_SOURCES = ['lab/ubuntu-guest.ts', 'lab/rootfs.ts'];

/** What one download took. */
export interface Download {
  url: string;
  bytes: number;
  ms: number;
}

/** A cached Ubuntu guest build. */
export interface UbuntuGuestInfo {
  hash: string;
  image: string;
  sizeMb: number;
  mirror: string;
  suite: string;
  /** The keyring debootstrap verified with: the pinned key alone. */
  keyring: string;
  /** The keyring downloads and the .debs debootstrap fetched, with the time each step took. */
  downloads: Download[];
  debootstrapDebs: { count: number; bytes: number };
  seconds: Record<string, number>;
}

/** The folder of cached Ubuntu guest builds ($FERRY_UBUNTU_CACHE or ~/.cache/ferry/ubuntu-guest). */
export function ubuntuCacheRoot(): string {
  return process.env.FERRY_UBUNTU_CACHE ?? path.join(os.homedir(), '.cache', 'ferry', 'ubuntu-guest');
}

/** A short hash of what the image is made from. */
export function ubuntuRecipeHash(): string {
  const h = crypto.createHash('sha256');
  for (const rel of RECIPE_SOURCES) {
    h.update(rel);
    h.update(fs.readFileSync(path.join(repoRoot, rel)));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * The mirror debootstrap itself would use for `suite`: its suite script is sourced with
 * default_mirror() stubbed, so the script's own case on ARCH and SUITE picks the line.
 */
export async function debootstrapDefaultMirror(suite: string, arch = ARCH, scripts = '/usr/share/debootstrap/scripts'): Promise<string> {
  const script = path.join(scripts, suite);
  if (!fs.existsSync(script)) throw new Error(`debootstrap has no suite script ${script}; is debootstrap installed and recent enough for ${suite}?`);
  const r = await run('sh', ['-c', 'default_mirror() { printf "%s\\n" "$1"; exit 0; }; ARCH=$1; SUITE=$2; . "$3"; exit 3', 'sh', arch, suite, script], {
    allowFailure: true,
  });
  const mirror = r.stdout.trim();
  if (r.code !== 0 || !/^https?:\/\/\S+$/.test(mirror)) throw new Error(`${script} names no default_mirror for ${suite} on ${arch} (exit ${r.code}): ${r.stderr.trim()}`);
  return mirror.replace(/\/+$/, '');
}

/** Ubuntu's mirror: $FERRY_UBUNTU_MIRROR, else the one debootstrap's suite script names. */
export async function ubuntuMirror(suite = UBUNTU_SUITE): Promise<string> {
  return process.env.FERRY_UBUNTU_MIRROR?.replace(/\/+$/, '') ?? debootstrapDefaultMirror(suite);
}

/** Why the mirror cannot serve `suite` now (undefined when its InRelease answers). */
export async function mirrorUnreachable(mirror: string, suite = UBUNTU_SUITE, timeoutMs = 10_000): Promise<string | undefined> {
  const url = `${mirror}/dists/${suite}/InRelease`;
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return r.ok ? undefined : `${url} answered ${r.status}`;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return `${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`;
  }
}

async function download(url: string, dest: string, downloads: Download[]): Promise<Buffer> {
  const t0 = Date.now();
  const r = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  const body = Buffer.from(await r.arrayBuffer());
  fs.writeFileSync(dest, body);
  downloads.push({ url, bytes: body.length, ms: Date.now() - t0 });
  return body;
}

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** The SHA256 of `file` as a Release file lists it (` HASH SIZE PATH` lines under `SHA256:`). */
export function releaseSha256(release: string, file: string): string | undefined {
  const section = /^SHA256:\n((?:[ \t].*\n?)*)/m.exec(release)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const [hash, , name] = line.trim().split(/\s+/);
    if (name === file) return hash;
  }
  return undefined;
}

/** One stanza's fields from a Packages index, by package name. */
export function packagesStanza(index: string, pkg: string): Record<string, string> | undefined {
  for (const stanza of index.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    for (const m of stanza.matchAll(/^([A-Za-z0-9-]+):[ \t]*(.*)$/gm)) fields[m[1]!] = m[2]!;
    if (fields.Package === pkg) return fields;
  }
  return undefined;
}

/**
 * Makes `keyring`: the pinned Ubuntu archive key alone, taken from the archive's ubuntu-keyring
 * package. The chain is checked both ways: the key must have the pinned fingerprint, and with it
 * InRelease must verify, list the Packages index's hash, which must list the .deb's hash.
 */
export async function fetchArchiveKeyring(mirror: string, suite: string, keyring: string, work: string, downloads: Download[]): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const gnupg = fs.mkdtempSync(path.join(work, 'gnupg-'));
  try {
    const at = (f: string): string => path.join(work, f);
    await download(`${mirror}/dists/${suite}/InRelease`, at('InRelease'), downloads);
    const indexPath = `main/binary-${ARCH}/Packages.xz`;
    const indexXz = await download(`${mirror}/dists/${suite}/${indexPath}`, at('Packages.xz'), downloads);
    const index = (await run('xz', ['-dc', at('Packages.xz')])).stdout;
    const stanza = packagesStanza(index, 'ubuntu-keyring');
    if (!stanza?.Filename || !stanza.SHA256) throw new Error(`${mirror} ${suite} ${indexPath} has no ubuntu-keyring with a Filename and SHA256`);
    const deb = await download(`${mirror}/${stanza.Filename}`, at('ubuntu-keyring.deb'), downloads);
    await run('dpkg-deb', ['-x', at('ubuntu-keyring.deb'), at('ubuntu-keyring')]);
    const shipped = at('ubuntu-keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg');
    const gpg = ['--batch', '--quiet', '--homedir', gnupg, '--no-default-keyring'];
    // Export the pinned key alone: the package's other keys (2012, cdimage) are not trusted here.
    fs.rmSync(keyring, { force: true });
    await run('gpg', [...gpg, '--keyring', shipped, '--output', keyring, '--export', UBUNTU_ARCHIVE_KEY_FPR]);
    const shown = (await run('gpg', [...gpg, '--with-colons', '--show-keys', keyring], { allowFailure: true })).stdout;
    const fprs = [...shown.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]);
    // --export writes nothing for a fingerprint it does not hold; a subkey fpr would show up here too
    if (fprs[0] !== UBUNTU_ARCHIVE_KEY_FPR || !/^uid:.*Ubuntu Archive Automatic Signing Key \(2018\)/m.test(shown)) {
      throw new Error(`${stanza.Filename} does not hold the Ubuntu archive key ${UBUNTU_ARCHIVE_KEY_FPR} (found: ${fprs.join(', ') || 'no key'})`);
    }
    // gpgv writes out only what the signature covers: the hashes are read from that.
    const v = await run('gpgv', ['--status-fd', '1', '--keyring', keyring, '--output', at('Release'), at('InRelease')], { allowFailure: true });
    if (v.code !== 0 || !new RegExp(`^\\[GNUPG:\\] VALIDSIG .* ${UBUNTU_ARCHIVE_KEY_FPR}$`, 'm').test(v.stdout)) {
      throw new Error(`${mirror}/dists/${suite}/InRelease is not signed by ${UBUNTU_ARCHIVE_KEY_FPR}: ${v.stderr.trim()}`);
    }
    const release = fs.readFileSync(at('Release'), 'utf8');
    if (releaseSha256(release, indexPath) !== sha256(indexXz)) throw new Error(`${indexPath} does not match the signed InRelease of ${suite}`);
    if (stanza.SHA256 !== sha256(deb)) throw new Error(`${stanza.Filename} does not match its SHA256 in the signed ${indexPath}`);
  } finally {
    fs.rmSync(gnupg, { recursive: true, force: true });
  }
}

/**
 * debootstrap with --keyring (lab/rootfs.ts's debootstrap() takes no options, and changing that file
 * would change the lab's recipe hash and rebuild every lab image).
 */
async function debootstrapVerified(dir: string, suite: string, mirror: string, keyring: string, include: string[], log: string): Promise<void> {
  await removeTree(dir);
  const args = ['--variant=minbase', `--arch=${ARCH}`, `--keyring=${keyring}`, `--include=${include.join(',')}`, suite, dir, mirror];
  const r = await run('debootstrap', args, { allowFailure: true, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  fs.writeFileSync(log, r.stdout + r.stderr);
  if (r.code !== 0) {
    const inner = path.join(dir, 'debootstrap', 'debootstrap.log');
    const detail = fs.existsSync(inner) ? fs.readFileSync(inner, 'utf8').split('\n').slice(-20).join('\n') : r.stderr;
    throw new Error(`debootstrap of ${dir} failed (exit ${r.code}); see ${log}\n${detail}`);
  }
  // debootstrap says so when it could not check: never accept that (the keyring above must be used)
  if (/Cannot check Release signature|--no-check-gpg/i.test(r.stdout + r.stderr)) throw new Error(`debootstrap did not verify ${suite}'s Release file; see ${log}`);
}

/** Configures the debootstrapped root as a Xen-era PV guest with no kernel. */
async function configureGuest(root: string): Promise<void> {
  const { hostname } = UBUNTU_GUEST;
  writeInto(root, 'etc/hostname', `${hostname}\n`);
  writeInto(root, 'etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n`);
  writeInto(root, 'etc/fstab', '# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/xvda1 / ext4 errors=remount-ro 0 1\n');
  // Without these in the initramfs a PV guest cannot find its root disk: the Xen-era state a conversion must handle.
  writeInto(root, 'etc/initramfs-tools/modules', '# List of modules that you want to include in your initramfs.\nxen-blkfront\nxen-netfront\n');
  // Ubuntu's cloud images carry this drop-in; on a Xen PV one it names the Xen console, and grub-mkconfig
  // sources it after /etc/default/grub (the guest has no GRUB yet: Xen booted it through pygrub).
  writeInto(root, 'etc/default/grub.d/50-cloudimg-settings.cfg', XEN_CLOUDIMG_GRUB_DROP_IN);
  const wants = path.join(root, 'etc/systemd/system/getty.target.wants');
  fs.mkdirSync(wants, { recursive: true });
  fs.rmSync(path.join(wants, 'serial-getty@hvc0.service'), { force: true });
  fs.symlinkSync('/lib/systemd/system/serial-getty@.service', path.join(wants, 'serial-getty@hvc0.service'));
  await inChroot(root, ['chpasswd'], `root:${UBUNTU_GUEST.rootPassword}\n`);
  await inChroot(root, ['apt-get', 'clean']);
  // apt rebuilds its lists on the next update; a conversion installs the kernel online.
  fs.rmSync(path.join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  fs.mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
  for (const f of ['pkgcache.bin', 'srcpkgcache.bin']) fs.rmSync(path.join(root, 'var/cache/apt', f), { force: true });
  fs.writeFileSync(path.join(root, 'etc/machine-id'), '');
  // As on an installed 22.04: resolv.conf is systemd-resolved's stub, dangling in a chroot.
  fs.rmSync(path.join(root, 'etc/resolv.conf'), { force: true });
  fs.symlinkSync('../run/systemd/resolve/stub-resolv.conf', path.join(root, 'etc/resolv.conf'));
  const kernels = fs.readdirSync(path.join(root, 'boot')).filter((f) => f.startsWith('vmlinuz'));
  if (kernels.length) throw new Error(`the Xen-era guest must have no kernel of its own, found ${kernels.join(', ')}`);
}

/** The cached Ubuntu guest image, building it first when this recipe has none (one builder at a time). */
export async function ensureUbuntuGuest(log: (m: string) => void = () => undefined): Promise<UbuntuGuestInfo> {
  const hash = ubuntuRecipeHash();
  const dir = path.join(ubuntuCacheRoot(), hash);
  const info = path.join(dir, 'build.json');
  return withLabLock(ubuntuCacheRoot(), async () => {
    if (fs.existsSync(info)) return JSON.parse(fs.readFileSync(info, 'utf8')) as UbuntuGuestInfo;
    const seconds: Record<string, number> = {};
    const timed = async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      log(`${title}...`);
      const r = await fn();
      seconds[title] = (Date.now() - t0) / 1000;
      log(`${title}: ${seconds[title]!.toFixed(1)} s`);
      return r;
    };
    await removeTree(dir);
    fs.mkdirSync(dir, { recursive: true });
    const mirror = await ubuntuMirror();
    const keyring = path.join(dir, 'ubuntu-archive-key.gpg');
    const downloads: Download[] = [];
    await timed('archive key: ubuntu-keyring, checked against the pinned fingerprint', () =>
      fetchArchiveKeyring(mirror, UBUNTU_SUITE, keyring, path.join(dir, 'keyring-work'), downloads),
    );
    fs.rmSync(path.join(dir, 'keyring-work'), { recursive: true, force: true });
    const root = path.join(dir, 'root');
    await timed(`debootstrap ${UBUNTU_SUITE} (verified with the pinned key)`, () =>
      debootstrapVerified(root, UBUNTU_SUITE, mirror, keyring, UBUNTU_GUEST_PACKAGES, path.join(dir, 'debootstrap.log')),
    );
    const archives = path.join(root, 'var/cache/apt/archives');
    const debs = fs.readdirSync(archives).filter((f) => f.endsWith('.deb'));
    const debootstrapDebs = { count: debs.length, bytes: debs.reduce((a, f) => a + fs.statSync(path.join(archives, f)).size, 0) };
    await timed('configure the Xen-era guest', () => configureGuest(root));
    const image = path.join(dir, `guest-${UBUNTU_SUITE}.img`);
    const sizeMb = await timed('ext4 image', async () => {
      // Room for the generic kernel and its initramfs during a conversion, as a real guest's disk has.
      const mb = roundUpMb(Math.ceil((await treeSizeMb(root)) * 1.15) + 512);
      await makeExt4Image(root, image, mb, `${UBUNTU_GUEST.hostname}-root`);
      return mb;
    });
    await removeTree(root);
    const built: UbuntuGuestInfo = { hash, image, sizeMb, mirror, suite: UBUNTU_SUITE, keyring, downloads, debootstrapDebs, seconds };
    fs.writeFileSync(info, JSON.stringify(built, null, 2) + '\n');
    // the builds of older recipes (about 150 MB each) are never used again
    for (const name of fs.readdirSync(ubuntuCacheRoot())) {
      if (name !== hash && /^[0-9a-f]{16}$/.test(name)) await removeTree(path.join(ubuntuCacheRoot(), name));
    }
    return built;
  });
}
