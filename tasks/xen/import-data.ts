// What xen_import gives: each guest's inventory variables, the inventory fragment (group xen_guests),
// the problems and warnings, built from the configs read (pure); several hypervisors' imports merged.
import { formatProblem, type Problem } from '../../runner/errors.js';
import { globToRegExp } from '../../runner/inventory/patterns.js';
import type { XenGuest } from './guest.js';
import { parseXenConfig, type ConfigOrigin } from './import.js';
import { chooseRootDisk, disksToIdentify, guestToInventoryVars, type DiskFilesystem, type GuestInventoryVars } from './inventory-vars.js';

/** The inventory group the imported guests are put in. */
export const XEN_GUESTS_GROUP = 'xen_guests';

/** The variables of one imported guest: what guestToInventoryVars gives, plus where it was found. */
export type ImportedGuestVars = Omit<GuestInventoryVars, 'xen_config'> & {
  xen_config?: string;
  xen_origin: 'xl' | 'libvirt';
  libvirt_domain?: string;
  ferry_hypervisor?: string;
};

/** One guest as `register:` shows it (loop over these): its name and its inventory variables. */
export type ImportedGuest = { name: string } & ImportedGuestVars;

/** An Ansible YAML inventory fragment: the group of imported guests, each a host with its variables. */
export interface XenInventoryFragment {
  [XEN_GUESTS_GROUP]: { hosts: Record<string, ImportedGuestVars> };
}

/** What xen_import registers (and what `ferry xen-import` prints the inventory of). */
export interface XenImportData {
  guests: ImportedGuest[];
  inventory: XenInventoryFragment;
  /** Files that could not be read or parsed, each with file:line; the other guests are still imported. */
  problems: Problem[];
  /** The files read, in order. */
  files: string[];
  /** Guests left out on purpose, with why (include/exclude, already read from an xl.cfg). */
  skipped: { name: string; source: string; why: string }[];
  /** Things that did not stop the import (virsh missing or not connecting, a root disk that is a guess). */
  warnings: string[];
}

/** One configuration to import: the text of a file, or the XML of a libvirt domain. */
export interface XenSource {
  /** The file path, or for a libvirt domain a label naming where it came from (used in problems). */
  path: string;
  text: string;
  origin: ConfigOrigin;
  /** The libvirt domain name (origin libvirt). */
  domain?: string;
}

/** Options of buildXenImport. */
export interface XenImportOptions {
  include?: string[];
  exclude?: string[];
  /** The inventory host the configs were read on; set as ferry_hypervisor on each guest. */
  hypervisor?: string;
  /** The filesystems on the disks disksToWatch named, by source path, as blkid read them on the hypervisor. */
  filesystems?: Record<string, DiskFilesystem>;
}

function parseSource(s: XenSource, problems: Problem[]): XenGuest | undefined {
  const r = parseXenConfig(s);
  problems.push(...r.problems);
  return r.guest;
}

function varsOf(g: XenGuest, s: XenSource, hypervisor: string | undefined, filesystems: Record<string, DiskFilesystem>): ImportedGuestVars {
  const { xen_config, ...rest } = guestToInventoryVars(g, filesystems);
  const vars: ImportedGuestVars = s.origin === 'xl' ? { xen_config, ...rest, xen_origin: 'xl' } : { ...rest, xen_origin: 'libvirt', libvirt_domain: s.domain ?? g.name };
  if (hypervisor !== undefined) vars.ferry_hypervisor = hypervisor;
  return vars;
}

/** Parses every source, filters by name, refuses duplicate names, and builds the guests and the inventory fragment. */
export function buildXenImport(sources: XenSource[], o: XenImportOptions = {}, readProblems: Problem[] = []): XenImportData {
  const include = (o.include ?? []).map(globToRegExp);
  const exclude = (o.exclude ?? []).map(globToRegExp);
  const problems = [...readProblems];
  const data: XenImportData = { guests: [], inventory: { [XEN_GUESTS_GROUP]: { hosts: {} } }, problems, files: [], skipped: [], warnings: [] };
  const seen = new Map<string, { source: XenSource; line: number }>();
  for (const s of sources) {
    if (s.origin === 'xl') data.files.push(s.path);
    const g = parseSource(s, problems);
    if (!g) continue;
    // parseXlConfig refuses a cfg without a name; a domain XML always has one, but be sure.
    const name = g.name ?? s.domain;
    if (name === undefined) {
      problems.push({ loc: { file: s.path, line: 1 }, message: 'the guest has no name' });
      continue;
    }
    if ((include.length && !include.some((r) => r.test(name))) || exclude.some((r) => r.test(name))) {
      data.skipped.push({ name, source: s.path, why: 'left out by include/exclude' });
      continue;
    }
    const line = g.lines.name ?? 1;
    const first = seen.get(name);
    if (first) {
      // xl's guests show up in `virsh list` too (libvirt's xen driver sees every domain): the xl.cfg is the source.
      if (s.origin === 'libvirt' && first.source.origin === 'xl') {
        data.skipped.push({ name, source: s.path, why: `already read from ${first.source.path}` });
      } else {
        problems.push({
          loc: { file: s.path, line },
          message: `guest name '${name}' is also defined in ${first.source.path}:${first.line}; this one is left out`,
          hint: 'a hypervisor cannot run two guests of one name: remove the stale config, or leave it out with exclude / narrower paths',
        });
      }
      continue;
    }
    seen.set(name, { source: s, line });
    const vars = varsOf(g, s, o.hypervisor, o.filesystems ?? {});
    const rootWarning = chooseRootDisk(g, o.filesystems).warning;
    if (rootWarning !== undefined) data.warnings.push(`${s.path}: ${rootWarning}`);
    data.inventory[XEN_GUESTS_GROUP].hosts[name] = vars;
    data.guests.push({ name, ...vars });
  }
  return data;
}

/**
 * The disks whose filesystems must be read to tell a guest's root apart (root=UUID=/LABEL= among
 * several LVs), over every source that parses; no problems are kept (buildXenImport reports them).
 */
export function disksToWatch(sources: XenSource[]): string[] {
  return [...new Set(sources.flatMap((s) => {
    const g = parseSource(s, []);
    return g ? disksToIdentify(g) : [];
  }))];
}

/** Merges the imports of several hypervisors into one; a guest name seen on two hosts is a problem. */
export function mergeXenImports(parts: { host: string; data: XenImportData }[]): XenImportData {
  const out: XenImportData = { guests: [], inventory: { [XEN_GUESTS_GROUP]: { hosts: {} } }, problems: [], files: [], skipped: [], warnings: [] };
  const owner = new Map<string, string>();
  for (const { host, data } of parts) {
    const onHost = (f: string): string => (parts.length > 1 ? `${host}:${f}` : f);
    out.problems.push(...data.problems.map((p) => (p.loc && parts.length > 1 ? { ...p, loc: { ...p.loc, file: onHost(p.loc.file) } } : p)));
    out.files.push(...data.files.map(onHost));
    out.skipped.push(...data.skipped.map((s) => ({ ...s, source: onHost(s.source) })));
    out.warnings.push(...data.warnings.map((w) => (parts.length > 1 ? `${host}: ${w}` : w)));
    for (const g of data.guests) {
      const other = owner.get(g.name);
      if (other !== undefined) {
        out.problems.push({
          loc: { file: onHost(g.xen_config ?? g.libvirt_domain ?? g.name), line: 1 },
          message: `guest name '${g.name}' is also a guest of ${other}; this one is left out`,
          hint: 'an inventory host name must be unique: import the hypervisors one at a time, or exclude one of them',
        });
        continue;
      }
      owner.set(g.name, host);
      const { name, ...vars } = g;
      out.inventory[XEN_GUESTS_GROUP].hosts[name] = vars;
      out.guests.push(g);
    }
  }
  return out;
}

/** The plan's one-line summary: what was read, and a warning naming the first problem. */
export function xenImportReason(d: XenImportData): string {
  const n = d.guests.length;
  const from = [`${d.files.length} file${d.files.length === 1 ? '' : 's'}`];
  const domains = d.guests.filter((g) => g.xen_origin === 'libvirt').length;
  if (domains) from.push(`${domains} libvirt domain${domains === 1 ? '' : 's'}`);
  let reason = `read ${n} guest${n === 1 ? '' : 's'} from ${from.join(' and ')}`;
  if (d.skipped.length) reason += ` (${d.skipped.length} skipped)`;
  if (d.problems.length) {
    reason += `; WARNING: ${d.problems.length} problem${d.problems.length === 1 ? '' : 's'}, first: ${formatProblem({ ...d.problems[0], hint: undefined })}`;
  }
  for (const w of d.warnings) reason += `; WARNING: ${w}`;
  return reason;
}
