// The lab's programmatic API: build the images if the recipe changed, boot the VM on qcow2
// overlays, and hand tests what they need to connect (inventory, port, key, known_hosts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FerryError } from '../runner/errors.js';
import { quote, sh } from '../runner/command.js';
import { debootstrapGuest, finishGuestImage, type GuestImageInfo } from './build-guest.js';
import { debootstrapHost, finishHostImages } from './build-host.js';
import { run, say, step } from './exec.js';
import { HOST_CMDLINE, setupScript } from './host-setup.js';
import { writeLabInventory } from './inventory.js';
import { debianMirror } from './mirror.js';
import { cacheRoot, labPaths, repoRoot, type LabPaths } from './paths.js';
import { Qmp } from './qmp.js';
import { withLabLock } from './lock.js';
import { ensureSystemPackages } from './system-packages.js';
import { removeTree, sparseFile } from './rootfs.js';
import { GUEST, HOST_DISKS, recipeHash, SUITE } from './recipe.js';
import { knownHostsLine, sshRun, waitForSsh, type SshTarget } from './ssh.js';
import { freePort, killVm, probeAccel, readPid, sleep, startVm, waitExit, type VmDisk } from './vm.js';

/** What a test needs to use the running lab. */
export interface LabInfo {
  inventoryPath: string;
  sshPort: number;
  keyPath: string;
  knownHostsPath: string;
  /** The running VM's files (overlays, serial log, pidfile). */
  runDir: string;
  serialLog: string;
  /** The pristine build these overlays sit on. */
  buildDir: string;
  hash: string;
  accel: 'kvm' | 'tcg';
  /** True when this call booted the VM (it was not running before). */
  bootedNow: boolean;
  guest: typeof GUEST & { sizeMb: number };
}

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
  const { target, pid } = await boot(p, disks);
  const r = await sshRun(target, setupScript(guest.sizeMb), { timeoutMs: 15 * 60_000 });
  say(`lab host volume groups:\n${r.stdout.trimEnd()}`);
  await halt(target, pid);
}

/** Starts qemu on `disks`, writes known_hosts for the chosen port, waits for SSH. */
async function boot(
  p: LabPaths,
  disks: VmDisk[],
  incoming?: string,
  timeoutMs = BOOT_TIMEOUT_MS,
): Promise<{ target: SshTarget; pid: number; accel: 'kvm' | 'tcg' }> {
  const accel = await probeAccel(p.kernel);
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freePort();
    const target: SshTarget = { port: sshPort, keyPath: p.clientKey, knownHostsPath: p.knownHosts };
    fs.writeFileSync(p.knownHosts, knownHostsLine(sshPort, p.hostKeyPub));
    let pid: number;
    try {
      pid = await startVm({
        kernel: p.kernel, initrd: p.initrd, append: HOST_CMDLINE, disks, sshPort,
        memMb: VM_MEM_MB, cpus: VM_CPUS, pidFile: p.pidFile, serialLog: p.serialLog, qmpSocket: p.qmpSocket, accel, incoming,
      });
    } catch (e) {
      // Another program may have taken the port between freePort() and qemu binding it.
      if (attempt < 3 && String(e).includes('hostfwd')) continue;
      throw e;
    }
    if (incoming) await resumeIncoming(p);
    const how = incoming ? 'restoring the saved lab VM state' : 'booting the lab VM';
    const ms = await step(`${how} (${accel}, ssh port ${sshPort})`, () => waitForSsh(target, p.pidFile, p.serialLog, timeoutMs));
    say(`${incoming ? 'restore' : 'boot'} to SSH: ${(ms / 1000).toFixed(1)} s`);
    // The saved state's clock stopped when it was saved; a stale clock confuses make, rsync and TLS.
    if (incoming) await sshRun(target, sh`date -u -s ${`@${Math.floor(Date.now() / 1000)}`}`);
    fs.writeFileSync(p.runInfo, JSON.stringify({ sshPort, accel } satisfies RunInfo) + '\n');
    return { target, pid, accel };
  }
}

/** Powers the VM off cleanly (sync, remount read-only, power off), killing it if it does not stop. */
async function halt(target: SshTarget, pid: number): Promise<void> {
  await sshRun(target, '/sbin/lab-halt', { allowFailure: true, timeoutMs: 20_000 });
  if (!(await waitExit(pid, 60_000))) await killVm(pid);
}

function overlaysExist(p: LabPaths): boolean {
  return [p.hostOverlay, p.vg0Overlay, p.vg1Overlay].every((f) => fs.existsSync(f));
}

/** Makes fresh qcow2 overlays over the pristine images: the VM's writes never touch the cache. */
async function createOverlays(p: LabPaths): Promise<void> {
  const pairs: [string, string][] = [[p.hostImage, p.hostOverlay], [p.vg0Image, p.vg0Overlay], [p.vg1Image, p.vg1Overlay]];
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

/** The running lab, or undefined when its VM is not running. */
export function labStatus(): LabInfo | undefined {
  const p = labPaths(recipeHash());
  if (!readPid(p.pidFile) || !fs.existsSync(p.runInfo)) return undefined;
  return infoFor(p, JSON.parse(fs.readFileSync(p.runInfo, 'utf8')) as RunInfo);
}

/** Builds the lab if needed, boots it if it is not running, waits for SSH and writes the inventory. */
export function labUp(): Promise<LabInfo> {
  return withLabLock(cacheRoot(), labUpLocked);
}

async function labUpLocked(): Promise<LabInfo> {
  const p = await ensureBuilt();
  const running = labStatus();
  if (running) {
    const target = { port: running.sshPort, keyPath: p.clientKey, knownHostsPath: p.knownHosts };
    await waitForSsh(target, p.pidFile, p.serialLog, 60_000);
    writeLabInventory(p.inventory, { sshPort: running.sshPort, keyPath: p.clientKey, knownHostsPath: p.knownHosts });
    return running;
  }
  await stopOtherBuilds(p);
  const { target, accel } = overlaysExist(p) ? await boot(p, overlayDisks(p)) : await bootPristine(p);
  writeLabInventory(p.inventory, { sshPort: target.port, keyPath: p.clientKey, knownHostsPath: p.knownHosts });
  return infoFor(p, { sshPort: target.port, accel }, true);
}

function overlayDisks(p: LabPaths): VmDisk[] {
  return [
    { file: p.hostOverlay, format: 'qcow2', serial: 'ferry-root' },
    { file: p.vg0Overlay, format: 'qcow2', serial: 'ferry-vg0' },
    { file: p.vg1Overlay, format: 'qcow2', serial: 'ferry-vg1' },
  ];
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
      return await boot(p, overlayDisks(p), `exec:cat ${quote(p.warmState)}`, 90_000);
    } catch (e) {
      say(`restoring the saved lab state failed, booting instead: ${String(e).split('\n')[0]}`);
      const pid = readPid(p.pidFile);
      if (pid) await killVm(pid);
      fs.rmSync(p.warm, { recursive: true, force: true });
    }
  }
  await createOverlays(p);
  const booted = await boot(p, overlayDisks(p));
  await step('saving the booted lab state (for fast resets)', () => saveWarm(p));
  return booted;
}

/** Waits for qemu to load a saved state, then runs the VM (it was saved paused, and qemu keeps that). */
async function resumeIncoming(p: LabPaths): Promise<void> {
  const qmp = await Qmp.connect(p.qmpSocket);
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

/** Deletes the builds of other recipes (about 1.5 GB each) unless their VM is still running. */
async function pruneOtherBuilds(current: LabPaths): Promise<void> {
  const root = path.dirname(current.build);
  for (const name of fs.readdirSync(root)) {
    const other = labPaths(name);
    if (other.build === current.build || !/^[0-9a-f]{16}$/.test(name) || readPid(other.pidFile)) continue;
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
    const pid = readPid(other.pidFile);
    if (pid) {
      say(`stopping the lab VM of an older recipe (${name})`);
      await killVm(pid);
    }
  }
}

/** Stops the lab VM cleanly; its overlays (its state) stay for the next `labUp`. */
export function labDown(): Promise<void> {
  return withLabLock(cacheRoot(), labDownLocked);
}

async function labDownLocked(): Promise<void> {
  const p = labPaths(recipeHash());
  const pid = readPid(p.pidFile);
  const info = labStatus();
  if (pid && info) await halt({ port: info.sshPort, keyPath: p.clientKey, knownHostsPath: p.knownHosts }, pid);
  else if (pid) await killVm(pid);
  // A VM of an older recipe (the lab sources changed while it ran) must not keep running either.
  await stopOtherBuilds(p);
}

/** Restores the pristine lab: stop, fresh overlays, boot. */
export function labReset(): Promise<LabInfo> {
  return withLabLock(cacheRoot(), async () => {
    const p = labPaths(recipeHash());
    const pid = readPid(p.pidFile);
    // No clean shutdown: the overlays are about to be thrown away.
    if (pid) await killVm(pid);
    for (const f of [p.hostOverlay, p.vg0Overlay, p.vg1Overlay]) fs.rmSync(f, { force: true });
    return labUpLocked();
  });
}

/** Runs `command` (built with runner/command.ts) on the lab host. */
export function labSsh(info: LabInfo, command: ReturnType<typeof sh> | string, input?: string) {
  return sshRun({ port: info.sshPort, keyPath: info.keyPath, knownHostsPath: info.knownHostsPath }, command, { input });
}
