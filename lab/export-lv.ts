// Copies an LV of the running lab host to an image file on this machine by reading the LV's
// extents straight out of the PV's disk file: seconds, where `dd` over SSH under TCG takes a minute.
import fs from 'node:fs';
import { sh } from '../runner/command.js';
import { FerryError } from '../runner/errors.js';
import { run } from './exec.js';
import { labStatus, type LabVmInfo } from './lab.js';
import { vmPaths } from './paths.js';
import { sshRun } from './ssh.js';

/** One linear piece of an LV: `count` extents starting at extent `start` of PV `pv`. */
export interface LvSegment {
  pv: string;
  start: number;
  count: number;
}

/** Parses `lvs --segments -o seg_pe_ranges,segtype` JSON output into linear segments (in LV order). */
export function parseLvSegments(lvsJson: string, lvName: string): LvSegment[] {
  // With --segments, lvs reports rows under "seg", one per segment, in LV order.
  const report = JSON.parse(lvsJson) as { report: { seg?: { seg_pe_ranges: string; segtype: string }[] }[] };
  const rows = report.report[0]?.seg ?? [];
  if (rows.length === 0) throw new FerryError(`LV ${lvName} not found on the lab host`);
  return rows.map((row) => {
    // A linear segment is one range "/dev/vdc:0-152"; striped/mirrored/thin LVs have several or none.
    const m = /^(\S+):(\d+)-(\d+)$/.exec(row.seg_pe_ranges.trim());
    if (row.segtype !== 'linear' || !m) {
      throw new FerryError(`exportLv handles linear LVs only; ${lvName} has a ${row.segtype} segment (${row.seg_pe_ranges})`);
    }
    const start = Number(m[2]);
    return { pv: m[1], start, count: Number(m[3]) - start + 1 };
  });
}

/** Runs a read-only query on a lab VM and returns stdout. */
async function query(info: LabVmInfo, cmd: ReturnType<typeof sh>): Promise<string> {
  return (await sshRun({ port: info.sshPort, keyPath: info.keyPath, knownHostsPath: info.knownHostsPath }, cmd)).stdout;
}

/**
 * Writes the content of LV `vg/lv` of a running lab VM (lab-hv unless `vm` names another: lab-kvm)
 * to `destImage` (raw). The VM keeps running: its page cache is flushed first, and its overlays (in
 * its runDir) are read with qemu's shared (-U) open.
 */
export async function exportLv(vg: string, lv: string, destImage: string, vm: LabVmInfo | undefined = labStatus()): Promise<void> {
  if (!vm) throw new FerryError('the lab VM is not running; call labUp() first');
  const p = vmPaths(vm.runDir);
  const disks: Record<string, string> = { 'ferry-root': p.hostOverlay, 'ferry-vg0': p.vg0Overlay, 'ferry-vg1': p.vg1Overlay };
  const lvPath = `${vg}/${lv}`;
  // One SSH round trip (each costs about a second under TCG): flush, then the layout, in sections.
  // `sync` alone writes dirty pages but sends no FLUSH to a raw block device, and without a FLUSH qemu
  // keeps new qcow2 mappings in memory; `sync DEV` fsyncs the LV, and dm passes the flush to every PV.
  const sep = '--ferry-export--';
  const out = await query(
    vm,
    sh`sync && sync ${`/dev/${vg}/${lv}`} && lvs --reportformat json --segments -o seg_pe_ranges,segtype ${lvPath} && echo ${sep} && vgs --noheadings --nosuffix --units b -o vg_extent_size ${vg} && echo ${sep} && pvs --noheadings --nosuffix --units b -o pv_name,pe_start && echo ${sep} && for d in /sys/block/*/serial; do echo "/dev/$(basename "$(dirname "$d")") $(cat "$d")"; done`,
  );
  const [lvsJson, extentText, pvText, serialText] = out.split(`${sep}\n`);
  const segs = parseLvSegments(lvsJson, lvPath);
  const extentBytes = Number(extentText.trim());
  const words = (text: string): string[][] => text.trim().split('\n').map((l) => l.trim().split(/\s+/));
  const peStart = new Map(words(pvText).map(([n, v]) => [n, Number(v)] as const));
  const serials = new Map(words(serialText).map(([n, v]) => [n, v ?? ''] as const));
  fs.rmSync(destImage, { force: true });
  const parts: string[] = [];
  for (const [i, seg] of segs.entries()) {
    const file = disks[serials.get(seg.pv) ?? ''];
    const start = peStart.get(seg.pv);
    if (!file || start === undefined) throw new FerryError(`cannot map PV ${seg.pv} (serial ${serials.get(seg.pv)}) to a lab disk file`);
    const source = {
      driver: 'raw',
      offset: start + seg.start * extentBytes,
      size: seg.count * extentBytes,
      file: { driver: 'qcow2', file: { driver: 'file', filename: file } },
    };
    const out = segs.length === 1 ? destImage : `${destImage}.part${i}`;
    await run('qemu-img', ['convert', '-U', '-O', 'raw', `json:${JSON.stringify(source)}`, out]);
    parts.push(out);
  }
  if (segs.length > 1) {
    for (const part of parts) {
      fs.appendFileSync(destImage, fs.readFileSync(part));
      fs.rmSync(part);
    }
  }
}
