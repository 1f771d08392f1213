// What Debian's package tools print, as pure parsers for the apt and package modules: dpkg-query's
// status of the named packages, apt-get --simulate's plan (Inst/Remv/Purg lines) and its errors,
// dpkg-deb's control fields, and the apt cache's age. Text in, values out.
import type { ToolOutput } from '../../runner/module.js';

// Debian Policy 5.6.1 (Package) and 5.6.12 (Version): what a name and a version may hold. A spec
// is NAME[:ARCH][=VERSION]; nothing else reaches apt-get, so no value is an option or a regex.
const NAME = '[a-z0-9][a-z0-9+.-]*';
const ARCH = '[a-z0-9][a-z0-9-]*';
const VERSION = '[0-9A-Za-z.+~:-]+';
const SPEC = new RegExp(`^(${NAME})(?::(${ARCH}))?(?:=(${VERSION}))?$`);

/** One package as a task names it: `nginx`, `libc6:i386`, `hello=2.10-3`. */
export interface PackageSpec {
  /** As given (what apt-get gets). */
  spec: string;
  name: string;
  arch?: string;
  version?: string;
}

/** Why `spec` is not a package apt-get would take literally (a leading '-', a wildcard, a regex, `>=`). */
export function packageSpecProblem(spec: string): string | undefined {
  const bad = `'${spec}' is not a Debian package name`;
  if (spec.startsWith('-')) return `${bad}: it starts with '-', so apt-get would read it as an option`;
  if (/[*?[\]]/.test(spec)) return `${bad}: ferry does not expand wildcards (apt-get would read it as a pattern); list the packages by name`;
  if (/[<>]=?/.test(spec)) return `${bad}: a version comparison is not supported; pin a version with name=VERSION`;
  if (/[A-Z]/.test(spec.split('=')[0]!)) return `${bad}: Debian package names are lower case (Debian Policy 5.6.1)`;
  if (!SPEC.test(spec)) return `${bad}: write NAME, NAME:ARCH or NAME=VERSION (a name is lower-case letters, digits and + . -, starting with a letter or digit)`;
  return undefined;
}

/** The parts of a spec packageSpecProblem accepted. */
export function parsePackageSpec(spec: string): PackageSpec {
  const m = SPEC.exec(spec);
  if (!m) throw new Error(packageSpecProblem(spec) ?? `bad package spec ${spec}`);
  return { spec, name: m[1]!, ...(m[2] ? { arch: m[2] } : {}), ...(m[3] ? { version: m[3] } : {}) };
}

/** The dpkg-query -W format read uses: one tab-separated line per package dpkg knows. */
export const DPKG_QUERY_FORMAT = '${Package}\\t${Architecture}\\t${Version}\\t${db:Status-Abbrev}\\n';

/** A package as dpkg knows it. */
export interface DpkgPackage {
  name: string;
  arch: string;
  version: string;
  /** dpkg's status letter: i installed, c config-files left, n not installed, U/H/F/W/t part-way. */
  status: string;
}

/** The packages in `dpkg-query -W -f=DPKG_QUERY_FORMAT` output (exit 1 only means some name is unknown to dpkg). */
export function parseDpkgQuery(out: ToolOutput): DpkgPackage[] {
  if (out.exitCode !== 0 && out.exitCode !== 1) throw new Error(`dpkg-query failed (exit ${out.exitCode}): ${out.stderr.trim()}`);
  return out.stdout.split('\n').flatMap((l) => {
    const [name, arch, version, abbrev] = l.split('\t');
    return name && arch !== undefined && version !== undefined && abbrev ? [{ name, arch, version, status: abbrev.charAt(1) }] : [];
  });
}

/** Whether dpkg has the package unpacked (anything but not-installed and config-files), as python-apt's is_installed says. */
export function isInstalled(p: DpkgPackage): boolean {
  return p.status !== 'n' && p.status !== 'c';
}

/** The package of dpkg's list a spec names (its arch when given), installed ones first. */
export function findPackage(pkgs: DpkgPackage[], s: PackageSpec): DpkgPackage | undefined {
  const same = pkgs.filter((p) => p.name === s.name && (s.arch === undefined || p.arch === s.arch || p.arch === 'all'));
  return same.find(isInstalled) ?? same[0];
}

/**
 * The packages (real or virtual) `apt-cache policy -- NAME...` printed a section for. apt-cache, like
 * apt-get, reads a name it does not know as a regular expression (`gzi.` → every package matching),
 * so a name is known only when a section carries exactly that name.
 */
export function parsePolicyNames(out: ToolOutput): Set<string> {
  return new Set(out.stdout.split('\n').flatMap((l) => {
    const m = /^(\S+):$/.exec(l);
    return m ? [m[1]!] : [];
  }));
}

/** The name apt knows a spec by: NAME or NAME:ARCH. */
export function specKey(s: PackageSpec): string {
  return s.arch ? `${s.name}:${s.arch}` : s.name;
}

/** One change apt-get --simulate announces. */
export interface AptChange {
  action: 'install' | 'upgrade' | 'downgrade' | 'remove' | 'purge';
  name: string;
  /** The version installed now (upgrade, remove, purge). */
  from?: string;
  /** The version it installs (install, upgrade). */
  to?: string;
}

/** What apt-get --simulate said it would do. */
export interface AptSimulation {
  changes: AptChange[];
  /** Why apt-get refused (its E: lines), when it exited non-zero. */
  error?: string;
  /** The message Ansible gives for the same refusal ("no available installation candidate for x=9"). */
  message?: string;
}

/** The plan in `apt-get --simulate` output: its Inst/Remv/Purg lines and its errors. */
export function parseAptSimulation(out: ToolOutput): AptSimulation {
  const changes: AptChange[] = [];
  for (const line of out.stdout.split('\n')) {
    const m = /^(Inst|Remv|Purg) (\S+)(?: \[([^\]]*)\])?(?: \(([^\s)]+))?/.exec(line);
    if (!m) continue;
    const [, verb, name, from, to] = m;
    const action = verb === 'Inst' ? (!from ? 'install' : to && compareVersions(to, from) < 0 ? 'downgrade' : 'upgrade') : verb === 'Remv' ? 'remove' : 'purge';
    changes.push({ action, name: name!, ...(from ? { from } : {}), ...(to ? { to } : {}) });
  }
  if (out.exitCode === 0) return { changes };
  const errors = (out.stderr + '\n' + out.stdout).split('\n').filter((l) => l.startsWith('E: ')).map((l) => l.slice(3).trim());
  const error = errors.join('; ') || out.stderr.trim() || `exit ${out.exitCode}`;
  return { changes, error, message: ansibleMessage(errors) ?? error };
}

/** Ansible's apt module message for apt-get's first error it has one for. */
function ansibleMessage(errors: string[]): string | undefined {
  for (const e of errors) {
    let m = /^Unable to locate package (.+)$/.exec(e);
    if (m) return `No package matching '${m[1]}' is available`;
    m = /^Version '(.+)' for '(.+)' was not found$/.exec(e);
    if (m) return `no available installation candidate for ${m[2]}=${m[1]}`;
    m = /^Package '(.+)' has no installation candidate$/.exec(e);
    if (m) return `no available installation candidate for ${m[1]}`;
  }
  return undefined;
}

/** A change as a person reads it: `hello (2.10-3)`, `hello (2.10-2 → 2.10-3)`. */
export function describeChange(c: AptChange): string {
  if (c.action === 'upgrade' || c.action === 'downgrade') return `${c.name} (${c.from} → ${c.to})`;
  const v = c.to ?? c.from;
  return v ? `${c.name} (${v})` : c.name;
}

/** The control fields `dpkg-deb --field DEB Package Version Architecture` printed. */
export function parseDebFields(out: ToolOutput, path: string): { name: string; version: string; arch: string } {
  if (out.exitCode !== 0) throw new Error(`cannot read ${path} as a Debian package: ${out.stderr.trim() || `dpkg-deb exit ${out.exitCode}`}`);
  const f = Object.fromEntries(out.stdout.split('\n').flatMap((l) => {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(l);
    return m ? [[m[1]!, m[2]!.trim()]] : [];
  }));
  if (!f.Package || !f.Version) throw new Error(`${path} has no Package or Version field`);
  return { name: f.Package, version: f.Version, arch: f.Architecture ?? '' };
}

/** The paths whose time tells when the cache was last updated, as Ansible's apt reads them (the stamp first). */
export const CACHE_STAMPS = ['/var/lib/apt/periodic/update-success-stamp', '/var/lib/apt/lists'] as const;

/**
 * The host's clock and the cache's update time from `stat -c '%Y %n' STAMPS; date +%s`: the
 * success stamp's time when it exists, else the lists directory's, else 0.
 */
export function parseCacheTime(out: ToolOutput): { now: number; updated: number } {
  const lines = out.stdout.trim().split('\n');
  const now = Number(lines.pop());
  if (!Number.isFinite(now)) throw new Error(`cannot read the host's clock: ${out.stdout.trim()}`);
  const times = new Map(lines.map((l) => { const [t, ...n] = l.split(' '); return [n.join(' '), Number(t)] as const; }));
  const updated = CACHE_STAMPS.map((p) => times.get(p)).find((t) => t !== undefined) ?? 0;
  return { now, updated };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** A character's weight in dpkg's comparison: ~ before the end, the end before letters, letters before other signs. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  return /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256;
}

/** dpkg's comparison of two upstream versions or revisions: runs of non-digits by weight, runs of digits as numbers. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = weight(a[i]) - weight(b[j]);
      if (d) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first) return first;
  }
  return 0;
}

/** Compares two Debian versions (deb-version(7): epoch, upstream version, revision) as dpkg does: <0, 0 or >0. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
  };
  const x = split(a);
  const y = split(b);
  return x.epoch - y.epoch || compareParts(x.upstream, y.upstream) || compareParts(x.revision, y.revision);
}
