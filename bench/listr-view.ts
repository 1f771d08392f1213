// Issue 15 §6: the live view keeps up with many hosts without slowing the run. The same fleet run
// (bench/fleet.ts: trivial `command` tasks on BENCH_VIEW_HOSTS hosts, 5% unreachable, 5% failing one
// task) with ferry's stdout on a terminal (a pty of 120x50 through `script`: the listr2 view) and
// without one (plain lines), side by side, rounds rotated. Reported: wall time, the ferry process's
// CPU, and the bytes it drew.
// Run as root, after `npm run build`:
//   npx tsx bench/listr-view.ts   (BENCH_VIEW_HOSTS=500, BENCH_VIEW_FORKS=50, BENCH_ROUNDS=3, BENCH_TASKS=20)
// Target: the run on a terminal takes at most 1.1x the run without one.
import { withFleet, type RunFigures } from './fleet.js';
import { loadAverage, median, reportResult, rotated } from './lib.js';

async function main(): Promise<void> {
  const hosts = Number(process.env.BENCH_VIEW_HOSTS ?? 500);
  const forks = Number(process.env.BENCH_VIEW_FORKS ?? 50);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const tasks = Number(process.env.BENCH_TASKS ?? 20);
  await withFleet(Math.min(10, Math.ceil(hosts / 20)), tasks, async ({ run }) => {
    const tty = { rows: 50, cols: 120 };
    const variants: [string, () => Promise<RunFigures>][] = [
      ['no terminal (plain lines)', () => run(hosts, forks)],
      [`terminal ${tty.cols}x${tty.rows} (listr2)`, () => run(hosts, forks, { tty })],
    ];
    console.log(`${hosts} hosts x ${tasks} tasks, --forks ${forks}; load ${loadAverage()}`);
    await run(Math.min(50, hosts), forks); // warm: sshd, the page cache, Node's compile cache
    const figures = new Map<string, RunFigures[]>(variants.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) for (const [name, go] of rotated(variants, r)) figures.get(name)!.push(await go());
    const [plain, term] = variants.map(([n]) => figures.get(n)!) as [RunFigures[], RunFigures[]];
    const wall = median(term.map((t, i) => t.ms / plain[i]!.ms));
    const cpu = median(term.map((t, i) => t.cpuMs / plain[i]!.cpuMs));
    const wrong = [...plain, ...term].filter((f) => f.recapProblems.length);
    console.log(`load ${loadAverage()}`);
    reportResult([
      {
        name: `${hosts} hosts x ${tasks} tasks on a terminal vs without`,
        measured: `wall ${wall.toFixed(2)}x, CPU ${cpu.toFixed(2)}x (${(median(term.map((t) => t.ms)) / 1000).toFixed(1)} s vs ${(median(plain.map((t) => t.ms)) / 1000).toFixed(1)} s; drew ${(median(term.map((t) => t.outBytes)) / 1e6).toFixed(1)} MB)`,
        target: 'wall <= 1.1x',
        pass: wall <= 1.1,
      },
      { name: 'recap with 5% unreachable, 5% failed', measured: wrong.length ? `wrong in ${wrong.length} runs` : `correct in ${rounds * 2} runs`, target: 'correct', pass: wrong.length === 0 },
    ]);
  });
}

await main();
