// xfs facts and outcomes: the superblock as `xfs_db -r -c sb -c print` shows it, the geometry
// `xfs_info` (and `mkfs.xfs -N`) prints, what an `xfs_repair` run found, and the size xfs_growfs
// really gives a filesystem.
import { unescapeOctal } from './mountinfo.js';

/** The size of an xfs data section. */
export interface XfsGeometry {
  blockSize: number;
  dataBlocks: number;
  /** Blocks per allocation group. */
  agBlocks: number;
  agCount: number;
  sizeBytes: number;
}

/** The primary superblock, as far as the filesystem module needs it. */
export interface XfsSuperblock extends XfsGeometry {
  uuid: string;
  label: string;
}

function wholeNumber(v: string | undefined, what: string, tool: string): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isSafeInteger(n) || n <= 0) throw new Error(`${tool}: no ${what} in the output (is this an xfs filesystem?)`);
  return n;
}

/** Parses `xfs_db -r -c sb -c print DEV` (superblock 0, read-only: it works on an unmounted device or image). */
export function parseXfsDbSb(stdout: string): XfsSuperblock {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\w+) = (.*)$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const tool = 'xfs_db sb print';
  if (kv.get('magicnum') !== '0x58465342') throw new Error(`${tool}: the magic number is ${kv.get('magicnum') ?? 'missing'}, not XFSB (0x58465342): not an xfs filesystem`);
  const blockSize = wholeNumber(kv.get('blocksize'), 'blocksize', tool);
  const dataBlocks = wholeNumber(kv.get('dblocks'), 'dblocks', tool);
  const fname = /^"(.*)"$/.exec(kv.get('fname') ?? '""')?.[1] ?? '';
  return {
    blockSize,
    dataBlocks,
    agBlocks: wholeNumber(kv.get('agblocks'), 'agblocks', tool),
    agCount: wholeNumber(kv.get('agcount'), 'agcount', tool),
    sizeBytes: blockSize * dataBlocks,
    uuid: kv.get('uuid') ?? '',
    // The label field is 12 bytes, padded with NULs (xfs_db prints unprintable bytes as \ooo, as the kernel does in mountinfo).
    label: unescapeOctal(fname).replace(/\0+$/, ''),
  };
}

/** Parses the geometry `xfs_info MOUNTPOINT` prints (the same layout as `mkfs.xfs -N` and xfs_growfs). */
export function parseXfsInfo(stdout: string): XfsGeometry {
  const tool = 'xfs_info';
  const meta = /^meta-data=.*\bagcount=(\d+), agsize=(\d+) blks/m.exec(stdout);
  const data = /^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)/m.exec(stdout);
  if (!meta || !data) throw new Error(`${tool}: no "meta-data=... agcount" / "data = bsize= blocks=" lines in the output (is this an xfs filesystem?)`);
  const blockSize = wholeNumber(data[1], 'data bsize', tool);
  const dataBlocks = wholeNumber(data[2], 'data blocks', tool);
  return {
    blockSize,
    dataBlocks,
    agBlocks: wholeNumber(meta[2], 'agsize', tool),
    agCount: wholeNumber(meta[1], 'agcount', tool),
    sizeBytes: blockSize * dataBlocks,
  };
}

/** XFS_MIN_AG_BLOCKS: the kernel drops a new last allocation group smaller than this when it grows a filesystem. */
export const XFS_MIN_AG_BLOCKS = 64;

/**
 * The data blocks a grow to `targetBlocks` really gives: like xfs_growfs_data_private() in the kernel,
 * a last allocation group of fewer than 64 blocks is left out (so check mode and the second run agree with it).
 */
export function xfsGrownBlocks(targetBlocks: number, agBlocks: number): number {
  const rest = targetBlocks % agBlocks;
  return rest !== 0 && rest < XFS_MIN_AG_BLOCKS ? targetBlocks - rest : targetBlocks;
}

/** What an xfs_repair run found (with -n) or did (without). */
export type XfsRepairOutcome =
  | { state: 'clean' }
  /** -n found problems (the lines that describe them); without -n: they were repaired. */
  | { state: 'repaired' | 'problems'; problems: string[] }
  /** The log holds changes that were never replayed (the filesystem was not unmounted cleanly). */
  | { state: 'dirty-log' }
  | { state: 'failed'; meaning: string };

const DIRTY_LOG = /valuable metadata changes in a log/;
// The line a complete -n run ends with; without it exit 1 is a fatal error, not a finding.
const NO_MODIFY_END = 'No modify flag set, skipping filesystem flush and exiting.';

/** The lines of xfs_repair output that are findings, not its phase-by-phase progress or its log notices. */
export function xfsRepairFindings(output: string): string[] {
  const out: string[] = [];
  let inNotice = false;
  for (const line of output.split('\n')) {
    if (/^(ALERT|ERROR|Note that destroying)/.test(line)) inNotice = true;
    else if (inNotice && /^(\s+- |Phase \d)/.test(line)) inNotice = false;
    if (inNotice || !line.trim()) continue;
    if (/^Phase \d+ - /.test(line) || /^\s+- /.test(line) || /^No modify flag set/.test(line) || line === 'done') continue;
    out.push(line.trim());
  }
  return out;
}

/**
 * Interprets an xfs_repair run. Exit 0: clean (with -n) or repaired; 1 with -n: problems found, unless the run did
 * not finish (a fatal error: mounted, no superblock); 2: a dirty log that must be replayed first. With -n a dirty log
 * only shows as an ALERT (exit 1).
 */
export function interpretXfsRepair(exitCode: number | null, stdout: string, stderr: string, noModify: boolean): XfsRepairOutcome {
  const output = `${stderr}\n${stdout}`;
  if (exitCode === null) return { state: 'failed', meaning: 'xfs_repair was killed' };
  if (exitCode === 2 || DIRTY_LOG.test(output)) {
    // -L also prints the ALERT ("is being destroyed because the -L option was used") and exits 0: that is a repair.
    if (!(exitCode === 0 && /-L option was used/.test(output))) return { state: 'dirty-log' };
  }
  const problems = xfsRepairFindings(output);
  if (noModify) {
    if (exitCode === 0) return { state: 'clean' };
    if (exitCode === 1 && output.includes(NO_MODIFY_END)) return { state: 'problems', problems };
  } else if (exitCode === 0) {
    return problems.length ? { state: 'repaired', problems } : { state: 'clean' };
  }
  const last = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Phase \d|^- /.test(l))
    .slice(-4);
  return { state: 'failed', meaning: `exit ${exitCode}: ${last.join('\n') || 'no output'}` };
}

/** The message of a failed mkfs.xfs (its first lines, without the usage text it prints after them). */
export function mkfsXfsError(stderr: string): string {
  const lines = stderr.split('\n');
  const usage = lines.findIndex((l) => l.startsWith('Usage: mkfs.xfs'));
  return (usage >= 0 ? lines.slice(0, usage) : lines).join('\n').trim() || 'mkfs.xfs failed without a message';
}
