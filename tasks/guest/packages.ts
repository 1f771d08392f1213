// Installing packages into a guest from the host: from package files in a host directory (offline,
// the usual case on a hypervisor without a route for its guests' mirrors) or with the guest's
// package manager when it can reach its mirror. Runs inside a withGuestChroot session.
import { raw, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { describeFailure } from '../../runner/task-context.js';
import { GUEST_PATH_REFUSED, refusalReason, resolveInRoot } from '../../runner/transport/guest-path.js';
import type { GuestOs } from './os-family.js';

const GUEST_PKG_TMP = '/tmp';
const GUEST_PKG_NAME = 'ferry-pkgs';
/** Where offline packages are copied in the guest for the install (removed afterwards). */
export const GUEST_PKG_DIR = `${GUEST_PKG_TMP}/${GUEST_PKG_NAME}`;

/** The shell glob (inside the guest) matching package files of a format. */
export function packageGlob(format: GuestOs['packageFormat']): string {
  return format === 'deb' ? '*.deb' : format === 'rpm' ? '*.rpm' : '*.pkg.tar.*';
}

/** The guest command that installs every package file in GUEST_PKG_DIR (the glob expands in the guest's shell). */
export function offlineInstallCommand(format: GuestOs['packageFormat']): Command {
  const files = raw(`${GUEST_PKG_DIR}/${packageGlob(format)}`);
  if (format === 'deb') return sh`DEBIAN_FRONTEND=noninteractive dpkg -i ${files}`;
  if (format === 'rpm') return sh`rpm -Uvh --replacepkgs ${files}`;
  return sh`pacman -U --noconfirm --needed ${files}`;
}

/** apt options that keep its binary caches off the guest's disk (an empty name disables each). */
const APT_NO_BINARY_CACHES = ['-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache='];

/** The guest commands that install `names` from the network: refresh the index, then install. */
export function onlineInstallCommands(os: GuestOs, names: string[]): { refresh: Command; install: Command } {
  switch (os.packageFormat) {
    case 'deb':
      // A conversion leaves the guest's disk no fuller than the packages and their index need: apt's
      // two binary caches (pkgcache.bin, srcpkgcache.bin: about 60 MB, rebuilt whenever apt next
      // needs them) are not written, and the .deb files it downloads are removed after the install
      // (apt-get keeps them by default). On a small root those ~60 MB decided whether the initramfs
      // that follows still fitted.
      return {
        refresh: sh`apt-get ${APT_NO_BINARY_CACHES} update -q`,
        install: sh`DEBIAN_FRONTEND=noninteractive apt-get ${APT_NO_BINARY_CACHES} install -y -q --no-install-recommends -o APT::Keep-Downloaded-Packages=false ${names}`,
      };
    case 'rpm':
      return {
        refresh: sh`if command -v dnf >/dev/null; then dnf -q makecache; else yum -q makecache; fi`,
        install: sh`if command -v dnf >/dev/null; then dnf -y install ${names}; else yum -y install ${names}; fi`,
      };
    case 'pkg':
      return { refresh: sh`pacman -Sy --noconfirm`, install: sh`pacman -S --noconfirm --needed ${names}` };
  }
}

/** What to install and from where. */
export interface InstallRequest {
  root: string;
  os: GuestOs;
  names: string[];
  /** A directory on the host holding the package files (offline install). */
  packagesDir?: string;
}

/**
 * Installs packages into the guest: every matching file of packagesDir (copied into the guest and
 * removed after), or `names` from the network. `ctx` is the host context, `g` the chroot one.
 */
export async function installPackages(ctx: TaskContext, g: TaskContext, req: InstallRequest): Promise<string> {
  const { os, names } = req;
  if (req.packagesDir !== undefined) {
    const glob = packageGlob(os.packageFormat);
    const list = await ctx.run(sh`find ${req.packagesDir} -maxdepth 1 -type f -name ${glob}`);
    const files = list.exitCode === 0 ? list.stdout.split('\n').filter(Boolean) : [];
    if (!files.length) {
      throw new TaskFailedError(`packages_dir ${req.packagesDir} on ${ctx.host} holds no ${glob} files for this ${os.id} guest`);
    }
    // Staged by the host's own tools (the files are on the host), in the guest's /tmp resolved inside
    // the root and pinned, so a guest `tmp -> /etc` (or a link through /proc) never leads onto the host.
    const inGuestTmp = (body: Command): Command =>
      sh`${resolveInRoot(req.root, GUEST_PKG_TMP, true)}ferry_cd "$ferry_path" || ferry_refuse ${`${GUEST_PKG_TMP} is not a directory in the guest`}
${body}`;
    try {
      const copied = await ctx.run(
        inGuestTmp(sh`rm -rf -- ${GUEST_PKG_NAME} && mkdir -m 0700 -- ${GUEST_PKG_NAME} && find ${req.packagesDir} -maxdepth 1 -type f -name ${glob} -exec cp -t ${`./${GUEST_PKG_NAME}`} {} +`),
      );
      if (copied.exitCode !== 0) {
        const why = copied.exitCode === GUEST_PATH_REFUSED ? refusalReason(copied.stderr) : describeFailure(copied);
        throw new TaskFailedError(`cannot stage the packages of ${req.packagesDir} in the guest: ${why}`);
      }
      const r = await g.run(offlineInstallCommand(os.packageFormat), { timeoutMs: 30 * 60_000 });
      if (r.exitCode !== 0) throw new TaskFailedError(`installing the packages of ${req.packagesDir} in the guest failed: ${describeFailure(r)}`);
    } finally {
      await ctx.run(inGuestTmp(sh`rm -rf -- ${GUEST_PKG_NAME}`));
    }
    return `installed ${files.length} package file(s) from ${req.packagesDir}`;
  }
  const cmds = onlineInstallCommands(os, names);
  const offlineHint = `give the package files offline instead: packages_dir: a directory on ${ctx.host} holding ${packageGlob(os.packageFormat)} files of ${names.join(', ')} and their missing dependencies${
    os.packageFormat === 'deb' ? ' (e.g. fetched with apt-get download on a machine with the same release)' : ''
  }`;
  const refresh = await g.run(cmds.refresh, { timeoutMs: 10 * 60_000 });
  // apt-get update exits 0 even when every mirror failed; its "Failed to fetch"/"Could not resolve" lines say so.
  const unreachable = /Could not resolve|Failed to fetch|Temporary failure resolving|Cannot initiate the connection|Could not connect/i;
  if (refresh.exitCode !== 0 || unreachable.test(refresh.stderr + refresh.stdout)) {
    throw new TaskFailedError(`cannot install ${names.join(', ')}: the guest's package manager could not reach its mirror (${describeFailure(refresh)}); ${offlineHint}`);
  }
  const r = await g.run(cmds.install, { timeoutMs: 30 * 60_000 });
  if (r.exitCode !== 0) throw new TaskFailedError(`installing ${names.join(', ')} in the guest failed: ${describeFailure(r)}; ${offlineHint}`);
  return `installed ${names.join(', ')} from the guest's mirror`;
}
