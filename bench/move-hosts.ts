// Benchmark (issue 14): a guest moved from lab-hv to lab-kvm (ferry migrate --to), its files relayed
// through this machine (the two hosts share no SSH trust), against the same rsync with trust: lab-kvm
// pulling straight from lab-hv over ssh (rsync -e ssh), given a key for the run. Both copy the same
// source (a data guest's ext4 LV, mounted read-only on lab-hv) into a fresh ext4 on lab-kvm, with the
// same flags, after dropping lab-hv's page cache. Target: ferry's relayed rsync at least 90% of the
// speed of the direct one (its time at most 1/0.9 of it). Both ends are emulated (TCG): their ssh
// crypto is the bottleneck either way; the relay adds this machine's (native) crypto in the middle.
// ferry's --direct move (ferry_move_direct: lab-kvm's rsync pulls from lab-hv itself, given the same key)
// is measured beside them, on a second guest as big.
// Run as root, with the lab built (npm run lab:up once): npx tsx bench/move-hosts.ts
// BENCH_ROUNDS (default 1), BENCH_GUEST_MB (the guest's data, default 256).
import { readFileSync } from 'node:fs';
import { makeDataGuests } from '../lab/data-guests.js';
import { labKvmHostUp, labReset, labSsh, type LabInfo, type LabVmInfo } from '../lab/lab.js';
import { copyPhase, failures, inLab } from './lab-copy.js';
import { loadAverage, median, pairedRound, reportResult } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DATA_MB = Number(process.env.BENCH_GUEST_MB ?? 256);
// what the playbook's rsync runs with (preset rootfs adds only excludes; the data guest has none of them)
const FLAGS = '-aAXH --numeric-ids';

/** lab-kvm's ssh options to lab-hv, for the copy by hand and ferry's direct move alike: the bench's key, no host key kept. */
const TRUST_SSH = ['-i', '/root/.ssh/id_bench', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** How lab-kvm reaches lab-hv itself for ferry's direct move (ferry_move_direct). */
const directVia = (lab: LabInfo) => ({ host: '10.0.2.2', port: lab.sshPort, ssh_options: TRUST_SSH });

/** ferry's move of guest `name`'s copy phase (relayed, or direct); the rsync task's time in ms. */
async function ferryMove(lab: LabInfo, dir: string, name: string, direct = false): Promise<number> {
  await labSsh(lab, 'sync; echo 3 > /proc/sys/vm/drop_caches');
  const run = await copyPhase(lab, dir, [{ name, vg: 'vg1' }], { kvm_host: 'lab-kvm', ...(direct ? { ferry_move_direct: directVia(lab) } : {}) });
  const rsync = run.events.find((e) => e.type === 'task_result' && e.module === 'rsync' && e.status === 'changed' && !e.tags?.includes('precopy'));
  if (run.exitCode !== 0 || rsync?.type !== 'task_result' || rsync.delegatedTo !== 'lab-kvm') {
    throw new Error(`the move's copy did not complete on lab-kvm (exit ${run.exitCode}): ${failures(run)}`);
  }
  return rsync.durationMs ?? 0;
}

/** The same copy by hand with trust: lab-kvm's rsync pulls from lab-hv's sshd (forwarded at 10.0.2.2:PORT); its time in ms. */
async function byHand(lab: LabInfo, kvm: LabVmInfo): Promise<number> {
  await labSsh(kvm, [
    'set -e',
    `lvcreate -q -y -L ${DATA_MB + 64}M -n hand vg0`,
    'mkfs.ext4 -q /dev/vg0/hand',
    'mkdir -p /mnt/hand && mount /dev/vg0/hand /mnt/hand',
  ].join('\n'));
  await labSsh(lab, 'set -e; mkdir -p /mnt/v1-src; mount -o ro,noload /dev/vg1/v1-disk /mnt/v1-src; sync; echo 3 > /proc/sys/vm/drop_caches');
  const t0 = performance.now();
  await labSsh(kvm, `rsync ${FLAGS} -e 'ssh -p ${lab.sshPort} ${TRUST_SSH.join(' ')}' root@10.0.2.2:/mnt/v1-src/ /mnt/hand/`);
  const ms = performance.now() - t0;
  const sums = await Promise.all([labSsh(lab, 'sha256sum /mnt/v1-src/data'), labSsh(kvm, 'sha256sum /mnt/hand/data')]);
  if (sums[0].stdout.split(' ')[0] !== sums[1].stdout.split(' ')[0]) throw new Error('the copy by hand differs from its source');
  await labSsh(lab, 'umount /mnt/v1-src');
  await labSsh(kvm, 'umount /mnt/hand; lvremove -q -y vg0/hand');
  return ms;
}

async function main(): Promise<void> {
  const ferry: number[] = [];
  const hand: number[] = [];
  const direct: number[] = [];
  await inLab('ferry-bench-move-', async (dir) => {
    for (let round = 1; round <= ROUNDS; round++) {
      // a reset stops lab-kvm: it boots fresh (empty) each round
      const lab = await labReset();
      const kvm = await labKvmHostUp();
      // v1 for the relayed move and the copy by hand, v2 (as big) for ferry's direct move
      await makeDataGuests(lab, [{ name: 'v1', vg: 'vg1' }, { name: 'v2', vg: 'vg1' }], { dataMb: DATA_MB, lvMb: DATA_MB + 64 });
      // the trust: a key lab-hv accepts, on lab-kvm (the lab's own throwaway key)
      await labSsh(kvm, 'umask 077; mkdir -p /root/.ssh && cat > /root/.ssh/id_bench', readFileSync(lab.keyPath, 'utf8'));
      // alternated, so that neither always runs on a warmer machine; ferry's direct move between them
      const r = await pairedRound(round, () => byHand(lab, kvm), async () => {
        const relayed = await ferryMove(lab, dir, 'v1');
        direct.push(await ferryMove(lab, dir, 'v2', true));
        return relayed;
      });
      hand.push(r.hand);
      ferry.push(r.ferry);
      console.log(`round ${round}: ferry's relayed rsync ${(ferry.at(-1)! / 1000).toFixed(1)} s, ferry --direct ${(direct.at(-1)! / 1000).toFixed(1)} s, rsync -e ssh with trust ${(hand.at(-1)! / 1000).toFixed(1)} s (load ${loadAverage()})`);
    }
  });
  const speed = median(hand) / median(ferry);
  const directSpeed = median(hand) / median(direct);
  const rate = (ms: number[]) => `${(median(ms) / 1000).toFixed(1)} s (${(DATA_MB / (median(ms) / 1000)).toFixed(1)} MiB/s)`;
  console.log(`${DATA_MB} MiB lab-hv -> lab-kvm: ferry through the controller ${rate(ferry)}, ferry --direct ${rate(direct)}, rsync -e ssh with trust by hand ${rate(hand)}`);
  reportResult([
    {
      name: 'a move between hosts through the controller (rsync)',
      measured: `${(speed * 100).toFixed(0)}% of rsync -e ssh with trust`,
      target: 'at least 90%',
      pass: speed >= 0.9,
    },
    {
      name: 'a move between hosts with --direct (rsync run on the KVM host, its own ssh)',
      measured: `${(directSpeed * 100).toFixed(0)}% of rsync -e ssh with trust`,
      target: 'at least 90%',
      pass: directSpeed >= 0.9,
    },
  ]);
}

await main();
