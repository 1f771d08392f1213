// Benchmark (issue 14): a guest partitioned already moved from lab-hv to lab-kvm (ferry migrate --to),
// its whole disk copied block by block by the blockcopy module, against OpenSSH's `ssh A 'dd …' | ssh B
// 'dd …'` run from this machine, with the same dd block size. ferry's figure is the blockcopy task's
// time: its compressibility sample, the copy and the sha256 verify of both ends (the pipe by hand
// verifies nothing). ferry copies relayed (through this machine: the hosts share no SSH trust) and
// directly (ferry_move_direct: lab-kvm's own ssh runs the reader on lab-hv), each on a guest of its
// own. ferry compresses as it chooses (compress: auto samples the disk: random data, then empty
// space past it), the pipe by hand does not; the bench prints what ferry chose.
// Target: the relayed move at least 90% of the pipe's speed.
// Then where ferry's extra time goes (information): the blockcopy module alone, relayed from lab-hv
// into a fresh LV on lab-kvm, with compression and the verify each on or off (BENCH_SPLIT=0 skips it).
// Run as root, with the lab built (npm run lab:up once): npx tsx bench/move-blocks.ts
// BENCH_ROUNDS (default 1), BENCH_GUEST_MB (the guest's data, default 256).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { makeDataGuests } from '../lab/data-guests.js';
import { labKvmHostUp, labReset, labSsh, type LabInfo, type LabVmInfo } from '../lab/lab.js';
import type { FerryEvent } from '../runner/events.js';
import { collectedRun, copyPhase, failures, inLab, type CopyPhaseRun } from './lab-copy.js';
import { loadAverage, median, pairedRound, reportResult, rotated } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DATA_MB = Number(process.env.BENCH_GUEST_MB ?? 256);
const LV_MB = DATA_MB + 64;
const BS = 4 * 1024 * 1024;
const SPLIT = process.env.BENCH_SPLIT !== '0';

/** The blockcopy options of the split's variants, the last as the migration copies (compress: auto samples first). */
const SPLIT_VARIANTS: { compress: string; verify: string }[] = [
  { compress: 'none', verify: 'none' },
  { compress: 'zstd', verify: 'none' },
  { compress: 'none', verify: 'sha256' },
  { compress: 'auto', verify: 'sha256' },
];

/** lab-kvm's ssh options to lab-hv for ferry's direct move: the bench's key, no host key kept. */
const TRUST_SSH = ['-i', '/root/.ssh/id_bench', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** The run's blockcopy result that changed (the copy), if any. */
function changedBlockcopy(run: CopyPhaseRun): Extract<FerryEvent, { type: 'task_result' }> | undefined {
  for (const e of run.events) if (e.type === 'task_result' && e.module === 'blockcopy' && e.status === 'changed') return e;
  return undefined;
}

/** ferry's move of guest `name`'s copy phase (relayed, or direct); the blockcopy task's time in ms. */
async function ferryMove(lab: LabInfo, dir: string, name: string, direct: boolean): Promise<number> {
  await labSsh(lab, 'sync; echo 3 > /proc/sys/vm/drop_caches');
  const run = await copyPhase(lab, dir, [{ name, vg: 'vg1' }], { kvm_host: 'lab-kvm', ...(direct ? { ferry_move_direct: { host: '10.0.2.2', port: lab.sshPort, ssh_options: TRUST_SSH } } : {}) });
  const copy = changedBlockcopy(run);
  if (run.exitCode !== 0 || !copy || copy.delegatedTo !== 'lab-kvm' || copy.result?.direct !== (direct || undefined)) {
    throw new Error(`the move's blockcopy did not complete as asked on lab-kvm (exit ${run.exitCode}): ${failures(run)}`);
  }
  console.log(`ferry ${direct ? '--direct' : 'relayed'}: compression ${String(copy.result?.compression)}`);
  return copy.durationMs;
}

/**
 * The blockcopy module alone, relayed: lab-hv's `/dev/vg1/NAME-disk` into a fresh LV as big on lab-kvm
 * (compare: false, as the migration copies), with these options; the task's time in ms and the
 * compression it used.
 */
async function blockcopyAlone(lab: LabInfo, kvm: LabVmInfo, dir: string, name: string, opts: { compress: string; verify: string }): Promise<{ ms: number; compression: string }> {
  await labSsh(kvm, `lvcreate -q -y -W y -L ${LV_MB}M -n split vg0`);
  await labSsh(lab, 'sync; echo 3 > /proc/sys/vm/drop_caches');
  const book = join(dir, 'split.yaml');
  writeFileSync(book, stringify([{ hosts: 'lab-kvm', gather_facts: false, tasks: [{ blockcopy: { src: `/dev/vg1/${name}-disk`, src_host: 'lab-hv', dest: '/dev/vg0/split', compare: false, ...opts } }] }]));
  const run = await collectedRun(book, { inventory: [lab.inventoryPath] });
  const copy = changedBlockcopy(run);
  if (run.exitCode !== 0 || !copy) throw new Error(`blockcopy ${JSON.stringify(opts)} did not complete (exit ${run.exitCode}): ${failures(run)}`);
  await labSsh(kvm, 'lvremove -q -y vg0/split');
  return { ms: copy.durationMs, compression: String(copy.result?.compression) };
}

/** OpenSSH's options for one lab VM, as this machine reaches it. */
const sshTo = (vm: LabVmInfo): string[] => ['-i', vm.keyPath, '-o', `UserKnownHostsFile=${vm.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(vm.sshPort), 'root@127.0.0.1'];

/** `ssh lab-hv 'dd if=LV' | ssh lab-kvm 'dd of=LV'` from this machine, into a fresh LV as big; its time in ms. */
async function byHand(lab: LabInfo, kvm: LabVmInfo, name: string): Promise<number> {
  await labSsh(kvm, `lvcreate -q -y -W y -L ${LV_MB}M -n hand vg0`);
  await labSsh(lab, 'sync; echo 3 > /proc/sys/vm/drop_caches');
  const q = (words: string[]) => words.map((w) => `'${w}'`).join(' ');
  const pipe = `ssh ${q(sshTo(lab))} 'dd if=/dev/vg1/${name}-disk bs=${BS} iflag=fullblock status=none' | ssh ${q(sshTo(kvm))} 'dd of=/dev/vg0/hand bs=${BS} iflag=fullblock conv=notrunc,fsync status=none'`;
  const t0 = performance.now();
  await promisify(execFile)('sh', ['-c', pipe], { maxBuffer: 1024 * 1024 });
  const ms = performance.now() - t0;
  const sums = await Promise.all([labSsh(lab, `sha256sum /dev/vg1/${name}-disk`), labSsh(kvm, 'sha256sum /dev/vg0/hand')]);
  if (sums[0].stdout.split(' ')[0] !== sums[1].stdout.split(' ')[0]) throw new Error('the copy by hand differs from its source');
  await labSsh(kvm, 'lvremove -q -y vg0/hand');
  return ms;
}

async function main(): Promise<void> {
  const ferry: number[] = [];
  const hand: number[] = [];
  const direct: number[] = [];
  const split = new Map<string, number[]>();
  const splitName = (o: { compress: string; verify: string }) => `compress: ${o.compress}, verify: ${o.verify}`;
  await inLab('ferry-bench-move-blocks-', async (dir) => {
    for (let round = 1; round <= ROUNDS; round++) {
      // a reset stops lab-kvm: it boots fresh (empty) each round
      const lab = await labReset();
      const kvm = await labKvmHostUp();
      // b1 for the relayed move and the pipe by hand, b2 (as big) for ferry's direct move
      await makeDataGuests(lab, [{ name: 'b1', vg: 'vg1' }, { name: 'b2', vg: 'vg1' }], { dataMb: DATA_MB, lvMb: LV_MB, partitioned: true });
      await labSsh(kvm, 'umask 077; mkdir -p /root/.ssh && cat > /root/.ssh/id_bench', readFileSync(lab.keyPath, 'utf8'));
      // alternated, so that neither always runs on a warmer machine; ferry's direct move between them
      const r = await pairedRound(round, () => byHand(lab, kvm, 'b1'), async () => {
        const relayed = await ferryMove(lab, dir, 'b1', false);
        direct.push(await ferryMove(lab, dir, 'b2', true));
        return relayed;
      });
      hand.push(r.hand);
      ferry.push(r.ferry);
      console.log(`round ${round}: ferry's relayed blockcopy ${(ferry.at(-1)! / 1000).toFixed(1)} s, ferry --direct ${(direct.at(-1)! / 1000).toFixed(1)} s, ssh A dd | ssh B dd ${(hand.at(-1)! / 1000).toFixed(1)} s (load ${loadAverage()})`);
      if (!SPLIT) continue;
      // the order rotated each round, as the other lab benchmarks do
      for (const opts of rotated(SPLIT_VARIANTS, round - 1)) {
        const one = await blockcopyAlone(lab, kvm, dir, 'b1', opts);
        split.set(splitName(opts), [...(split.get(splitName(opts)) ?? []), one.ms]);
        console.log(`round ${round}: blockcopy alone, ${splitName(opts)}: ${(one.ms / 1000).toFixed(1)} s (compression used: ${one.compression}; load ${loadAverage()})`);
      }
    }
  });
  const speed = median(hand) / median(ferry);
  const directSpeed = median(hand) / median(direct);
  const rate = (ms: number[]) => `${(median(ms) / 1000).toFixed(1)} s (${(LV_MB / (median(ms) / 1000)).toFixed(1)} MiB/s)`;
  console.log(`${LV_MB} MiB disk lab-hv -> lab-kvm: ferry through the controller ${rate(ferry)}, ferry --direct ${rate(direct)}, ssh A dd | ssh B dd by hand ${rate(hand)}`);
  for (const [name, ms] of split) console.log(`blockcopy alone, relayed, ${name}: ${rate(ms)}, ${((median(hand) / median(ms)) * 100).toFixed(0)}% of the pipe by hand`);
  reportResult([
    {
      name: 'a move between hosts through the controller (blockcopy, verify included)',
      measured: `${(speed * 100).toFixed(0)}% of ssh A dd | ssh B dd`,
      target: 'at least 90%',
      pass: speed >= 0.9,
    },
    {
      name: 'a move between hosts with --direct (blockcopy, the KVM host\'s own ssh; verify included)',
      measured: `${(directSpeed * 100).toFixed(0)}% of ssh A dd | ssh B dd`,
      target: 'none (information)',
      pass: null,
    },
  ]);
}

await main();
