// The lvm module's decisions as a pure function: params + what lvs/vgs report → the steps to run,
// or "no change" with its reason, or a refusal (test/fixtures/decide/lvm/ holds the table).
import { sh } from '../../runner/command.js';
import type { Step, Verdict } from '../../runner/module.js';
import type { LogicalVolume, VolumeGroup } from '../../runner/facts/types.js';
import { humanBytes } from '../../runner/reporter/format.js';
import { parseSizeSpec } from './sizes.js';

/** The lvm module's parameters as the planner needs them. */
export interface LvmParams {
  vg: string;
  lv: string;
  state: 'present' | 'absent' | 'renamed' | 'resized' | 'snapshot';
  size?: string | number;
  size_of?: string;
  from?: string;
  origin?: string;
  force: boolean;
}

/** What `vgs` and `lvs` report for the VG: vg null when it does not exist. */
export interface LvmFacts {
  vg: VolumeGroup | null;
  lvs: LogicalVolume[];
}

type Refusal = { refused: string };

/** Resolves size / size_of to bytes (rounded up to whole extents), or to an lvcreate -l share. */
function targetSize(p: LvmParams, vg: VolumeGroup, lvs: LogicalVolume[]): { bytes: number } | { extents: string; bytes: number } | Refusal {
  if (p.size_of !== undefined) {
    const other = lvs.find((l) => l.vg === p.vg && l.name === p.size_of);
    if (!other) return { refused: `size_of: there is no LV ${p.vg}/${p.size_of}` };
    return { bytes: other.sizeBytes };
  }
  if (p.size === undefined) return { refused: `state ${p.state} needs size or size_of` };
  let spec;
  try {
    spec = parseSizeSpec(p.size);
  } catch (e) {
    return { refused: `size: ${(e as Error).message}` };
  }
  if (spec.kind === 'bytes') {
    return { bytes: Math.ceil(spec.bytes / vg.extentSizeBytes) * vg.extentSizeBytes };
  }
  if (spec.of === 'ORIGIN') {
    if (p.state !== 'snapshot') return { refused: `size ${String(p.size)}: %ORIGIN is for state snapshot only` };
    const origin = lvs.find((l) => l.vg === p.vg && l.name === p.origin);
    if (!origin) return { refused: `origin ${p.vg}/${p.origin} does not exist` };
    // lvcreate rounds a share of the origin up to whole extents (20%ORIGIN of 143 extents gave 30 in the lab).
    return { extents: `${spec.percent}%ORIGIN`, bytes: Math.ceil((origin.sizeBytes * spec.percent) / 100 / vg.extentSizeBytes) * vg.extentSizeBytes };
  }
  const base = spec.of === 'FREE' ? vg.freeBytes : vg.sizeBytes;
  const extents = Math.floor((base / vg.extentSizeBytes) * (spec.percent / 100));
  return { extents: `${spec.percent}%${spec.of}`, bytes: extents * vg.extentSizeBytes };
}

const sizeArgs = (t: { bytes: number } | { extents: string; bytes: number }): string[] =>
  'extents' in t ? ['-l', t.extents] : ['-L', `${t.bytes}b`];

/** The result data of a no-change verdict: the LV's path and size as lvs reported them. */
function lvData(lv: LogicalVolume | undefined): Record<string, unknown> {
  return lv ? { lv_path: lv.path, size_bytes: lv.sizeBytes } : {};
}

/** Decides what the lvm module does for params p, given the VG (null when missing) and the LVs lvs reported. */
export function decideLvm(p: LvmParams, facts: LvmFacts): Verdict {
  const v = decide(p, facts);
  const lv = facts.lvs.find((l) => l.vg === p.vg && l.name === p.lv);
  return 'changed' in v && !v.changed ? { ...v, data: lvData(lv) } : v;
}

function decide(p: LvmParams, { vg, lvs }: LvmFacts): Verdict {
  const step = (title: string, cmd: Step['cmd'], refusal?: string): Verdict => ({
    changed: true,
    steps: [{ title, cmd, ...(refusal ? { destructive: true, refusal } : {}) }],
  });
  if (!vg) return { refused: `volume group ${p.vg} does not exist (create it with lvm_vg)` };
  const inVg = lvs.filter((l) => l.vg === p.vg);
  const lv = inVg.find((l) => l.name === p.lv);
  const name = `${p.vg}/${p.lv}`;
  switch (p.state) {
    case 'present':
    case 'snapshot': {
      if (p.state === 'snapshot' && !p.origin) return { refused: 'state snapshot needs origin (the LV to snapshot)' };
      if (p.state === 'snapshot' && !inVg.some((l) => l.name === p.origin)) return { refused: `origin ${p.vg}/${p.origin} does not exist` };
      const t = targetSize(p, vg, inVg);
      if ('refused' in t) {
        if (lv) return { changed: false, reason: `${name} exists (${humanBytes(lv.sizeBytes)})` };
        return t;
      }
      if (lv) {
        if (p.state === 'snapshot' && lv.origin !== p.origin) return { refused: `${name} exists but is not a snapshot of ${p.origin}` };
        // An existing LV of another size is left alone here: state resized changes sizes (Ansible's lvol resizes on present).
        return { changed: false, reason: `${name} exists (${humanBytes(lv.sizeBytes)})` };
      }
      if (!('extents' in t) && t.bytes > vg.freeBytes) {
        return { refused: `${name}: ${humanBytes(t.bytes)} does not fit in ${p.vg} (${humanBytes(vg.freeBytes)} free)` };
      }
      if ('extents' in t && t.extents.endsWith('%ORIGIN') && t.bytes > vg.freeBytes) {
        return { refused: `${name}: ${t.extents} (about ${humanBytes(t.bytes)}) does not fit in ${p.vg} (${humanBytes(vg.freeBytes)} free)` };
      }
      if ('extents' in t && t.bytes === 0) return { refused: `${name}: ${t.extents} of ${p.vg} is zero extents (${humanBytes(vg.freeBytes)} free)` };
      // -W y -y: wipe old signatures at the start of the new LV so a stale filesystem never shows up in it.
      const cmd =
        p.state === 'snapshot'
          ? sh`lvcreate -s ${sizeArgs(t)} -n ${p.lv} -- ${`${p.vg}/${p.origin}`}`
          : sh`lvcreate -y -W y ${sizeArgs(t)} -n ${p.lv} -- ${p.vg}`;
      return step(`create ${name} (${humanBytes(t.bytes)})`, cmd);
    }
    case 'absent': {
      if (!lv) return { changed: false, reason: `${name} does not exist` };
      // Destructive: the engine refuses it without force (guardDestructive), with this message.
      return step(`remove ${name}`, sh`lvremove -f -- ${`${p.vg}/${p.lv}`}`, `refusing to remove ${name} (${humanBytes(lv.sizeBytes)}) without force: true`);
    }
    case 'renamed': {
      if (!p.from) return { refused: 'state renamed needs from (the current name)' };
      const old = inVg.find((l) => l.name === p.from);
      // Once `lv` exists the rename is done; a new LV may since have taken the old name (the migration
      // creates one), so `from` existing too is not an error on a second run.
      if (lv && old) return { changed: false, reason: `${name} exists (already renamed; ${p.vg}/${p.from} is another LV made since)` };
      if (lv) return { changed: false, reason: `${name} exists and ${p.vg}/${p.from} does not (already renamed)` };
      if (!old) return { refused: `neither ${p.vg}/${p.from} nor ${name} exists` };
      return step(`rename ${p.vg}/${p.from} to ${p.lv}`, sh`lvrename -- ${p.vg} ${p.from} ${p.lv}`);
    }
    case 'resized': {
      if (!lv) return { refused: `${name} does not exist: cannot resize it` };
      const t = targetSize(p, vg, inVg);
      if ('refused' in t) return t;
      // %FREE when resizing means "grow by that share of the free space", as lvextend -l +N%FREE.
      const want = 'extents' in t && t.extents.endsWith('FREE') ? lv.sizeBytes + t.bytes : t.bytes;
      if (want === lv.sizeBytes) return { changed: false, reason: `${name} is already ${humanBytes(lv.sizeBytes)}` };
      if (want > lv.sizeBytes) {
        if (want - lv.sizeBytes > vg.freeBytes) {
          return { refused: `${name}: growing by ${humanBytes(want - lv.sizeBytes)} does not fit in ${p.vg} (${humanBytes(vg.freeBytes)} free)` };
        }
        return step(`grow ${name} ${humanBytes(lv.sizeBytes)} → ${humanBytes(want)}`, sh`lvextend -L ${`${want}b`} -- ${`${p.vg}/${p.lv}`}`);
      }
      return step(
        `shrink ${name} ${humanBytes(lv.sizeBytes)} → ${humanBytes(want)}`,
        sh`lvreduce -f -L ${`${want}b`} -- ${`${p.vg}/${p.lv}`}`,
        `refusing to shrink ${name} from ${humanBytes(lv.sizeBytes)} to ${humanBytes(want)} without force: true`,
      );
    }
  }
}
