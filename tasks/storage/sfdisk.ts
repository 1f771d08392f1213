// Partition tables: `sfdisk --json` parsed, a wanted layout resolved to sectors and checked
// (overlap, beyond the device), compared with what is on disk, and rendered as an sfdisk script.
import { SECTOR, parseBytes } from './sizes.js';

export type Label = 'dos' | 'gpt';

/** One partition as sfdisk reports it (start and size in sectors). */
export interface PartitionEntry {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable: boolean;
}

/** A partition table as sfdisk reports it. */
export interface PartitionTable {
  label: Label;
  id: string;
  device: string;
  sectorSize: number;
  partitions: PartitionEntry[];
}

/** Parses `sfdisk --json DEVICE` output. */
export function parseSfdiskJson(stdout: string): PartitionTable {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new Error('sfdisk --json: output is not JSON', { cause: e });
  }
  const t = (doc as { partitiontable?: Record<string, unknown> }).partitiontable;
  if (!t) throw new Error('sfdisk --json: no "partitiontable" object');
  const label = String(t.label);
  if (label !== 'dos' && label !== 'gpt') throw new Error(`sfdisk --json: label '${label}' is not supported (dos and gpt are)`);
  const parts = Array.isArray(t.partitions) ? (t.partitions as Record<string, unknown>[]) : [];
  return {
    label,
    id: String(t.id ?? ''),
    device: String(t.device ?? ''),
    sectorSize: Number(t.sectorsize ?? SECTOR),
    partitions: parts.map((p) => ({
      node: String(p.node),
      start: Number(p.start),
      size: Number(p.size),
      type: String(p.type).toUpperCase(),
      bootable: p.bootable === true,
    })),
  };
}

/** True when sfdisk failed because the device has no partition table at all (the empty state, not an error). */
export function isNoPartitionTable(stderr: string): boolean {
  return /does not contain a recognized partition table/.test(stderr);
}

/** A partition as a task asks for it (sizes as written in the playbook). */
export interface PartitionRequest {
  start?: string | number;
  size: string | number; // or 'rest'
  type?: string;
  bootable?: boolean;
}

/** A partition resolved to sectors; `rest` means sfdisk chooses the end (it aligns it on gpt). */
export interface PartitionLayout {
  number: number;
  start: number;
  size: number;
  rest: boolean;
  type: string;
  bootable: boolean;
}

const ALIGN = 2048; // 1 MiB in 512-byte sectors: what sfdisk and parted use for the first partition
const GPT_TYPES: Record<string, string> = {
  linux: '0FC63DAF-8483-4772-8E79-3D69E47D7DE4',
  swap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  'bios-boot': '21686148-6449-6E6F-744E-656564726F6E',
  efi: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  lvm: 'E6D6D379-F507-44C2-A23C-238F2A3DF928',
};
const DOS_TYPES: Record<string, string> = { linux: '83', swap: '82', lvm: '8E', efi: 'EF' };

/** The sfdisk type code for a type name or code (`linux` → 83 on dos, the Linux GUID on gpt). */
export function resolveType(label: Label, type: string | undefined): string {
  const t = (type ?? 'linux').trim();
  const table = label === 'gpt' ? GPT_TYPES : DOS_TYPES;
  const named = table[t.toLowerCase()];
  if (named) return named;
  if (label === 'dos' && /^(0x)?[0-9a-f]{1,2}$/i.test(t)) return t.replace(/^0x/i, '').toUpperCase();
  if (label === 'gpt' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t)) return t.toUpperCase();
  throw new Error(
    `partition type '${t}' is not valid for a ${label} label: use ${Object.keys(table).join(', ')} or a ${label === 'gpt' ? 'type GUID' : 'hex code like 83'}`,
  );
}

function toSectors(v: string | number, what: string, sectorSize: number): number {
  const bytes = parseBytes(v);
  if (bytes % sectorSize !== 0) throw new Error(`${what} ${String(v)} is not a whole number of ${sectorSize}-byte sectors`);
  return bytes / sectorSize;
}

/** The last sector a partition may use (gpt keeps 33 sectors at the end for its backup header). */
export function lastUsableSector(label: Label, deviceSectors: number): number {
  return label === 'gpt' ? deviceSectors - 34 : deviceSectors - 1;
}

/**
 * Resolves requested partitions to sectors on a device of `deviceBytes`, and checks them:
 * a partition past the end of the device or overlapping another is an error here, before anything changes.
 */
export function planPartitionLayout(
  label: Label,
  requests: PartitionRequest[],
  deviceBytes: number,
  sectorSize = SECTOR,
): PartitionLayout[] {
  const deviceSectors = Math.floor(deviceBytes / sectorSize);
  const last = lastUsableSector(label, deviceSectors);
  if (label === 'dos' && requests.length > 4) throw new Error('a dos (msdos) label holds at most 4 primary partitions; use gpt');
  if (label === 'dos' && requests.filter((r) => r.bootable).length > 1) throw new Error('only one dos partition can be bootable');
  const out: PartitionLayout[] = [];
  let next = ALIGN;
  requests.forEach((r, i) => {
    const n = i + 1;
    const start = r.start !== undefined ? toSectors(r.start, `partition ${n} start`, sectorSize) : next;
    const rest = r.size === 'rest';
    if (rest && i !== requests.length - 1) throw new Error(`partition ${n}: size 'rest' is only allowed for the last partition`);
    const size = rest ? last - start + 1 : toSectors(r.size, `partition ${n} size`, sectorSize);
    if (size <= 0) throw new Error(`partition ${n}: no room left (starts at sector ${start}, device ends at ${last})`);
    const end = start + size - 1;
    if (start < (label === 'gpt' ? 34 : 1)) throw new Error(`partition ${n} starts at sector ${start}, inside the ${label} header`);
    if (end > last) {
      throw new Error(
        `partition ${n} ends at sector ${end}, beyond the device (last usable sector ${last}, ${deviceBytes} bytes)`,
      );
    }
    for (const o of out) {
      if (start <= o.start + o.size - 1 && o.start <= end) {
        throw new Error(`partition ${n} (sectors ${start}-${end}) overlaps partition ${o.number} (sectors ${o.start}-${o.start + o.size - 1})`);
      }
    }
    out.push({ number: n, start, size, rest, type: resolveType(label, r.type), bootable: r.bootable ?? false });
    next = Math.ceil((end + 1) / ALIGN) * ALIGN;
  });
  return out;
}

/** Renders the sfdisk script (read from stdin) that writes this layout. */
export function renderSfdiskScript(label: Label, layout: PartitionLayout[]): string {
  const lines = [`label: ${label}`, ''];
  for (const p of layout) {
    const fields = [`start=${p.start}`];
    if (!p.rest) fields.push(`size=${p.size}`);
    fields.push(`type=${p.type}`);
    if (p.bootable) fields.push('bootable');
    lines.push(fields.join(', '));
  }
  return lines.join('\n') + '\n';
}

/** Whether the table on disk is the wanted one; when not, says why in one line per difference. */
export function compareTable(current: PartitionTable | null, label: Label, layout: PartitionLayout[]): string[] {
  if (!current) return ['the device has no partition table'];
  const why: string[] = [];
  if (current.label !== label) why.push(`label is ${current.label}, want ${label}`);
  if (current.partitions.length !== layout.length) {
    why.push(`${current.partitions.length} partition(s) on disk, want ${layout.length}`);
  }
  layout.forEach((want, i) => {
    const have = current.partitions[i];
    if (!have) return;
    const n = want.number;
    if (have.start !== want.start) why.push(`partition ${n} starts at ${have.start}, want ${want.start}`);
    // sfdisk aligns the end of a "rest" partition on gpt, so accept an end up to one alignment unit short.
    const sizeOk = want.rest ? have.size <= want.size && have.size > want.size - ALIGN : have.size === want.size;
    if (!sizeOk) why.push(`partition ${n} has ${have.size} sectors, want ${want.rest ? `the rest (${want.size})` : want.size}`);
    if (have.type.toUpperCase() !== want.type.toUpperCase()) why.push(`partition ${n} type is ${have.type}, want ${want.type}`);
    if (label === 'dos' && have.bootable !== want.bootable) {
      why.push(`partition ${n} is ${have.bootable ? '' : 'not '}bootable, want ${want.bootable ? '' : 'not '}bootable`);
    }
  });
  return why;
}

/** Renders a table as the lines `sfdisk --dump` would show, for a human diff. */
export function describeTable(label: Label | null, parts: { start: number; size: number; type: string; bootable: boolean }[]): string {
  if (!label) return '(no partition table)\n';
  return [`label: ${label}`, ...parts.map((p, i) => `${i + 1}: start=${p.start}, size=${p.size}, type=${p.type}${p.bootable ? ', bootable' : ''}`)].join('\n') + '\n';
}

/** The device path of partition n: `/dev/sda1`, but `/dev/loop0p1` / `/dev/nvme0n1p1` when the name ends in a digit. */
export function partitionPath(device: string, n: number): string {
  return /\d$/.test(device) ? `${device}p${n}` : `${device}${n}`;
}
