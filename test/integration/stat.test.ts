// stat against a real sshd on loopback: the result compared with what Node's own lstat/stat and
// sha1 say about the same paths (the sshd host is this machine), as root and as a plain user.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync, type Stats } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { statModule } from '../../tasks/stat.js';
import { startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import { runModule } from '../helpers/run-module.js';

describe('stat over real sshd @integration', function () {
  this.timeout(60_000);
  let host: SshdHost;
  let root: SshTransport;
  let plain: SshTransport;
  let dir: string;

  before(async () => {
    host = await startSshd();
    root = sshTransport(host);
    plain = sshTransport(host, host.users.nopasswd);
    dir = mkdtempSync(join(tmpdir(), 'ferry-stat-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'file'), 'hello\n');
    chmodSync(join(dir, 'file'), 0o4754);
    writeFileSync(join(dir, 'secret'), 'root only\n');
    chmodSync(join(dir, 'secret'), 0o600);
    symlinkSync('file', join(dir, 'link'));
    mkdirSync(join(dir, 'sub dir'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
  });
  after(async () => {
    await root?.close().catch(() => undefined);
    await plain?.close().catch(() => undefined);
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const stat = async (path: string, extra: Record<string, unknown> = {}, t?: SshTransport): Promise<Record<string, unknown>> => {
    const { plan, data } = await runModule(statModule, { path, ...extra }, { transport: t ?? root });
    assert.equal(plan.changed, false, 'stat never changes anything');
    return data.stat as Record<string, unknown>;
  };
  /** What Node says about the same path, in the result's terms. */
  const node = (s: Stats): Record<string, unknown> => ({
    mode: (s.mode & 0o7777).toString(8).padStart(4, '0'),
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    inode: s.ino,
    dev: s.dev,
    nlink: s.nlink,
    isreg: s.isFile(),
    isdir: s.isDirectory(),
    islnk: s.isSymbolicLink(),
    isfifo: s.isFIFO(),
  });
  const pick = (st: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.keys(node(lstatSync(dir))).map((k) => [k, st[k]]));

  it('a regular file: type, mode with setuid, owner, size, inode, times and the sha1 Ansible gives by default', async () => {
    const path = join(dir, 'file');
    const st = await stat(path);
    const s = lstatSync(path);
    assert.deepEqual(pick(st), node(s));
    assert.equal(st.exists, true);
    assert.equal(st.path, path);
    assert.equal(st.pw_name, 'root');
    assert.deepEqual([st.rusr, st.wusr, st.xusr, st.rgrp, st.wgrp, st.xgrp, st.roth, st.woth, st.xoth, st.isuid, st.isgid], [true, true, true, true, false, true, true, false, false, true, false]);
    assert.ok(Math.abs((st.mtime as number) * 1000 - s.mtimeMs) < 1, `mtime ${String(st.mtime)} vs ${s.mtimeMs}`);
    assert.equal(st.checksum, createHash('sha1').update(readFileSync(path)).digest('hex'));
    assert.equal((await stat(path, { checksum_algorithm: 'sha256' })).checksum, createHash('sha256').update(readFileSync(path)).digest('hex'));
    assert.equal((await stat(path, { get_checksum: false })).checksum, undefined);
  });

  it('a symlink: itself with its target named and no checksum; with follow, what it points to', async () => {
    const path = join(dir, 'link');
    const st = await stat(path);
    assert.deepEqual(pick(st), node(lstatSync(path)));
    assert.equal(st.lnk_target, 'file');
    assert.equal(st.lnk_source, join(dir, 'file'));
    assert.equal(st.checksum, undefined);
    const followed = await stat(path, { follow: true });
    assert.deepEqual(pick(followed), node(statSync(path)));
    assert.equal(followed.islnk, false);
    assert.equal(followed.lnk_target, undefined);
    assert.equal(typeof followed.checksum, 'string');
  });

  it('a directory whose name has a blank, a fifo, and nothing at all', async () => {
    assert.deepEqual(pick(await stat(join(dir, 'sub dir'))), node(lstatSync(join(dir, 'sub dir'))));
    assert.deepEqual(pick(await stat(join(dir, 'fifo'))), node(lstatSync(join(dir, 'fifo'))));
    assert.deepEqual(await stat(join(dir, 'nothing')), { exists: false });
  });

  it("as a plain user: a root-only file is not readable, writeable or executable, and gets no checksum", async () => {
    const st = await stat(join(dir, 'secret'), {}, plain);
    assert.deepEqual([st.exists, st.readable, st.writeable, st.executable, st.checksum], [true, false, false, false, undefined]);
    const mine = await stat(join(dir, 'file'), {}, plain);
    // 4754: others may only read
    assert.deepEqual([mine.readable, mine.writeable, mine.executable], [true, false, false]);
  });
});
