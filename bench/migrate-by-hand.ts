// Benchmark (issue 14): ferry's migration of one lab guest against the same commands typed by hand, in
// sequence, over one SSH connection. The copy phase of playbooks/xen-to-kvm.yaml (--tags copy, with the
// preflight that always runs) for a guest of BENCH_GUEST_MB (default 1024) MiB of random data in an
// ext4 LV of vg0, stopped; by hand, from a reset lab and the same guest: lvrename, lvcreate, sfdisk,
// kpartx, mkfs.ext4 with the old UUID, two mounts, rsync -aAXH --numeric-ids --delete with the rootfs excludes,
// in one `ssh` session — what an admin following the procedure runs, without ferry's reads (preflight,
// plans) and records. The guests hold no kernel, so the conversion is not part of it (its chroot work
// is the same commands either way). Target: ferry at most 10% over by hand.
// Run as root, with the lab built (npm run lab:up once): npx tsx bench/migrate-by-hand.ts
// BENCH_ROUNDS (default 1), BENCH_GUEST_MB (default 1024).
import { makeDataGuests } from '../lab/data-guests.js';
import { labReset, labSsh, type LabInfo } from '../lab/lab.js';
import { ROOTFS_EXCLUDES } from '../tasks/rsync.js';
import { copiedHosts, copyPhase, failures, inLab } from './lab-copy.js';
import { loadAverage, median, pairedRound, reportResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DATA_MB = Number(process.env.BENCH_GUEST_MB ?? 1024);

/** A reset lab holding the guest h1 (stopped: it is a disk), and what it holds, to check the copy against. */
async function freshGuest(): Promise<{ lab: LabInfo; sum: string }> {
  const lab = await labReset();
  await makeDataGuests(lab, [{ name: 'h1', vg: 'vg0' }], { dataMb: DATA_MB, lvMb: DATA_MB + 128 });
  return { lab, sum: await dataSum(lab, '/dev/vg0/h1-disk') };
}

/** The sha256 of the guest's data file on `dev` (mounted read-only, without its journal replayed). */
async function dataSum(lab: LabInfo, dev: string): Promise<string> {
  return (await labSsh(lab, `set -e; d=$(mktemp -d); mount -o ro,noload ${dev} $d; sha256sum $d/data | cut -d' ' -f1; umount $d; rmdir $d`)).stdout.trim();
}

async function byFerry(dir: string): Promise<number> {
  const { lab, sum } = await freshGuest();
  const run = await copyPhase(lab, dir, [{ name: 'h1', vg: 'vg0' }]);
  if (run.exitCode !== 0 || copiedHosts(run).length !== 1) throw new Error(`ferry's copy did not complete (exit ${run.exitCode}): ${failures(run)}`);
  const slowest = run.events.flatMap((e) => (e.type === 'task_result' && e.item === undefined ? [[e.durationMs, e.task] as const] : [])).sort((a, b) => b[0] - a[0]).slice(0, 4);
  console.log(`ferry's slowest tasks: ${slowest.map(([t, n]) => `${n} ${(t / 1000).toFixed(1)} s`).join('; ')}`);
  // (the copy phase alone leaves the new filesystem mounted where the conversion goes on)
  if ((await labSsh(lab, `sha256sum /mnt/ferry/h1/data | cut -d' ' -f1`)).stdout.trim() !== sum) throw new Error("ferry's copy differs from the source");
  return run.ms;
}

async function byHand(): Promise<number> {
  const { lab, sum } = await freshGuest();
  const excludes = ROOTFS_EXCLUDES.map((x) => `--exclude='${x}'`).join(' ');
  const t0 = performance.now();
  await labSsh(lab, `set -e
lvrename vg0 h1-disk h1-disk-old
lvcreate -q -y -L "$(lvs --noheadings --units b --nosuffix -o lv_size vg0/h1-disk-old | tr -d ' ')b" -n h1-disk vg0
printf 'start=2048, type=83, bootable\\n' | sfdisk -q /dev/vg0/h1-disk
kpartx -a /dev/vg0/h1-disk
mkfs.ext4 -q -F -U "$(blkid -s UUID -o value /dev/vg0/h1-disk-old)" /dev/mapper/vg0-h1--disk1
mkdir -p /mnt/hand/h1 /mnt/hand/h1-old
mount /dev/mapper/vg0-h1--disk1 /mnt/hand/h1
mount -o ro,noload /dev/vg0/h1-disk-old /mnt/hand/h1-old
rsync -aAXH --numeric-ids --delete ${excludes} /mnt/hand/h1-old/ /mnt/hand/h1/
umount /mnt/hand/h1-old`);
  const ms = performance.now() - t0;
  if ((await labSsh(lab, `sha256sum /mnt/hand/h1/data | cut -d' ' -f1`)).stdout.trim() !== sum) throw new Error('the copy by hand differs from the source');
  return ms;
}

async function main(): Promise<void> {
  const ferry: number[] = [];
  const hand: number[] = [];
  await inLab('ferry-bench-by-hand-', async (dir) => {
    for (let round = 1; round <= ROUNDS; round++) {
      // alternated, so that a machine growing busier does not favour one side
      const r = await pairedRound(round, byHand, () => byFerry(dir));
      hand.push(r.hand);
      ferry.push(r.ferry);
      console.log(`round ${round}: ferry ${(ferry.at(-1)! / 1000).toFixed(1)} s, by hand ${(hand.at(-1)! / 1000).toFixed(1)} s (load ${loadAverage()})`);
    }
  });
  const ratio = median(ferry) / median(hand);
  console.log(`copy phase, ${DATA_MB} MiB of data: ferry ${(median(ferry) / 1000).toFixed(1)} s, by hand over one SSH connection ${(median(hand) / 1000).toFixed(1)} s: ${ratio.toFixed(2)}x`);
  reportResult([{
    name: `one guest's migration (copy phase, ${DATA_MB} MiB) against the same commands by hand`,
    measured: `${ratio.toFixed(2)}x`,
    target: 'at most 1.10x',
    pass: ratio <= 1.1,
  }]);
}

await main();
