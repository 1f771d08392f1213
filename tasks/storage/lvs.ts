// The device-mapper names LVM gives its volumes and kpartx its partitions. The LVM reports
// themselves are read by runner/facts/lvm.ts, for gather_facts and the modules alike.

/** The device-mapper name of an LV: dashes inside VG and LV names are doubled (`vg1`,`xr1-disk` → `vg1-xr1--disk`). */
export function dmName(vg: string, lv: string): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/** Splits a device-mapper LV name back into VG and LV (`vg1-xr1--disk` → vg1, xr1-disk); null when it is not one. */
export function splitDmName(name: string): { vg: string; lv: string } | null {
  // The separator is the first single dash (one not part of a doubled pair).
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '-') continue;
    if (name[i + 1] === '-') {
      i++;
      continue;
    }
    return { vg: name.slice(0, i).replace(/--/g, '-'), lv: name.slice(i + 1).replace(/--/g, '-') };
  }
  return null;
}

/** The names kpartx gives the partitions of a mapped device: `p` joins them when the name ends in a digit. */
export function kpartxPartitionName(dm: string, n: number): string {
  return /\d$/.test(dm) ? `${dm}p${n}` : `${dm}${n}`;
}
