// The Xen guest as ferry needs it for a move to KVM, whichever file it was read from (an
// xl.cfg or `virsh dumpxml` of a libvirt Xen domain), plus the parsers of xl's disk and vif
// specification strings (xl-disk-configuration(5), xl-network-configuration(5)).
import type { XlValue } from './xl-syntax.js';

/** One virtual disk. */
export interface XenDisk {
  /** Backing path (LV, file), or pool/image for a network disk. */
  source?: string;
  /** Network protocol for a network disk (rbd). */
  protocol?: string;
  /** Image format: raw, qcow, qcow2, qed, vhd. */
  format: string;
  /** Device name the guest sees (xvda, hda, sda). */
  vdev?: string;
  access: 'rw' | 'ro';
  devtype: 'disk' | 'cdrom';
  /** Backend: phy, qdisk, tap. */
  backendtype?: string;
  /** The disk spec as written in the xl.cfg. */
  spec?: string;
}

/** One network interface. */
export interface XenVif {
  mac?: string;
  bridge?: string;
  /** Open vSwitch VLAN tags carried in the bridge name (`br:42:43` trunk, `br.42` tag). */
  vlan?: { tags: number[]; trunk: boolean };
  model?: string;
  vifname?: string;
  /** Addresses, space-separated in xl. */
  ip?: string[];
  script?: string;
  type?: string;
  rate?: string;
  spec?: string;
}

/** A Xen guest's configuration. Memory sizes are MiB. */
export interface XenGuest {
  /** The file it was read from. */
  file: string;
  origin: 'xl' | 'libvirt-xml';
  name?: string;
  uuid?: string;
  memory?: number;
  maxmem?: number;
  vcpus?: number;
  maxvcpus?: number;
  type: 'pv' | 'hvm' | 'pvh';
  bootloader?: string;
  bootloaderArgs?: string;
  kernel?: string;
  ramdisk?: string;
  /** xl's `root` and `extra` settings as written. */
  root?: string;
  kernelExtra?: string;
  /** The kernel command line the guest gets: `cmdline`, else `root=<root> <extra>`, as xl builds it. */
  cmdline?: string;
  disks: XenDisk[];
  vifs: XenVif[];
  /** Settings ferry does not model, kept as read (xl only). */
  extra: Record<string, XlValue>;
  /** Line of each setting in the xl.cfg (xl only). */
  lines: Record<string, number>;
}

const FORMATS = new Set(['raw', 'qcow', 'qcow2', 'qed', 'vhd', 'empty']);
const DISK_KEYS = new Set([
  'target',
  'format',
  'vdev',
  'access',
  'devtype',
  'backendtype',
  'backend',
  'script',
  'discard',
  'no-discard',
  'direct-io-safe',
  'trusted',
  'untrusted',
  'specification',
  'colo-host',
  'colo-port',
  'colo-export',
  'active-disk',
  'hidden-disk',
]);

/** Reads the legacy `phy:` / `file:` / `tap:aio:` / `tap:qcow2:` / `qcow2:` prefixes of a disk target. */
function applyLegacyPrefix(target: string, disk: XenDisk): string {
  for (;;) {
    const m = /^(phy|file|tap|tap2|tapdisk|aio|raw|qcow|qcow2|vhd|qed):(.*)$/.exec(target);
    if (!m) return target;
    const p = m[1];
    if (p === 'phy') disk.backendtype = 'phy';
    else if (p === 'file') {
      disk.backendtype ??= 'qdisk';
      disk.format = 'raw';
    } else if (p === 'tap' || p === 'tap2' || p === 'tapdisk') disk.backendtype = 'tap';
    else if (p === 'aio') disk.format = 'raw';
    else disk.format = p;
    target = m[2];
  }
}

function normalizeAccess(a: string): 'rw' | 'ro' {
  return /^(r|ro)$/i.test(a) ? 'ro' : 'rw';
}

/** Parses one xl disk spec (positional `target,format,vdev,access`, key=value, legacy prefixes, `:cdrom`). */
export function parseDiskSpec(spec: string): XenDisk {
  const disk: XenDisk = { format: 'raw', access: 'rw', devtype: 'disk', spec };
  let accessGiven = false;
  const parts = spec.split(',');
  const positional: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i].trim();
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq) : '';
    if (key === 'target') {
      // target= swallows later commas up to the next known key: paths may contain commas.
      let value = part.slice(eq + 1);
      while (i + 1 < parts.length && !DISK_KEYS.has(parts[i + 1].trim().split('=')[0])) value += `,${parts[++i]}`;
      disk.source = value;
    } else if (DISK_KEYS.has(key) || DISK_KEYS.has(part)) {
      const value = part.slice(eq + 1);
      if (key === 'format') disk.format = value;
      else if (key === 'vdev') disk.vdev = value;
      else if (key === 'access') {
        disk.access = normalizeAccess(value);
        accessGiven = true;
      }
      else if (key === 'devtype') disk.devtype = value === 'cdrom' ? 'cdrom' : 'disk';
      else if (key === 'backendtype') disk.backendtype = value;
    } else if (eq < 0 || positional.length === 0) positional.push(part);
  }
  // Positional order is target, format, vdev, access; xm-style specs leave out the format.
  let slot = 0;
  for (const p of positional) {
    if (slot === 1 && p !== '' && !FORMATS.has(p)) slot = 2;
    if (p !== '') {
      if (slot === 0) disk.source = p;
      else if (slot === 1) disk.format = p;
      else if (slot === 2) disk.vdev = p;
      else if (slot === 3) {
        disk.access = normalizeAccess(p.replace(/!$/, ''));
        accessGiven = true;
      }
    }
    slot++;
  }
  if (disk.vdev?.endsWith(':cdrom')) {
    disk.vdev = disk.vdev.slice(0, -':cdrom'.length);
    disk.devtype = 'cdrom';
  } else if (disk.vdev?.endsWith(':disk')) disk.vdev = disk.vdev.slice(0, -':disk'.length);
  // xl-disk-configuration(5): access defaults to rw, "unless devtype=cdrom, in which case the default is r".
  if (disk.devtype === 'cdrom' && !accessGiven) disk.access = 'ro';
  if (disk.source !== undefined) {
    disk.source = applyLegacyPrefix(disk.source, disk);
    const rbd = /^rbd:((?:[^:\\]|\\.)*)/.exec(disk.source);
    if (rbd) {
      disk.protocol = 'rbd';
      disk.source = rbd[1];
    }
    if (disk.source === '') delete disk.source;
  }
  return disk;
}

/** Parses one xl vif spec (`mac=…,bridge=…,…`). */
export function parseVifSpec(spec: string): XenVif {
  const vif: XenVif = { spec };
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 'mac') vif.mac = value.toLowerCase();
    else if (key === 'bridge') vif.bridge = value;
    else if (key === 'model') vif.model = value;
    else if (key === 'vifname') vif.vifname = value;
    else if (key === 'ip') vif.ip = value.split(/\s+/).filter(Boolean);
    else if (key === 'script') vif.script = value;
    else if (key === 'type') vif.type = value;
    else if (key === 'rate') vif.rate = value;
  }
  // Open vSwitch carries VLANs in the bridge name; a Linux bridge may legitimately be called br0.100.
  if (vif.bridge && /openvswitch/.test(vif.script ?? '')) {
    const trunk = /^([^:]+)((?::\d+)+)$/.exec(vif.bridge);
    const tag = /^([^.]+)\.(\d+)$/.exec(vif.bridge);
    if (trunk) {
      vif.bridge = trunk[1];
      vif.vlan = { tags: trunk[2].slice(1).split(':').map(Number), trunk: true };
    } else if (tag) {
      vif.bridge = tag[1];
      vif.vlan = { tags: [Number(tag[2])], trunk: false };
    }
  }
  return vif;
}

/** The kernel command line xl passes: `cmdline` wins; else `root=<root>` and `extra` joined. */
export function effectiveCmdline(cmdline?: string, root?: string, extra?: string): string | undefined {
  if (cmdline !== undefined) return cmdline;
  if (root !== undefined && extra !== undefined) return `root=${root} ${extra}`;
  if (root !== undefined) return `root=${root}`;
  return extra;
}
