// Makes sure a libvirt daemon answers on qemu:///system (the lab demo and the integration tests). The test machines
// have no systemd as PID 1, so virtlogd (which writes console logs) and libvirtd are started by
// hand, as daemons, when they are not running already; nothing is started twice.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { PACKAGE_GROUPS } from './system-packages.js';

const execFileP = promisify(execFile);

/** Whether libvirt can be used, and why not when it cannot. */
export type LibvirtReady = { ok: true; version: string; kvm: boolean } | { ok: false; reason: string };

/** The Debian packages the libvirt integration tests need (from the one list, lab/system-packages.ts). */
export const LIBVIRT_PACKAGES: readonly string[] = PACKAGE_GROUPS.libvirt.packages;

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function findDaemon(name: string): string | undefined {
  return SBIN.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

async function ok(file: string, args: string[], timeoutMs = 15_000): Promise<string | undefined> {
  try {
    return (await execFileP(file, args, { timeout: timeoutMs })).stdout;
  } catch {
    return undefined;
  }
}

async function running(name: string): Promise<boolean> {
  return (await ok('pidof', [name])) !== undefined;
}

/**
 * Gives /dev/kvm the group and mode udev would (root:kvm 0660) when it is root-only: without udev it stays
 * 0600, libvirt finds KVM present when probing QEMU but unusable for its qemu user afterwards, and then
 * re-probes QEMU's capabilities on every call (seconds each, tens of seconds on a loaded machine).
 */
async function fixKvmPermissions(): Promise<void> {
  if (!existsSync('/dev/kvm') || process.getuid?.() !== 0) return;
  const st = statSync('/dev/kvm');
  if ((st.mode & 0o060) === 0o060) return;
  const group = (await ok('getent', ['group', 'kvm']))?.split(':')[2];
  if (group === undefined) return;
  chownSync('/dev/kvm', st.uid, Number(group));
  chmodSync('/dev/kvm', (st.mode & 0o7777) | 0o060);
}

/** Destroys and undefines a domain, when there is one (its disks are never touched); quiet when there is none. */
export async function removeDomain(name: string, uri = 'qemu:///system'): Promise<void> {
  // (a loaded machine's libvirt may take long to answer: longer than a probe may wait)
  await ok('virsh', ['-c', uri, 'destroy', name], 60_000);
  await ok('virsh', ['-c', uri, 'undefine', name], 60_000);
}

/** Starts virtlogd and libvirtd when needed and checks `virsh -c URI version`. */
export async function ensureLibvirtd(uri = 'qemu:///system'): Promise<LibvirtReady> {
  await fixKvmPermissions();
  const hint = `install them with: apt-get install ${LIBVIRT_PACKAGES.join(' ')}`;
  if ((await ok('virsh', ['--version'])) === undefined) return { ok: false, reason: `virsh is not installed; ${hint}` };
  const kvm = existsSync('/dev/kvm');
  let version = await ok('virsh', ['-c', uri, 'version']);
  if (version !== undefined) return { ok: true, version: version.trim(), kvm };
  if (process.getuid?.() !== 0) return { ok: false, reason: `virsh -c ${uri} fails and only root may start libvirtd here` };
  const libvirtd = findDaemon('libvirtd');
  const virtlogd = findDaemon('virtlogd');
  if (!libvirtd || !virtlogd) return { ok: false, reason: `libvirtd or virtlogd not found under ${SBIN.join(', ')}; ${hint}` };
  // virtlogd first: libvirtd hands it the console of every domain it starts.
  if (!(await running('virtlogd'))) await execFileP(virtlogd, ['-d']);
  if (!(await running('libvirtd'))) await execFileP(libvirtd, ['-d']);
  for (let i = 0; i < 40; i++) {
    version = await ok('virsh', ['-c', uri, 'version']);
    if (version !== undefined) return { ok: true, version: version.trim(), kvm };
    await new Promise((r) => setTimeout(r, 250));
  }
  return { ok: false, reason: `libvirtd started but virsh -c ${uri} version still fails after 10s` };
}
