// Benchmark (issue 14): two guests on two volume groups migrated at once against one alone, in the
// lab (its hypervisor VM, real LVM). Only the copy phase (--tags copy, with the preflight that always
// runs): the heavy step that ferry's limits hold to one per volume group. The guests hold random data
// and no kernel, so they are copied, never converted. Target: clearly under twice one guest's time.
// Each round starts from the pristine lab: one guest alone (vg0), a reset, then two at once (vg0, vg1).
// Run as root, with the lab built (npm run lab:up once): npx tsx bench/migrate-two-vgs.ts
// BENCH_ROUNDS (default 1), BENCH_GUEST_MB (the data in each guest, default 128).
import { makeDataGuests } from '../lab/data-guests.js';
import { labReset, type LabInfo } from '../lab/lab.js';
import { copiedHosts, copyPhase, failures, inLab } from './lab-copy.js';
import { loadAverage, median, reportResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DATA_MB = Number(process.env.BENCH_GUEST_MB ?? 128);

type Guest = { name: string; vg: string };

/** The copy phase of these guests at once; its wall time in ms. Fails unless every guest's rsync changed. */
async function timedCopy(lab: LabInfo, dir: string, guests: Guest[]): Promise<number> {
  const run = await copyPhase(lab, dir, guests);
  const copied = copiedHosts(run);
  if (run.exitCode !== 0 || copied.length !== guests.length) {
    throw new Error(`the copy of ${guests.map((g) => g.name).join(', ')} did not complete (exit ${run.exitCode}, copied: ${copied.join(', ') || 'none'}): ${failures(run)}`);
  }
  return run.ms;
}

async function main(): Promise<void> {
  const alone: number[] = [];
  const both: number[] = [];
  await inLab('ferry-bench-two-vgs-', async (dir) => {
    for (let round = 1; round <= ROUNDS; round++) {
      let lab = await labReset();
      const a = [{ name: 'b1', vg: 'vg0' }];
      await makeDataGuests(lab, a, { dataMb: DATA_MB, lvMb: DATA_MB + 64 });
      alone.push(await timedCopy(lab, dir, a));
      lab = await labReset();
      const two = [{ name: 'b2', vg: 'vg0' }, { name: 'b3', vg: 'vg1' }];
      await makeDataGuests(lab, two, { dataMb: DATA_MB, lvMb: DATA_MB + 64 });
      both.push(await timedCopy(lab, dir, two));
      console.log(`round ${round}: one guest ${(alone.at(-1)! / 1000).toFixed(1)} s, two on two VGs ${(both.at(-1)! / 1000).toFixed(1)} s (load ${loadAverage()})`);
    }
  });
  const ratio = median(both) / median(alone);
  console.log(`copy phase, ${DATA_MB} MiB of data per guest: one guest ${(median(alone) / 1000).toFixed(1)} s, two on two VGs at once ${(median(both) / 1000).toFixed(1)} s: ${ratio.toFixed(2)}x`);
  reportResult([{
    name: 'two guests on two VGs at once (copy phase)',
    measured: `${ratio.toFixed(2)}x one guest's time`,
    target: 'clearly under 2x (< 1.6x)',
    pass: ratio < 1.6,
  }]);
}

await main();
