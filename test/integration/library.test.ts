// ferry as a library: a TypeScript script runs a module against a host without any YAML, and
// stops a playbook run through its AbortSignal; a loaded playbook whose input turns out bad only
// after a host was contacted says so (not "nothing was run").
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  builtinModules,
  createTaskContext,
  defineModule,
  EXIT_INTERRUPTED,
  gatherFactsFor,
  InFlight,
  InterruptedError,
  loadPlaybook,
  runPlaybook,
  runPlaybookFile,
  RunStoppedError,
  runSteps,
  sh,
  SshTransport,
  type TaskModule,
  ValidationError,
} from '../../app/index.js';
import { NOPASSWD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { killMatching, processesMatching, uniqueMarker, waitUntil } from '../helpers/processes.js';

describe('library API @integration', function () {
  this.timeout(60_000);
  let host: SshdHost;
  let dir: string;
  before(async () => {
    host = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-lib-'));
    await chmod(dir, 0o777);
  });
  after(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs commands and a module (plan, then apply) on a host from TypeScript', async () => {
    const t = new SshTransport({
      host: 'lib', hostName: host.host, port: host.port, user: NOPASSWD_USER,
      identityFiles: [host.userKeyFile], knownHostsFile: host.knownHostsFile, sshConfigFile: false, agent: false,
    });
    try {
      await t.connect();
      const r = await t.run(sh`printf %s ${'a b'}`);
      assert.equal(r.stdout, 'a b');
      const copy = builtinModules().get('copy')!;
      const dest = join(dir, 'lib.txt');
      const ctx = createTaskContext({ host: 'lib', transport: t });
      const params = copy.params.parse({ dest, content: 'from a script\n' });
      const plan = await copy.plan(ctx, params);
      assert.equal(plan.changed, true);
      if (plan.changed) await runSteps(ctx, plan.steps);
      assert.equal(await readFile(dest, 'utf8'), 'from a script\n');
      const again = await copy.plan(ctx, params);
      assert.equal(again.changed, false);
      if (!again.changed) assert.match(again.reason, /\S/);
    } finally {
      await t.close();
    }
  });

  describe('interrupting a run through its AbortSignal', () => {
    let inv: string;
    before(async () => {
      inv = await writeInventory([host], dir, NOPASSWD_USER, { localhost: { ferry_connection: 'local' } });
    });

    /** Writes a one-play playbook for every host of the inventory; returns its path. */
    async function playbook(name: string, tasks: unknown[]): Promise<string> {
      const p = join(dir, `${name}.yaml`);
      await writeFile(p, stringify([{ hosts: 'all', gather_facts: false, tasks }]));
      return p;
    }

    it('stops the running command, starts no queued host, runs the always: block, exits 130', async () => {
      const m = uniqueMarker();
      const pb = await playbook(`abort-${m}`, [
        {
          block: [
            { name: 'long', shell: `sleep 1${m}` },
            { name: 'after', command: `touch ${join(dir, m)}-after-{{ inventory_hostname }}` },
          ],
          always: [{ name: 'clean up', command: `touch ${join(dir, m)}-cleaned-{{ inventory_hostname }}` }],
        },
      ]);
      const ac = new AbortController();
      const inFlight = new InFlight();
      const rep = new CollectingReporter();
      // forks 1: the host after the first waits in the queue
      const run = runPlaybookFile(pb, { inventory: [inv], forks: 1, signal: ac.signal, inFlight, reporter: rep, stateDir: join(dir, 'state') });
      try {
        await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 20_000, 'the long task started');
        assert.deepEqual(inFlight.list().map((c) => [c.host, c.task]), [[host.name, 'long']]);
        ac.abort(new InterruptedError('the test'));
        const r = await run;
        assert.equal(r.exitCode, EXIT_INTERRUPTED);
        assert.equal(r.interrupted, true);
        assert.equal(processesMatching(m).length, 0, processesMatching(m).join('; '));
        const stop = rep.events.find((e) => e.type === 'interrupt');
        assert.ok(stop?.type === 'interrupt');
        assert.equal(stop.reason, 'interrupted by the test');
        assert.deepEqual(stop.running.map((c) => [c.host, c.task, c.command]), [[host.name, 'long', `/bin/sh -c 'sleep 1${m}'`]]);
        assert.equal(rep.result('long', host.name)?.status, 'interrupted');
        assert.equal(rep.result('long', 'localhost')?.status, 'skipped');
        assert.equal(rep.result('long', 'localhost')?.msg, 'not started: the run was interrupted');
        assert.equal(r.recap[host.name]?.interrupted, 1);
        assert.equal(r.recap.localhost?.interrupted, 0);
        for (const h of [host.name, 'localhost']) {
          assert.ok(existsSync(`${join(dir, m)}-cleaned-${h}`), `the always: block ran on ${h}`);
          assert.ok(!existsSync(`${join(dir, m)}-after-${h}`), `nothing else started on ${h}`);
        }
        assert.deepEqual(inFlight.list(), []);
      } finally {
        killMatching(m);
      }
    });

    it('stops always: blocks too once cleanupTimeoutMs has passed', async () => {
      const m = uniqueMarker();
      const pb = await playbook(`cleanup-${m}`, [
        { block: [{ name: 'long', shell: `sleep 1${m}` }], always: [{ name: 'slow clean up', shell: `sleep 3${m}` }, { name: 'next clean up', command: 'true' }] },
      ]);
      const ac = new AbortController();
      const rep = new CollectingReporter();
      const run = runPlaybookFile(pb, { inventory: [inv], limit: host.name, signal: ac.signal, reporter: rep, stateDir: join(dir, 'state'), cleanupTimeoutMs: 1500 });
      try {
        await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 20_000, 'the long task started');
        ac.abort();
        await waitUntil(() => processesMatching(`sleep 3${m}`).length > 0, 10_000, 'the always: block started');
        const t0 = Date.now();
        const r = await run;
        assert.ok(Date.now() - t0 < 5000, `the run ended ${Date.now() - t0} ms after the clean up started`);
        assert.equal(r.exitCode, EXIT_INTERRUPTED);
        assert.equal(rep.result('slow clean up', host.name)?.status, 'interrupted');
        assert.match(rep.result('slow clean up', host.name)?.msg ?? '', /always: blocks were stopped 1\.5 s later while it ran: not completed/);
        assert.equal(rep.result('next clean up', host.name), undefined, 'nothing starts after the cleanup time');
        assert.equal(r.recap[host.name]?.interrupted, 2);
        await waitUntil(() => processesMatching(m).length === 0, 3000, `no process left: ${processesMatching(m).join('; ')}`);
      } finally {
        killMatching(m);
      }
    });

    it('goes on without a module that does not stop, stopGraceMs after the interrupt', async () => {
      const stuck = defineModule({
        name: 'stuck',
        params: z.object({}).strict(),
        doc: { summary: 'never finishes', checkMode: 'none', example: '- stuck: {}' },
        async plan() {
          return { changed: true, steps: [{ title: 'wait forever', run: () => new Promise<void>(() => undefined) }] };
        },
      });
      const pb = await playbook('stuck', [{ name: 'stuck', stuck: {} }, { name: 'next', command: 'true' }]);
      const ac = new AbortController();
      const rep = new CollectingReporter();
      const modules = builtinModules().register(stuck as TaskModule<never>);
      const run = runPlaybookFile(pb, { inventory: [inv], limit: 'localhost', modules, signal: ac.signal, reporter: rep, stateDir: join(dir, 'state'), stopGraceMs: 300 });
      await waitUntil(() => rep.events.some((e) => e.type === 'task_start' && e.task === 'stuck'), 10_000, 'the task started');
      const t0 = Date.now();
      ac.abort();
      const r = await run;
      assert.ok(Date.now() - t0 < 2000, `the run ended ${Date.now() - t0} ms after the abort`);
      assert.equal(r.exitCode, EXIT_INTERRUPTED);
      assert.equal(rep.result('stuck', 'localhost')?.status, 'interrupted');
      assert.equal(rep.result('next', 'localhost'), undefined);
    });

    it('contacts no host when the signal aborted before the run', async () => {
      const pb = await playbook('early', [{ name: 'never', command: 'true' }]);
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [inv], signal: AbortSignal.abort(), reporter: rep, stateDir: join(dir, 'state') });
      assert.equal(r.exitCode, EXIT_INTERRUPTED);
      assert.deepEqual(rep.events.map((e) => e.type), ['run_start', 'interrupt', 'recap']);
    });
  });

  it('a play whose hosts match nothing, met after the first play ran (no preflight): the run stopped part-way, not bad input', async () => {
    // runPlaybook takes a loaded playbook as it is; runPlaybookFile would refuse this before contacting anyone.
    const inv = await writeInventory([host], dir);
    const pbFile = join(dir, 'two-plays.yaml');
    const marker = join(dir, 'play-1-ran');
    await writeFile(pbFile, `- hosts: all\n  tasks:\n    - command: touch ${marker}\n- hosts: nosuchgroup\n  tasks:\n    - ping:\n`);
    const pb = loadPlaybook(pbFile, builtinModules());
    const rep = new CollectingReporter();
    await assert.rejects(runPlaybook(pb, { inventory: [inv], reporter: rep, stateDir: join(dir, '.state') }), (e: unknown) => {
      assert.ok(e instanceof RunStoppedError, String(e));
      assert.ok(!(e instanceof ValidationError));
      assert.match(e.message, /^the run stopped part-way, after hosts were contacted/);
      assert.match(e.problem.message, /host pattern 'nosuchgroup' matches no host or group/);
      return true;
    });
    assert.equal(rep.result('command', host.name)?.status, 'changed');
    await readFile(marker);
  });

  it('gather_facts, the setup module and gatherFactsFor look for the tools the caller names, and no other', async () => {
    const inv = await writeInventory([host], dir);
    const factTools = ['sh', 'ferry-no-such-tool'];
    const toolsAfter = async (play: string): Promise<Record<string, unknown>> => {
      const pbFile = join(dir, 'fact-tools.yaml');
      await writeFile(pbFile, play);
      const summary = await runPlaybookFile(pbFile, { inventory: [inv], factTools, stateDir: join(dir, '.state-tools') });
      assert.equal(summary.exitCode, 0);
      return summary.hostValues[host.name]!.tools as Record<string, unknown>;
    };
    const keep = '    - set:\n        tools: "{{ ferry_facts.tools }}"\n';
    const gathered = await toolsAfter('- hosts: all\n  gather_facts: true\n  tasks:\n' + keep);
    assert.deepEqual({ ...gathered, paths: undefined }, { sh: true, ferryNoSuchTool: false, paths: undefined });
    const bySetup = await toolsAfter('- hosts: all\n  gather_facts: false\n  tasks:\n    - setup:\n' + keep);
    assert.deepEqual({ ...bySetup, paths: undefined }, { sh: true, ferryNoSuchTool: false, paths: undefined });
    const byApi = await gatherFactsFor('all', { inventory: [inv], factTools: ['ferry-no-such-tool'] });
    assert.deepEqual((byApi.facts[host.name] as { tools: unknown }).tools, { paths: {}, ferryNoSuchTool: false });
  });
});
