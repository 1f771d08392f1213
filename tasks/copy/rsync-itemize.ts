// rsync's machine-readable lines: `--itemize-changes` (what a run changes, so a dry run is the plan)
// and `--info=progress2` (whole-transfer progress, lines separated by carriage returns).

/** One itemized change (rsync(1), --itemize-changes: YXcstpoguax). */
export interface ItemizedChange {
  /** <: sent, >: received, c: created/changed locally, h: hard link, .: attributes only, *: message (deleting). */
  update: '<' | '>' | 'c' | 'h' | '.' | '*';
  /** f file, d directory, L symlink, D device, S special; '' for a message line. */
  fileType: string;
  /** The 9-11 attribute flags (c s t p o g u a x), or the message word for '*' lines ("deleting"). */
  attrs: string;
  path: string;
  /** Symlink target (`-> x`) or hard-link origin (`=> x`). */
  target?: string;
}

const ITEM = /^([<>ch.])([fdLDS])(\S{9,10}) (.+)$/;
const MESSAGE = /^\*(\S+)\s+(.+)$/;

/** Parses itemize-changes output; lines that are not itemized (warnings, blank) are skipped. */
export function parseItemizeChanges(stdout: string): ItemizedChange[] {
  const out: ItemizedChange[] = [];
  for (const line of stdout.split('\n')) {
    const msg = MESSAGE.exec(line);
    if (msg) {
      out.push({ update: '*', fileType: '', attrs: msg[1]!, path: msg[2]! });
      continue;
    }
    const m = ITEM.exec(line);
    if (!m) continue;
    const item: ItemizedChange = { update: m[1] as ItemizedChange['update'], fileType: m[2]!, attrs: m[3]!, path: m[4]! };
    const link = /^(.*?) ([-=])> (.*)$/.exec(item.path);
    if (link && (item.fileType === 'L' || item.update === 'h')) {
      item.path = link[1]!;
      item.target = link[3]!;
    }
    out.push(item);
  }
  return out;
}

/** True when an itemized line stands for a change a real run would make (not an unchanged, listed item). */
export function isRealChange(c: ItemizedChange): boolean {
  if (c.update !== '.') return true;
  return /[^. ]/.test(c.attrs);
}

/** One progress2 sample. */
export interface RsyncProgress {
  bytes: number;
  percent: number;
  bytesPerSec: number;
  etaSec: number;
  /** Files transferred so far and files left to check, when rsync printed them. */
  transferred?: number;
  toCheck?: number;
  total?: number;
}

const RATE_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const PROGRESS =
  /^\s*([\d,.]+)\s+(\d+)%\s+([\d.]+)(B|kB|MB|GB|TB)\/s\s+(\d+):(\d{2}):(\d{2})(?:\s+\(xfr#(\d+), (?:ir|to)-chk=(\d+)\/(\d+)\))?/;

/** Parses one progress2 sample (rsync's rate units are binary: "kB/s" is KiB/s); null when it is not one. */
export function parseProgress2(line: string): RsyncProgress | null {
  const m = PROGRESS.exec(line);
  if (!m) return null;
  const p: RsyncProgress = {
    bytes: Number(m[1]!.replace(/[,.]/g, '')),
    percent: Number(m[2]),
    bytesPerSec: Math.round(Number(m[3]) * RATE_UNITS[m[4]!]!),
    etaSec: Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]),
  };
  if (m[8] !== undefined) {
    p.transferred = Number(m[8]);
    p.toCheck = Number(m[9]);
    p.total = Number(m[10]);
  }
  return p;
}

/** Splits a chunk of progress output into samples (rsync separates them with \r, the last with \n). */
export function parseProgress2Chunk(chunk: string): RsyncProgress[] {
  return chunk
    .split(/[\r\n]+/)
    .map(parseProgress2)
    .filter((p): p is RsyncProgress => p !== null);
}
