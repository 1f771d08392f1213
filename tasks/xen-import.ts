// xen_import: read the Xen guest configurations of a hypervisor (xl.cfg files, and libvirt
// domains when asked) in one read-only round trip, and turn them into inventory data.
import { z } from 'zod';
import { TaskFailedError, formatProblem, type Problem } from '../runner/errors.js';
import { globToRegExp } from '../runner/inventory/patterns.js';
import { BATCH_RECORD_FUNCTION, newBatchToken, parseBatch } from '../runner/batch-read.js';
import { sh, type Command } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import type { XenGuest } from './xen/guest.js';
import { parseXenConfig, type ConfigOrigin } from './xen/import.js';
import { chooseRootDisk, guestToInventoryVars, type GuestInventoryVars } from './xen/inventory-vars.js';
import { pathField } from './lib/schema.js';

/** The inventory group the imported guests are put in. */
export const XEN_GUESTS_GROUP = 'xen_guests';

const DEFAULT_PATHS = ['/etc/xen/*.cfg'];

const params = z.strictObject({
  paths: z
    .union([pathField('a path or glob'), z.array(pathField('a path or glob')).min(1)])
    .default(DEFAULT_PATHS)
    .describe('xl.cfg files to read: paths or shell globs (*, ?, [..]), expanded on the host. A glob that matches nothing is no error; a plain path that does not exist is'),
  libvirt: z.boolean().default(false).describe('Also read the libvirt domains (`virsh list --all`, `virsh dumpxml` each) when virsh is installed; a guest already read from an xl.cfg is not read twice'),
  libvirt_uri: z.string().min(1).default('xen:///').describe('The libvirt connection URI virsh uses (libvirt: true)'),
  include: z.array(z.string().min(1)).default([]).describe('Only guests whose name matches one of these globs (default: all)'),
  exclude: z.array(z.string().min(1)).default([]).describe('Leave out guests whose name matches one of these globs'),
});

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
}

function parseSource(s: XenSource, problems: Problem[]): XenGuest | undefined {
  const r = parseXenConfig(s);
  problems.push(...r.problems);
  return r.guest;
}

function varsOf(g: XenGuest, s: XenSource, hypervisor: string | undefined): ImportedGuestVars {
  const { xen_config, ...rest } = guestToInventoryVars(g);
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
    const vars = varsOf(g, s, o.hypervisor);
    const rootWarning = chooseRootDisk(g).warning;
    if (rootWarning !== undefined) data.warnings.push(`${s.path}: ${rootWarning}`);
    data.inventory[XEN_GUESTS_GROUP].hosts[name] = vars;
    data.guests.push({ name, ...vars });
  }
  return data;
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

// The host-side reader, framed as every batched read is (runner/batch-read.ts). Patterns arrive as
// positional parameters: with IFS empty an unquoted $pat is glob-expanded but never split or
// re-parsed, so `$(…)` or a space in a name stays a name. A record's name is its kind and its name.
const READER = `ferry_tok=$1; uri=$2; shift 2
IFS=
LC_ALL=C; export LC_ALL
set +f
${BATCH_RECORD_FUNCTION}
for pat in "$@"; do
  for f in $pat; do
    if [ -d "$f" ]; then ferry_rec "dir $f" true
    elif [ ! -e "$f" ]; then ferry_rec "missing $f" true
    else ferry_rec "file $f" cat -- "$f"
    fi
  done
done
[ -n "$uri" ] || exit 0
if ! command -v virsh >/dev/null 2>&1; then ferry_rec "novirsh -" true; exit 0; fi
names=$(virsh -c "$uri" list --all --name 2>&1 </dev/null); rc=$?
# the list is read once (its names drive the loop below) and then framed as its own record
ferry_rec "list -" eval 'printf %s "$names"; exit $rc'
[ "$rc" = 0 ] || exit 0
printf '%s\\n' "$names" | while read -r d; do
  [ -z "$d" ] || ferry_rec "domain $d" virsh -c "$uri" dumpxml --domain "$d"
done
`;

/** The one read-only command that prints every matching file (and, given a URI, every libvirt domain's XML). */
export function xenReadCommand(paths: string[], libvirtUri: string | undefined, token: string): Command {
  return sh`sh -c ${READER} ferry-xen-import ${token} ${libvirtUri ?? ''} ${paths}`;
}

const KINDS = ['file', 'dir', 'missing', 'novirsh', 'list', 'domain'] as const;

/** One record the reader printed. */
export interface ReaderRecord {
  kind: (typeof KINDS)[number];
  name: string;
  body: string;
  exitCode: number;
  stderr: string;
}

/** Splits the reader's output into its records; throws TaskFailedError when the framing is broken (output cut short). */
export function parseReaderOutput(stdout: string, token: string): ReaderRecord[] {
  const { records, broken } = parseBatch(stdout, token);
  if (broken) throw new TaskFailedError(`xen_import: the reader's framing broke: ${broken}`);
  return records.map(({ name, ...r }) => {
    const space = name.indexOf(' ');
    const kind = name.slice(0, space) as ReaderRecord['kind'];
    if (space < 0 || !KINDS.includes(kind)) throw new TaskFailedError(`xen_import: a record of an unknown kind: ${JSON.stringify(name)}`);
    return { kind, name: name.slice(space + 1), ...r };
  });
}

const GLOB_CHARS = /[*?[]/;

/** Turns the reader's records into sources, read problems and warnings (pure: decide's half). */
export function sourcesFromRecords(records: ReaderRecord[], patterns: string[], libvirtUri: string): { sources: XenSource[]; problems: Problem[]; warnings: string[] } {
  const sources: XenSource[] = [];
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const literal = new Set(patterns.filter((p) => !GLOB_CHARS.test(p)));
  for (const r of records) {
    if (r.kind === 'file') {
      if (r.exitCode === 0) sources.push({ path: r.name, text: r.body, origin: 'xl' });
      else problems.push({ loc: { file: r.name, line: 1 }, message: `cannot read: ${r.stderr.trim() || `cat exit ${r.exitCode}`}`, hint: 'become: true reads files only root may read' });
    } else if (r.kind === 'missing' || r.kind === 'dir') {
      // An unmatched glob comes back as itself: not an error. A named file that is not there is.
      if (literal.has(r.name)) {
        problems.push({ loc: { file: r.name, line: 1 }, message: r.kind === 'dir' ? 'is a directory, not an xl.cfg' : 'no such file', hint: r.kind === 'dir' ? `use ${r.name.replace(/\/$/, '')}/*.cfg` : 'check paths' });
      }
    } else if (r.kind === 'novirsh') {
      warnings.push('libvirt: true but virsh is not installed: only xl.cfg files were read');
    } else if (r.kind === 'list') {
      if (r.exitCode !== 0) warnings.push(`virsh -c ${libvirtUri} list failed (exit ${r.exitCode}): ${r.body.trim()}`);
    } else if (r.exitCode === 0) {
      sources.push({ path: `virsh -c ${libvirtUri} dumpxml ${r.name}`, text: r.body, origin: 'libvirt', domain: r.name });
    } else {
      problems.push({ loc: { file: `virsh -c ${libvirtUri} dumpxml ${r.name}`, line: 1 }, message: `cannot read the domain: ${r.stderr.trim() || `exit ${r.exitCode}`}` });
    }
  }
  return { sources, problems, warnings };
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

/** The patterns of a paths parameter as a list. */
export function pathList(paths: string | string[]): string[] {
  return typeof paths === 'string' ? [paths] : paths;
}

type Params = z.output<typeof params>;

/** What xen_import's read found: the host it read on and the reader's records. */
export interface XenImportFacts {
  host: string;
  records: ReaderRecord[];
}

/** Runs the one read-only reader; a reader that fails or whose framing broke fails the task. */
async function readXenImport(ctx: TaskContext, p: Params): Promise<XenImportFacts> {
  const token = newBatchToken();
  const r = await ctx.run(xenReadCommand(pathList(p.paths), p.libvirt ? p.libvirt_uri : undefined, token));
  if (r.exitCode !== 0) throw new TaskFailedError(`xen_import: reading the configs failed: ${describeFailure(r)}`, { stderr: r.stderr });
  return { host: ctx.host, records: parseReaderOutput(r.stdout, token) };
}

/** Decides xen_import (pure): never a change; the guests, the inventory fragment and the problems as the result. */
export function decideXenImport(p: Params, f: XenImportFacts): Verdict {
  const read = sourcesFromRecords(f.records, pathList(p.paths), p.libvirt_uri);
  const data = buildXenImport(read.sources, { include: p.include, exclude: p.exclude, hypervisor: f.host }, read.problems);
  data.warnings.push(...read.warnings);
  return { changed: false, reason: xenImportReason(data), data: data as unknown as Record<string, unknown> };
}

export const xenImportModule = defineModule({
  name: 'xen_import',
  params,
  doc: {
    summary: 'Read a hypervisor\'s Xen guest configs (xl.cfg, optionally libvirt domains) into inventory data',
    description:
      'Reads every matching xl.cfg (and with libvirt: true every domain virsh lists) in one read-only command, ' +
      'parses them on the controller, and registers the guests and an inventory fragment (group xen_guests, ' +
      'one host per guest with vg, lv, root_device, extra_disks, xen_config, memory_mb, vcpus, mac, bridge, uuid, disks, vifs, ' +
      'ferry_hypervisor). vg/lv are the root disk\'s: the disk whose vdev is the device root= names on the kernel command line ' +
      '(root_device, e.g. xvda2 from xl\'s root = \'/dev/xvda2 ro\', extra or cmdline; set when the guest has more than one disk), else the first LV-backed disk; ' +
      'when a guest has several LV-backed disks and root= does not tell which is the root (absent, UUID=, LABEL=), that is warned ' +
      'about: set lv, root_device and extra_disks by hand. extra_disks lists every other disk (not cdroms) in config order as ' +
      '{source, vg, lv, xen: its Xen vdev, kvm: the virtio disk it becomes, vdb, vdc, ...}; a xen-tools guest (swap on xvda1, ' +
      'root on xvda2) gets lv = the root LV and extra_disks = [{xen: xvda1, kvm: vdb, ...}]. A file that does not parse is listed in problems with file:line and warned about; ' +
      'the others are still imported. Never changes anything.',
    checkMode: 'full',
    result: {
      guests: 'list of {name, ...the guest\'s inventory variables}, in the order read',
      inventory: 'the inventory fragment: {xen_guests: {hosts: {NAME: vars}}}',
      problems: 'list of {loc: {file, line}, message, hint} for files that could not be read or parsed',
      files: 'the xl.cfg files read',
      skipped: 'guests left out on purpose: {name, source, why}',
      warnings: 'virsh missing or failing (libvirt: true); a guest whose root disk is a guess among several LVs',
    },
    example: [
      '- name: read the guests of this hypervisor',
      '  xen_import:',
      "    paths: ['/etc/xen/*.cfg', '/etc/xen/auto/*.cfg']",
      "    exclude: ['test-*']",
      '  register: xen',
      '',
      '- name: show where each root LV is',
      '  debug:',
      '    msg: "{{ item.name }}: {{ item.vg }}/{{ item.lv }} (root {{ item.root_device | default(\'?\') }}), {{ item.extra_disks | default([]) | length }} more disk(s)"',
      '  loop: "{{ xen.guests }}"',
    ].join('\n'),
  },
  read: readXenImport,
  decide: decideXenImport,
});
