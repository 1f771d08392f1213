// The Debian packages this machine needs for ferry's tests and its lab — the one list, grouped by
// what needs them — and the check `npm test` runs right after its build (from dist/: node alone
// starts in a fraction of the time node with tsx takes), the lab before it builds or boots, and
// `npm run lab:migrate` first: one dpkg-query when everything is installed; otherwise, as
// root, one `apt-get install` of what is missing (after `apt-get update`, which a fresh machine
// needs), and not as root, the one `sudo apt-get install …` line to run, as an error.
//
// By hand: `node --import tsx lab/cli.ts packages [tests|lab|migrate ...] [--package NAME ...]`;
// `--package` adds a package to the check (to see the install path with a package that is not
// installed, without changing the list).
import { spawn } from 'node:child_process';
import { FerryError } from '../runner/errors.js';
import { run } from './exec.js';

/** A set of packages and what needs them. */
export interface PackageGroup {
  neededBy: string;
  packages: readonly string[];
}

/** The Debian packages, by what needs them (a package may serve several groups). */
export const PACKAGE_GROUPS = {
  sshd: { neededBy: 'the integration tests (a real sshd on loopback, test users with sudo)', packages: ['openssh-server', 'openssh-client', 'sudo'] },
  loginShells: { neededBy: 'the tests of users whose login shell is not POSIX sh (test/integration/login-shells.test.ts)', packages: ['tcsh', 'fish'] },
  storage: { neededBy: 'the storage modules, tested on loop devices', packages: ['rsync', 'fdisk', 'parted', 'e2fsprogs', 'xfsprogs', 'util-linux', 'zstd', 'cpio'] },
  chroot: { neededBy: 'the chroot tests (a minimal root)', packages: ['busybox-static'] },
  systemd: { neededBy: "the service module's systemd tests (systemd-nspawn boots the lab's guest image with systemd as PID 1)", packages: ['systemd-container'] },
  lab: { neededBy: 'the lab VM (debootstrap, images, keys, qemu)', packages: ['qemu-system-x86', 'qemu-utils', 'debootstrap', 'openssh-client', 'e2fsprogs'] },
  libvirt: {
    neededBy: 'virsh_define and the KVM boot of the converted guest',
    packages: ['libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu', 'libxml2-utils', 'qemu-system-x86'],
  },
  ubuntuGuest: { neededBy: "the Ubuntu guest e2e suite (its archive's signatures checked)", packages: ['gpg', 'gpgv', 'xz-utils'] },
  vault: { neededBy: 'the Ansible Vault tests (files made and read by the real ansible-vault)', packages: ['ansible-core'] },
  // ansible-core alone has no `json` stdout callback (seen on a fresh machine: "Invalid callback for
  // stdout specified: json"); it is in the ansible.posix collection, which Debian ships in `ansible`
  ansible: { neededBy: 'the tests that run ansible-playbook beside ferry and read its json stdout callback', packages: ['ansible'] },
} as const satisfies Record<string, PackageGroup>;

/** A group of PACKAGE_GROUPS. */
export type PackageGroupName = keyof typeof PACKAGE_GROUPS;

/** What each entry point needs: `npm test` everything, the lab its VM, `lab:migrate` also libvirt for the boot. */
export const PACKAGE_USES = {
  tests: ['sshd', 'loginShells', 'storage', 'chroot', 'systemd', 'lab', 'libvirt', 'ubuntuGuest', 'vault', 'ansible'],
  lab: ['lab'],
  migrate: ['lab', 'libvirt'],
} as const satisfies Record<string, readonly PackageGroupName[]>;

/** An entry point of PACKAGE_USES. */
export type PackageUse = keyof typeof PACKAGE_USES;

// Debian policy §5.6.1: lowercase letters, digits, + - . ; at least two, starting alphanumeric. Such a
// name is also a plain shell word, so the printed command needs no quoting.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** Whether `name` is a valid Debian package name. */
export function isPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name);
}

/** The packages `uses` need plus `extra`, each once, in list order; an invalid extra name is refused. */
export function packagesFor(uses: readonly PackageUse[], extra: readonly string[] = []): string[] {
  const bad = extra.filter((p) => !isPackageName(p));
  if (bad.length) throw new FerryError(`not a Debian package name: ${bad.join(', ')} (lowercase letters, digits, + - .)`);
  const groups = uses.flatMap((u): readonly PackageGroupName[] => PACKAGE_USES[u]);
  return [...new Set([...groups.flatMap((g) => PACKAGE_GROUPS[g].packages), ...extra])];
}

/** The dpkg-query arguments that print one `name<TAB>status` line per known package of `packages`. */
export function dpkgQueryArgs(packages: readonly string[]): string[] {
  return ['-W', '-f', '${Package}\\t${db:Status-Status}\\n', '--', ...packages];
}

// The states whose files are all in place; a pending trigger (man-db, ldconfig) does not make a tool missing.
const INSTALLED_STATES = new Set(['installed', 'triggers-pending', 'triggers-awaited']);

/**
 * The packages of `wanted` that dpkg-query's output (from dpkgQueryArgs) does not show installed, in
 * `wanted`'s order. dpkg-query prints nothing for a package it never heard of, `config-files` for
 * one removed but not purged, `half-configured` and the like for a broken one: all count as missing.
 */
export function missingPackages(wanted: readonly string[], dpkgOutput: string): string[] {
  const installed = new Set(
    dpkgOutput
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([, status]) => INSTALLED_STATES.has(status?.trim() ?? ''))
      .map(([name]) => name),
  );
  return wanted.filter((p) => !installed.has(p));
}

/** The apt-get arguments that install `missing` as root, without recommends. */
export function aptInstallArgs(missing: readonly string[]): string[] {
  return ['install', '-y', '-qq', '--no-install-recommends', '--', ...missing];
}

/** The one line a user who is not root runs to install `missing`. */
export function sudoInstallLine(missing: readonly string[]): string {
  return `sudo apt-get install --no-install-recommends ${missing.join(' ')}`;
}

/** What needs `pkg`, for the message: the groups that name it, or the --package option. */
function neededBy(pkg: string, uses: readonly PackageUse[]): string {
  const groups = [...new Set(uses.flatMap((u): readonly PackageGroupName[] => PACKAGE_USES[u]))];
  const by = groups.filter((g) => (PACKAGE_GROUPS[g].packages as readonly string[]).includes(pkg)).map((g) => PACKAGE_GROUPS[g].neededBy);
  return by.length ? by.join('; ') : 'named with --package';
}

/** The message for a user who is not root: what is missing, why, and the one command that installs it. */
export function missingPackagesMessage(missing: readonly string[], uses: readonly PackageUse[]): string {
  return [
    `missing Debian packages: ${missing.join(', ')}`,
    ...missing.map((p) => `  ${p}: ${neededBy(p, uses)}`),
    'install them (as root) with:',
    `  ${sudoInstallLine(missing)}`,
  ].join('\n');
}

/** Packages are missing and this process is not root: the message carries the sudo line. */
export class MissingPackagesError extends FerryError {
  constructor(
    readonly missing: readonly string[],
    uses: readonly PackageUse[],
  ) {
    super(missingPackagesMessage(missing, uses));
  }
}

async function queryMissing(wanted: readonly string[]): Promise<string[]> {
  // Exit 1 only means some package is unknown to dpkg: that one is missing, the output still counts.
  const r = await run('dpkg-query', dpkgQueryArgs(wanted), { allowFailure: true }).catch((e: unknown) => {
    throw new FerryError(`dpkg-query could not run (${String(e)}): ferry's tests and lab set themselves up on Debian; install by hand: ${wanted.join(' ')}`);
  });
  return missingPackages(wanted, r.stdout);
}

/**
 * Runs apt-get with its output on stderr (an install takes a while: the user sees it progress).
 * It waits up to 10 minutes for another apt or dpkg (unattended upgrades, a second `npm test`)
 * to let go of the dpkg lock, instead of failing at once.
 */
function aptGet(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

/** Options of ensureSystemPackages. */
export interface EnsurePackagesOptions {
  /** Packages checked besides the list (`--package`). */
  extra?: readonly string[];
  /** Where progress lines go (default: stderr, prefixed `[setup]`). */
  say?: (message: string) => void;
}

/**
 * Makes sure the packages `uses` need are installed: one dpkg-query when they are; as root one
 * `apt-get install` of the missing ones (said first); otherwise a MissingPackagesError naming the
 * sudo line. Returns the packages it installed.
 */
export async function ensureSystemPackages(uses: readonly PackageUse[], o: EnsurePackagesOptions = {}): Promise<string[]> {
  const say = o.say ?? ((m: string) => process.stderr.write(`[setup] ${m}\n`));
  const wanted = packagesFor(uses, o.extra);
  const missing = await queryMissing(wanted);
  if (!missing.length) return [];
  if (process.getuid?.() !== 0) throw new MissingPackagesError(missing, uses);
  const install = aptInstallArgs(missing);
  say(`installing the missing Debian packages: ${missing.join(' ')} (apt-get update, then apt-get ${install.join(' ')})`);
  // A fresh machine (or a container) may have no package lists yet; with stale ones the install may
  // still work, so a failed update is said and the install tried anyway.
  if ((await aptGet(['update', '-qq'])) !== 0) say('apt-get update failed; trying the install with the package lists there are');
  const code = await aptGet(install);
  const still = await queryMissing(wanted);
  if (code !== 0 || still.length) {
    throw new FerryError(`apt-get install ${missing.join(' ')} failed (exit ${code ?? 'signal'})${still.length ? `; still missing: ${still.join(' ')}` : ''}`);
  }
  say(`installed ${missing.join(' ')}`);
  return missing;
}
