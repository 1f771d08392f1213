// Pure parsers for the output of factsCommand(): one per section, then parseFacts() to assemble
// them. A section that is missing, failed or unreadable leaves defaults and a warning, never a throw:
// facts about a host are still useful when one tool is absent.
import { FerryError } from '../errors.js';
import { ansibleFacts } from './ansible.js';
import { parseBatch } from '../batch-read.js';
import { toolFactName } from './command.js';
import { parseMountinfo, unescapeOctal } from './mountinfo.js';
import { parseLvs, parseVgs } from './lvm.js';
import type { BlockDevice, Facts, LvmFacts, Mount, OsFacts, OsFamily, ToolFacts } from './types.js';

/** The output did not come from factsCommand() at all (no section markers). */
export class FactsParseError extends FerryError {}

/** One section of the output: its text, the exit status of the commands that printed it, and their stderr. */
export interface Section {
  text: string;
  rc: number;
  stderr: string;
}

/** Splits factsCommand(token) output into its sections by name, and says where its framing broke if it did. */
export function splitSections(stdout: string, token: string): { sections: Map<string, Section>; broken?: string } {
  // Normalise CRLF (a pty): every section is text.
  const { records, broken } = parseBatch(stdout.replace(/\r\n/g, '\n'), token);
  return { sections: new Map(records.map((r) => [r.name, { text: r.body, rc: r.exitCode, stderr: r.stderr }])), broken };
}

/** Parses os-release (shell-style KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\([$"\\`])/g, '$1');
    else if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

const FAMILIES: Record<string, OsFamily> = {
  debian: 'debian',
  ubuntu: 'debian',
  linuxmint: 'debian',
  raspbian: 'debian',
  devuan: 'debian',
  kali: 'debian',
  rhel: 'redhat',
  centos: 'redhat',
  fedora: 'redhat',
  rocky: 'redhat',
  almalinux: 'redhat',
  ol: 'redhat',
  amzn: 'redhat',
  scientific: 'redhat',
  cloudlinux: 'redhat',
  eurolinux: 'redhat',
  virtuozzo: 'redhat',
  arch: 'arch',
  archarm: 'arch',
  manjaro: 'arch',
  endeavouros: 'arch',
  suse: 'suse',
  opensuse: 'suse',
  'opensuse-leap': 'suse',
  'opensuse-tumbleweed': 'suse',
  sles: 'suse',
  sled: 'suse',
  alpine: 'alpine',
};

/** The OS facts from parsed os-release: family from ID, then from each ID_LIKE word in order. */
export function osFacts(rel: Record<string, string>): OsFacts {
  const id = (rel.ID ?? '').toLowerCase();
  const candidates = [id, ...(rel.ID_LIKE ?? '').toLowerCase().split(/\s+/)].filter(Boolean);
  const family = candidates.map((c) => (Object.hasOwn(FAMILIES, c) ? FAMILIES[c] : undefined)).find((f) => f) ?? 'unknown';
  const version = rel.VERSION_ID ?? '';
  return {
    family,
    distribution: id,
    version,
    majorVersion: version.split('.')[0] ?? '',
    codename: rel.VERSION_CODENAME || rel.UBUNTU_CODENAME || '',
    prettyName: rel.PRETTY_NAME || rel.NAME || id,
  };
}

// lsblk -P escapes unsafe bytes as \xNN.
function unescapeLsblk(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function sizeOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

interface LsblkJsonNode {
  name?: string;
  kname?: string;
  path?: string;
  type?: string;
  size?: number | string;
  fstype?: string | null;
  mountpoint?: string | null;
  uuid?: string | null;
  children?: LsblkJsonNode[];
}

/** Parses `lsblk --json` (tree, flattened with parents) or `lsblk -P` (flat pairs, for util-linux < 2.27). */
export function parseLsblk(text: string): BlockDevice[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const out: BlockDevice[] = [];
  if (trimmed.startsWith('{')) {
    const doc = JSON.parse(trimmed) as { blockdevices?: LsblkJsonNode[] };
    const walk = (nodes: LsblkJsonNode[] | undefined, parent: string | null): void => {
      for (const n of nodes ?? []) {
        const name = n.name ?? n.kname ?? '';
        out.push({
          name,
          path: n.path ?? `/dev/${name}`,
          type: n.type ?? '',
          sizeBytes: sizeOf(n.size),
          fstype: strOrNull(n.fstype),
          mountpoint: strOrNull(n.mountpoint),
          uuid: strOrNull(n.uuid),
          parent,
        });
        walk(n.children, name);
      }
    };
    walk(doc.blockdevices, null);
    return out;
  }
  for (const line of trimmed.split('\n')) {
    const f: Record<string, string> = {};
    for (const m of line.matchAll(/([A-Z:-]+)="([^"]*)"/g)) f[m[1]!] = unescapeLsblk(m[2]!);
    if (!f.NAME) throw new Error(`unrecognised lsblk line: ${JSON.stringify(line.slice(0, 80))}`);
    const type = f.TYPE ?? '';
    // Without PATH, device-mapper devices (LVs, crypt) live under /dev/mapper by their NAME.
    const path = f.PATH || (['lvm', 'crypt', 'dm', 'mpath'].includes(type) ? `/dev/mapper/${f.NAME}` : `/dev/${f.KNAME || f.NAME}`);
    out.push({
      name: f.NAME,
      path,
      type,
      sizeBytes: sizeOf(f.SIZE),
      fstype: strOrNull(f.FSTYPE),
      mountpoint: strOrNull(f.MOUNTPOINT),
      uuid: strOrNull(f.UUID),
      parent: null,
    });
  }
  return out;
}

/** Parses /proc/self/mountinfo, or /proc/mounts when that is what was read. */
export function parseMounts(text: string): Mount[] {
  const first = text.split('\n').find((l) => l.trim()) ?? '';
  if (first.split(' ').indexOf('-', 6) >= 0) {
    return parseMountinfo(text).map((m) => ({ source: m.source, mountpoint: m.mountPoint, fstype: m.fstype, options: m.options, device: m.majorMinor }));
  }
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    // /proc/mounts: SOURCE MOUNTPOINT FSTYPE OPTIONS 0 0
    if (f.length >= 4) out.push({ source: unescapeOctal(f[0]!), mountpoint: unescapeOctal(f[1]!), fstype: f[2]!, options: f[3]!.split(','), device: null });
  }
  return out;
}

/** Parses the `tool=path` lines of the tools section (empty path: not installed): whether each of `tools` is there, and where. */
export function parseTools(text: string, tools: readonly string[]): ToolFacts {
  const paths: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([\w.+-]+)=(.*)$/.exec(line);
    if (m && m[2]) paths[m[1]!] = m[2];
  }
  const out: ToolFacts = { paths };
  for (const t of tools) out[toolFactName(t)] = Object.hasOwn(paths, t);
  return out;
}

function meminfoMb(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m ? Math.floor(Number(m[1]) / 1024) : null;
}

// lvm2 exit codes: 127 not installed; 5 (ECMD_FAILED) is what a non-root user gets.
function lvmFacts(vgs: Section | undefined, lvs: Section | undefined, warnings: string[]): LvmFacts {
  const missing = [vgs, lvs].some((s) => s?.rc === 127);
  if (missing) return { status: 'missing', error: 'lvm2 is not installed (vgs/lvs not found)', vgs: [], lvs: [] };
  const failed = [['vgs', vgs] as const, ['lvs', lvs] as const].find(([, s]) => !s || s.rc !== 0);
  if (failed) {
    const [name, s] = failed;
    const error = s
      ? `${name} exited ${s.rc}${s.rc === 5 ? ' (lvm needs root: gather facts with become)' : ''}`
      : `${name} printed nothing`;
    warnings.push(`lvm: ${error}`);
    return { status: 'failed', error, vgs: [], lvs: [] };
  }
  try {
    return {
      status: 'ok',
      vgs: parseVgs(vgs!.text),
      lvs: parseLvs(lvs!.text),
    };
  } catch (e) {
    const error = `cannot read the lvm2 JSON report: ${(e as Error).message}`;
    warnings.push(`lvm: ${error}`);
    return { status: 'failed', error, vgs: [], lvs: [] };
  }
}

/** Assembles Facts from the whole output of factsCommand(token); throws FactsParseError only when no section is found. */
export function parseFacts(stdout: string, token: string, tools: readonly string[]): Facts {
  const { sections, broken } = splitSections(stdout, token);
  if (sections.size === 0) {
    throw new FactsParseError(
      `gather_facts: the output has no framed sections (got ${stdout.length} bytes starting ${JSON.stringify(stdout.slice(0, 60))}); ` +
        'the facts command did not run under /bin/sh',
    );
  }
  const warnings: string[] = broken ? [`the output is cut short: ${broken}`] : [];
  // A section that is absent or failed yields '' and a warning; the callers below see text or ''.
  const read = (name: string): string => {
    const s = sections.get(name);
    if (!s) warnings.push(`${name}: section missing from the output`);
    else if (s.rc !== 0) warnings.push(`${name}: exited ${s.rc}${s.stderr ? `: ${s.stderr.split('\n')[0]}` : ''}`);
    return s && s.rc === 0 ? s.text : '';
  };
  const os = osFacts(parseOsRelease(read('os_release')));
  const uname = read('uname');
  const [, kernel = '', architecture = ''] = uname.trim().split(/\s+/);
  const meminfo = read('meminfo');
  const cpus = parseInt(read('cpus').trim(), 10);
  let blockDevices: BlockDevice[] = [];
  try {
    blockDevices = parseLsblk(read('lsblk'));
  } catch (e) {
    warnings.push(`lsblk: cannot parse its output: ${(e as Error).message}`);
  }
  // sections whose absence is normal (no default route, not Debian, no reverse name, not Xen): no warning
  const optional = (name: string): string => (sections.get(name)?.rc === 0 ? sections.get(name)!.text : '');
  const ansible = ansibleFacts({
    os,
    uname,
    nodename: read('nodename'),
    fqdn: optional('fqdn'),
    debianVersion: optional('debian_version'),
    meminfo,
    cpuinfo: read('cpuinfo'),
    xen: optional('xen'),
    nproc: Number.isFinite(cpus) ? cpus : 0,
    ipRoute: optional('ip_route'),
    ipAddr: read('ip_addr'),
    netdev: read('netdev'),
    mtab: read('mtab'),
    mountinfo: optional('mounts'),
    uuids: new Map(blockDevices.filter((d) => d.uuid).map((d) => [d.path, d.uuid!])),
    env: read('env'),
    user: read('user'),
    pkg: read('pkg'),
    init: read('init'),
  });
  return {
    os,
    kernel,
    architecture,
    hostname: read('hostname').trim(),
    memoryMb: meminfoMb(meminfo, 'MemTotal') ?? 0,
    memoryAvailableMb: meminfoMb(meminfo, 'MemAvailable'),
    cpus: Number.isFinite(cpus) ? cpus : 0,
    blockDevices,
    lvm: lvmFacts(sections.get('vgs'), sections.get('lvs'), warnings),
    mounts: parseMounts(read('mounts')),
    tools: parseTools(read('tools'), tools),
    ansible,
    warnings,
  };
}
