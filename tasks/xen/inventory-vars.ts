// XenGuest -> the host variables a ferry inventory holds for one guest to move.
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

/** The host-vars fragment for a guest; `vg`/`lv` are those of the first LV-backed disk. */
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

/** Builds the inventory host vars for a guest (names as playbooks use them: snake_case). */
export function guestToInventoryVars(guest: XenGuest): GuestInventoryVars {
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
  const root = disks.find((d) => d.devtype === 'disk' && d.vg !== undefined);
  set('vg', root?.vg);
  set('lv', root?.lv);
  set('mac', vifs[0]?.mac);
  set('bridge', vifs[0]?.bridge);
  return vars;
}
