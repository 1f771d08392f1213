import { strict as assert } from 'node:assert';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from '../../runner/command.js';
import { LocalTransport } from '../../runner/transport/local.js';
import { NOPASSWD_USER, startSshd, type SshdHost } from '../harness/sshd.js';
import { transportBasics } from './transport-shared.js';

describe('local transport @integration', () => {
  let dir = '';
  let sshd: SshdHost | undefined;
  const transport = new LocalTransport();

  before(async () => {
    // startSshd creates the test users this suite becomes; the sshd itself is not used
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-local-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await transport.close();
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  transportBasics({
    transport: () => transport,
    workDir: () => dir,
    become: { opts: { user: NOPASSWD_USER }, user: NOPASSWD_USER },
  });

  it('is named localhost and runs as the controller user', async () => {
    assert.equal(transport.host, 'localhost');
    const r = await transport.run(sh`id -u`);
    assert.equal(r.stdout.trim(), String(process.getuid?.()));
  });
});
