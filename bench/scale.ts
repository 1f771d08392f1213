// Issue 15 §5: scale from one controller. 20 trivial `command` tasks on up to 500 inventory hosts,
// spread over a few harness sshd instances on loopback (each host its own SSH connection), with
// --forks 50 and --forks 500; 5% of the hosts unreachable (a closed port) and 5% failing one task.
// Measured inside the ferry process (a preload, so nothing in ferry changes for it): peak RSS and
// the longest event-loop stall (perf_hooks.monitorEventLoopDelay). Checked: the recap of every host.
// Run as root, after `npm run build`:
//   npx tsx bench/scale.ts      (BENCH_SCALE_HOSTS=500, BENCH_SCALE_SSHD=10, BENCH_TASKS=20, BENCH_NODE_ARGS;
//                                BENCH_SCALE_WIDE=N: after the warm-up, only N runs of all hosts at --forks all)
// Targets: wall time linear in hosts at fixed forks, peak RSS <= 300 MB, no stall over 100 ms,
// a correct recap.
import { reportResult, type BenchResult } from './lib.js';
import { withFleet, type RunFigures } from './fleet.js';

async function main(): Promise<void> {
  const maxHosts = Number(process.env.BENCH_SCALE_HOSTS ?? 500);
  const nSshd = Number(process.env.BENCH_SCALE_SSHD ?? 10);
  const tasks = Number(process.env.BENCH_TASKS ?? 20);
  await withFleet(nSshd, tasks, async ({ failAt, run }) => {
    await run(Math.min(50, maxHosts), 50); // warm: sshd, the page cache, Node's compile cache
    console.log(`${tasks} tasks per host; ${nSshd} sshd instances; every 20th host unreachable, every 20th fails task ${failAt}`);
    if (process.env.BENCH_SCALE_WIDE) {
      // only the wide run, BENCH_SCALE_WIDE times (a quick before/after of all hosts at once)
      const wides = [];
      for (let i = 0; i < Number(process.env.BENCH_SCALE_WIDE); i++) wides.push(await run(maxHosts, maxHosts));
      const wrongWide = wides.filter((f) => f.recapProblems.length);
      reportResult([
        { name: `${maxHosts} hosts, --forks ${maxHosts}`, measured: wides.map((f) => `${(f.ms / 1000).toFixed(1)} s`).join(', '), target: 'info', pass: null },
        { name: 'recap with 5% unreachable, 5% failed', measured: wrongWide.length ? `wrong in ${wrongWide.length} runs` : `correct in ${wides.length} runs`, target: 'correct', pass: wrongWide.length === 0 },
      ]);
      return;
    }
    const sizes = [...new Set([Math.round(maxHosts / 5), Math.round(maxHosts / 2), maxHosts])];
    const linear = [];
    for (const n of sizes) linear.push(await run(n, 50));
    const wide = await run(maxHosts, maxHosts);
    const all = [...linear, wide];

    // linear: the cost of each further host stays the same as hosts grow (start-up is a constant)
    const slope = (a: RunFigures, b: RunFigures): number => (b.ms - a.ms) / (b.hosts - a.hosts);
    const s1 = slope(linear[0]!, linear[1]!);
    const s2 = slope(linear[1]!, linear[2]!);
    const worstRss = Math.max(...all.map((f) => f.maxRssBytes));
    const worstStall = Math.max(...all.map((f) => f.loopMaxMs));
    const wrong = all.filter((f) => f.recapProblems.length);
    const results: BenchResult[] = [
      {
        name: `wall time linear in hosts (--forks 50, ${sizes.join('/')} hosts)`,
        measured: `${s1.toFixed(1)} then ${s2.toFixed(1)} ms per further host (${(s2 / s1).toFixed(2)}x)`,
        target: 'the second slope <= 1.5x the first',
        pass: s2 <= 1.5 * s1,
      },
      { name: `${maxHosts} hosts, --forks 500`, measured: `${(wide.ms / 1000).toFixed(1)} s (--forks 50: ${(linear[2]!.ms / 1000).toFixed(1)} s)`, target: 'info', pass: null },
      { name: 'controller peak RSS', measured: `${(worstRss / 1e6).toFixed(0)} MB`, target: '<= 300 MB', pass: worstRss <= 300e6 },
      { name: 'longest event-loop stall', measured: `${worstStall.toFixed(0)} ms`, target: '<= 100 ms', pass: worstStall <= 100 },
      { name: 'recap with 5% unreachable, 5% failed', measured: wrong.length ? `wrong in ${wrong.length} runs` : `correct in ${all.length} runs`, target: 'correct', pass: wrong.length === 0 },
    ];
    reportResult(results);
  });
}

await main();
