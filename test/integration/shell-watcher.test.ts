// The persistent shell's watcher (SHELL_WATCHER) on this machine, without sshd: a stand-in loop
// whose parent is SIGKILLed, as a connection's sshd goes when the controller is killed. With GNU
// tail it must wait in one `tail --pid` (no `sleep 1` forked each second); with a tail that has no
// --pid it must fall back to polling; either way the loop gets its HUP.
// An exec channel's command, listed for its connection's watcher (exec-watcher.ts), keeps its output
// and exit code, and is stopped when its parent goes, with or without GNU tail.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUPERVISE_TRAP } from '../../runner/transport/become.js';
import { connectionWatcherCommand, listedBecomeCommand, listedCommand } from '../../runner/transport/exec-watcher.js';
import { SHELL_WATCHER } from '../../runner/transport/shell-session.js';
import { killMatching, processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

/** `args` of every process in process group `pgid`. */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-g', String(pgid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\d+ /, ''));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const gnuTail = ((): boolean => {
  try {
    return execFileSync('tail', ['--version'], { encoding: 'utf8' }).includes('GNU coreutils');
  } catch {
    return false;
  }
})();

describe("the persistent shell's watcher @integration", function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-watcher-'));
    // a tail as busybox's or BSD's: no --pid
    await writeFile(join(dir, 'tail'), `#!/bin/sh\necho "tail: unrecognized option '--pid'" >&2\nexit 1\n`);
    await chmod(join(dir, 'tail'), 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases = [
    { name: 'with GNU tail it waits in tail --pid, forking nothing', pathPrefix: '', waiting: (ppid: number) => `tail --pid=${ppid} -f /dev/null` },
    { name: 'with a tail that has no --pid it polls with sleep 1', pathPrefix: 'stub', waiting: () => 'sleep 1' },
  ];
  for (const c of cases) {
    it(`${c.name}, and HUPs the loop once the loop's parent is SIGKILLed`, async function () {
      if (!c.pathPrefix && !gnuTail) this.skip();
      const m = uniqueMarker();
      const hupFile = join(dir, `hup-${m}`);
      // the loop as SHELL_LOOP_COMMAND starts its watcher; it waits in a long sleep as a command would
      const loop = `trap 'echo hup >"$1"; kill "$w"; exit 0' HUP
s=$$ pp=$PPID; ( ( ${SHELL_WATCHER} ) </dev/null >/dev/null 2>&1 & )
sleep 1${m} & w=$!; wait "$w"`;
      const env = { ...process.env, PATH: c.pathPrefix ? `${dir}:${process.env.PATH}` : process.env.PATH };
      // the parent stands for the connection's sshd; detached: its own process group, which the loop and watcher join
      const parent = spawn('sh', ['-c', 'sh -c "$1" loop "$2" & wait', 'parent', loop, hupFile], { detached: true, stdio: 'ignore', env });
      const pgid = parent.pid!;
      try {
        const waiting = c.waiting(pgid);
        await waitUntil(() => groupMembers(pgid).includes(waiting), 10_000, `the watcher waits in '${waiting}': ${groupMembers(pgid).join('; ')}`);
        if (!c.pathPrefix) assert.ok(!groupMembers(pgid).includes('sleep 1'), `no polling sleep: ${groupMembers(pgid).join('; ')}`);
        parent.kill('SIGKILL');
        await waitUntil(() => existsSync(hupFile), 10_000, 'the loop got its HUP');
        assert.equal(readFileSync(hupFile, 'utf8'), 'hup\n');
        await waitUntil(() => groupMembers(pgid).length === 0, 10_000, `nothing of the loop is left: ${groupMembers(pgid).join('; ')}`);
      } finally {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
    });
  }

  it("an exec channel's command listed for the connection's watcher keeps its output and exit code exact; it writes only into a folder of its own", () => {
    const token = `t${uniqueMarker()}`;
    const folder = join(tmpdir(), `.ferry-exec-${token}`);
    const run = (): void => {
      const r = spawnSync('sh', ['-c', listedCommand(token, `echo "$? $# \${__ferry_t-unset}"; printf err >&2; exit 5`)], { encoding: 'utf8' });
      assert.deepEqual([r.status, r.stdout, r.stderr], [5, '0 0 unset\n', 'err']);
    };
    try {
      run(); // no folder (no watcher): nothing written
      assert.ok(!existsSync(folder));
      symlinkSync(dir, folder); // a link someone else could have put there: not followed
      run();
      assert.ok(!existsSync(join(dir, 'list')));
      rmSync(folder);
      mkdirSync(folder, { mode: 0o700 });
      run();
      assert.match(readFileSync(join(folder, 'list'), 'utf8'), /^\d+ \d+\n$/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  for (const c of cases) {
    it(`the connection's watcher for exec channels ${c.name.replace(/, forking nothing/, '')}, and stops the listed commands once their parent is SIGKILLed`, async function () {
      if (!c.pathPrefix && !gnuTail) this.skip();
      const m = uniqueMarker();
      const token = `t${m}`;
      const env = { ...process.env, PATH: c.pathPrefix ? `${dir}:${process.env.PATH}` : process.env.PATH };
      // the parent stands for the connection's sshd: it starts the watcher, then a command as a session leader, as sshd does
      const parent = spawn('sh', ['-c', 'sh -c "$1"; setsid sh -c "$2" & wait', 'parent', connectionWatcherCommand(token), listedCommand(token, `sleep 1${m} | cat`)], {
        detached: true,
        stdio: 'ignore',
        env,
      });
      const pgid = parent.pid!;
      try {
        const waiting = c.waiting(pgid);
        await waitUntil(() => groupMembers(pgid).includes(waiting), 10_000, `the watcher waits in '${waiting}': ${groupMembers(pgid).join('; ')}`);
        await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 10_000, 'the command runs');
        parent.kill('SIGKILL');
        await waitUntil(() => processesMatching(m).length === 0, 10_000, `nothing of the command is left: ${processesMatching(m).join('; ')}`);
        await waitUntil(() => !existsSync(join(tmpdir(), `.ferry-exec-${token}`)), 10_000, 'the list is removed');
      } finally {
        killMatching(m);
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
    });
  }

  for (const c of cases) {
    it(`the become side's watcher ${c.name.replace(/, forking nothing/, '')}, started by the first command alone, and HUPs every listed supervising shell once their parent is SIGKILLed`, async function () {
      if (!c.pathPrefix && !gnuTail) this.skip();
      const m = uniqueMarker();
      const token = `t${m}`;
      const env = { ...process.env, PATH: c.pathPrefix ? `${dir}:${process.env.PATH}` : process.env.PATH };
      // a supervising shell as become.ts writes it, given its sshd as $1; a quick command first, then two long ones
      const supervised = (cmd: string): string => `${SUPERVISE_TRAP}; ${listedBecomeCommand(token, '$1')}${cmd} & p=$!; wait "$p"`;
      // the first is stopped at once with its whole process group (in a session of its own, as sudo's
      // child is in the login session): the watcher it started must not go with it
      const script = 'setsid sh -c "$1" sup $$; sh -c "$2" sup $$ & sh -c "$2" sup $$ & wait';
      const parent = spawn('sh', ['-c', script, 'parent', supervised('kill -KILL 0'), supervised(`sleep 1${m} | cat`)], { detached: true, stdio: 'ignore', env });
      const pgid = parent.pid!;
      const folder = join(tmpdir(), `.ferry-become-${token}-${pgid}`);
      try {
        await waitUntil(() => processesMatching(`^sleep 1${m}`).length === 2, 10_000, 'both commands run');
        await waitUntil(() => (readFileSync(join(folder, 'list'), 'utf8').match(/\n/g) ?? []).length === 3, 10_000, 'the three commands are listed');
        const watchers = processesMatching(`.ferry-become-${token}-`).filter((p) => !p.includes(' sup '));
        assert.equal(watchers.length, 1, `one watcher: ${watchers.join('; ')}`);
        if (!c.pathPrefix) await waitUntil(() => processesMatching(`tail --pid=${pgid} `).length === 1, 10_000, 'the watcher waits in tail --pid');
        parent.kill('SIGKILL');
        await waitUntil(() => processesMatching(m).length === 0, 10_000, `nothing of the commands is left: ${processesMatching(m).join('; ')}`);
        await waitUntil(() => !existsSync(folder), 10_000, 'the list is removed');
      } finally {
        killMatching(m);
        rmSync(folder, { recursive: true, force: true });
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
    });
  }
});
