// A play's `serial:`: the batches its hosts run in, one after the other.

/** Splits hosts into serial batches (a number, a percentage, or a list whose last size repeats). */
export function serialBatches(hosts: string[], serial: (number | string)[] | undefined): string[][] {
  if (!serial || serial.length === 0) return [hosts];
  const sizes = serial.map((s) => {
    const n = typeof s === 'string' && s.endsWith('%') ? Math.floor((hosts.length * Number(s.slice(0, -1))) / 100) : Number(s);
    return Math.max(1, n);
  });
  const out: string[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const size = sizes[Math.min(k, sizes.length - 1)]!;
    out.push(hosts.slice(i, i + size));
    i += size;
    k++;
  }
  return out;
}
