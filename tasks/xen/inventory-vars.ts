// XenGuest -> the host variables a ferry inventory holds for one guest to move.
import { virtioDiskName } from '../guest-files/device-names.js';
import type { XenDisk, XenGuest, XenVif } from './guest.js';

/** An LVM volume named by a device path. */
export interface LvRef {
  vg: string;
  lv: string;
}

// /dev/<dir>/<name> entries that are not volume groups.
const NOT_VG = new Set(['mapper', 'disk', 'md', 'block', 'char', 'bus', 'shm', 'pts', 'net', 'input', 'snd', 'cdrom', 'loop', 'xen']);

/** The VG and LV of `/dev/VG/LV` or `/dev/mapper/VG-LV` (where `--` stands for a `-` in a name), or undefined. */
export function lvFromPath(path: string): LvRef | undefined {
  const mapper = /^\/dev\/mapper\/((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(path);
  if (mapper) return { vg: mapper[1].replace(/--/g, '-'), lv: mapper[2].replace(/--/g, '-') };
  const direct = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path);
  if (direct && !NOT_VG.has(direct[1])) return { vg: direct[1], lv: direct[2] };
  return undefined;
}

/** One disk as inventory data. */
export interface InventoryDisk {
  source?: string;
  format: string;
  vdev?: string;
  access: 'rw' | 'ro';
  devtype: 'disk' | 'cdrom';
  vg?: string;
  lv?: string;
}

/**
 * One NIC of the KVM domain, as virsh_define's `interfaces` takes it: the vif's MAC and bridge, in
 * the vif's order (so eth0, eth1 keep their meaning under net.ifnames=0). Xen's vif-openvswitch
 * carries VLANs in the bridge name; under KVM they become libvirt's <vlan> on an Open vSwitch port.
 */
export interface KvmInterfaceVars {
  mac?: string;
  bridge?: string;
  virtualport?: 'openvswitch';
  vlan?: { tags: number[]; trunk: boolean };
}

/** xl's bridge when a vif names none (xl-network-configuration: `bridge` defaults to xenbr0). */
export const XL_DEFAULT_BRIDGE = 'xenbr0';

/**
 * The KVM NIC of a vif. A routed or NAT vif (vif-route, vif-nat: no bridge) gets no bridge, so
 * virsh_define refuses it rather than guess one.
 */
export function kvmInterface(v: Omit<XenVif, 'spec'>): KvmInterfaceVars {
  const out: KvmInterfaceVars = {};
  if (v.mac !== undefined) out.mac = v.mac;
  const bridged = v.script === undefined || /vif-bridge|openvswitch/.test(v.script);
  const bridge = v.bridge ?? (bridged ? XL_DEFAULT_BRIDGE : undefined);
  if (bridge !== undefined) out.bridge = bridge;
  if (/openvswitch/.test(v.script ?? '') || v.vlan) out.virtualport = 'openvswitch';
  if (v.vlan) out.vlan = v.vlan;
  return out;
}

/**
 * A disk of the guest other than the root disk, as the conversion attaches it under KVM: `xen` is
 * its Xen vdev (xvda1, xvdb), `kvm` the virtio disk it becomes (vdb, vdc, ... in config order).
 */
export interface ExtraDiskVars {
  source?: string;
  vg?: string;
  lv?: string;
  xen?: string;
  kvm: string;
}

/**
 * The host-vars fragment for a guest. `vg`/`lv` are those of the root disk: the disk the kernel
 * command line's root= names (`root_device`), else the first LV-backed disk.
 */
export interface GuestInventoryVars {
  xen_config: string;
  guest_name?: string;
  uuid?: string;
  memory_mb?: number;
  maxmem_mb?: number;
  vcpus?: number;
  maxvcpus?: number;
  guest_type: XenGuest['type'];
  vg?: string;
  lv?: string;
  /** The Xen device root= names (xvda2), without /dev/; set only with extra_disks, and unset when root= is absent or UUID=/LABEL=. */
  root_device?: string;
  /** Every other disk (not cdroms), in config order; absent when the root disk is the only one. */
  extra_disks?: ExtraDiskVars[];
  mac?: string;
  bridge?: string;
  disks: InventoryDisk[];
  vifs: Omit<XenVif, 'spec'>[];
  /** Every vif as a KVM NIC, in order (the conversion playbook defines the domain with these). */
  kvm_interfaces: KvmInterfaceVars[];
}

function inventoryDisk(d: XenDisk): InventoryDisk {
  const lv = d.source !== undefined && d.protocol === undefined ? lvFromPath(d.source) : undefined;
  const out: InventoryDisk = { format: d.format, access: d.access, devtype: d.devtype };
  if (d.source !== undefined) out.source = d.protocol ? `${d.protocol}:${d.source}` : d.source;
  if (d.vdev !== undefined) out.vdev = d.vdev;
  if (lv) Object.assign(out, lv);
  return out;
}

/** The device (no /dev/) the last root= of a kernel command line names: /dev/xvda2, /dev/xvda, /dev/sda1, /dev/hda1; else undefined. */
export function rootDeviceOf(cmdline: string | undefined): string | undefined {
  let device: string | undefined;
  // The kernel takes the last root= when there are several.
  for (const token of (cmdline ?? '').split(/\s+/)) {
    if (token.startsWith('root=')) device = /^root=\/dev\/((?:xvd|sd|hd)[a-z]+\d*)$/.exec(token)?.[1];
  }
  return device;
}

/** What the last root= of a kernel command line names: a device (no /dev/), or a filesystem by UUID= or LABEL=. */
export type RootSpec = { device: string } | { uuid: string } | { label: string };

/** Parses the last root= of a kernel command line (the kernel takes the last); undefined without one it reads. */
export function rootSpecOf(cmdline: string | undefined): RootSpec | undefined {
  let spec: RootSpec | undefined;
  for (const token of (cmdline ?? '').split(/\s+/)) {
    if (!token.startsWith('root=')) continue;
    const device = rootDeviceOf(token);
    const id = /^root=(UUID|LABEL)=(.+)$/i.exec(token);
    spec = device !== undefined ? { device } : id ? (id[1]!.toUpperCase() === 'UUID' ? { uuid: id[2]!.toLowerCase() } : { label: id[2]! }) : undefined;
  }
  return spec;
}

/** A disk's filesystem as `blkid -p -o export` reports it (tasks/storage/blkid.ts parses it): UUID, LABEL, TYPE, ... */
export type DiskFilesystem = Record<string, string>;

/** The LV-backed disks whose filesystems tell a guest's root apart: root= names it by UUID= or LABEL=, and there are several. */
export function disksToIdentify(guest: XenGuest): string[] {
  const spec = rootSpecOf(guest.cmdline);
  if (!spec || 'device' in spec) return [];
  const lvBacked = guest.disks.filter((d) => d.devtype === 'disk' && d.source !== undefined && inventoryDisk(d).vg !== undefined);
  return lvBacked.length > 1 ? lvBacked.map((d) => d.source!) : [];
}

// A Xen device name without /dev/ and without its xvd/sd/hd prefix: a PV guest may see vdev sda as xvda.
function deviceSuffix(name: string): string {
  return name.replace(/^\/dev\//, '').replace(/^(xvd|sd|hd)/, '');
}

/** Which disk holds the guest's root filesystem, and a warning when that is a guess among several LVs. */
export interface RootDiskChoice {
  /** Index in guest.disks, or -1 when there is no disk to choose. */
  index: number;
  rootDevice?: string;
  warning?: string;
}

/**
 * Chooses the root disk: the disk whose vdev is root_device (or, failing that, the whole disk it is
 * a partition of); for root=UUID=/LABEL=, the LV whose filesystem (`filesystems`, by source path, as
 * blkid read it on the hypervisor) has that UUID or label; else the first LV-backed disk; else the first disk.
 */
export function chooseRootDisk(guest: XenGuest, filesystems: Record<string, DiskFilesystem> = {}): RootDiskChoice {
  const spec = rootSpecOf(guest.cmdline);
  const rootDevice = spec && 'device' in spec ? spec.device : undefined;
  const candidates = guest.disks.map((d, i) => ({ d, i, lv: inventoryDisk(d).vg !== undefined })).filter((c) => c.d.devtype === 'disk');
  const lvBacked = candidates.filter((c) => c.lv);
  const out: RootDiskChoice = { index: -1 };
  let matched: number | undefined;
  if (spec && !('device' in spec)) {
    const matches = lvBacked.filter((c) => {
      const fs = filesystems[c.d.source ?? ''];
      return 'uuid' in spec ? fs?.UUID?.toLowerCase() === spec.uuid : fs?.LABEL === spec.label;
    });
    const vdev = matches[0]?.d.vdev?.replace(/^\/dev\//, '');
    if (matches.length === 1) return vdev !== undefined ? { index: matches[0]!.i, rootDevice: vdev } : { index: matches[0]!.i };
    matched = matches.length;
  }
  if (rootDevice !== undefined) {
    out.rootDevice = rootDevice;
    const vdev = (c: (typeof candidates)[number]) => (c.d.vdev ?? '').replace(/^\/dev\//, '');
    const wholeDisk = deviceSuffix(rootDevice).replace(/\d+$/, '');
    const found =
      candidates.find((c) => vdev(c) === rootDevice) ??
      candidates.find((c) => deviceSuffix(vdev(c)) === deviceSuffix(rootDevice)) ??
      candidates.find((c) => vdev(c) !== '' && deviceSuffix(vdev(c)) === wholeDisk);
    if (found) return { ...out, index: found.i };
  }
  out.index = (lvBacked[0] ?? candidates[0])?.i ?? -1;
  if (lvBacked.length > 1) {
    const named = spec && !('device' in spec) ? ('uuid' in spec ? `UUID=${spec.uuid}` : `LABEL=${spec.label}`) : undefined;
    const why =
      rootDevice !== undefined
        ? `root=/dev/${rootDevice} names none of its disks`
        : named !== undefined
          ? lvBacked.some((c) => filesystems[c.d.source ?? ''] !== undefined)
            ? `root=${named} is the filesystem of ${matched === 0 ? 'none' : matched} of them (blkid on the hypervisor)`
            : `root=${named} could not be looked up (blkid on the hypervisor reads the LVs and needs root: become: true)`
          : 'its kernel command line names no root=/dev/... device';
    out.warning =
      `guest ${guest.name ?? guest.file} has ${lvBacked.length} LV-backed disks and ${why}: ` +
      `lv is a guess (${guest.disks[out.index].source}); set lv, root_device and extra_disks by hand`;
  }
  return out;
}

function extraDisk(d: InventoryDisk, n: number): ExtraDiskVars {
  const out: Partial<ExtraDiskVars> = {};
  if (d.source !== undefined) out.source = d.source;
  if (d.vg !== undefined) Object.assign(out, { vg: d.vg, lv: d.lv });
  if (d.vdev !== undefined) out.xen = d.vdev;
  return { ...out, kvm: virtioDiskName(n) };
}

/** Builds the inventory host vars for a guest (names as playbooks use them: snake_case). */
export function guestToInventoryVars(guest: XenGuest, filesystems: Record<string, DiskFilesystem> = {}): GuestInventoryVars {
  const disks = guest.disks.map(inventoryDisk);
  const vifs = guest.vifs.map(({ spec: _spec, ...v }) => v);
  const vars: GuestInventoryVars = { xen_config: guest.file, guest_type: guest.type, disks, vifs, kvm_interfaces: vifs.map(kvmInterface) };
  const set = <K extends keyof GuestInventoryVars>(k: K, v: GuestInventoryVars[K] | undefined) => {
    if (v !== undefined) vars[k] = v;
  };
  set('guest_name', guest.name);
  set('uuid', guest.uuid);
  set('memory_mb', guest.memory);
  set('maxmem_mb', guest.maxmem);
  set('vcpus', guest.vcpus);
  set('maxvcpus', guest.maxvcpus);
  const choice = chooseRootDisk(guest, filesystems);
  const root = disks[choice.index] as InventoryDisk | undefined;
  set('vg', root?.vg);
  set('lv', root?.lv);
  const extra = disks.filter((d, i) => d.devtype === 'disk' && i !== choice.index).map((d, n) => extraDisk(d, n + 1));
  // A one-disk guest keeps the vars it always had: root_device matters only to tell disks apart.
  if (extra.length) {
    set('root_device', choice.rootDevice);
    vars.extra_disks = extra;
  }
  set('mac', vifs[0]?.mac);
  set('bridge', vifs[0]?.bridge);
  return vars;
}
