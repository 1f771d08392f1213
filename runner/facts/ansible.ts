// The facts Ansible's setup module gives, by its names (without the `ansible_` prefix, as in
// `ansible_facts`), derived from the sections of factsCommand() the way Ansible 2.14 derives them
// on Linux (module_utils/facts: platform, distribution, hardware/linux, network/linux, pkg_mgr,
// service_mgr, user, env). Pure: text in, values out.
import { parseMountinfo, unescapeOctal } from './mountinfo.js';
import type { OsFacts, OsFamily } from './types.js';

/** The ansible_* facts gathering provides: every one is set on every host (empty or 'unknown' when it cannot be read). */
export const ANSIBLE_FACT_NAMES = [
  'hostname', 'fqdn', 'nodename', 'domain', 'system', 'kernel', 'machine', 'architecture',
  'os_family', 'distribution', 'distribution_version', 'distribution_major_version', 'distribution_release',
  'memtotal_mb', 'memfree_mb', 'swaptotal_mb',
  'processor_count', 'processor_cores', 'processor_threads_per_core', 'processor_vcpus', 'processor_nproc',
  'default_ipv4', 'all_ipv4_addresses', 'interfaces', 'mounts', 'env', 'user_id', 'pkg_mgr', 'service_mgr',
] as const;

export type AnsibleFactName = (typeof ANSIBLE_FACT_NAMES)[number];

/** The section texts the ansible_* facts come from ('' for a section that could not be read). */
export interface AnsibleSources {
  os: OsFacts;
  /** `uname -srm` */
  uname: string;
  nodename: string;
  /** `getent hosts ADDRESS` of the host name's first address. */
  fqdn: string;
  debianVersion: string;
  meminfo: string;
  cpuinfo: string;
  /** 'xen N' on a Xen guest, N the CPUs without the vme flag; '' elsewhere. */
  xen: string;
  nproc: number;
  ipRoute: string;
  ipAddr: string;
  netdev: string;
  mtab: string;
  /** /proc/self/mountinfo, to tell bind mounts as Ansible does (with findmnt). */
  mountinfo: string;
  /** Block device path → filesystem UUID (from lsblk). */
  uuids: ReadonlyMap<string, string>;
  env: string;
  user: string;
  pkg: string;
  init: string;
}

const FAMILY: Record<OsFamily, string> = {
  debian: 'Debian',
  redhat: 'RedHat',
  arch: 'Archlinux',
  suse: 'Suse',
  alpine: 'Alpine',
  unknown: 'Unknown',
};

// ansible_distribution as Ansible spells it for the common os-release IDs; others get os-release NAME.
const DISTRIBUTION: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  centos: 'CentOS',
  rhel: 'RedHat',
  rocky: 'Rocky',
  almalinux: 'AlmaLinux',
  fedora: 'Fedora',
  ol: 'OracleLinux',
  amzn: 'Amazon',
  arch: 'Archlinux',
  'opensuse-leap': 'openSUSE Leap',
  'opensuse-tumbleweed': 'openSUSE Tumbleweed',
  sles: 'SLES',
  alpine: 'Alpine',
};

/** ansible_distribution: Ansible's name for the os-release ID. */
export function distributionName(os: OsFacts, name = ''): string {
  return Object.hasOwn(DISTRIBUTION, os.distribution) ? DISTRIBUTION[os.distribution]! : name || os.prettyName;
}

/** ansible_distribution_version: Debian's point release from /etc/debian_version (12.11), else os-release VERSION_ID. */
export function distributionVersion(os: OsFacts, debianVersion: string): string {
  const point = debianVersion.trim();
  return os.distribution === 'debian' && /^\d+\.\d+$/.test(point) ? point : os.version;
}

function meminfoMb(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m ? Math.floor(Number(m[1]) / 1024) : 0;
}

/** The processor_* facts from /proc/cpuinfo, counted as Ansible counts them (sockets, cores, siblings). */
export function cpuFacts(cpuinfo: string, architecture: string, xen: string, nproc: number): Record<string, number> {
  let i = 0;
  let vendorIds = 0;
  let modelNames = 0;
  let processors = 0;
  let physid = '0';
  let coreid = '0';
  const sockets = new Map<string, number>();
  const cores = new Map<string, number>();
  for (const line of cpuinfo.split('\n')) {
    const at = line.indexOf(':');
    if (at < 0) continue;
    const key = line.slice(0, at).trim();
    const val = line.slice(at + 1).trim();
    if (['model name', 'Processor', 'vendor_id', 'cpu', 'Vendor', 'processor'].includes(key)) {
      i++;
      if (key === 'vendor_id') vendorIds++;
      if (key === 'model name') modelNames++;
      if (key === 'processor') processors++;
    } else if (key === 'physical id') {
      physid = val;
      if (!sockets.has(physid)) sockets.set(physid, 1);
    } else if (key === 'core id') {
      coreid = val;
      // (sic: Ansible tests `sockets` here, so a core id equal to a socket's physical id is not reset)
      if (!sockets.has(coreid)) cores.set(coreid, 1);
    } else if (key === 'cpu cores') sockets.set(physid, parseInt(val, 10));
    else if (key === 'siblings') cores.set(coreid, parseInt(val, 10));
  }
  if (vendorIds > 0 && vendorIds === modelNames) i = vendorIds;
  if (/^(armv|aarch|ppc)/.test(architecture)) i = processors;
  // A Xen PV guest's CPUs lack the vme flag and its cpuinfo shows one core per CPU.
  if (/^xen [1-9]/.test(xen.trim())) {
    return { processor_count: i, processor_cores: i, processor_threads_per_core: 1, processor_vcpus: i, processor_nproc: nproc || processors };
  }
  const count = sockets.size || i;
  const first = [...sockets.values()][0];
  const coresPerSocket = first ? first : 1;
  const sib = [...cores.values()][0];
  const threads = Math.floor((sib ?? 1) / coresPerSocket);
  return {
    processor_count: count,
    processor_cores: coresPerSocket,
    processor_threads_per_core: threads,
    processor_vcpus: threads * count * coresPerSocket,
    processor_nproc: nproc || processors,
  };
}

/** Python's socket.getfqdn() from `getent hosts ADDRESS`: the first name with a dot, else the canonical name, else the node name. */
export function fqdnOf(getentHosts: string, nodename: string): string {
  const names = getentHosts.trim().split('\n')[0]?.trim().split(/\s+/).slice(1) ?? [];
  if (!names.length) return nodename;
  return names.find((n) => n.includes('.')) ?? names[0]!;
}

const INTERFACE_TYPE: Record<string, string> = { '1': 'ether', '32': 'infiniband', '512': 'ppp', '772': 'loopback', '65534': 'tunnel' };

/** One network device from /sys/class/net. */
interface NetDevice {
  name: string;
  macaddress: string;
  mtu: number;
  type: string;
}

/** Parses the netdev section: `NAME ADDRESS MTU TYPE` (TYPE a /sys number, or bridge / bonding). */
export function parseNetdev(text: string): NetDevice[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && f[0])
    .map(([name, mac, mtu, type]) => ({
      name: name!,
      macaddress: mac!,
      mtu: Number(mtu),
      type: type === 'bridge' || type === 'bonding' ? type : (INTERFACE_TYPE[type!] ?? 'unknown'),
    }));
}

/** One IPv4 address from `ip -o -4 addr show`. */
export interface Ipv4Address {
  device: string;
  address: string;
  prefix: string;
  netmask: string;
  network: string;
  broadcast: string;
  /** The address's label (eth0, or eth0:1 for an alias). */
  label: string;
  secondary: boolean;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + (Number(o) & 255), 0) >>> 0;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Parses `ip -o -4 addr show`: `N: DEV    inet ADDR/PREFIX [brd B] scope S [secondary] LABEL\  valid_lft ...`. */
export function parseIpAddr(text: string): Ipv4Address[] {
  const out: Ipv4Address[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const words = m[2]!.split('\\')[0]!.trim().split(/\s+/);
    const [address, prefix = '32'] = words[0]!.split('/');
    const brd = words.indexOf('brd');
    const mask = prefix === '0' ? 0 : (0xffffffff << (32 - Number(prefix))) >>> 0;
    out.push({
      device: m[1]!,
      address: address!,
      prefix,
      netmask: intToIpv4(mask),
      network: intToIpv4((ipv4ToInt(address!) & mask) >>> 0),
      broadcast: brd >= 0 ? (words[brd + 1] ?? '') : '',
      label: words[words.length - 1]!,
      secondary: words.includes('secondary'),
    });
  }
  return out;
}

/** The words after dev / src / via in `ip -4 route get 8.8.8.8`: the default route's interface, address, gateway. */
export function parseRouteGet(text: string): Record<string, string> {
  const words = (text.split('\n')[0] ?? '').trim().split(/\s+/);
  const out: Record<string, string> = {};
  if (words[0] !== '8.8.8.8') return out;
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === 'dev') out.interface = words[i + 1]!;
    else if (words[i] === 'src') out.address = words[i + 1]!;
    else if (words[i] === 'via' && words[i + 1] !== '8.8.8.8') out.gateway = words[i + 1]!;
  }
  return out;
}

/** ansible_default_ipv4, ansible_all_ipv4_addresses and ansible_interfaces. */
export function networkFacts(ipRoute: string, ipAddr: string, netdev: string): Record<'default_ipv4' | 'all_ipv4_addresses' | 'interfaces', unknown> {
  const devices = parseNetdev(netdev);
  const addrs = parseIpAddr(ipAddr);
  const def: Record<string, unknown> = parseRouteGet(ipRoute);
  for (const a of addrs) {
    if (a.address !== def.address) continue;
    const dev = devices.find((d) => d.name === a.device);
    Object.assign(def, {
      broadcast: a.broadcast,
      netmask: a.netmask,
      network: a.network,
      prefix: a.prefix,
      ...(dev ? { macaddress: dev.macaddress, mtu: dev.mtu, type: dev.type } : {}),
      alias: a.label,
    });
  }
  const names = devices.map((d) => d.name);
  // an alias label (eth0:1) is an interface of its own in Ansible's list
  for (const a of addrs) if (!names.includes(a.label)) names.push(a.label);
  return {
    default_ipv4: def,
    all_ipv4_addresses: addrs.map((a) => a.address).filter((a) => !a.startsWith('127.')),
    interfaces: names,
  };
}

/** ansible_mounts from the mtab section (`DEV MOUNT FSTYPE OPTIONS | FRSIZE BSIZE BLOCKS BAVAIL FILES FFREE`). */
export function mountFacts(mtab: string, mountinfo: string, uuids: ReadonlyMap<string, string>): Record<string, unknown>[] {
  // findmnt shows a bind mount's source as DEV[/dir]: mountinfo's root is not '/'
  let binds = new Set<string>();
  try {
    binds = new Set(parseMountinfo(mountinfo).filter((m) => m.root !== '/').map((m) => m.mountPoint));
  } catch {
    // /proc/mounts was read instead: no bind mounts known
  }
  const out: Record<string, unknown>[] = [];
  for (const line of mtab.split('\n')) {
    const bar = line.lastIndexOf(' | ');
    const head = (bar >= 0 ? line.slice(0, bar) : line).split(' ').map(unescapeOctal);
    if (head.length < 4) continue;
    const [device, mount, fstype, options] = head as [string, string, string, string];
    const m: Record<string, unknown> = { mount, device, fstype, options: binds.has(mount) && !options.includes('bind') ? `${options},bind` : options };
    const st = bar >= 0 ? line.slice(bar + 3).trim().split(/\s+/).map(Number) : [];
    if (st.length === 6 && st.every(Number.isFinite)) {
      const [frsize, bsize, blocks, bavail, files, ffree] = st as [number, number, number, number, number, number];
      Object.assign(m, {
        size_total: frsize * blocks,
        size_available: frsize * bavail,
        block_size: bsize,
        block_total: blocks,
        block_available: bavail,
        block_used: blocks - bavail,
        inode_total: files,
        inode_available: ffree,
        inode_used: files - ffree,
      });
    }
    m.uuid = uuids.get(device) ?? 'N/A';
    out.push(m);
  }
  return out;
}

/** `env` output as a mapping; a line that is not NAME=… continues the value before it (a value with a newline). */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  // (the section ends with the newline printf adds, not a line of a value)
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[(last = m[1]!)] = m[2]!;
    else if (last !== undefined) out[last] += `\n${line}`;
  }
  return out;
}

const PKG_MGRS: [string, string][] = [
  ['/usr/bin/rpm-ostree', 'atomic_container'], ['/usr/bin/yum', 'yum'], ['/usr/bin/dnf', 'dnf'], ['/usr/bin/apt-get', 'apt'],
  ['/usr/bin/zypper', 'zypper'], ['/usr/sbin/urpmi', 'urpmi'], ['/usr/bin/pacman', 'pacman'], ['/bin/opkg', 'opkg'],
  ['/sbin/apk', 'apk'], ['/usr/bin/emerge', 'portage'], ['/usr/bin/xbps-install', 'xbps'], ['/usr/bin/swupd', 'swupd'],
  ['/usr/sbin/sorcery', 'sorcery'],
];

/** ansible_pkg_mgr: the last of Ansible's list that exists, then the family's official one (Debian: apt; RedHat: yum before 8, dnf after). */
export function pkgMgr(present: string, family: string, distribution: string, major: string): string {
  const has = new Set(present.split('\n').map((l) => l.trim()).filter(Boolean));
  let name = 'unknown';
  for (const [path, n] of PKG_MGRS) if (has.has(path)) name = n;
  const exists = (n: string): boolean => PKG_MGRS.some(([p, m]) => m === n && has.has(p));
  const v = parseInt(major, 10);
  if (family === 'RedHat') {
    if (has.has('/run/ostree-booted')) return 'atomic_container';
    if (distribution === 'Fedora' || distribution === 'Amazon') {
      const old = v < (distribution === 'Fedora' ? 23 : 2022);
      if (Number.isNaN(v)) return 'dnf';
      if (old && exists('yum')) return 'yum';
      if (!old && exists('dnf')) return 'dnf';
      return name;
    }
    return v < 8 ? 'yum' : 'dnf';
  }
  if (family === 'Debian') return 'apt';
  return name;
}

/** ansible_service_mgr: what runs as PID 1 (unless init or a shell), else what the system has (systemd, upstart, openrc, sysvinit). */
export function serviceMgr(init: string): string {
  const kv = init.split('\n').map((l) => /^(\w+)=(.*)$/.exec(l.trim())).filter((m) => m !== null);
  const get = (k: string): string[] => kv.filter((m) => m[1] === k).map((m) => m[2]!.trim());
  const base = (p: string): string => p.replace(/\/+$/, '').split('/').pop() ?? '';
  const exists = new Set(get('exists'));
  const tools = new Set(get('tool'));
  const comm = get('comm')[0] ?? '';
  const link = get('init_link')[0] ?? '';
  const proc1 = base(comm || link);
  if (proc1 && proc1 !== 'init' && !proc1.endsWith('sh')) {
    const map: Record<string, string> = { procd: 'openwrt_init', 'runit-init': 'runit', svscan: 'svc', 'openrc-init': 'openrc' };
    return map[proc1] ?? proc1;
  }
  if (tools.has('systemctl') && ['/run/systemd/system/', '/dev/.run/systemd/', '/dev/.systemd/'].some((p) => exists.has(p))) return 'systemd';
  if (tools.has('initctl') && exists.has('/etc/init/')) return 'upstart';
  if (exists.has('/sbin/openrc')) return 'openrc';
  if (tools.has('systemctl') && base(link) === 'systemd') return 'systemd';
  if (exists.has('/etc/init.d/')) return 'sysvinit';
  return 'service';
}

/** Every ansible_* fact (without the prefix) from the section texts. */
export function ansibleFacts(s: AnsibleSources): Record<AnsibleFactName, unknown> {
  const [system = '', kernel = '', machine = ''] = s.uname.trim().split(/\s+/);
  const nodename = s.nodename.trim();
  const fqdn = fqdnOf(s.fqdn, nodename);
  const distribution = distributionName(s.os);
  const family = FAMILY[s.os.family];
  const version = distributionVersion(s.os, s.debianVersion);
  const major = version.split('.')[0] ?? '';
  return {
    hostname: nodename.split('.')[0] ?? '',
    fqdn,
    nodename,
    domain: fqdn.split('.').slice(1).join('.'),
    system,
    kernel,
    machine,
    architecture: /^i[3-6]86$/.test(machine) ? 'i386' : machine,
    os_family: family,
    distribution,
    distribution_version: version,
    distribution_major_version: major,
    distribution_release: s.os.codename,
    memtotal_mb: meminfoMb(s.meminfo, 'MemTotal'),
    memfree_mb: meminfoMb(s.meminfo, 'MemFree'),
    swaptotal_mb: meminfoMb(s.meminfo, 'SwapTotal'),
    ...(cpuFacts(s.cpuinfo, machine, s.xen, s.nproc) as Record<'processor_count' | 'processor_cores' | 'processor_threads_per_core' | 'processor_vcpus' | 'processor_nproc', number>),
    ...networkFacts(s.ipRoute, s.ipAddr, s.netdev),
    mounts: mountFacts(s.mtab, s.mountinfo, s.uuids),
    env: parseEnv(s.env),
    user_id: s.user.trim(),
    pkg_mgr: pkgMgr(s.pkg, family, distribution, major),
    service_mgr: serviceMgr(s.init),
  };
}
