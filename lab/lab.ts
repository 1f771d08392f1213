// The lab's programmatic API: build the images if the recipe changed, boot the VMs on qcow2
// overlays, and hand tests what they need to connect (inventory, port, key, known_hosts).
// lab-hv is the Xen-ish host with the guest; lab-kvm, booted only on demand, is an empty KVM host.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FerryError } from '../runner/errors.js';
import { quote, sh } from '../runner/command.js';
import { debootstrapGuest, finishGuestImage, type GuestImageInfo } from './build-guest.js';
import { debootstrapHost, finishHostImages } from './build-host.js';
import { run, say, step } from './exec.js';
import { HOST_CMDLINE, setupScript } from './host-setup.js';
import { KVM_HOST_NAME, writeLabInventory } from './inventory.js';
import { debianMirror } from './mirror.js';
import { cacheRoot, labPaths, repoRoot, type LabPaths, type VmPaths } from './paths.js';
import { Qmp } from './qmp.js';
import { withLabLock } from './lock.js';
import { ensureSystemPackages } from './system-packages.js';
import { removeTree, sparseFile } from './rootfs.js';
import { GUEST, HOST_DISKS, recipeHash, SUITE } from './recipe.js';
import { knownHostsLine, sshRun, waitForSsh, type SshTarget } from './ssh.js';
import { freePort, killVm, probeAccel, readPid, sleep, startVm, waitExit, type VmDisk } from './vm.js';

/** What a test needs to use one running lab VM. */
export interface LabVmInfo {
  inventoryPath: string;
  sshPort: number;
  keyPath: string;
  knownHostsPath: string;
  /** The running VM's files (overlays, serial log, pidfile). */
  runDir: string;
  serialLog: string;
  /** True when this call booted the VM (it was not running before). */
  bootedNow: boolean;
}

/** What a test needs to use the running lab (lab-hv, with the Xen guest). */
export interface LabInfo extends LabVmInfo {
  /** The pristine build these overlays sit on. */
  buildDir: string;
  hash: string;
  accel: 'kvm' | 'tcg';
  guest: typeof GUEST & { sizeMb: number };
}

/** What a test needs to use lab-kvm, the second (empty KVM) host: the same as for any lab VM. */
export type LabKvmHostInfo = LabVmInfo;

/** Written at the end of a build: its presence marks the build complete. */
interface BuildInfo {
  hash: string;
  mirror: string;
  suite: string;
  hostKernel: string;
  guest: GuestImageInfo;
  seconds: Record<string, number>;
}

interface RunInfo {
  sshPort: number;
  accel: 'kvm' | 'tcg';
}

const VM_MEM_MB = 2048;
const VM_CPUS = 2;
// lab-kvm only receives disks (it runs no guest itself): 1.5 GiB is enough and leaves room beside lab-hv.
const KVM_HOST_MEM_MB = 1536;
const BOOT_TIMEOUT_MS = 5 * 60_000;

function timed<T>(seconds: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return step(name, fn).finally(() => {
    seconds[name] = Math.round((Date.now() - t0) / 100) / 10;
  });
}

function readBuildInfo(p: LabPaths): BuildInfo | undefined {
  return fs.existsSync(p.buildInfo) ? (JSON.parse(fs.readFileSync(p.buildInfo, 'utf8')) as BuildInfo) : undefined;
}

/** Builds the lab images for the current recipe unless the cache already holds them. */
export async function ensureBuilt(): Promise<LabPaths> {
  // Before the cache check: booting a cached build needs qemu too.
  await ensureSystemPackages(['lab'], { say });
  const hash = recipeHash();
  const p = labPaths(hash);
  if (readBuildInfo(p)) return p;
  say(`building lab images for recipe ${hash} in ${p.build}`);
  const t0 = Date.now();
  const seconds: Record<string, number> = {};
  const imagesMarker = path.join(p.build, 'images.json');
  let images: ImagesInfo;
  if (fs.existsSync(imagesMarker)) {
    // The images were made but the first boot did not finish: redo only that (minutes saved).
    images = JSON.parse(fs.readFileSync(imagesMarker, 'utf8')) as ImagesInfo;
    say('images already built; redoing the first boot');
    sparseFile(p.vg0Image, HOST_DISKS.vg0Mb);
    sparseFile(p.vg1Image, HOST_DISKS.vg1Mb);
  } else {
    images = await buildImages(p, seconds);
    fs.writeFileSync(imagesMarker, JSON.stringify(images, null, 2) + '\n');
  }
  await timed(seconds, 'first boot: LVM setup and guest copy inside the VM', () => firstBootSetup(p, images.guest));
  const { mirror, hostKernel, guest } = images;
  seconds.total = Math.round((Date.now() - t0) / 1000);
  const info: BuildInfo = { hash, mirror, suite: SUITE, hostKernel, guest, seconds: { ...images.seconds, ...seconds } };
  fs.writeFileSync(p.buildInfo, JSON.stringify(info, null, 2) + '\n');
  say(`lab build done in ${seconds.total} s`);
  await pruneOtherBuilds(p);
  return p;
}

interface ImagesInfo {
  mirror: string;
  hostKernel: string;
  guest: GuestImageInfo;
  seconds: Record<string, number>;
}

/** Debootstraps host and guest side by side, then makes their images (everything before the first boot). */
async function buildImages(p: LabPaths, seconds: Record<string, number>): Promise<ImagesInfo> {
  await removeTree(p.build);
  fs.mkdirSync(p.run, { recursive: true });
  const mirror = debianMirror(SUITE);
  say(`mirror (from apt configuration): ${mirror}`);
  const hostRoot = path.join(p.build, 'host-rootfs');
  const guestRoot = path.join(p.build, 'guest-rootfs');
  await timed(seconds, 'debootstrap host and guest (in parallel)', () =>
    Promise.all([
      debootstrapHost(hostRoot, mirror, path.join(p.build, 'debootstrap-host.log')),
      debootstrapGuest(guestRoot, mirror, path.join(p.build, 'debootstrap-guest.log')),
    ]),
  );
  const guest = await timed(seconds, 'guest image', () => finishGuestImage(guestRoot, p.guestImage));
  const host = await timed(seconds, 'host images', () => finishHostImages(hostRoot, p));
  await removeTree(hostRoot);
  await removeTree(guestRoot);
  return { mirror, hostKernel: host.kernel, guest, seconds: { ...seconds } };
}

/** Boots the pristine images themselves once, to make the PVs/VGs/LV and fill the guest's LV. */
async function firstBootSetup(p: LabPaths, guest: GuestImageInfo): Promise<void> {
  const disks: VmDisk[] = [
    { file: p.hostImage, format: 'raw', serial: 'ferry-root' },
    { file: p.vg0Image, format: 'raw', serial: 'ferry-vg0' },
    { file: p.vg1Image, format: 'raw', serial: 'ferry-vg1' },
    { file: p.guestImage, format: 'raw', serial: 'ferry-guest', readOnly: true },
  ];
  const { target, pid } = await boot(p, p, disks);
  const r = await sshRun(target, setupScript(guest.sizeMb), { timeoutMs: 15 * 60_000 });
  say(`lab host volume groups:\n${r.stdout.trimEnd()}`);
  await halt(target, pid);
}

interface BootOptions {
  /** Start from a saved state (qemu -incoming URI) instead of booting. */
  incoming?: string;
  timeoutMs?: number;
  memMb?: number;
  /** Who is booting, for the progress line. */
  name?: string;
}

/** Starts qemu on `disks` with the run files of `vm`, writes known_hosts for the chosen port, waits for SSH. */
async function boot(
  p: LabPaths,
  vm: VmPaths,
  disks: VmDisk[],
  { incoming, timeoutMs = BOOT_TIMEOUT_MS, memMb = VM_MEM_MB, name = 'the lab VM' }: BootOptions = {},
): Promise<{ target: SshTarget; pid: number; accel: 'kvm' | 'tcg' }> {
  const accel = await probeAccel(p.kernel);
  fs.mkdirSync(vm.run, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freePort();
    const target: SshTarget = { port: sshPort, keyPath: p.clientKey, knownHostsPath: vm.knownHosts };
    fs.writeFileSync(vm.knownHosts, knownHostsLine(sshPort, p.hostKeyPub));
    let pid: number;
    try {
      pid = await startVm({
        kernel: p.kernel, initrd: p.initrd, append: HOST_CMDLINE, disks, sshPort,
        memMb, cpus: VM_CPUS, pidFile: vm.pidFile, serialLog: vm.serialLog, qmpSocket: vm.qmpSocket, accel, incoming,
      });
    } catch (e) {
      // Another program may have taken the port between freePort() and qemu binding it.
      if (attempt < 3 && String(e).includes('hostfwd')) continue;
      throw e;
    }
    if (incoming) await resumeIncoming(vm);
    const how = incoming ? `restoring the saved state of ${name}` : `booting ${name}`;
    const ms = await step(`${how} (${accel}, ssh port ${sshPort})`, () => waitForSsh(target, vm.pidFile, vm.serialLog, timeoutMs));
    say(`${incoming ? 'restore' : 'boot'} to SSH: ${(ms / 1000).toFixed(1)} s`);
    // The saved state's clock stopped when it was saved; a stale clock confuses make, rsync and TLS.
    if (incoming) await sshRun(target, sh`date -u -s ${`@${Math.floor(Date.now() / 1000)}`}`);
    fs.writeFileSync(vm.runInfo, JSON.stringify({ sshPort, accel } satisfies RunInfo) + '\n');
    return { target, pid, accel };
  }
}

/** Powers the VM off cleanly (sync, remount read-only, power off), killing it if it does not stop. */
async function halt(target: SshTarget, pid: number): Promise<void> {
  await sshRun(target, '/sbin/lab-halt', { allowFailure: true, timeoutMs: 20_000 });
  if (!(await waitExit(pid, 60_000))) await killVm(pid);
}

function overlaysExist(vm: VmPaths): boolean {
  return overlayFiles(vm).every((f) => fs.existsSync(f));
}

function overlayFiles(vm: VmPaths): string[] {
  return [vm.hostOverlay, vm.vg0Overlay, vm.vg1Overlay];
}

/** Makes fresh qcow2 overlays for `vm` over the pristine images: the VM's writes never touch the cache. */
async function createOverlays(p: LabPaths, vm: VmPaths): Promise<void> {
  fs.mkdirSync(vm.run, { recursive: true });
  const pairs: [string, string][] = [[p.hostImage, vm.hostOverlay], [p.vg0Image, vm.vg0Overlay], [p.vg1Image, vm.vg1Overlay]];
  for (const [base, overlay] of pairs) {
    fs.rmSync(overlay, { force: true });
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay]);
  }
}

function infoFor(p: LabPaths, run: RunInfo, bootedNow = false): LabInfo {
  const build = readBuildInfo(p);
  if (!build) throw new FerryError(`lab build ${p.build} is incomplete; run npm run lab:reset`);
  return {
    inventoryPath: p.inventory,
    sshPort: run.sshPort,
    keyPath: p.clientKey,
    knownHostsPath: p.knownHosts,
    runDir: p.run,
    serialLog: p.serialLog,
    buildDir: p.build,
    hash: build.hash,
    accel: run.accel,
    bootedNow,
    guest: { ...GUEST, sizeMb: build.guest.sizeMb },
  };
}

/** How the VM of `vm` was started, or undefined when it is not running. */
function runningInfo(vm: VmPaths): RunInfo | undefined {
  if (!readPid(vm.pidFile) || !fs.existsSync(vm.runInfo)) return undefined;
  return JSON.parse(fs.readFileSync(vm.runInfo, 'utf8')) as RunInfo;
}

/** The running lab, or undefined when its VM is not running. */
export function labStatus(): LabInfo | undefined {
  const p = labPaths(recipeHash());
  const run = runningInfo(p);
  return run && infoFor(p, run);
}

/** Writes the inventory with whichever of the two VMs are running (labUp and labKvmHostUp each see the other's). */
function writeInventory(p: LabPaths): void {
  const conn = (vm: VmPaths) => {
    const run = runningInfo(vm);
    return run && { sshPort: run.sshPort, keyPath: p.clientKey, knownHostsPath: vm.knownHosts };
  };
  writeLabInventory(p.inventory, { hv: conn(p), kvm: conn(p.kvm) });
}

/** An up call whose VM runs already: it must still answer SSH, and the other VM may have come or gone since the inventory was written. */
async function useRunning<T extends { sshPort: number }>(p: LabPaths, vm: VmPaths, running: T): Promise<T> {
  await waitForSsh({ port: running.sshPort, keyPath: p.clientKey, knownHostsPath: vm.knownHosts }, vm.pidFile, vm.serialLog, 60_000);
  writeInventory(p);
  return running;
}

/** Builds the lab if needed, boots it if it is not running, waits for SSH and writes the inventory. */
export function labUp(): Promise<LabInfo> {
  return withLabLock(cacheRoot(), labUpLocked);
}

async function labUpLocked(): Promise<LabInfo> {
  const p = await ensureBuilt();
  const running = labStatus();
  if (running) return useRunning(p, p, running);
  await stopOtherBuilds(p);
  const { target, accel } = overlaysExist(p) ? await boot(p, p, overlayDisks(p)) : await bootPristine(p);
  writeInventory(p);
  return infoFor(p, { sshPort: target.port, accel }, true);
}

function overlayDisks(vm: VmPaths): VmDisk[] {
  return [
    { file: vm.hostOverlay, format: 'qcow2', serial: 'ferry-root' },
    { file: vm.vg0Overlay, format: 'qcow2', serial: 'ferry-vg0' },
    { file: vm.vg1Overlay, format: 'qcow2', serial: 'ferry-vg1' },
  ];
}

/**
 * Run once on lab-kvm's fresh overlays: the pristine images are lab-hv's, so the guest's LV (and
 * any other) goes, leaving vg0 and vg1 with all their space free, and its Xen config with it.
 * Both VMs share hostname and host key: the marker file is how a test tells them apart.
 */
const EMPTY_KVM_HOST_SCRIPT = `set -eu
for lv in $(lvs --noheadings -o lv_full_name vg0 vg1); do lvremove -q -f "$lv" >/dev/null; done
rm -f ${GUEST.xenConfig}
hostname ${KVM_HOST_NAME}
echo ${KVM_HOST_NAME} > /etc/ferry-lab-host
sync
vgs --noheadings -o vg_name,vg_size,vg_free,lv_count
`;

function kvmHostInfoFor(p: LabPaths, run: RunInfo, bootedNow = false): LabKvmHostInfo {
  return {
    inventoryPath: p.inventory,
    sshPort: run.sshPort,
    keyPath: p.clientKey,
    knownHostsPath: p.kvm.knownHosts,
    runDir: p.kvm.run,
    serialLog: p.kvm.serialLog,
    bootedNow,
  };
}

/** The running lab-kvm (the second, empty KVM host), or undefined when it is not running. */
export function labKvmHostStatus(): LabKvmHostInfo | undefined {
  const p = labPaths(recipeHash());
  const run = runningInfo(p.kvm);
  return run && kvmHostInfoFor(p, run);
}

/**
 * Builds the lab if needed and, unless it runs already, cold-boots lab-kvm on fresh overlays and
 * empties it (no LVs, vg0 and vg1 free): the target host of a fleet test. lab-hv is left as it is.
 */
export function labKvmHostUp(): Promise<LabKvmHostInfo> {
  return withLabLock(cacheRoot(), labKvmHostUpLocked);
}

async function labKvmHostUpLocked(): Promise<LabKvmHostInfo> {
  const p = await ensureBuilt();
  const running = labKvmHostStatus();
  if (running) return useRunning(p, p.kvm, running);
  await stopOtherBuilds(p);
  const t0 = Date.now();
  // Always fresh: a host emptied once needs no saved state, and its old overlays may hold a half-run test.
  await createOverlays(p, p.kvm);
  const { target, accel } = await boot(p, p.kvm, overlayDisks(p.kvm), { memMb: KVM_HOST_MEM_MB, name: KVM_HOST_NAME });
  const r = await step(`emptying ${KVM_HOST_NAME}`, () => sshRun(target, EMPTY_KVM_HOST_SCRIPT, { timeoutMs: 120_000 }));
  say(`${KVM_HOST_NAME} volume groups (name, size, free, LVs):\n${r.stdout.trimEnd()}`);
  say(`${KVM_HOST_NAME} up in ${((Date.now() - t0) / 1000).toFixed(1)} s (cold boot and emptying)`);
  writeInventory(p);
  return kvmHostInfoFor(p, { sshPort: target.port, accel }, true);
}

/** What a saved state depends on besides the images: restoring it into a different VM fails. */
function warmKey(): string {
  const h = crypto.createHash('sha256');
  for (const f of ['lab/vm.ts', 'lab/lab.ts']) h.update(fs.readFileSync(path.join(repoRoot, f)));
  h.update(`${VM_MEM_MB}/${VM_CPUS}`);
  return h.digest('hex').slice(0, 16);
}

function warmUsable(p: LabPaths): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(p.warmMeta, 'utf8')) as { key: string };
    return meta.key === warmKey() && fs.existsSync(p.warmState);
  } catch {
    return false;
  }
}

const OVERLAY_NAMES = ['host-root.qcow2', 'host-vg0.qcow2', 'host-vg1.qcow2'];

/**
 * Starts the pristine lab: from the saved state when there is one (seconds: no boot), else by a
 * cold boot on fresh overlays, after which the state is saved for the next time.
 */
async function bootPristine(p: LabPaths): Promise<{ target: SshTarget; pid: number; accel: 'kvm' | 'tcg' }> {
  if (warmUsable(p)) {
    for (const name of OVERLAY_NAMES) fs.copyFileSync(path.join(p.warm, name), path.join(p.run, name));
    try {
      return await boot(p, p, overlayDisks(p), { incoming: `exec:cat ${quote(p.warmState)}`, timeoutMs: 90_000 });
    } catch (e) {
      say(`restoring the saved lab state failed, booting instead: ${String(e).split('\n')[0]}`);
      const pid = readPid(p.pidFile);
      if (pid) await killVm(pid);
      fs.rmSync(p.warm, { recursive: true, force: true });
    }
  }
  await createOverlays(p, p);
  const booted = await boot(p, p, overlayDisks(p));
  await step('saving the booted lab state (for fast resets)', () => saveWarm(p));
  return booted;
}

/** Waits for qemu to load a saved state, then runs the VM (it was saved paused, and qemu keeps that). */
async function resumeIncoming(vm: VmPaths): Promise<void> {
  const qmp = await Qmp.connect(vm.qmpSocket);
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const st = (await qmp.execute('query-migrate')) as { status?: string };
      if (st.status === 'completed') break;
      if (st.status === 'failed' || Date.now() > deadline) throw new FerryError(`loading the saved lab state: ${st.status ?? 'timed out'}`);
      await sleep(200);
    }
    await qmp.execute('cont');
  } finally {
    qmp.close();
  }
}

/** Pauses the VM, writes its RAM and device state to the warm folder with the overlays of that moment, resumes it. */
async function saveWarm(p: LabPaths): Promise<void> {
  fs.rmSync(p.warm, { recursive: true, force: true });
  fs.mkdirSync(p.warm, { recursive: true });
  const qmp = await Qmp.connect(p.qmpSocket);
  try {
    await qmp.execute('stop');
    await qmp.execute('migrate', { uri: `exec:cat > ${quote(p.warmState)}` });
    const deadline = Date.now() + 180_000;
    for (;;) {
      const st = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
      if (st.status === 'completed') break;
      if (st.status === 'failed' || st.status === 'cancelled' || Date.now() > deadline) {
        throw new FerryError(`saving the lab VM state: migration ${st.status ?? 'timed out'} ${st['error-desc'] ?? ''}`);
      }
      await sleep(200);
    }
    // Migration has flushed and released the disks: the overlays are consistent with the saved RAM.
    for (const name of OVERLAY_NAMES) fs.copyFileSync(path.join(p.run, name), path.join(p.warm, name));
    fs.writeFileSync(p.warmMeta, JSON.stringify({ key: warmKey() }) + '\n');
  } catch (e) {
    fs.rmSync(p.warm, { recursive: true, force: true });
    say(`could not save the lab state (resets will boot): ${String(e)}`);
  } finally {
    // cont takes the disks back after a completed migration, so the lab goes on where it was.
    await qmp.execute('cont').catch(() => undefined);
    qmp.close();
  }
}

/** Deletes the builds of other recipes (about 1.5 GB each) unless one of their VMs is still running. */
async function pruneOtherBuilds(current: LabPaths): Promise<void> {
  const root = path.dirname(current.build);
  for (const name of fs.readdirSync(root)) {
    const other = labPaths(name);
    if (other.build === current.build || !/^[0-9a-f]{16}$/.test(name) || readPid(other.pidFile) || readPid(other.kvm.pidFile)) continue;
    say(`removing the lab build of an older recipe (${name})`);
    await removeTree(other.build);
  }
}

/** A VM left running from an older recipe would hold CPU and confuse a reader of the inventory. */
async function stopOtherBuilds(current: LabPaths): Promise<void> {
  const root = path.dirname(current.build);
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const other = labPaths(name);
    if (other.build === current.build) continue;
    for (const pid of [readPid(other.pidFile), readPid(other.kvm.pidFile)]) {
      if (!pid) continue;
      say(`stopping a lab VM of an older recipe (${name})`);
      await killVm(pid);
    }
  }
}

/** Stops the lab VMs (lab-hv and lab-kvm) cleanly; lab-hv's overlays (its state) stay for the next `labUp`. */
export function labDown(): Promise<void> {
  return withLabLock(cacheRoot(), labDownLocked);
}

async function labDownLocked(): Promise<void> {
  const p = labPaths(recipeHash());
  await Promise.all([stopVm(p, p), stopVm(p, p.kvm)]);
  // A VM of an older recipe (the lab sources changed while it ran) must not keep running either.
  await stopOtherBuilds(p);
}

/** Stops lab-kvm alone (cleanly), leaving lab-hv running: for a test that booted only lab-kvm. */
export function labKvmHostDown(): Promise<void> {
  return withLabLock(cacheRoot(), async () => {
    const p = labPaths(recipeHash());
    await stopVm(p, p.kvm);
    // The inventory must not keep offering a host that is gone.
    if (runningInfo(p)) writeInventory(p);
  });
}

/** Halts the VM of `vm` if it runs (killing it when it cannot be reached over SSH). */
async function stopVm(p: LabPaths, vm: VmPaths): Promise<void> {
  const pid = readPid(vm.pidFile);
  const run = runningInfo(vm);
  if (pid && run) await halt({ port: run.sshPort, keyPath: p.clientKey, knownHostsPath: vm.knownHosts }, pid);
  else if (pid) await killVm(pid);
}

/** Restores the pristine lab: stop both VMs, fresh overlays, boot lab-hv (lab-kvm boots again on `labKvmHostUp`). */
export function labReset(): Promise<LabInfo> {
  return withLabLock(cacheRoot(), async () => {
    const p = labPaths(recipeHash());
    for (const vm of [p, p.kvm]) {
      const pid = readPid(vm.pidFile);
      // No clean shutdown: the overlays are about to be thrown away.
      if (pid) await killVm(pid);
      for (const f of overlayFiles(vm)) fs.rmSync(f, { force: true });
    }
    return labUpLocked();
  });
}

/** Runs `command` (built with runner/command.ts) on a lab host (lab-hv's LabInfo or lab-kvm's LabKvmHostInfo). */
export function labSsh(info: LabVmInfo, command: ReturnType<typeof sh> | string, input?: string) {
  return sshRun({ port: info.sshPort, keyPath: info.keyPath, knownHostsPath: info.knownHostsPath }, command, { input });
}
