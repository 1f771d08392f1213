// What the real-playbook corpus needed of ferry (issue 13), each run by ferry and by Debian's ansible-playbook
// on the same REAL sshd host (test/harness/sshd.ts) and compared: the task statuses, the registered values and
// the recap. Each piece also has its pure cases in the unit tables.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../runner/api.js';
import type { HostRecap } from '../../runner/events.js';
import { NOPASSWD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { ansiblePlaybook, skipWithoutAnsible } from '../helpers/ansible.js';
import { CollectingReporter } from '../helpers/collect.js';

/** The built CLI (`npm run build`). */
const CLI = resolve(import.meta.dirname, '../../dist/runner/cli.js');

/** One tool's run of a play: each task's status and registered value, in order, and the host's recap. */
interface Seen {
  statuses: string[];
  results: Record<string, unknown>[];
  recap: { ok: number; changed: number; failed: number; skipped: number };
}

describe('what the corpus needed, against ansible-playbook on the same sshd @integration', function () {
  this.timeout(180_000);
  let sshd: SshdHost;
  let dir: string;
  let inventory: string;

  before(async function () {
    skipWithoutAnsible(this);
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'ferry-corpus-modules-'));
    chmodSync(dir, 0o755);
    inventory = await writeInventory([sshd], dir, NOPASSWD_USER);
  });
  after(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** ferry's run of `tasks` in one play (become, as the ansible helper runs them). */
  async function ferry(tasks: unknown[], o: { check?: boolean; verbosity?: number } = {}): Promise<Seen> {
    const pb = join(mkdtempSync(join(dir, 'pb-')), 'play.yml');
    writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, become: true, tasks }]));
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inventory], reporter: rep, stateDir: join(dir, 'state'), ...o });
    const mine = rep.results().filter((x) => x.host === sshd.name);
    const h: HostRecap = r.recap[sshd.name]!;
    return { statuses: mine.map((x) => x.status), results: mine.map((x) => x.result ?? {}), recap: { ok: h.ok, changed: h.changed, failed: h.failed, skipped: h.skipped } };
  }

  /** ansible-playbook's run of the same tasks. */
  function ansible(tasks: unknown[], o: { check?: boolean; verbose?: number } = {}): Seen {
    const a = ansiblePlaybook(sshd, NOPASSWD_USER, tasks, o);
    assert.ok(a.results.length > 0, a.output);
    return {
      statuses: a.results.map((r) => (r.skipped ? 'skipped' : r.failed ? 'failed' : r.changed ? 'changed' : 'ok')),
      results: a.results,
      recap: { ok: a.stats.ok!, changed: a.stats.changed!, failed: a.stats.failures!, skipped: a.stats.skipped! },
    };
  }

  /** The keys of Ansible's result that ferry's must hold with the same values (ferry may say more). */
  function sameValues(f: Seen, a: Seen, keys: string[]): void {
    assert.deepEqual(f.statuses, a.statuses, 'task statuses, in order');
    assert.deepEqual(f.recap, a.recap, 'recap');
    a.results.forEach((ar, i) => {
      const want = Object.fromEntries(keys.filter((k) => ar[k] !== undefined).map((k) => [k, ar[k]]));
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, f.results[i]![k]]));
      assert.deepEqual(got, want, `registered values of task ${i + 1}`);
    });
  }

  describe('debug verbosity', () => {
    const tasks = [
      { debug: { var: 'probe', verbosity: 1 }, vars: { probe: 'seen' }, register: 'one' },
      { debug: { msg: 'deep', verbosity: '2' }, register: 'two' },
      { debug: { msg: 'always' } },
      // what the skipped debug registered, as a later task reads it
      { assert: { that: ['one is skipped or one.probe is defined or one.msg is defined'] } },
    ];

    it('without -v both are skipped ("Verbosity threshold not met."), registered and counted as Ansible does', async () => {
      const f = await ferry(tasks);
      const a = ansible(tasks);
      assert.deepEqual(a.statuses, ['skipped', 'skipped', 'ok', 'ok']);
      sameValues(f, a, ['changed', 'failed', 'skipped', 'skipped_reason']);
      assert.equal(f.results[0]!.skipped_reason, 'Verbosity threshold not met.');
    });

    it('with -v the verbosity-1 task prints and the verbosity-2 one is still skipped', async () => {
      const f = await ferry(tasks, { verbosity: 1 });
      const a = ansible(tasks, { verbose: 1 });
      assert.deepEqual(a.statuses, ['ok', 'skipped', 'ok', 'ok']);
      sameValues(f, a, ['changed', 'failed', 'skipped', 'skipped_reason']);
      assert.equal(f.results[0]!.msg, 'seen');
    });

    it('the command line passes its -v count: `ferry run -v` prints the verbosity-1 task, `ferry run` skips it', () => {
      const pb = join(mkdtempSync(join(dir, 'cli-')), 'play.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: tasks.slice(0, 2) }]));
      const cli = (...flags: string[]): string => {
        const r = spawnSync(process.execPath, [CLI, 'run', '-i', inventory, ...flags, pb], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', HOME: dir } });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        return r.stdout;
      };
      const skipped = `skipped: [${sshd.name}]: Verbosity threshold not met.`;
      const quiet = cli();
      assert.equal(quiet.split(skipped).length - 1, 2, quiet);
      assert.doesNotMatch(quiet, /probe = seen/);
      const v = cli('-v');
      assert.ok(v.includes(`ok: [${sshd.name}]: probe = seen`), v);
      assert.equal(v.split(skipped).length - 1, 1, v);
    });
  });
});
