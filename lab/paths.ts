// Where the lab keeps its files: pristine images in a cache keyed by the recipe hash, and each
// running VM's state (overlays, pidfile, serial log, known_hosts) in a run folder beside them:
// run/ for lab-hv, run-kvm/ for the empty KVM host lab-kvm (its overlays sit on the same images).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (lab/ lives directly under it). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The folder holding every cached lab build ($FERRY_LAB_CACHE or ~/.cache/ferry/lab). */
export function cacheRoot(): string {
  return process.env.FERRY_LAB_CACHE ?? path.join(os.homedir(), '.cache', 'ferry', 'lab');
}

/** The files of one running lab VM: qcow2 overlays over the pristine images, pidfile, logs. */
export interface VmPaths {
  run: string;
  hostOverlay: string;
  vg0Overlay: string;
  vg1Overlay: string;
  pidFile: string;
  qmpSocket: string;
  serialLog: string;
  knownHosts: string;
  runInfo: string;
}

/** Every file of one lab build and of the VMs that run on it (lab-hv's own files at the top level). */
export interface LabPaths extends VmPaths {
  /** The build folder, named after the recipe hash: pristine images and keys, never written after the build. */
  build: string;
  hostImage: string;
  vg0Image: string;
  vg1Image: string;
  guestImage: string;
  kernel: string;
  initrd: string;
  /** The throwaway client key for root on the lab host. */
  clientKey: string;
  /** The public half of the lab host's ed25519 host key. */
  hostKeyPub: string;
  /** Written last by the build: its presence means the build is complete. */
  buildInfo: string;
  /** The VM paused right after its first boot: RAM state and the overlays of that moment (fast reset). */
  warm: string;
  warmState: string;
  warmMeta: string;
  /** The second VM, lab-kvm: an empty KVM host booted from the same pristine images. */
  kvm: VmPaths;
  /** The generated Ansible-style inventory for the lab. */
  inventory: string;
}

/** The paths of the build whose recipe hashes to `hash`. */
export function labPaths(hash: string): LabPaths {
  const build = path.join(cacheRoot(), hash);
  return {
    build,
    hostImage: path.join(build, 'host-root.img'),
    vg0Image: path.join(build, 'host-vg0.img'),
    vg1Image: path.join(build, 'host-vg1.img'),
    guestImage: path.join(build, 'guest-xr1.img'),
    kernel: path.join(build, 'vmlinuz'),
    initrd: path.join(build, 'initrd.img'),
    clientKey: path.join(build, 'id_ed25519'),
    hostKeyPub: path.join(build, 'ssh_host_ed25519_key.pub'),
    buildInfo: path.join(build, 'build.json'),
    warm: path.join(build, 'warm'),
    warmState: path.join(build, 'warm', 'vm.state'),
    warmMeta: path.join(build, 'warm', 'meta.json'),
    ...vmPaths(path.join(build, 'run')),
    kvm: vmPaths(path.join(build, 'run-kvm')),
    // A second lab (FERRY_LAB_CACHE elsewhere) needs its own inventory too.
    inventory: process.env.FERRY_LAB_INVENTORY ?? path.join(repoRoot, 'inventories', 'lab.yaml'),
  };
}

/** The files of a VM whose state lives in the folder `run` (a running VM's runDir). */
export function vmPaths(run: string): VmPaths {
  return {
    run,
    hostOverlay: path.join(run, 'host-root.qcow2'),
    vg0Overlay: path.join(run, 'host-vg0.qcow2'),
    vg1Overlay: path.join(run, 'host-vg1.qcow2'),
    pidFile: path.join(run, 'qemu.pid'),
    qmpSocket: path.join(run, 'qmp.sock'),
    serialLog: path.join(run, 'serial.log'),
    knownHosts: path.join(run, 'known_hosts'),
    runInfo: path.join(run, 'run.json'),
  };
}
