// Benchmark: what ferry's blockcopy (dd) and rsync modules add on one host to the copy command
// they run, against the same command run by hand as one OpenSSH command on the same harness sshd
// (over an open OpenSSH master connection, as ferry's is open too).
// Target (issue 5): the module's copy (apply) adds under 2%. The whole task (plan reads + apply)
// is reported beside it. Run as root: npx tsx bench/local-overhead.ts [MiB of the dd file]
import { join } from 'node:path';
import { quote, sh, type Command } from '../runner/command.js';
import type { TaskModule } from '../runner/module.js';
import type { SshTransport } from '../runner/transport/ssh.js';
import { blockcopyModule, ddGeometry } from '../tasks/blockcopy.js';
import { rsyncModule } from '../tasks/rsync.js';
import { startSshd, type SshdHost } from '../test/harness/sshd.js';
import {
  type BenchResult,
  benchTransport,
  byHand,
  generateTree,
  median,
  openMaster,
  pairedRound,
  removeScratch,
  reportResult,
  scratchDir,
  settle,
  shell,
  sizeFromArgs,
  timedTask,
  TREE_FILES,
  type TaskTiming,
} from './lib.js';

// Even counts: the order alternates (by hand first, then ferry first) so that neither side always
// meets the other's leftovers (writeback, discards). dd rounds are short, so there are more.
const ROUNDS_DD = Number(process.env.BENCH_ROUNDS ?? 10);
const ROUNDS_RSYNC = Number(process.env.BENCH_ROUNDS ?? 10);
const TARGET = 0.02;

/** Plans and applies one task on the host; returns the two times apart. */
function viaFerry<P>(t: SshTransport, mod: TaskModule<P>, input: Record<string, unknown>): Promise<TaskTiming> {
  return timedTask(mod, input, { host: t.host, transport: t });
}

interface Case {
  name: string;
  rounds: number;
  /** The copy command the module runs, as built there (what "by hand" runs), for the current destination. */
  command: () => Command;
  ferry: () => Promise<TaskTiming>;
  /** Makes the destination differ from the source again, so every run copies everything. */
  reset: () => Promise<void>;
  /** Throws when the destination is not a full copy. */
  check: () => Promise<void>;
}

interface Measured {
  /** Medians in ms: by hand, ferry's apply, ferry's plan + apply. */
  hand: number;
  apply: number;
  whole: number;
  /** Per-round ferry/by-hand ratios: each pair ran back to back. */
  applyRatios: number[];
  wholeRatios: number[];
  /** Median CPU seconds the controller (this process) spent in ferry's apply. */
  cpuS: number;
}

/** Times `c.rounds` pairs of by-hand and ferry runs of one case, in alternating order, and prints them; returns the medians. */
async function measure(h: SshdHost, controlPath: string, c: Case): Promise<Measured> {
  const hand: number[] = [];
  const apply: number[] = [];
  const whole: number[] = [];
  const cpu: number[] = [];
  // One untimed run first: the first copy after the source was made was an outlier either way
  // (2.3 s against 12-23 s once, 17 s against 2-5 s another time), whichever side ran it.
  await c.reset();
  await byHand(h, controlPath, c.command());
  await c.check();
  for (let round = 1; round <= c.rounds; round++) {
    const runHand = async (): Promise<number> => {
      await c.reset();
      const ms = await byHand(h, controlPath, c.command());
      await c.check();
      return ms;
    };
    const runFerry = async (): Promise<TaskTiming> => {
      await c.reset();
      const cpu0 = process.cpuUsage();
      const f = await c.ferry();
      const used = process.cpuUsage(cpu0);
      cpu.push((used.user + used.system) / 1e6);
      await c.check();
      return f;
    };
    const { hand: ms, ferry: f } = await pairedRound(round, runHand, runFerry);
    hand.push(ms);
    apply.push(f.applyMs);
    whole.push(f.planMs + f.applyMs);
    const s = (x: number): string => `${(x / 1000).toFixed(2)} s`;
    console.log(
      `${c.name} round ${round}${round % 2 ? ' (by hand first)' : ' (ferry first)  '}: by hand ${s(ms)}  ferry apply ${s(f.applyMs)}  plan ${s(f.planMs)}  apply/by hand ${((f.applyMs / ms) * 100).toFixed(1)}%`,
    );
  }
  return {
    hand: median(hand),
    apply: median(apply),
    whole: median(whole),
    applyRatios: apply.map((a, i) => a / hand[i]!),
    wholeRatios: whole.map((w, i) => w / hand[i]!),
    cpuS: median(cpu),
  };
}

async function main(): Promise<void> {
  const size = sizeFromArgs(1024);
  let dir: string | undefined;
  let stopMaster: (() => Promise<void>) | undefined;
  const host = await startSshd();
  const t = benchTransport(host);
  try {
    dir = await scratchDir('ferry-bench-local-', 2 * size + 3 * 1024 ** 3);
    const src = join(dir, 'src.img');
    // The dd destination is overwritten in place, as blockcopy writes a block device: made once,
    // and before each run its first MiB is zeroed so that the plan's cmp finds it different at once.
    const dest = join(dir, 'dest.img');
    console.log(`making ${size / 1024 / 1024} MiB of random data and the rsync tree in ${dir} ...`);
    await shell('head -c "$1" /dev/urandom > "$2" && chmod 644 "$2" && cp "$2" "$3" && chmod 666 "$3"', String(size), src, dest);
    let tree = process.env.BENCH_RSYNC_SRC;
    if (!tree) {
      tree = join(dir, 'tree');
      const bytes = await generateTree(tree);
      console.log(`generated ${TREE_FILES} files (${(bytes / 1e6).toFixed(0)} MB) in ${tree}`);
    }
    // A fresh directory for every rsync run, all removed at the end: with the copy removed between
    // runs, every run after the first was 5-10x slower than the first here (2.3 s, then 12-23 s,
    // by hand and ferry alike; cause not pinned down), which measured the filesystem, not the copy.
    let copies = 0;
    let treeDest = join(dir, 'tree-copy-0');
    const controlPath = join(dir, 'openssh-master');
    stopMaster = await openMaster(host, controlPath);
    await settle(t.connect());

    // blockcopy's one-host copy (tasks/blockcopy.ts localCopy), letter for letter.
    const g = ddGeometry(size);
    const iflag = g.countBytes ? 'iflag=fullblock,count_bytes' : 'iflag=fullblock';
    const ddCmd = sh`dd ${`if=${src}`} ${`of=${dest}`} ${`bs=${g.bs}`} ${`count=${g.count}`} ${iflag} conv=notrunc,fsync status=progress`;
    // rsync's real run with its default flags (tasks/rsync.ts rsyncCommand).
    const rsyncCmd = (): Command => sh`rsync -aAXH --numeric-ids --info=progress2 --no-inc-recursive ${tree + '/'} ${treeDest + '/'}`;
    const cases: Case[] = [
      {
        name: 'dd',
        rounds: ROUNDS_DD,
        command: () => ddCmd,
        ferry: () => viaFerry(t, blockcopyModule, { src, dest, size, verify: 'none' }),
        reset: () => settle(shell('dd if=/dev/zero of="$1" bs=1M count=1 conv=notrunc status=none', dest)),
        check: async () => {
          // cmp stops at the first difference: a run that did not copy fails at byte 1
          if ((await shell('cmp -n 1048576 "$1" "$2" && stat -c %s "$2"', src, dest)).trim() !== String(size)) throw new Error(`dd: ${dest} is not a copy of ${src}`);
        },
      },
      {
        name: 'rsync',
        rounds: ROUNDS_RSYNC,
        command: rsyncCmd,
        ferry: () => viaFerry(t, rsyncModule, { src: tree + '/', dest: treeDest + '/' }),
        reset: async () => {
          treeDest = join(dir!, `tree-copy-${++copies}`);
          await settle(Promise.resolve());
        },
        check: async () => {
          const n = await shell('find "$1" | wc -l; find "$2" | wc -l', tree, treeDest);
          const [a, b] = n.trim().split('\n');
          if (a !== b) throw new Error(`rsync: ${treeDest} holds ${b} entries, ${tree} ${a}`);
        },
      },
    ];
    const results: BenchResult[] = [];
    const lines: string[] = [];
    const pct = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;
    const spread = (rs: number[]): string => `${pct(Math.min(...rs))} .. ${pct(Math.max(...rs))}`;
    for (const c of cases) {
      console.log(`\n${c.name} by hand: ssh ${host.name} ${quote(c.command().text)}`);
      const m = await measure(host, controlPath, c);
      const s = (x: number): string => `${(x / 1000).toFixed(2)} s`;
      lines.push(
        `${c.name.padEnd(5)} by hand ${s(m.hand)} | ferry apply ${s(m.apply)}, ` +
          `controller CPU ${m.cpuS.toFixed(2)} s | whole task ${s(m.whole)}`,
        `      apply vs by hand: ${pct(median(m.applyRatios))} (rounds ${spread(m.applyRatios)}); ` +
          `whole task vs by hand: ${pct(median(m.wholeRatios))} (rounds ${spread(m.wholeRatios)})`,
      );
      // The target compares the module's copy with the command by hand, both on an open connection,
      // as the median of back-to-back pairs, which drift in the machine's load affects least.
      const applyOver = median(m.applyRatios);
      results.push({
        name: `${c.name} on one host, module apply vs by hand`,
        measured: `${pct(applyOver)} (rounds ${spread(m.applyRatios)})`,
        target: `< +${TARGET * 100}%`,
        pass: applyOver - 1 < TARGET,
      });
      results.push({
        name: `${c.name} on one host, whole task (plan+apply) vs by hand`,
        measured: `${pct(median(m.wholeRatios))} (rounds ${spread(m.wholeRatios)})`,
        target: 'info',
        pass: null,
      });
    }
    console.log(`\nmedians (dd ${ROUNDS_DD} rounds, rsync ${ROUNDS_RSYNC}):`);
    for (const l of lines) console.log('  ' + l);
    reportResult(results);
  } finally {
    await t.close();
    await stopMaster?.();
    await host.stop();
    await removeScratch(dir);
  }
}

await main();
