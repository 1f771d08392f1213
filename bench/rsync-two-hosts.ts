// Benchmark (information, no target in the issue): rsync between two hosts through the controller
// (the rsync module with src_host / dest_host: client on B, `rsync --server --sender` on A, the
// protocol relayed over ferry's two connections) against what a user with SSH trust between the
// hosts would run on B: `rsync -e ssh A:SRC/ DEST/` with OpenSSH. Same tree, same flags, same user.
// Run as root: npx tsx bench/rsync-two-hosts.ts
import { chown, copyFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sh, type Command } from '../runner/command.js';
import type { SshTransport } from '../runner/transport/ssh.js';
import { rsyncModule } from '../tasks/rsync.js';
import { NOPASSWD_USER, startSshdHosts, type SshdHost } from '../test/harness/sshd.js';
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
  timedTask,
  TREE_FILES,
  type TaskTiming,
} from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const FLAGS = ['-aAXH', '--numeric-ids', '--info=progress2', '--no-inc-recursive'];

/** The OpenSSH client B uses to reach A: the test user's own copy of the harness key and A's host key. */
async function trustFromBToA(a: SshdHost, dir: string): Promise<string> {
  const keys = join(dir, 'b-ssh');
  await mkdir(keys);
  const key = join(keys, 'id');
  const known = join(keys, 'known_hosts');
  await copyFile(a.userKeyFile, key);
  await copyFile(a.knownHostsFile, known);
  const uid = Number((await shell('id -u "$1"', NOPASSWD_USER)).trim());
  const gid = Number((await shell('id -g "$1"', NOPASSWD_USER)).trim());
  for (const p of [keys, key, known]) await chown(p, uid, gid);
  await chmod(key, 0o600);
  return [
    'ssh -F /dev/null', `-p ${a.port}`, `-i ${key}`, '-o IdentitiesOnly=yes', `-o UserKnownHostsFile=${known}`,
    '-o GlobalKnownHostsFile=/dev/null', '-o StrictHostKeyChecking=yes', '-o BatchMode=yes',
  ].join(' ');
}

function viaFerry(a: SshTransport, b: SshTransport, src: string, dest: string): Promise<TaskTiming> {
  return timedTask(
    rsyncModule,
    { src, dest, src_host: a.host, dest_host: b.host },
    { host: b.host, transport: b, peer: async (name) => ({ name, transport: name === a.host ? a : b, become: false, vars: {} }) },
  );
}

async function main(): Promise<void> {
  let dir: string | undefined;
  let stopMaster: (() => Promise<void>) | undefined;
  const hosts = await startSshdHosts(2);
  const [a, b] = hosts as [SshdHost, SshdHost];
  const ta = benchTransport(a);
  const tb = benchTransport(b);
  try {
    dir = await scratchDir('ferry-bench-rsync2-', 2 * 1024 ** 3);
    const tree = join(dir, 'tree');
    const bytes = await generateTree(tree);
    await shell('chmod -R a+rX "$1"', tree);
    console.log(`generated ${TREE_FILES} files (${(bytes / 1e6).toFixed(0)} MB) in ${tree}`);
    const rsh = await trustFromBToA(a, dir);
    const controlPath = join(dir, 'openssh-master-b');
    stopMaster = await openMaster(b, controlPath);
    await settle(Promise.all([ta.connect(), tb.connect()]));
    let copies = 0;
    const fresh = (): string => join(dir!, `copy-${++copies}`);
    const check = async (dest: string): Promise<void> => {
      const n = await shell('find "$1" | wc -l; find "$2" | wc -l', tree, dest);
      const [x, y] = n.trim().split('\n');
      if (x !== y) throw new Error(`${dest} holds ${y} entries, ${tree} ${x}`);
    };
    const opensshCmd = (dest: string): Command => sh`rsync ${FLAGS} -e ${rsh} ${`${NOPASSWD_USER}@${a.host}:${tree}/`} ${dest + '/'}`;
    console.log(`by hand on ${b.name}: ${opensshCmd(join(dir, 'copy-N')).display}`);
    // One untimed copy each way first (the first copy after the tree was made is an outlier).
    await settle(byHand(b, controlPath, opensshCmd(fresh())));
    await settle(viaFerry(ta, tb, tree + '/', fresh() + '/'));
    const hand: number[] = [];
    const apply: number[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const runHand = async (): Promise<number> => {
        const d = fresh();
        const ms = await byHand(b, controlPath, opensshCmd(d));
        await settle(check(d));
        return ms;
      };
      const runFerry = async (): Promise<number> => {
        const d = fresh();
        const f = await viaFerry(ta, tb, tree + '/', d + '/');
        await settle(check(d));
        return f.applyMs;
      };
      const { hand: h, ferry: f } = await pairedRound(round, runHand, runFerry);
      hand.push(h);
      apply.push(f);
      ratios.push(h / f);
      console.log(`round ${round}: rsync -e ssh ${(h / 1000).toFixed(2)} s   ferry relay ${(f / 1000).toFixed(2)} s   ferry throughput ${((h / f) * 100).toFixed(1)}% of OpenSSH's`);
    }
    const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
    const result: BenchResult = {
      name: 'rsync between two hosts through the controller vs rsync -e ssh with trust',
      measured: `${pct(median(ratios))} of OpenSSH's throughput (rounds ${pct(Math.min(...ratios))} .. ${pct(Math.max(...ratios))}; medians ${(median(apply) / 1000).toFixed(2)} s vs ${(median(hand) / 1000).toFixed(2)} s)`,
      target: 'info',
      pass: null,
    };
    reportResult([result]);
  } finally {
    await ta.close();
    await tb.close();
    await stopMaster?.();
    for (const h of hosts) await h.stop();
    await removeScratch(dir);
  }
}

await main();
