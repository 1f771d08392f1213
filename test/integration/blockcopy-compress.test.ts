// blockcopy between two real sshd hosts: what compress: auto chooses from its sample of the source,
// and the direct copy (the destination host's own ssh to the source host).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerHost, Progress } from '../../runner/module.js';
import type { BecomeOptions } from '../../runner/transport/types.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { blockcopyModule } from '../../tasks/blockcopy.js';
import { NOPASSWD_USER, startSshdHosts, sshTransport, type SshdHost } from '../harness/sshd.js';
import { runModule, stepTitles } from '../helpers/run-module.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args]).toString().trim();

describe('blockcopy compress: auto @integration @slow', function () {
  this.timeout(120_000);
  let hosts: SshdHost[] = [];
  let transports: SshTransport[] = [];
  let dir: string;

  /** blockcopy on host 0 from host 0 (src_host) to host 1 (dest_host), both ends with `become`. */
  function blockcopy(input: Record<string, unknown>, o: { become?: BecomeOptions | false; check?: boolean; onProgress?: (p: Progress) => void } = {}) {
    const [a, b] = transports as [SshTransport, SshTransport];
    const become = o.become ?? false;
    return runModule(blockcopyModule, { src_host: a.host, dest_host: b.host, ...input }, {
      transport: a,
      ...(become ? { become } : {}),
      check: o.check ?? false,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      peer: async (name: string): Promise<PeerHost> => ({ name, transport: name === a.host ? a : b, become, vars: {} }),
    });
  }

  async function copy(src: string, dest: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const { plan, data } = await blockcopy({ src, dest, ...extra });
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

  it('direct: the destination host pulls the range with its own ssh (its key and known_hosts, sudo -n on the source), the plan says so, the copy is the same and a second run is no change; a key the source refuses fails in --check, naming both hosts', async () => {
    const [a, b] = transports as [SshTransport, SshTransport];
    const progress: Progress[] = [];
    const run = (input: Record<string, unknown>, check = false) => blockcopy(input, { become: {}, check, onProgress: (x) => progress.push(x) });
    // 16 MiB, one random MiB in four; only root may read it: the reader on the source runs under sudo -n (the login is not root)
    const src = join(dir, 'direct-src.img');
    sh('truncate -s 16M "$1" && for i in 0 4 8 12; do head -c 1048576 /dev/urandom | dd of="$1" bs=1M seek=$i conv=notrunc status=none; done && chmod 600 "$1"', src);
    const h = hosts[0]!;
    // the destination's own ssh to the source, as its admin would set it up: a key and known_hosts of its own, no agent, no ssh_config
    const direct = (key: string) => ({ host: '127.0.0.1', port: h.port, user: NOPASSWD_USER, ssh_options: ['-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${h.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes'] });
    const dest = join(dir, 'direct-copy.img');
    const p = { src, dest, direct: direct(h.userKeyFile) };
    const check = await run(p, true);
    assert.equal(stepTitles(check.plan)[0], `dd 16 MiB from ${src} to ${dest} (${a.host} → ${b.host}, ${b.host} connecting to ${a.host} itself (direct)), bs=4194304`);
    assert.equal(existsSync(dest), false, 'check mode created the destination');
    const { data } = await run(p);
    assert.deepEqual([data.direct, data.compression, data.verified], [true, 'zstd', true]);
    assert.equal(sh('cmp "$1" "$2" && echo same', src, dest), 'same');
    assert.equal(progress.at(-1)?.bytes, 16 * 2 ** 20, JSON.stringify(progress));
    assert.equal((await run(p)).plan.changed, false);
    // compare: false reads nothing first: the same range is copied again (and verified)
    const again = await run({ ...p, compare: false });
    assert.deepEqual([again.plan.changed, again.data.verified], [true, true]);
    assert.equal(sh('cmp "$1" "$2" && echo same', src, dest), 'same');

    // a key the source does not accept: BatchMode, so no prompt waits; the read fails with the hosts and ssh's words
    const stranger = join(dir, 'stranger-key');
    sh('ssh-keygen -q -t ed25519 -N "" -f "$1"', stranger);
    await assert.rejects(run({ ...p, dest: `${dest}-2`, direct: direct(stranger) }, true), (e: Error) => {
      assert.match(e.message, /^dd on sshd\d+ pulling from sshd\d+ directly \(ferrytest@127\.0\.0\.1:\d+, sshd\d+'s own ssh\): .*Permission denied \(publickey/s);
      return true;
    });
    assert.equal(existsSync(`${dest}-2`), false);
  });
});
