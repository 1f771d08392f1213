// blockcopy between two real sshd hosts: what compress: auto chooses from its sample of the source.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerHost } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { blockcopyModule } from '../../tasks/blockcopy.js';
import { NOPASSWD_USER, startSshdHosts, sshTransport, type SshdHost } from '../harness/sshd.js';
import { runModule } from '../helpers/run-module.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args]).toString().trim();

describe('blockcopy compress: auto @integration @slow', function () {
  this.timeout(120_000);
  let hosts: SshdHost[] = [];
  let transports: SshTransport[] = [];
  let dir: string;

  async function copy(src: string, dest: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const [a, b] = transports as [SshTransport, SshTransport];
    const { plan, data } = await runModule(blockcopyModule, { src, dest, src_host: a.host, dest_host: b.host, ...extra }, {
      transport: a,
      peer: async (name: string): Promise<PeerHost> => ({ name, transport: name === a.host ? a : b, become: false, vars: {} }),
    });
    assert.equal(plan.changed, true);
    return data;
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'ferry-bc-compress-'));
    chmodSync(dir, 0o777); // the hosts' user (not root) writes the copies
    hosts = await startSshdHosts(2);
    transports = hosts.map((h) => sshTransport(h, NOPASSWD_USER));
  });
  after(async () => {
    for (const t of transports) await t.close().catch(() => undefined);
    for (const h of hosts) await h.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('copies 64 MiB of random data uncompressed: the sample does not shrink', async () => {
    const src = join(dir, 'random.img');
    sh('head -c 67108864 /dev/urandom > "$1" && chmod 644 "$1"', src);
    const data = await copy(src, join(dir, 'random-copy.img'));
    assert.equal(data.compression, 'none');
    assert.equal(data.verified, true);
    assert.equal(sh('cmp "$1" "$2" && echo same', src, join(dir, 'random-copy.img')), 'same');
  });
  it('compresses 64 MiB that is mostly zeros with some random blocks (like a half-empty filesystem)', async () => {
    const src = join(dir, 'sparse.img');
    // one random MiB in every four: the sample sees both kinds, the whole shrinks by about 3/4
    sh('truncate -s 64M "$1" && for i in $(seq 0 4 63); do head -c 1048576 /dev/urandom | dd of="$1" bs=1M seek=$i conv=notrunc status=none; done && chmod 644 "$1"', src);
    const data = await copy(src, join(dir, 'sparse-copy.img'));
    assert.equal(data.compression, 'zstd');
    assert.equal(sh('cmp "$1" "$2" && echo same', src, join(dir, 'sparse-copy.img')), 'same');
  });
  it('keeps an explicit compress: zstd on random data (only auto samples)', async () => {
    const data = await copy(join(dir, 'random.img'), join(dir, 'random-zstd.img'), { compress: 'zstd', verify: 'none' });
    assert.equal(data.compression, 'zstd');
    assert.equal(sh('cmp "$1" "$2" && echo same', join(dir, 'random.img'), join(dir, 'random-zstd.img')), 'same');
  });
});
