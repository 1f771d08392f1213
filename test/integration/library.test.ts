// ferry as a library: a TypeScript script runs a module against a host without any YAML; a loaded
// playbook whose input turns out bad only after a host was contacted says so (not "nothing was run").
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  builtinModules,
  createTaskContext,
  loadPlaybook,
  runPlaybook,
  RunStoppedError,
  runSteps,
  sh,
  SshTransport,
  ValidationError,
} from '../../runner/index.js';
import { NOPASSWD_USER, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';

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
});
