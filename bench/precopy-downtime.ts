// Benchmark (issue 14): a guest's downtime with --precopy against without, in the lab (its hypervisor
// VM, real LVM). The guest "runs" under the lab's stand-in for Xen (runStandInGuest: a process writing
// a small file every 0.2 s into the mounted LV, and an `xl` answering for it) and holds BENCH_GUEST_MB
// of random data. Without precopy ferry stops it after the preflight (shutdown_guest) and copies it
// whole; with precopy it copies it from an LVM snapshot while it runs, stops it, and copies what
// changed. Only the copy phase (--tags copy, with the preflight and shutdown that always run): the
// guest holds no kernel, so it is copied, never converted — a conversion adds the same minutes to both.
// Downtime is the recap's offline time (from the shutdown to the end of the copy).
// Run as root, with the lab built (npm run lab:up once): npx tsx bench/precopy-downtime.ts
// BENCH_ROUNDS (default 1), BENCH_GUEST_MB (default 1024: the "at least 1 GiB").
import { migrationRecap, type GuestRecap } from '../app/migration-recap.js';
import { makeDataGuests, runStandInGuest } from '../lab/data-guests.js';
import { labReset } from '../lab/lab.js';
import { copyPhase, failures, inLab } from './lab-copy.js';
import { loadAverage, median, reportResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DATA_MB = Number(process.env.BENCH_GUEST_MB ?? 1024);

/** One migration (copy phase) of a fresh running guest; its recap and wall time. */
async function migrate(dir: string, precopy: boolean): Promise<{ recap: GuestRecap; ms: number }> {
  const lab = await labReset();
  const guest = { name: 'd1', vg: 'vg0' };
  await makeDataGuests(lab, [guest], { dataMb: DATA_MB, lvMb: DATA_MB + 128 });
  await runStandInGuest(lab, { ...guest, lv: 'd1-disk' });
  const run = await copyPhase(lab, dir, [guest], precopy ? { precopy: true } : { shutdown_guest: true });
  const recap = migrationRecap(run.events)[0];
  if (run.exitCode !== 0 || recap?.result !== 'done' || recap.shutdown !== 'stopped') {
    throw new Error(`the migration (precopy ${precopy}) did not complete (exit ${run.exitCode}, ${JSON.stringify(recap)}): ${failures(run)}`);
  }
  return { recap, ms: run.ms };
}

async function main(): Promise<void> {
  const without: number[] = [];
  const withPre: number[] = [];
  await inLab('ferry-bench-precopy-', async (dir) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const a = await migrate(dir, false);
      without.push(a.recap.offlineMs);
      const b = await migrate(dir, true);
      withPre.push(b.recap.offlineMs);
      const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
      const phases = (g: GuestRecap) => Object.entries(g.phases).map(([p, t]) => `${p} ${s(t)}`).join(', ');
      console.log(`round ${round}: without precopy offline ${s(a.recap.offlineMs)} of ${s(a.ms)} (${phases(a.recap)}); with precopy offline ${s(b.recap.offlineMs)} of ${s(b.ms)} (${phases(b.recap)}) (load ${loadAverage()})`);
    }
  });
  const ratio = median(withPre) / median(without);
  console.log(`downtime, ${DATA_MB} MiB of data, copy phase: without precopy ${(median(without) / 1000).toFixed(1)} s, with precopy ${(median(withPre) / 1000).toFixed(1)} s: ${ratio.toFixed(2)}x`);
  reportResult([{
    name: `downtime with --precopy against without (${DATA_MB} MiB guest, copy phase)`,
    measured: `${(median(withPre) / 1000).toFixed(1)} s against ${(median(without) / 1000).toFixed(1)} s (${ratio.toFixed(2)}x)`,
    target: 'report both (issue 14); shorter with precopy',
    pass: ratio < 1,
  }]);
}

await main();
