// Ctrl-C as a user presses it: the built CLI runs a playbook against a real sshd (and locally),
// gets SIGINT once the long task has started on the host, and must stop every process of it,
// run the always: block, print the recap, exit 130 and keep a state that --resume continues.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { FerryEvent } from '../../runner/events.js';
import { inventoryEntry, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { killMatching, processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/app/cli.js');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When the process exited (Date.now()). */
  at: number;
}

/** Starts `ferry ARGS` in `cwd` as a user would, collecting its output. */
function ferry(args: string[], cwd: string): { pid: number; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<Exit>((res) => child.once('close', (code) => res({ code, stdout, stderr, at: Date.now() })));
  return { pid: child.pid!, exited };
}

/** Settles with the process's exit, or fails the test when it is still running after `ms`. */
async function within(p: Promise<Exit>, ms: number, what: string): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: ferry still runs after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The task results of a run's NDJSON events file (--json=FILE). */
async function taskResults(file: string): Promise<Extract<FerryEvent, { type: 'task_result' }>[]> {
  return (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FerryEvent)
    .filter((e): e is Extract<FerryEvent, { type: 'task_result' }> => e.type === 'task_result');
}

/** The completed task ids each host has in the (only) run state file under `cwd`. */
async function completedTasks(cwd: string): Promise<Record<string, string[]>> {
  const runs = join(cwd, '.ferry/runs');
  const files = (await readdir(runs)).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1, `one run state in ${runs}: ${files.join(', ')}`);
  const state = JSON.parse(await readFile(join(runs, files[0]!), 'utf8')) as { hosts: Record<string, { completed: string[] }> };
  return Object.fromEntries(Object.entries(state.hosts).map(([h, v]) => [h, v.completed]));
}

describe('Ctrl-C stops what ferry started @integration', function () {
  this.timeout(120_000);
  let host: SshdHost;
  let dir: string;
  let inv: string;

  before(async () => {
    host = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-interrupt-'));
    await chmod(dir, 0o777);
    inv = await writeInventory([host], dir, host.users.nopasswd, { localhost: { ferry_connection: 'local' } });
  });
  after(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh directory for one test (writable by the sshd's login user) holding a one-play playbook made by `play`. */
  async function prepare(m: string, play: (work: string) => Record<string, unknown>): Promise<{ work: string; pb: string }> {
    const work = join(dir, m);
    await mkdir(work);
    await chmod(work, 0o777);
    const pb = join(work, 'pb.yaml');
    await writeFile(pb, stringify([{ gather_facts: false, ...play(work) }]));
    return { work, pb };
  }

  const CASES = [
    { name: 'a long remote command (a pipeline of sleep and dd)', target: 'sshd', become: false },
    { name: 'a long remote command run with become (sudo)', target: 'sshd', become: true },
    { name: 'a long local command (localhost)', target: 'localhost', become: false },
  ] as const;

  for (const c of CASES) {
    it(`${c.name}: no process of it is left, the always: block runs, recap, exit 130; --resume runs it again`, async () => {
      const m = uniqueMarker();
      const hostName = c.target === 'sshd' ? host.name : 'localhost';
      const { work, pb } = await prepare(m, (w) => ({
        hosts: hostName,
        become: c.become,
        tasks: [
          { name: 'first', command: 'true' },
          {
            block: [
              // on --resume the flag file exists and the long task ends at once
              { name: 'long', shell: `test -e ${join(w, 'flag')} || { sleep 1${m} | dd of=/dev/null count=2${m} status=none; }` },
              { name: 'after the long one', command: `touch ${join(w, 'after')}` },
            ],
            always: [{ name: 'clean up', command: `touch ${join(w, 'cleaned')}` }],
          },
          { name: 'later', command: `touch ${join(w, 'later')}` },
        ],
      }));
      const file = (n: string): string => join(work, n);
      try {
        const run = ferry(['run', pb, '-i', inv, '--plain'], work);
        await waitUntil(() => processesMatching(`count=2${m}`).length > 0, 30_000, 'the long task started on the host');
        const seen = processesMatching(m);
        if (c.become) assert.ok(seen.some((p) => /\bsudo\b/.test(p)), `runs through sudo: ${seen.join('; ')}`);
        process.kill(run.pid, 'SIGINT');
        const r = await within(run.exited, 30_000, 'after one Ctrl-C');
        assert.equal(r.code, 130, r.stdout + r.stderr);
        await waitUntil(() => processesMatching(m).length === 0, 3000, `no process of the run left: ${processesMatching(m).join('; ')}`);
        assert.match(r.stderr, /SIGINT: stopping the commands that run/);
        assert.match(r.stdout, new RegExp(`INTERRUPTED \\(interrupted by SIGINT\\)[^\\n]*\\n  \\[${hostName}\\] .*count=2${m}`));
        assert.match(r.stdout, new RegExp(`interrupted: \\[${hostName}\\]: interrupted by SIGINT while it ran: not completed`));
        assert.match(r.stdout, /PLAY RECAP[^\n]*\nHOST +ok +changed +unreachable +failed +skipped +rescued +ignored +interrupted\n/);
        assert.match(r.stdout, new RegExp(`^${hostName} +2 +2 +0 +0 +0 +0 +0 +1$`, 'm'));
        assert.ok(existsSync(file('cleaned')), 'the always: block ran');
        assert.ok(!existsSync(file('after')) && !existsSync(file('later')), 'no other task started');
        // first and clean up completed; long did not
        assert.equal((await completedTasks(work))[hostName]?.length, 2);

        await writeFile(file('flag'), '');
        const eventsFile = join(work, 'resume.ndjson');
        const again = await within(ferry(['run', pb, '-i', inv, '--plain', '--resume', `--json=${eventsFile}`], work).exited, 60_000, '--resume');
        assert.equal(again.code, 0, again.stdout + again.stderr);
        const results = await taskResults(eventsFile);
        const first = results.find((e) => e.task === 'first');
        assert.equal(first?.status, 'skipped');
        assert.match(first?.msg ?? '', /completed in the run being resumed/);
        assert.equal(results.find((e) => e.task === 'long')?.status, 'changed', 'the interrupted task runs again');
        assert.ok(existsSync(file('after')) && existsSync(file('later')));
      } finally {
        killMatching(m);
      }
    });
  }

  it('SIGTERM stops the run as the first Ctrl-C does, and exits 143', async () => {
    const m = uniqueMarker();
    const { work, pb } = await prepare(m, (w) => ({
      hosts: host.name,
      tasks: [{ block: [{ name: 'long', shell: `sleep 1${m}` }], always: [{ name: 'clean up', command: `touch ${join(w, 'cleaned')}` }] }],
    }));
    try {
      const run = ferry(['run', pb, '-i', inv, '--plain'], work);
      await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the long task started');
      process.kill(run.pid, 'SIGTERM');
      const r = await within(run.exited, 30_000, 'after SIGTERM');
      assert.equal(r.code, 143, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`interrupted: \\[${host.name}\\]: interrupted by SIGTERM while it ran`));
      assert.ok(existsSync(join(work, 'cleaned')), 'the always: block ran');
      await waitUntil(() => processesMatching(m).length === 0, 3000, `no process left: ${processesMatching(m).join('; ')}`);
    } finally {
      killMatching(m);
    }
  });

  it('a second Ctrl-C exits at once and names the commands that were still running', async () => {
    const m = uniqueMarker();
    const { work, pb } = await prepare(m, () => ({
      hosts: host.name,
      tasks: [{ block: [{ name: 'long', shell: `sleep 1${m}` }], always: [{ name: 'slow clean up', shell: `sleep 3${m}` }] }],
    }));
    try {
      const run = ferry(['run', pb, '-i', inv, '--plain'], work);
      await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the long task started');
      process.kill(run.pid, 'SIGINT');
      await waitUntil(() => processesMatching(`sleep 3${m}`).length > 0, 30_000, 'the always: block started');
      const sent = Date.now();
      process.kill(run.pid, 'SIGINT');
      const r = await within(run.exited, 5000, 'after a second Ctrl-C');
      assert.equal(r.code, 130);
      assert.ok(r.at - sent < 2000, `exited ${r.at - sent} ms after the second Ctrl-C`);
      assert.match(r.stderr, /SIGINT again: exiting at once; these commands were still running \(one in a persistent shell is stopped by the host once the connection closes; [^\n]*may run on\):\n/);
      assert.match(r.stderr, new RegExp(`  \\[${host.name}\\] .*sleep 3${m}.* \\(task: slow clean up\\)`));
      assert.doesNotMatch(r.stderr, new RegExp(`sleep 1${m}`), 'the interrupted command had already stopped');
      // what it named ran when it exited; with the connection gone the host stops it (the persistent shell's watcher)
      await waitUntil(() => processesMatching(`sleep 3${m}`).length === 0, 10_000, `the host stopped what was left: ${processesMatching(m).join('; ')}`);
    } finally {
      killMatching(m);
    }
  });

  it('SIGKILL (no chance to stop anything): the host stops the command once the connection is gone, and --resume runs the task again', async () => {
    const m = uniqueMarker();
    const { work, pb } = await prepare(m, (w) => ({
      hosts: host.name,
      tasks: [{ name: 'long', shell: `test -e ${join(w, 'flag')} || sleep 1${m}` }, { name: 'after', command: `touch ${join(w, 'after')}` }],
    }));
    try {
      const run = ferry(['run', pb, '-i', inv, '--plain'], work);
      await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the long task started on the host');
      process.kill(run.pid, 'SIGKILL');
      const r = await within(run.exited, 5000, 'after SIGKILL');
      assert.equal(r.code, null);
      // sshd does not signal a session without a terminal: without the watcher the sleep ran on for ever
      await waitUntil(() => processesMatching(m).length === 0, 10_000, `the host stopped the orphaned command: ${processesMatching(m).join('; ')}`);
      await writeFile(join(work, 'flag'), '');
      const again = await within(ferry(['run', pb, '-i', inv, '--plain', '--resume'], work).exited, 60_000, '--resume');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.ok(existsSync(join(work, 'after')));
    } finally {
      killMatching(m);
    }
  });

  it('SIGKILL after commands completed: --resume reads them from the run state\'s journal and runs none of them again', async () => {
    const m = uniqueMarker();
    const { work, pb } = await prepare(m, (w) => ({
      hosts: host.name,
      tasks: [
        ...[1, 2, 3].map((i) => ({ name: `count ${i}`, shell: `echo ran >> ${join(w, `count-${i}`)}`, register: `c${i}` })),
        { name: 'long', shell: `test -e ${join(w, 'flag')} || sleep 1${m}` },
        { name: 'after', debug: { msg: 'count 2 registered rc {{ c2.rc }}' } },
      ],
    }));
    try {
      const run = ferry(['run', pb, '-i', inv, '--plain'], work);
      await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the long task started on the host');
      process.kill(run.pid, 'SIGKILL');
      await within(run.exited, 5000, 'after SIGKILL');
      const runs = join(work, '.ferry/runs');
      assert.ok((await readdir(runs)).some((f) => f.endsWith('.journal')), 'a killed run leaves its journal');
      await waitUntil(() => processesMatching(m).length === 0, 10_000, 'the host stopped the orphaned command');
      await writeFile(join(work, 'flag'), '');
      const again = await within(ferry(['run', pb, '-i', inv, '--plain', '--resume'], work).exited, 60_000, '--resume');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      for (const i of [1, 2, 3]) assert.equal(await readFile(join(work, `count-${i}`), 'utf8'), 'ran\n', `count ${i} ran once`);
      assert.match(again.stdout, /count 2 registered rc 0/);
      assert.deepEqual(await readdir(runs), (await readdir(runs)).filter((f) => f.endsWith('.json')), 'a finished run is its snapshot alone');
    } finally {
      killMatching(m);
    }
  });
  it('a blockcopy between two hosts cut short by Ctrl-C: the partial copy is not taken for done; --resume copies again and verifies, the source untouched', async () => {
    const m = uniqueMarker();
    const MiB = 1024 * 1024;
    const size = 384 * MiB;
    const { work, pb } = await prepare(m, (w) => ({
      hosts: host.name,
      tasks: [{ name: 'copy', blockcopy: { src: join(w, 'src.img'), dest: join(w, 'dest.img'), dest_host: 'peer', compress: 'none' } }],
    }));
    // the same sshd under a second inventory name: the copy is relayed through the controller
    const twoInv = await writeInventory([host], work, host.users.nopasswd, { peer: inventoryEntry(host, host.users.nopasswd) });
    const src = join(work, 'src.img');
    const dest = join(work, 'dest.img');
    execFileSync('sh', ['-c', `head -c ${size} /dev/urandom > "$1" && chmod 644 "$1"`, 'sh', src]);
    const sha = (f: string): string => execFileSync('sha256sum', [f]).toString().split(' ')[0]!;
    const before = sha(src);
    try {
      const run = ferry(['run', pb, '-i', twoInv, '--plain'], work);
      // cut it once some of the data has arrived
      await waitUntil(() => existsSync(dest) && statSync(dest).size >= 16 * MiB, 60_000, 'the copy had started writing');
      process.kill(run.pid, 'SIGINT');
      const r = await within(run.exited, 30_000, 'after one Ctrl-C');
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`interrupted: \\[${host.name}\\]: interrupted by SIGINT while it ran: not completed`));
      await waitUntil(() => processesMatching(m).length === 0, 10_000, `no dd of the copy left: ${processesMatching(m).join('; ')}`);
      const partial = statSync(dest).size;
      assert.ok(partial < size, `the copy was cut short (${partial} of ${size} bytes)`);

      const eventsFile = join(work, 'resume.ndjson');
      const again = await within(ferry(['run', pb, '-i', twoInv, '--plain', '--resume', `--json=${eventsFile}`], work).exited, 90_000, '--resume');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const copy = (await taskResults(eventsFile)).find((e) => e.task === 'copy');
      assert.equal(copy?.status, 'changed', 'the cut copy runs again, not taken for done');
      assert.equal(copy?.result?.verified, true);
      assert.equal(sha(dest), before, 'the copy equals the source');
      assert.equal(sha(src), before, 'the source is unchanged');
    } finally {
      killMatching(m);
    }
  });
});
