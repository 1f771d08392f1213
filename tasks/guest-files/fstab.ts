// /etc/fstab of a guest moving from Xen to KVM. Only entry lines the edit has to change are
// rewritten, and in those only the changed field: the whitespace between fields is kept (a run
// of spaces is lengthened or shortened so the next column stays where it was).
//
// Xen-only entries (`xenfs` on /proc/xen) are commented out rather than deleted, with
// XEN_ONLY_PREFIX in front of the untouched original, so a rollback (or a person) can restore
// the exact line by removing the prefix.
import type { Problem } from '../../runner/errors.js';
import { mapDevice, renameDevice, type DeviceNameOptions } from './device-names.js';
import { editResult, isCommentOrBlank, joinLines, splitLines, XEN_ONLY_PREFIX, type EditResult } from './text-lines.js';

/** One fstab entry with the 1-based line it is on; freq/passno are absent when the line omits them. */
export interface FstabEntry {
  line: number;
  spec: string;
  file: string;
  vfstype: string;
  opts: string;
  freq?: string;
  passno?: string;
}

interface Field {
  text: string;
  /** The whitespace after the field ("" for the last one unless the line has trailing blanks). */
  sep: string;
}

function splitFields(line: string): { lead: string; fields: Field[] } {
  const lead = /^\s*/.exec(line)![0];
  const fields: Field[] = [];
  const re = /(\S+)(\s*)/g;
  re.lastIndex = lead.length;
  for (let m = re.exec(line); m; m = re.exec(line)) fields.push({ text: m[1], sep: m[2] });
  return { lead, fields };
}

function joinFields(lead: string, fields: Field[]): string {
  return lead + fields.map((f) => f.text + f.sep).join('');
}

/** Replaces one field's text, keeping the following column aligned when the separator is plain spaces. */
function replaceField(fields: Field[], i: number, text: string): void {
  const f = fields[i];
  const sep = /^ +$/.test(f.sep) ? ' '.repeat(Math.max(1, f.sep.length + f.text.length - text.length)) : f.sep;
  fields[i] = { text, sep };
}

/** Parses fstab text into entries (comments and blank lines skipped); lines with one field are problems. */
export function parseFstab(text: string, file = 'fstab'): { entries: FstabEntry[]; problems: Problem[] } {
  const entries: FstabEntry[] = [];
  const problems: Problem[] = [];
  splitLines(text).lines.forEach((line, i) => {
    if (isCommentOrBlank(line)) return;
    const f = splitFields(line).fields.map((x) => x.text);
    if (f.length < 2) {
      problems.push({
        loc: { file, line: i + 1 },
        message: `fstab entry has ${f.length} field(s), needs at least a device and a mount point`,
        hint: 'fix or comment out the line',
      });
      return;
    }
    const e: FstabEntry = { line: i + 1, spec: f[0], file: f[1], vfstype: f[2] ?? 'auto', opts: f[3] ?? 'defaults' };
    if (f[4] !== undefined) e.freq = f[4];
    if (f[5] !== undefined) e.passno = f[5];
    entries.push(e);
  });
  return { entries, problems };
}

/** What to change in an fstab; device names (renameSd, deviceMap) as renameDevice says. */
export interface FstabOptions extends DeviceNameOptions {
  /** Filesystem UUIDs that changed (old -> new), e.g. after mkfs + rsync; matched case-insensitively. */
  uuidMap?: Record<string, string>;
  /** Comment out xenfs entries (default true). */
  disableXenfs?: boolean;
}

/** One device an edit renamed through deviceMap. */
export interface FstabMapped {
  line: number;
  from: string;
  to: string;
}

/** An entry that names its filesystem by UUID/LABEL/PARTUUID/PARTLABEL: the caller checks it against the new disks. */
export interface FstabReference {
  line: number;
  kind: 'UUID' | 'LABEL' | 'PARTUUID' | 'PARTLABEL';
  value: string;
  file: string;
}

/** The fstab edit result plus the by-id references left for the caller to check. */
export interface FstabEditResult extends EditResult {
  references: FstabReference[];
  /** The devices renamed through deviceMap, in file order. */
  mapped: FstabMapped[];
}

const BY_ID = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/i;

/** Rewrites an fstab for KVM: xvd -> vd device names (or as deviceMap says), optional UUID rewrite, xenfs disabled; reports by-id entries. */
export function editFstab(text: string, opts: FstabOptions = {}): FstabEditResult {
  const file = splitLines(text);
  const notes: string[] = [];
  const references: FstabReference[] = [];
  const mapped: FstabMapped[] = [];
  // Each new device name with the line and device it came from: two devices must not become one.
  const became = new Map<string, { line: number; from: string }>();
  const uuidMap = new Map(Object.entries(opts.uuidMap ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const lines = file.lines.map((line, i) => {
    if (isCommentOrBlank(line)) return line;
    const { lead, fields } = splitFields(line);
    if (fields.length < 2) return line;
    const spec = fields[0].text;
    if ((fields[2]?.text ?? '') === 'xenfs' && (opts.disableXenfs ?? true)) {
      notes.push(`line ${i + 1}: xenfs on ${fields[1].text} commented out (it exists only under Xen)`);
      return XEN_ONLY_PREFIX + line;
    }
    // The map first, and each entry renamed once: xvda1 -> vdb is never also taken through xvd -> vd.
    const renamed = renameDevice(spec, opts);
    // What the map alone says, for the step title's list of mapped devices.
    const viaMap = opts.deviceMap ? mapDevice(spec, opts.deviceMap) : undefined;
    if (viaMap !== undefined && viaMap !== spec) mapped.push({ line: i + 1, from: spec, to: viaMap });
    const other = renamed !== undefined ? became.get(renamed) : undefined;
    if (renamed !== undefined && other !== undefined && other.from !== spec) {
      notes.push(`line ${i + 1}: ${spec} becomes ${renamed}, as ${other.from} on line ${other.line} does; check device_map`);
    } else if (renamed !== undefined) became.set(renamed, { line: i + 1, from: spec });
    if (renamed) {
      replaceField(fields, 0, renamed);
      return joinFields(lead, fields);
    }
    const byUuidPath = /^\/dev\/disk\/by-uuid\/(.+)$/.exec(spec);
    const m = BY_ID.exec(spec);
    const uuid = byUuidPath ? byUuidPath[1] : m && m[1].toUpperCase() === 'UUID' ? m[2] : undefined;
    const newUuid = uuid !== undefined ? uuidMap.get(uuid.toLowerCase()) : undefined;
    if (uuid !== undefined && newUuid !== undefined) {
      replaceField(fields, 0, byUuidPath ? `/dev/disk/by-uuid/${newUuid}` : `${m![1]}=${newUuid}`);
      notes.push(`line ${i + 1}: ${fields[1].text} now mounted by UUID ${newUuid} (was ${uuid})`);
      references.push({ line: i + 1, kind: 'UUID', value: newUuid, file: fields[1].text });
      return joinFields(lead, fields);
    }
    if (m) {
      references.push({
        line: i + 1,
        kind: m[1].toUpperCase() as FstabReference['kind'],
        value: m[2],
        file: fields[1].text,
      });
    }
    return line;
  });
  for (const r of references) {
    notes.push(`line ${r.line}: ${r.file} is mounted by ${r.kind}=${r.value}; check the converted disk has it`);
  }
  const out = joinLines({ lines, finalNewline: file.finalNewline });
  return { ...editResult(text, out, notes), references, mapped };
}
