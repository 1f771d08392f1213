// What the lab benchmarks (migrate-two-vgs, migrate-by-hand, precopy-downtime) share: the frame their
// rounds run in (the lab up, a scratch folder, the lab reset afterwards) and the copy phase of
// playbooks/xen-to-kvm.yaml for data guests of the lab host (--tags copy, with the preflight and
// shutdown that always run), through the API, with its events. Not a benchmark itself.
import { join } from 'node:path';
import { runPlaybookFile, type CommonRunOptions } from '../app/api.js';
import { DATA_GUEST_VARS, writeGuestInventory } from '../lab/data-guests.js';
import { labReset, labStatus, labUp, type LabInfo } from '../lab/lab.js';
import type { FerryEvent } from '../runner/events.js';
import { removeScratch, scratchDir } from './lib.js';

/** Runs `body` with the lab up and a scratch folder; resets the lab and removes the folder after, whatever happens. */
export async function inLab(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  if (!labStatus()) await labUp();
  const dir = await scratchDir(prefix, 1024 * 1024);
  try {
    await body(dir);
  } finally {
    await labReset().catch(() => undefined);
    await removeScratch(dir);
  }
}

/** One copy phase: the run's exit code, its events, and its wall time in ms. */
export interface CopyPhaseRun {
  exitCode: number;
  events: FerryEvent[];
  ms: number;
}

/**
 * The copy phase of these guests (each NAME-disk in its VG, made by makeDataGuests) at once, with the
 * data guests' variables and `extraVars`; its inventory goes in `dir`.
 */
export async function copyPhase(lab: LabInfo, dir: string, guests: { name: string; vg: string }[], extraVars: Record<string, unknown> = {}): Promise<CopyPhaseRun> {
  const names = guests.map((g) => g.name);
  const inv = join(dir, `${names.join('-')}.json`);
  writeGuestInventory(inv, Object.fromEntries(guests.map((g, i) => [g.name, { vg: g.vg, lv: `${g.name}-disk`, mac: `00:16:3e:4c:54:0${i}` }])));
  return collectedRun(join(import.meta.dirname, '..', 'playbooks', 'xen-to-kvm.yaml'), {
    inventory: [lab.inventoryPath, inv], limit: names.join(':'), forks: guests.length, tags: ['copy'],
    extraVars: { ...DATA_GUEST_VARS, ...extraVars },
  });
}

/** Runs a playbook through the API with its events collected: its exit code, events and wall time. */
export async function collectedRun(playbook: string, o: Omit<CommonRunOptions, 'reporter'>): Promise<CopyPhaseRun> {
  const events: FerryEvent[] = [];
  const t0 = performance.now();
  const r = await runPlaybookFile(playbook, { ...o, reporter: { emit: (e) => void events.push(e), close: async () => {} } });
  return { exitCode: r.exitCode, events, ms: performance.now() - t0 };
}

/** The hosts whose copy phase's rsync (not a pre-copy's) changed: each guest copied. */
export const copiedHosts = (run: CopyPhaseRun): string[] =>
  run.events.flatMap((e) => (e.type === 'task_result' && e.module === 'rsync' && e.item === undefined && e.status === 'changed' && !e.tags?.includes('precopy') ? [e.host] : []));

/** The failed results of a run, shortened for an error message. */
export const failures = (run: CopyPhaseRun): string => JSON.stringify(run.events.filter((e) => e.type === 'task_result' && e.status === 'failed')).slice(0, 2000);
