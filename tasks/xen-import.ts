// xen_import: read the Xen guest configurations of a hypervisor (xl.cfg files, and libvirt
// domains when asked) in one read-only round trip, and turn them into inventory data. The read:
// tasks/xen/reader.ts; the guests and the inventory fragment: tasks/xen/import-data.ts.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { batchCommand, newBatchToken, parseBatch } from '../runner/batch-read.js';
import { sh } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { buildXenImport, disksToWatch, xenImportReason } from './xen/import-data.js';
import { parseBlkidExport } from './storage/blkid.js';
import type { DiskFilesystem } from './xen/inventory-vars.js';
import { parseReaderOutput, pathList, sourcesFromRecords, xenReadCommand, type ReaderRecord } from './xen/reader.js';
import { pathField } from './lib/schema.js';

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

type Params = z.output<typeof params>;

/** What xen_import's read found: the host it read on and the reader's records. */
export interface XenImportFacts {
  host: string;
  records: ReaderRecord[];
  /** `blkid -o export` of the LVs that tell a guest's root apart (root=UUID=/LABEL= among several), by path; absent when none had to be read. */
  blkid?: Record<string, string>;
}

/**
 * Runs the one read-only reader; a reader that fails or whose framing broke fails the task. Only
 * when a guest names its root by UUID= or LABEL= and has several LVs, a second read-only command
 * asks blkid for those LVs' filesystems (a device blkid cannot read is left out: the guess stays, warned).
 */
async function readXenImport(ctx: TaskContext, p: Params): Promise<XenImportFacts> {
  const token = newBatchToken();
  const r = await ctx.run(xenReadCommand(pathList(p.paths), p.libvirt ? p.libvirt_uri : undefined, token));
  if (r.exitCode !== 0) throw new TaskFailedError(`xen_import: reading the configs failed: ${describeFailure(r)}`, { stderr: r.stderr });
  const facts: XenImportFacts = { host: ctx.host, records: parseReaderOutput(r.stdout, token) };
  const disks = disksToWatch(sourcesFromRecords(facts.records, pathList(p.paths), p.libvirt_uri).sources);
  if (disks.length) {
    // one batched read, a record per LV (named by its place in `disks`)
    const t = newBatchToken();
    const b = await ctx.run(batchCommand(disks.map((d, i) => ({ name: `d${i}`, cmd: sh`blkid -p -o export -- ${d}` })), t));
    const { records, broken } = parseBatch(b.stdout, t);
    if (b.exitCode !== 0 || broken) throw new TaskFailedError(`xen_import: reading the disks' filesystems failed: ${broken ?? describeFailure(b)}`, { stderr: b.stderr });
    facts.blkid = Object.fromEntries(records.filter((rec) => rec.exitCode === 0).map((rec) => [disks[Number(rec.name.slice(1))]!, rec.body]));
  }
  return facts;
}

/** Decides xen_import (pure): never a change; the guests, the inventory fragment and the problems as the result. */
export function decideXenImport(p: Params, f: XenImportFacts): Verdict {
  const read = sourcesFromRecords(f.records, pathList(p.paths), p.libvirt_uri);
  const filesystems: Record<string, DiskFilesystem> = Object.fromEntries(Object.entries(f.blkid ?? {}).map(([path, text]) => [path, parseBlkidExport(text)]));
  const data = buildXenImport(read.sources, { include: p.include, exclude: p.exclude, hypervisor: f.host, filesystems }, read.problems);
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
      'for root=UUID=... or root=LABEL=... and several LVs, a second read-only command asks blkid for those LVs\' filesystems ' +
      '(as root: become: true) and the LV holding that UUID or label is the root; ' +
      'when a guest has several LV-backed disks and root= still does not tell which is the root (absent, or no one LV matches), that is warned ' +
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
