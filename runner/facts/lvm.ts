// LVM reports, for gather_facts and the lvm/lvm_vg modules alike: one column set per report, one
// JSON parser (`--reportformat json --units b --nosuffix`), one type per object. Pure.
import { raw, sh, type Command } from '../command.js';
import type { LogicalVolume, PhysicalVolume, VolumeGroup } from './types.js';

/** The columns every `vgs` ferry runs asks for. */
export const VGS_COLUMNS = 'vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count,vg_attr';
/** The columns every `lvs` ferry runs asks for. */
export const LVS_COLUMNS = 'lv_name,vg_name,lv_size,lv_path,lv_attr,origin';
/** The columns every `pvs` ferry runs asks for. */
export const PVS_COLUMNS = 'pv_name,vg_name,pv_size';
/** The options that make a report machine-readable: JSON, sizes in bytes without a unit. */
export const REPORT_OPTIONS = '--reportformat json --units b --nosuffix';

/** `vgs` of every VG, or of the one named. */
export function vgsCommand(vg?: string): Command {
  return sh`vgs ${raw(REPORT_OPTIONS)} -o ${VGS_COLUMNS}${vg === undefined ? raw('') : sh` -- ${vg}`}`;
}

/** `lvs` of every VG, or of the one named. */
export function lvsCommand(vg?: string): Command {
  return sh`lvs ${raw(REPORT_OPTIONS)} -o ${LVS_COLUMNS}${vg === undefined ? raw('') : sh` -- ${vg}`}`;
}

/** `pvs` of every PV. */
export function pvsCommand(): Command {
  return sh`pvs ${raw(REPORT_OPTIONS)} -o ${PVS_COLUMNS}`;
}

// lvm2's JSON report: {"report":[{"lv":[{...}]}]} (with `json_std` the same shape, numbers unquoted).
// Text before the first brace (a warning lvm printed on stdout) is skipped.
function reportRows(stdout: string, section: 'lv' | 'vg' | 'pv', what: string): Record<string, unknown>[] {
  const start = stdout.indexOf('{');
  let doc: unknown;
  try {
    doc = JSON.parse(start < 0 ? stdout : stdout.slice(start));
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

/** Parses `lvs REPORT_OPTIONS -o LVS_COLUMNS`. */
export function parseLvs(stdout: string): LogicalVolume[] {
  return reportRows(stdout, 'lv', 'lvs').map((r) => {
    const attr = str(r.lv_attr);
    return {
      name: str(r.lv_name),
      vg: str(r.vg_name),
      sizeBytes: num(r.lv_size, 'lv_size', 'lvs'),
      path: str(r.lv_path),
      attr,
      active: attr[4] === 'a',
      open: attr[5] === 'o',
      origin: str(r.origin),
    };
  });
}

/** Parses `vgs REPORT_OPTIONS -o VGS_COLUMNS`. */
export function parseVgs(stdout: string): VolumeGroup[] {
  return reportRows(stdout, 'vg', 'vgs').map((r) => ({
    name: str(r.vg_name),
    uuid: str(r.vg_uuid),
    sizeBytes: num(r.vg_size, 'vg_size', 'vgs'),
    freeBytes: num(r.vg_free, 'vg_free', 'vgs'),
    extentSizeBytes: num(r.vg_extent_size, 'vg_extent_size', 'vgs'),
    pvCount: num(r.pv_count ?? 0, 'pv_count', 'vgs'),
    lvCount: num(r.lv_count ?? 0, 'lv_count', 'vgs'),
    attr: str(r.vg_attr),
  }));
}

/** Parses `pvs REPORT_OPTIONS -o PVS_COLUMNS`. */
export function parsePvs(stdout: string): PhysicalVolume[] {
  return reportRows(stdout, 'pv', 'pvs').map((r) => ({
    name: str(r.pv_name),
    vg: str(r.vg_name),
    sizeBytes: num(r.pv_size, 'pv_size', 'pvs'),
  }));
}
