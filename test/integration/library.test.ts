// ferry as a library: a TypeScript script runs a module against a host without any YAML.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModules, createTaskContext, runSteps, sh, SshTransport } from '../../runner/index.js';
import { NOPASSWD_USER, startSshd, type SshdHost } from '../harness/sshd.js';

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
});
