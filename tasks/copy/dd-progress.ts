// GNU dd's `status=progress` lines ("4194304 bytes (4.2 MB, 4.0 MiB) copied, 1 s, 3.9 MB/s"),
// written to stderr and separated by carriage returns; the final summary has the same shape.

/** One dd progress sample. */
export interface DdProgress {
  bytes: number;
  seconds: number;
  bytesPerSec: number;
}

// dd prints rates in SI units (coreutils human_SI): "MB/s" is 10^6 bytes a second.
const SI: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15 };
const LINE = /(\d+) bytes(?: \([^)]*\))? copied, ([\d.]+) s, ([\d.]+|Infinity) (B|kB|MB|GB|TB|PB)\/s/;

/** Parses one dd progress or summary line; null when the line is not one. */
export function parseDdProgress(line: string): DdProgress | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const rate = m[3] === 'Infinity' ? 0 : Number(m[3]) * SI[m[4]!]!;
  return { bytes: Number(m[1]), seconds: Number(m[2]), bytesPerSec: Math.round(rate) };
}

/** Every sample in a chunk of dd's stderr. */
export function parseDdChunk(chunk: string): DdProgress[] {
  return chunk
    .split(/[\r\n]+/)
    .map(parseDdProgress)
    .filter((p): p is DdProgress => p !== null);
}

/** The byte count of dd's final "N bytes ... copied" line in its whole stderr; null when absent (dd failed early). */
export function ddCopiedBytes(stderr: string): number | null {
  const all = parseDdChunk(stderr);
  return all.length ? all[all.length - 1]!.bytes : null;
}

/** Builds a progress sample toward `total` bytes, with the ETA from the current rate. */
export function withEta(p: DdProgress, total: number): { bytes: number; totalBytes: number; bytesPerSec: number; etaSec?: number } {
  const out: { bytes: number; totalBytes: number; bytesPerSec: number; etaSec?: number } = {
    bytes: p.bytes,
    totalBytes: total,
    bytesPerSec: p.bytesPerSec,
  };
  if (p.bytesPerSec > 0) out.etaSec = Math.max(0, Math.round((total - p.bytes) / p.bytesPerSec));
  return out;
}
