// LVM reports (`lvs`/`vgs`/`pvs --reportformat json --units b --nosuffix`) parsed into typed facts,
// and the device-mapper names LVM gives its volumes.

/** One logical volume as `lvs` reports it. */
export interface LvInfo {
  name: string;
  vg: string;
  sizeBytes: number;
  path: string;
  attr: string;
  origin: string;
}

/** One volume group as `vgs` reports it. */
export interface VgInfo {
  name: string;
  sizeBytes: number;
  freeBytes: number;
  extentBytes: number;
  lvCount: number;
  pvCount: number;
}

/** One physical volume as `pvs` reports it (vg is '' for a PV in no VG). */
export interface PvInfo {
  name: string;
  vg: string;
  sizeBytes: number;
}

// lvm2's JSON report: {"report":[{"lv":[{...}]}]} (with `json_std` the same shape, numbers unquoted).
function reportRows(stdout: string, section: 'lv' | 'vg' | 'pv', what: string): Record<string, unknown>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`${what}: output is not JSON (is lvm2 older than 2.02.158, without --reportformat json?)`, { cause: e });
  }
  const report = (doc as { report?: unknown }).report;
  if (!Array.isArray(report)) throw new Error(`${what}: JSON has no "report" array`);
  const rows: Record<string, unknown>[] = [];
  for (const r of report as Record<string, unknown>[]) {
    const part = r[section];
    if (Array.isArray(part)) rows.push(...(part as Record<string, unknown>[]));
  }
  return rows;
}

function num(v: unknown, field: string, what: string): number {
  const n = typeof v === 'number' ? v : Number(String(v ?? '').trim());
  if (v === '' || v === undefined || !Number.isFinite(n)) {
    throw new Error(`${what}: field ${field} is '${String(v)}', not a number (were --units b --nosuffix passed?)`);
  }
  return n;
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

/** Parses `lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_size,lv_path,lv_attr,origin`. */
export function parseLvsJson(stdout: string): LvInfo[] {
  return reportRows(stdout, 'lv', 'lvs').map((r) => ({
    name: str(r.lv_name),
    vg: str(r.vg_name),
    sizeBytes: num(r.lv_size, 'lv_size', 'lvs'),
    path: str(r.lv_path),
    attr: str(r.lv_attr),
    origin: str(r.origin),
  }));
}

/** Parses `vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_extent_size,lv_count,pv_count`. */
export function parseVgsJson(stdout: string): VgInfo[] {
  return reportRows(stdout, 'vg', 'vgs').map((r) => ({
    name: str(r.vg_name),
    sizeBytes: num(r.vg_size, 'vg_size', 'vgs'),
    freeBytes: num(r.vg_free, 'vg_free', 'vgs'),
    extentBytes: num(r.vg_extent_size, 'vg_extent_size', 'vgs'),
    lvCount: num(r.lv_count ?? 0, 'lv_count', 'vgs'),
    pvCount: num(r.pv_count ?? 0, 'pv_count', 'vgs'),
  }));
}

/** Parses `pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_size`. */
export function parsePvsJson(stdout: string): PvInfo[] {
  return reportRows(stdout, 'pv', 'pvs').map((r) => ({
    name: str(r.pv_name),
    vg: str(r.vg_name),
    sizeBytes: num(r.pv_size, 'pv_size', 'pvs'),
  }));
}

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
