// executeTask: one task on several real sshd hosts (and one that cannot be reached), each host's
// outcome handed back as a value — failures, unreachable hosts, check mode, become, --limit and
// secret masking — `ferry exec`'s runAdhoc, and ferry facts' gathering through the same engine.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  builtinModules,
  executeTask,
  executeTaskOn,
  gatherFactsFor,
  inventoryView,
  loadInventory,
  NO_LOG_MESSAGE,
  runAdhoc,
  transportFactory,
  ValidationError,
  type HostTaskOutcome,
} from '../../app/index.js';
import { startSshdHosts, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';

describe('executeTask over real sshd @integration', function () {
  this.timeout(120_000);
  let hosts: SshdHost[];
  let names: string[];
  let dir: string;
  let inv: string;
  // a host of the inventory nothing listens for (port 1)
  const GONE = 'gone';

  before(async () => {
    hosts = await startSshdHosts(2);
    names = hosts.map((h) => h.name);
    dir = await mkdtemp(join(tmpdir(), 'ferry-exec-task-'));
    await chmod(dir, 0o777);
    inv = await writeInventory(hosts, dir, undefined, { [GONE]: { ansible_host: '127.0.0.1', ansible_port: 1 } });
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  const byHost = (outcomes: HostTaskOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.host, o]));
  const options = (extra: Record<string, unknown> = {}) => ({ inventory: [inv], stateDir: join(dir, '.state'), ...extra });

  it('hands back each host its own outcome: changed with the module\'s data, failed, unreachable; the events are reported as in a play', async () => {
    const rep = new CollectingReporter();
    const { outcomes, summary } = await executeTaskOn(
      'all',
      { module: 'shell', args: { cmd: `echo {{ inventory_hostname }}; test {{ inventory_hostname }} != ${names[1]}` }, name: 'probe' },
      options({ reporter: rep }),
    );
    assert.deepEqual(outcomes.map((o) => o.host), [...names, GONE], 'every host of the pattern, in inventory order');
    const o = byHost(outcomes);
    assert.equal(o[names[0]!]!.status, 'changed');
    assert.equal(o[names[0]!]!.result.stdout, names[0]);
    assert.equal(o[names[0]!]!.result.rc, 0);
    assert.equal(o[names[1]!]!.status, 'failed');
    assert.equal(o[names[1]!]!.result.rc, 1);
    assert.equal(o[names[1]!]!.result.failed, true);
    assert.equal(o[names[1]!]!.result.stdout, names[1]);
    assert.equal(o[GONE]!.status, 'unreachable');
    assert.equal(o[GONE]!.result.unreachable, true);
    assert.match(o[GONE]!.msg ?? '', /\S/);
    assert.equal(summary.exitCode, 2, 'a failed host makes the run fail (before an unreachable one)');
    assert.deepEqual(rep.statuses(), { [`probe/${names[0]}`]: 'changed', [`probe/${names[1]}`]: 'failed', [`probe/${GONE}`]: 'unreachable' });
    assert.ok(rep.events.some((e) => e.type === 'recap'));
  });

  it('check mode: the outcome says what would change and nothing is changed; the engine-level executeTask takes the engine\'s own options', async () => {
    const dest = join(dir, 'checked.txt');
    const { outcomes, summary } = await executeTask(
      {
        inventory: inventoryView(loadInventory([inv])),
        modules: builtinModules(),
        factTools: [],
        transports: transportFactory(),
        check: true,
      },
      names[0]!,
      { module: 'copy', args: { dest, content: 'x\n' } },
    );
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.status, 'changed');
    assert.equal(outcomes[0]!.result.changed, true);
    assert.ok(Array.isArray(outcomes[0]!.result.steps) && outcomes[0]!.result.steps.length > 0, 'the planned steps');
    assert.match(outcomes[0]!.msg ?? '', /^would run: /);
    assert.equal(existsSync(dest), false, 'check mode changed nothing');
    assert.equal(summary.exitCode, 0);
  });

  it('become, and --limit: only the hosts the limit leaves are run on and handed back', async () => {
    const { outcomes } = await executeTaskOn(names.join(','), { module: 'command', args: { cmd: 'id -un' }, become: true }, options({ limit: names[1] }));
    assert.deepEqual(outcomes.map((o) => [o.host, o.status, o.result.stdout]), [[names[1], 'changed', 'root']]);
  });

  it('no_log: the outcome holds neither the output nor the message; a password variable is masked in msg', async () => {
    const secretOut = 'tell-nobody-4711';
    const rep = new CollectingReporter();
    const quiet = await executeTaskOn(
      names.join(','),
      { module: 'shell', args: { cmd: `echo ${secretOut}; test {{ inventory_hostname }} != ${names[1]}` }, noLog: true },
      options({ reporter: rep }),
    );
    const q = byHost(quiet.outcomes);
    assert.deepEqual(q[names[0]!], { host: names[0], status: 'changed', result: { censored: NO_LOG_MESSAGE, changed: true }, msg: NO_LOG_MESSAGE });
    assert.deepEqual(q[names[1]!], { host: names[1], status: 'failed', result: { censored: NO_LOG_MESSAGE, changed: true, failed: true }, msg: NO_LOG_MESSAGE });
    assert.ok(!JSON.stringify(quiet.outcomes).includes(secretOut));
    assert.ok(!JSON.stringify(rep.events).includes(secretOut));

    const pw = 'hunter2-outcome';
    const failed = await executeTaskOn(names[0]!, { module: 'fail', args: { msg: 'cannot log in with {{ db_password }}' } }, options({ extraVars: { db_password: pw } }));
    assert.equal(failed.outcomes[0]!.status, 'failed');
    assert.match(failed.outcomes[0]!.msg ?? '', /^cannot log in with \S+$/);
    assert.ok(!failed.outcomes[0]!.msg!.includes(pw), failed.outcomes[0]!.msg);
  });

  it('bad input is refused before any host is contacted: an unknown module, bad parameters, a pattern that matches nothing', async () => {
    const rep = new CollectingReporter();
    await assert.rejects(executeTaskOn('all', { module: 'no_such_module', args: {} }, options({ reporter: rep })), ValidationError);
    await assert.rejects(executeTaskOn('all', { module: 'copy', args: { nope: 1 } }, options({ reporter: rep })), ValidationError);
    await assert.rejects(executeTaskOn('no-such-host', { module: 'ping', args: {} }, options({ reporter: rep })), ValidationError);
    assert.deepEqual(rep.events, []);
  });

  it('runAdhoc (ferry exec) runs through executeTask: the -a text parsed for the module, the task named as typed, the summary with each host\'s outcome', async () => {
    const rep = new CollectingReporter();
    const typed = 'echo {{ inventory_hostname }}';
    const r = await runAdhoc(names.join(','), 'shell', typed, options({ reporter: rep }));
    assert.equal(r.exitCode, 0);
    assert.equal(r.interrupted, false);
    assert.deepEqual(r.outcomes.map((o) => [o.host, o.status, o.result.stdout, o.result.rc]), [[names[0], 'changed', names[0], 0], [names[1], 'changed', names[1], 0]]);
    assert.deepEqual(rep.statuses(), { [`shell ${typed}/${names[0]}`]: 'changed', [`shell ${typed}/${names[1]}`]: 'changed' });
    const start = rep.events.find((e) => e.type === 'run_start');
    assert.deepEqual(start && [start.playbook, start.check], ['<shell>', false]);
    assert.equal(r.recap[names[0]!]!.changed, 1);
    // key=value pairs, in check mode: planned, nothing written
    const dest = join(dir, 'adhoc.txt');
    const planned = await runAdhoc(names[0]!, 'copy', `content=x dest=${dest}`, options({ check: true }));
    assert.deepEqual(planned.outcomes.map((o) => [o.host, o.status, o.result.changed]), [[names[0], 'changed', true]]);
    assert.equal(existsSync(dest), false, 'check mode changed nothing');
    // a failure and an unreachable host: the exit code as `ferry exec` exits
    const failed = await runAdhoc(`${names[1]},${GONE}`, 'command', 'false', options());
    assert.deepEqual(failed.outcomes.map((o) => [o.host, o.status]), [[names[1], 'failed'], [GONE, 'unreachable']]);
    assert.equal(failed.exitCode, 2);
  });

  it('runAdhoc refuses, before any host is contacted: an unknown module, bad parameters, a pattern that matches nothing, a limit that leaves no host', async () => {
    const rep = new CollectingReporter();
    await assert.rejects(runAdhoc('all', 'no_such_module', undefined, options({ reporter: rep })), /unknown module 'no_such_module'/);
    await assert.rejects(runAdhoc('all', 'copy', 'nope=1', options({ reporter: rep })), ValidationError);
    await assert.rejects(runAdhoc('no-such-host', 'ping', undefined, options({ reporter: rep })), ValidationError);
    await assert.rejects(runAdhoc(names[0]!, 'ping', undefined, options({ reporter: rep, limit: names[1] })), /leaves no host to run on/);
    assert.deepEqual(rep.events, []);
  });

  it('gatherFactsFor: the engine\'s gathering, --limit applied; a host without facts says why and makes the exit code 3', async () => {
    const both = await gatherFactsFor('all', { inventory: [inv], limit: `${names[0]},${GONE}` });
    assert.deepEqual(Object.keys(both.facts).sort(), [names[0]!, GONE].sort());
    const f = both.facts[names[0]!] as { os: { family: string }; cpus: number };
    assert.equal(typeof f.os.family, 'string');
    assert.ok(f.cpus > 0);
    const gone = both.facts[GONE] as { unreachable: boolean; msg: string };
    assert.equal(gone.unreachable, true);
    assert.match(gone.msg, /\S/);
    assert.equal(both.exitCode, 3);
    const one = await gatherFactsFor(names[1]!, { inventory: [inv] });
    assert.deepEqual(Object.keys(one.facts), [names[1]]);
    assert.equal(one.exitCode, 0);
    await assert.rejects(gatherFactsFor('no-such-host', { inventory: [inv] }), ValidationError);
  });
});
