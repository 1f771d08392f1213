// Signatures on a device: `blkid -p -o export` (filesystem type, UUID, label, partition table)
// and `wipefs --no-act --output TYPE,OFFSET --noheadings` (every signature wipefs would erase).

/** Parses `blkid -o export` output into its KEY=value pairs. */
export function parseBlkidExport(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    // blkid -o export escapes shell-special characters in values with a backslash.
    out[line.slice(0, i)] = line.slice(i + 1).replace(/\\(.)/g, '$1');
  }
  return out;
}

/** What blkid found on a device. */
export interface BlockSignature {
  /** Filesystem (or swap, LVM2_member...) type; undefined when there is none. */
  type?: string;
  uuid?: string;
  label?: string;
  /** Partition table type (dos, gpt) when the device holds one. */
  ptType?: string;
}

/** Interprets a `blkid -p -o export DEV` run: exit 2 means nothing was found, other non-zero exits are errors. */
export function interpretBlkidProbe(exitCode: number | null, stdout: string, stderr: string, dev: string): BlockSignature {
  if (exitCode === 2) return {};
  if (exitCode !== 0) throw new Error(`blkid -p ${dev} failed (exit ${exitCode}): ${stderr.trim() || stdout.trim()}`);
  const kv = parseBlkidExport(stdout);
  const sig: BlockSignature = {};
  if (kv.TYPE) sig.type = kv.TYPE;
  if (kv.UUID) sig.uuid = kv.UUID;
  if (kv.LABEL) sig.label = kv.LABEL;
  if (kv.PTTYPE) sig.ptType = kv.PTTYPE;
  return sig;
}

/** One signature wipefs reports. */
export interface WipefsSignature {
  type: string;
  offset: number;
}

/** Parses `wipefs --no-act --output TYPE,OFFSET --noheadings DEV`. */
export function parseWipefs(stdout: string): WipefsSignature[] {
  const out: WipefsSignature[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\S+)\s+(0x[0-9a-f]+|\d+)\s*$/i.exec(line);
    if (m) out.push({ type: m[1]!, offset: Number(m[2]) });
  }
  return out;
}

const TABLE_SIGNATURES = new Set(['dos', 'gpt', 'PMBR']);

/** Signatures that are not a partition table (a filesystem, swap, an LVM PV, RAID...): data a repartition would bury. */
export function dataSignatures(sigs: WipefsSignature[]): WipefsSignature[] {
  return sigs.filter((s) => !TABLE_SIGNATURES.has(s.type));
}
