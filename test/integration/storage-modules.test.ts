// The storage modules on loop devices over image files in a temp dir, through a real sshd on loopback.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskFailedError } from '../../runner/errors.js';
import type { PeerHost, Plan, Progress, TaskModule } from '../../runner/module.js';
import { createTaskContext } from '../../runner/task-context.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { blockcopyModule } from '../../tasks/blockcopy.js';
import { chrootMountsModule } from '../../tasks/chroot-mounts.js';
import { withChrootMounts } from '../../tasks/guest/chroot-binds.js';
import { filesystemModule } from '../../tasks/filesystem.js';
import { mountModule } from '../../tasks/mount.js';
import { partitionMapModule } from '../../tasks/partition-map.js';
import { partitionModule } from '../../tasks/partition.js';
import { rsyncModule } from '../../tasks/rsync.js';
import { startSshdHosts, sshTransport, type SshdHost } from '../harness/sshd.js';
import { runModule } from '../helpers/run-module.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args]).toString().trim();

describe('storage modules @integration @slow', function () {
  this.timeout(120_000);
  let hosts: SshdHost[];
  const transports: SshTransport[] = [];
  let dir: string;
  const loops: string[] = [];
  const mounts: string[] = [];
  let progress: Progress[] = [];

  const transportFor = (h: SshdHost): SshTransport => {
    const t = sshTransport(h);
    transports.push(t);
    return t;
  };

  /** Validates params, plans, and applies unless check; returns the plan and the applied data. */
  async function run<P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: { check?: boolean; host?: number } = {}): Promise<{ plan: Plan; data: Record<string, unknown> }> {
    return runModule(mod, input, {
      transport: transports[opts.host ?? 0]!,
      check: opts.check,
      onProgress: (p) => progress.push(p),
      peer: async (name: string): Promise<PeerHost> => {
        const pt = transports.find((x) => x.host === name);
        if (!pt) throw new Error(`no peer ${name}`);
        return { name, transport: pt, become: false, vars: {} };
      },
    });
  }

  function loopImage(name: string, size: string): string {
    const img = join(dir, name);
    sh('truncate -s "$1" "$2"', size, img);
    const loop = sh('losetup -P -f --show "$1"', img);
    loops.push(loop);
    return loop;
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'ferry-storage-'));
    hosts = await startSshdHosts(2);
    for (const h of hosts) transportFor(h);
  });
  after(async () => {
    for (const m of mounts.reverse()) {
      try {
        sh('mountpoint -q "$1" && umount -R "$1" || true', m);
      } catch {
        // best effort: the next step detaches the loops
      }
    }
    for (const l of loops) sh('losetup -d "$1" 2>/dev/null || true', l);
    for (const t of transports) await t.close().catch(() => undefined);
    for (const h of hosts ?? []) await h.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    progress = [];
  });

  describe('partition', () => {
    let loop: string;
    before(() => {
      loop = loopImage('part.img', '64M');
    });
    const params = () => ({
      device: loop,
      label: 'msdos',
      partitions: [
        { size: '32M', type: '83', bootable: true },
        { size: 'rest', type: '83' },
      ],
    });

    it('check mode predicts the table and changes nothing', async () => {
      const { plan } = await run(partitionModule, params(), { check: true });
      assert.equal(plan.changed, true);
      assert.match(plan.diff![0]!.after, /1: start=2048, size=65536, type=83, bootable/);
      assert.equal(sh('blkid -p -o export "$1" || true', loop).includes('PTTYPE'), false);
    });
    it('writes an msdos table with a bootable partition and shows its partitions', async () => {
      const { plan, data } = await run(partitionModule, params());
      assert.equal(plan.changed, true);
      assert.deepEqual(data.partitions, [`${loop}p1`, `${loop}p2`]);
      assert.ok(existsSync(`${loop}p1`) && existsSync(`${loop}p2`));
      const dump = sh('sfdisk --dump "$1"', loop);
      assert.match(dump, /start=\s*2048, size=\s*65536, type=83, bootable/);
      assert.match(dump, /start=\s*67584, size=\s*63488, type=83/);
    });
    it('a second run reports no change, with the reason and the partitions', async () => {
      const { plan } = await run(partitionModule, params());
      assert.equal(plan.changed, false);
      assert.match((plan as { reason: string }).reason, /already has this dos table \(2 partitions\)/);
      assert.deepEqual(plan.data!.partitions, [`${loop}p1`, `${loop}p2`]);
    });
    it('refuses a different table without force', async () => {
      await assert.rejects(run(partitionModule, { ...params(), partitions: [{ size: 'rest' }] }), (e: Error) => e instanceof TaskFailedError && /refusing to repartition .* without force: true/.test(e.message));
      assert.match(sh('sfdisk --dump "$1"', loop), /bootable/);
    });
    it('refuses a device holding a filesystem without force, and overwrites it with force', async () => {
      const fsLoop = loopImage('fs-whole.img', '32M');
      sh('mkfs.ext4 -q "$1"', fsLoop);
      const p = { device: fsLoop, label: 'gpt', partitions: [{ size: 'rest' }] };
      await assert.rejects(run(partitionModule, p), /refusing to repartition .* ext4 signature/);
      assert.match(sh('blkid -p -o export "$1"', fsLoop), /TYPE=ext4/);
      const { data } = await run(partitionModule, { ...p, force: true });
      assert.deepEqual(data.partitions, [`${fsLoop}p1`]);
      assert.doesNotMatch(sh('blkid -p -o export "$1"', fsLoop), /TYPE=ext4/);
    });
    it('a blank device whose blocks hold an old filesystem where the new partition goes (a new LV on extents an earlier LV used): the new partition starts blank', async () => {
      const img = join(dir, 'stale.img');
      sh('truncate -s 64M "$1" && mkfs.ext4 -q -E offset=1048576 "$1" 32M', img);
      const stale = loopImage('stale.img', '64M');
      // nothing at the start of the device: to wipefs and blkid it is blank
      assert.doesNotMatch(sh('blkid -p -o export "$1" || true', stale), /^(TYPE|PTTYPE)=/m);
      assert.match(sh('blkid -p -O 1048576 -o export "$1"', stale), /TYPE=ext4/);
      const { data } = await run(partitionModule, { device: stale, label: 'msdos', partitions: [{ start: '1M', size: 'rest', bootable: true }] });
      assert.deepEqual(data.partitions, [`${stale}p1`]);
      assert.doesNotMatch(sh('blkid -p -o export "$1" || true', `${stale}p1`), /^TYPE=/m, 'the old filesystem is still found in the new partition');
    });
    it('refuses overlapping or oversized partitions at plan', async () => {
      await assert.rejects(run(partitionModule, { ...params(), partitions: [{ size: '100M' }] }), /beyond the device/);
      await assert.rejects(run(partitionModule, { ...params(), partitions: [{ size: '8M' }, { start: '4M', size: '8M' }] }), /overlaps partition 1/);
    });
  });

  describe('filesystem', () => {
    let dev: string;
    let small: string;
    const uuid = '3f1b6f4e-2a57-4c1e-9e0e-7d3c2b1a0f99';
    before(() => {
      dev = loopImage('fs.img', '64M');
      small = loopImage('small.img', '40M');
    });
    it('makes ext4 with the given UUID and label', async () => {
      const { plan, data } = await run(filesystemModule, { dev, fstype: 'ext4', uuid, label: 'xr1root' });
      assert.equal(plan.changed, true);
      assert.equal(data.uuid, uuid);
      assert.match(sh('blkid -p -o export "$1"', dev), new RegExp(`UUID=${uuid}`));
    });
    it('second run: no change; another type is refused without force', async () => {
      const { plan } = await run(filesystemModule, { dev, fstype: 'ext4', uuid, label: 'xr1root' });
      assert.equal(plan.changed, false);
      assert.match((plan as { reason: string }).reason, /already has a ext4 filesystem/);
      await assert.rejects(run(filesystemModule, { dev, fstype: 'ext2' }), /refusing to mkfs.ext2 over a ext4 filesystem .* without force: true/);
    });
    it('checked: clean is no change; a damaged one is fixed (e2fsck exit 1)', async () => {
      const clean = await run(filesystemModule, { dev, state: 'checked' });
      assert.equal(clean.plan.changed, false);
      sh('debugfs -w -R "freeb 1000 50" "$1" 2>/dev/null', dev);
      const fixed = await run(filesystemModule, { dev, state: 'checked' });
      assert.equal(fixed.plan.changed, true);
      assert.equal(fixed.data.fsck_exit, 1);
      assert.equal((await run(filesystemModule, { dev, state: 'checked' })).plan.changed, false);
    });
    it('resized: shrinking needs force, then shrinks to the size of another device keeping the UUID', async () => {
      const p = { dev, state: 'resized', size_of_device: small };
      await assert.rejects(run(filesystemModule, p), /refusing to shrink .* without force: true/);
      const { plan, data } = await run(filesystemModule, { ...p, force: true });
      assert.equal(plan.changed, true);
      assert.equal(data.size_bytes, 40 * 1024 * 1024);
      assert.match(sh('blkid -p -o export "$1"', dev), new RegExp(`UUID=${uuid}`));
      assert.equal((await run(filesystemModule, { ...p, force: true })).plan.changed, false);
      // grow back to the whole device: no force needed
      const grow = await run(filesystemModule, { dev, state: 'resized' });
      assert.equal(grow.data.size_bytes, 64 * 1024 * 1024);
    });
    it('absent: refuses without force, wipes with force', async () => {
      await assert.rejects(run(filesystemModule, { dev: small, state: 'absent' }).then(() => run(filesystemModule, { dev, state: 'absent' })), /refusing to wipe the ext4 filesystem/);
      await run(filesystemModule, { dev, state: 'absent', force: true });
      assert.doesNotMatch(sh('blkid -p -o export "$1" || true', dev), /TYPE=/);
      assert.equal((await run(filesystemModule, { dev, state: 'absent' })).plan.changed, false);
    });
  });

  describe('mount and chroot_mounts', () => {
    let dev: string;
    let mnt: string;
    before(() => {
      dev = loopImage('mnt.img', '32M');
      sh('mkfs.ext4 -q "$1"', dev);
      mnt = join(dir, 'mnt point');
      mounts.push(mnt);
    });
    it('mounted: creates the mount point and mounts; a second run is no change', async () => {
      const { plan } = await run(mountModule, { path: mnt, src: dev, fstype: 'ext4', opts: 'noatime' });
      assert.equal(plan.changed, true);
      assert.equal(sh('findmnt -n -o SOURCE --target "$1"', mnt), dev);
      const again = await run(mountModule, { path: mnt, src: dev, fstype: 'ext4' });
      assert.equal(again.plan.changed, false);
      assert.match((again.plan as { reason: string }).reason, /already mounted/);
    });
    it('remounted: applies missing options, then no change', async () => {
      const r = await run(mountModule, { path: mnt, state: 'remounted', opts: 'ro' });
      assert.equal(r.plan.changed, true);
      assert.match(sh('findmnt -n -o OPTIONS --target "$1"', mnt), /^ro,/);
      assert.equal((await run(mountModule, { path: mnt, state: 'remounted', opts: 'ro' })).plan.changed, false);
      await run(mountModule, { path: mnt, state: 'remounted', opts: 'rw' });
    });
    it('bind: binds a directory; a second run is no change', async () => {
      sh('mkdir -p "$1/sub" && echo hi > "$1/sub/f"', mnt);
      const target = join(dir, 'bound');
      mounts.push(target);
      const p = { path: target, src: join(mnt, 'sub'), state: 'bind' };
      assert.equal((await run(mountModule, p)).plan.changed, true);
      assert.equal(readFileSync(join(target, 'f'), 'utf8'), 'hi\n');
      assert.equal((await run(mountModule, p)).plan.changed, false);
      assert.equal((await run(mountModule, { path: target, state: 'unmounted' })).plan.changed, true);
    });
    it('chroot_mounts: binds the API filesystems and always unmounts them, also when the callback throws', async () => {
      const root = join(mnt, 'root');
      mkdirSync(root, { recursive: true });
      const t = transports[0]!;
      const ctx = createTaskContext({ host: t.host, transport: t });
      await assert.rejects(
        withChrootMounts(ctx, root, async () => {
          assert.equal(sh('findmnt -n -o TARGET "$1"', join(root, 'proc')), join(root, 'proc'));
          assert.ok(existsSync(join(root, 'dev/pts/ptmx')));
          throw new Error('callback failed');
        }),
        /callback failed/,
      );
      assert.equal(sh('grep -c " $1/" /proc/self/mountinfo || true', root.replace(/ /g, '\\040')), '0');
      assert.equal((await run(chrootMountsModule, { root })).plan.changed, true);
      assert.equal((await run(chrootMountsModule, { root })).plan.changed, false);
      assert.equal((await run(chrootMountsModule, { root, state: 'unmounted' })).plan.changed, true);
      assert.equal(sh('grep -c " $1/" /proc/self/mountinfo || true', root.replace(/ /g, '\\040')), '0');
    });
    it('unmounted: unmounts; a second run is no change', async () => {
      assert.equal((await run(mountModule, { path: mnt, state: 'unmounted' })).plan.changed, true);
      assert.equal(sh('mountpoint -q "$1" && echo yes || echo no', mnt), 'no');
      const again = await run(mountModule, { path: mnt, state: 'unmounted' });
      assert.equal(again.plan.changed, false);
      assert.match((again.plan as { reason: string }).reason, /nothing is mounted/);
    });
    it('a mount point that is a file is an error', async () => {
      const f = join(dir, 'not-a-dir');
      writeFileSync(f, 'x');
      await assert.rejects(run(mountModule, { path: f, src: dev }), /exists and is a regular file, not a directory/);
    });
  });

  describe('partition_map (image file)', () => {
    it('attaches an image with partitions to a loop device once, and detaches it', async () => {
      const img = join(dir, 'pm.img');
      sh('truncate -s 32M "$1" && printf "label: dos\\nsize=8M, type=83\\ntype=83\\n" | sfdisk -q "$1"', img);
      const { plan, data } = await run(partitionMapModule, { device: img });
      assert.equal(plan.changed, true);
      const loop = data.device as string;
      loops.push(loop);
      assert.deepEqual(data.partitions, [`${loop}p1`, `${loop}p2`]);
      const again = await run(partitionMapModule, { device: img });
      assert.equal(again.plan.changed, false);
      assert.equal(again.plan.data!.device, loop);
      assert.equal((await run(partitionMapModule, { device: img, state: 'unmapped' })).plan.changed, true);
      assert.equal(sh('losetup -j "$1"', img), '');
      assert.equal((await run(partitionMapModule, { device: img, state: 'unmapped' })).plan.changed, false);
    });
  });

  describe('rsync (one host; between two hosts: rsync-two-hosts.test.ts)', () => {
    it('check mode predicts, the copy happens once, a second run is no change', async () => {
      const src = join(dir, 'rs-src');
      const dest = join(dir, 'rs-dst');
      sh('mkdir -p "$1/etc" "$1/proc" "$1/dir with space" && echo a > "$1/etc/hostname" && echo b > "$1/proc/junk" && head -c 2000000 /dev/urandom > "$1/big" && ln -s etc/hostname "$1/link"', src);
      const p = { src: `${src}/`, dest: `${dest}/`, preset: 'rootfs', delete: true };
      const check = await run(rsyncModule, p, { check: true });
      assert.equal(check.plan.changed, true);
      assert.match(check.plan.diff![0]!.after, /etc\/hostname/);
      assert.equal(existsSync(dest), false);
      const { data } = await run(rsyncModule, p);
      assert.equal(readFileSync(join(dest, 'etc/hostname'), 'utf8'), 'a\n');
      assert.equal(existsSync(join(dest, 'proc/junk')), false, 'the rootfs preset excludes /proc/*');
      assert.ok(existsSync(join(dest, 'proc')));
      assert.ok((data.changes as number) >= 5);
      assert.ok(progress.some((x) => x.bytes !== undefined && x.bytes >= 2000000), JSON.stringify(progress));
      const again = await run(rsyncModule, p);
      assert.equal(again.plan.changed, false);
      assert.match((again.plan as { reason: string }).reason, /finds nothing to copy/);
    });
  });

  describe('blockcopy', () => {
    let src: string;
    const size = 20 * 1024 * 1024 + 512 * 3; // only a small power of two divides it: dd counts bytes
    before(() => {
      src = join(dir, 'bc-src.img');
      sh('head -c 30000000 /dev/urandom > "$1"', src);
    });
    it('one host: copies the first size bytes onto a loop device and verifies them; a second run is no change', async () => {
      const dest = loopImage('bc-dst.img', '24M');
      const { plan, data } = await run(blockcopyModule, { src, dest, size, verify: 'sha256' });
      assert.equal(plan.changed, true);
      assert.equal(data.verified, true);
      assert.equal(data.sha256, sh('head -c "$1" "$2" | sha256sum | cut -d" " -f1', String(size), src));
      assert.equal(sh('cmp -n "$1" "$2" "$3" && echo same', String(size), src, dest), 'same');
      const again = await run(blockcopyModule, { src, dest, size, verify: 'cmp' });
      assert.equal(again.plan.changed, false);
    });
    it('refuses a destination smaller than size', async () => {
      const tiny = loopImage('bc-tiny.img', '8M');
      await assert.rejects(run(blockcopyModule, { src, dest: tiny, size }), /less than the .* to copy/);
    });
    it('between two hosts through the controller (compressed), verified by sha256; then no change', async () => {
      const dest = join(dir, 'bc-remote.img');
      const p = { src, dest, size: '16M', src_host: hosts[0]!.name, dest_host: hosts[1]!.name };
      const { plan, data } = await run(blockcopyModule, p);
      assert.equal(plan.changed, true);
      assert.equal(data.verified, true);
      assert.ok(['zstd', 'gzip'].includes(data.compression as string));
      assert.equal(sh('cmp -n 16777216 "$1" "$2" && echo same', src, dest), 'same');
      assert.ok(progress.length > 0 && progress.every((x) => x.totalBytes === 16 * 1024 * 1024));
      assert.equal((await run(blockcopyModule, p)).plan.changed, false);
    });
  });
});
