// Sizes as people write them in playbooks ("10G", "512M", "2048s", "100%FREE") turned into bytes
// (back into human units for messages: humanBytes in runner/reporter/format.ts).

/** A size asked for in a task: an exact byte count, or a share (LVM's `N%FREE` / `N%VG`, and `N%ORIGIN` for snapshots). */
export type SizeSpec = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number; of: 'FREE' | 'VG' | 'ORIGIN' };

export const SECTOR = 512;

// Binary multiples, as lvcreate, resize2fs and sfdisk read "G" (a GiB, not 10^9 bytes).
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  s: SECTOR,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** Parses "10G", "1.5GiB", "512M", "2048s", "4096", 4096 into bytes; throws a clear Error otherwise. */
export function parseBytes(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new Error(`size ${input} is not a whole number of bytes`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bskmgtp]?)(?:i?b)?\s*$/i.exec(input);
  if (!m) {
    throw new Error(`size '${input}' is not understood: write bytes (4096), sectors (2048s) or binary units (512M, 10G, 1T)`);
  }
  const mult = UNITS[m[2]!.toLowerCase()]!;
  const bytes = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes)) throw new Error(`size '${input}' is too large`);
  return bytes;
}

/** Parses a size that may also be `N%FREE` / `N%VG` / `N%ORIGIN` (LVM shares). */
export function parseSizeSpec(input: string | number): SizeSpec {
  if (typeof input === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)%(FREE|VG|ORIGIN)\s*$/i.exec(input);
    if (m) {
      const percent = Number(m[1]);
      if (percent <= 0 || percent > 100) throw new Error(`size '${input}': the percentage must be in (0, 100]`);
      return { kind: 'percent', percent, of: m[2]!.toUpperCase() as 'FREE' | 'VG' | 'ORIGIN' };
    }
  }
  return { kind: 'bytes', bytes: parseBytes(input) };
}

/** The largest power of two that divides n, capped at `cap` (a dd block size that needs no partial block). */
export function largestPow2Divisor(n: number, cap: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`largestPow2Divisor: ${n} is not a positive integer`);
  let p = 1;
  while (p * 2 <= cap && n % (p * 2) === 0) p *= 2;
  return p;
}

/** Rounds bytes down to a multiple of `unit`. */
export function alignDown(bytes: number, unit: number): number {
  return Math.floor(bytes / unit) * unit;
}
