// The filesystem module's xfs paths (present, checked, resized, absent) on loop devices over sparse
// image files in a temp dir, through a real sshd on loopback.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskFailedError } from '../../runner/errors.js';
import { applyPlan } from '../../runner/apply-steps.js';
import { planTask, runSteps, type Plan } from '../../runner/module.js';
import { createTaskContext } from '../../runner/task-context.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { filesystemModule } from '../../tasks/filesystem.js';
import { startSshdHosts, sshTransport, type SshdHost } from '../harness/sshd.js';
import { RoundTripCounter } from '../helpers/round-trips.js';
import { runModule } from '../helpers/run-module.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync('sh', ['-c', cmd, 'sh', ...args]).toString().trim();
const MiB = 1024 * 1024;

/** The superblock fields the tests compare, read with the tool the module does not use for it when unmounted. */
const sbField = (dev: string, field: string): string => sh('xfs_db -r -c sb -c "print $2" "$1"', dev, field).replace(/^\w+ = /, '');
/** Mounts left behind by a temporary grow (the module's mktemp prefix). */
const growLeftovers = (): string => sh('{ grep -c ferry-xfs-grow /proc/self/mountinfo || true; ls -d /tmp/ferry-xfs-grow.* 2>/dev/null || true; } | tr "\\n" " "');

describe('filesystem (xfs) @integration @slow', function () {
  this.timeout(60_000);
  let host: SshdHost | undefined;
  let transport: SshTransport;
  let dir: string;
  const loops: string[] = [];
  const mounts: string[] = [];
  // A new UUID per run: xfs refuses to mount a second filesystem whose UUID is mounted already, so a
  // fixed one made this file fail ("wrong fs type") whenever an earlier, killed run had left its mount.
  const uuid = randomUUID();

  /** Validates params, plans, and applies unless check; returns the plan and the applied data. */
  const run = (input: Record<string, unknown>, opts: { check?: boolean } = {}): Promise<{ plan: Plan; data: Record<string, unknown> }> =>
    runModule(filesystemModule, input, { transport, check: opts.check });
  const reason = (plan: Plan): string => (plan.changed ? assert.fail(`expected no change, got steps: ${plan.steps.map((s) => s.title).join('; ')}`) : plan.reason);

  /** A loop device over a new sparse image file of `size` (xfsprogs wants at least 300 MiB). */
  function loopImage(name: string, size: string): { loop: string; img: string } {
    const img = join(dir, name);
    sh('truncate -s "$1" "$2"', size, img);
    const loop = sh('losetup -f --show "$1"', img);
    loops.push(loop);
    return { loop, img };
  }
  /** Changes the size of the image under a loop device and tells the kernel. */
  function resizeImage(d: { loop: string; img: string }, size: string): void {
    sh('truncate -s "$1" "$2" && losetup -c "$3"', size, d.img, d.loop);
  }
  function mountAt(dev: string, name: string): string {
    const mnt = join(dir, name);
    sh('mkdir -p "$2" && mount -t xfs "$1" "$2"', dev, mnt);
    mounts.push(mnt);
    return mnt;
  }
  /** Leaves the log dirty: five new files (`${prefix}1`...) are written and synced (to the log), then the filesystem is shut down without writing its metadata back. */
  function dirtyLog(dev: string, prefix: string): void {
    const mnt = mountAt(dev, 'dirty');
    sh('for i in 1 2 3 4 5; do echo $i > "$1/$2$i"; done; sync; xfs_io -x -c shutdown "$1"; umount "$1"', mnt, prefix);
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    const missing = sh('for c in mkfs.xfs xfs_repair xfs_growfs xfs_db xfs_info xfs_io; do command -v "$c" >/dev/null || printf "%s " "$c"; done');
    if (missing) throw new Error(`xfsprogs is not installed (${missing} missing): .ci/run installs it`);
    dir = mkdtempSync(join(tmpdir(), 'ferry-xfs-'));
    [host] = await startSshdHosts(1);
    const h = host!;
    transport = sshTransport(h);
  });
  after(async () => {
    // umount without asking mountpoint(1) first: on a filesystem that was shut down it cannot stat the directory
    for (const m of mounts.reverse()) sh('umount "$1" 2>/dev/null || true', m);
    for (const l of loops) sh('losetup -d "$1" 2>/dev/null || true', l);
    await transport?.close().catch(() => undefined);
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('present and absent', () => {
    let dev: string;
    before(() => {
      dev = loopImage('present.img', '320M').loop;
    });

    it('check mode predicts mkfs.xfs and writes nothing; then makes xfs with the UUID and label', async () => {
      const p = { dev, fstype: 'xfs', uuid, label: 'xr1data' };
      const check = await run(p, { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(check.plan.diff![0]!.after, `xfs UUID=${uuid} LABEL=xr1data\n`);
      assert.equal(sh('blkid -p -o export "$1" || true', dev), '');
      const { plan, data } = await run(p);
      assert.equal(plan.changed, true);
      assert.deepEqual(data, { uuid, label: 'xr1data' });
      const blkid = sh('blkid -p -o export "$1"', dev);
      assert.match(blkid, /^TYPE=xfs$/m);
      assert.match(blkid, new RegExp(`^UUID=${uuid}$`, 'm'));
      assert.match(blkid, /^LABEL=xr1data$/m);
      assert.equal(sbField(dev, 'uuid'), uuid);
    });
    it('a second run is no change, with the reason', async () => {
      const { plan } = await run({ dev, fstype: 'xfs', uuid, label: 'xr1data' });
      assert.match(reason(plan), new RegExp(`already has a xfs filesystem \\(UUID ${uuid}\\)`));
      // without uuid and label, any xfs is the one asked for
      assert.equal((await run({ dev, fstype: 'xfs' })).plan.changed, false);
    });
    it('refuses another UUID or label, and another type, without force; nothing is written', async () => {
      await assert.rejects(run({ dev, fstype: 'xfs', uuid: '11111111-2222-4333-8444-555555555555' }), (e: Error) => e instanceof TaskFailedError && /already has a xfs filesystem but UUID is .* asked for 1111.*without force: true/.test(e.message));
      await assert.rejects(run({ dev, fstype: 'xfs', label: 'other' }), /label is 'xr1data', asked for 'other': refusing to re-create it without force: true/);
      await assert.rejects(run({ dev, fstype: 'ext4' }), /refusing to mkfs.ext4 over a xfs filesystem on .* without force: true/);
      assert.equal(sbField(dev, 'uuid'), uuid);
    });
    it('refuses to mkfs.xfs over ext4 without force, and makes a new xfs (its own UUID) with force', async () => {
      const other = loopImage('over-ext4.img', '320M').loop;
      sh('mkfs.ext4 -q "$1"', other);
      await assert.rejects(run({ dev: other, fstype: 'xfs' }), /refusing to mkfs.xfs over a ext4 filesystem on .* without force: true/);
      assert.match(sh('blkid -p -o export "$1"', other), /^TYPE=ext4$/m);
      const { data } = await run({ dev: other, fstype: 'xfs', force: true });
      assert.match(data.uuid as string, /^[0-9a-f-]{36}$/);
      assert.equal(data.label, '');
      assert.match(sh('blkid -p -o export "$1"', other), /^TYPE=xfs$/m);
      assert.equal((await run({ dev: other, fstype: 'xfs' })).plan.changed, false);
    });
    it('mkfs.xfs -N refuses a device under 300 MiB at plan time, in check mode too, and a label over 12 bytes is a parameter error', async () => {
      const tiny = loopImage('tiny.img', '290M').loop;
      for (const check of [true, false]) {
        await assert.rejects(run({ dev: tiny, fstype: 'xfs' }, { check }), (e: Error) => /mkfs.xfs -N \(dry run\) refuses .*: Filesystem must be larger than 300MB\.$/.test(e.message));
      }
      assert.equal(sh('blkid -p -o export "$1" || true', tiny), '');
      assert.throws(() => filesystemModule.params.parse({ dev: tiny, fstype: 'xfs', label: 'thirteen-char' }), /an xfs label has at most 12 bytes/);
    });
    it('refuses a mounted xfs for mkfs with force', async () => {
      const mnt = mountAt(dev, 'present-mnt');
      try {
        await assert.rejects(run({ dev, fstype: 'xfs', uuid: '11111111-2222-4333-8444-555555555555', force: true }), /is mounted on .*present-mnt: unmount it before making a filesystem/);
      } finally {
        sh('umount "$1"', mnt);
      }
    });
    it('absent: refuses without force, wipes with force; a second run is no change', async () => {
      await assert.rejects(run({ dev, fstype: 'xfs', state: 'absent' }), /refusing to wipe the xfs filesystem on .* without force: true/);
      assert.match(sh('blkid -p -o export "$1"', dev), /^TYPE=xfs$/m);
      const { plan } = await run({ dev, fstype: 'xfs', state: 'absent', force: true });
      assert.equal(plan.changed, true);
      assert.equal(sh('blkid -p -o export "$1" || true', dev), '');
      assert.match(reason((await run({ dev, fstype: 'xfs', state: 'absent' })).plan), /has no filesystem signature/);
    });
  });

  describe('checked', () => {
    let dev: string;
    before(async () => {
      dev = loopImage('checked.img', '320M').loop;
      await run({ dev, fstype: 'xfs' });
    });

    it('a clean filesystem is no change, with the reason', async () => {
      const { plan } = await run({ dev, fstype: 'xfs', state: 'checked' });
      assert.equal(reason(plan), `xfs_repair -n found no problems on ${dev}`);
      assert.deepEqual(plan.data, { fsck_exit: 0, fsck: 'no errors', problems: [] });
    });
    it('a wrong link count: check mode shows the problem and changes nothing; xfs_repair fixes it; then no change', async () => {
      sh('xfs_db -x -c "inode 128" -c "write core.nlinkv2 9" "$1" >/dev/null', dev);
      const check = await run({ dev, fstype: 'xfs', state: 'checked' }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.match(check.plan.diff![0]!.before, /^would have reset inode 128 nlinks from 9 to 2$/m);
      assert.equal(sh('xfs_db -r -c "inode 128" -c "print core.nlinkv2" "$1"', dev), 'core.nlinkv2 = 9');
      const { plan, data } = await run({ dev, fstype: 'xfs', state: 'checked' });
      assert.match(plan.changed ? plan.steps[0]!.title : '', /^xfs_repair \/dev\/loop\d+ \(xfs_repair -n found 1 problem\)$/);
      assert.equal(data.fsck_exit, 0);
      assert.equal(data.fsck, 'errors corrected');
      assert.deepEqual(data.problems, ['resetting inode 128 nlinks from 9 to 2']);
      assert.equal(sh('xfs_db -r -c "inode 128" -c "print core.nlinkv2" "$1"', dev), 'core.nlinkv2 = 2');
      assert.equal((await run({ dev, fstype: 'xfs', state: 'checked' })).plan.changed, false);
    });
    it('a dirty log is refused with what to do, also in check mode; mounting once replays it', async () => {
      dirtyLog(dev, 'f');
      for (const check of [true, false]) {
        await assert.rejects(run({ dev, fstype: 'xfs', state: 'checked' }, { check }), (e: Error) => /holds metadata changes that were never replayed .*mount it once and unmount it to replay the log.*force: true runs xfs_repair -L/.test(e.message));
      }
      // the refusal wrote nothing: the log is still there, and replaying it keeps the files it holds
      const mnt = mountAt(dev, 'checked-mnt');
      try {
        assert.equal(sh('ls "$1"', mnt), 'f1\nf2\nf3\nf4\nf5');
      } finally {
        sh('umount "$1"', mnt);
      }
      assert.match(reason((await run({ dev, fstype: 'xfs', state: 'checked' })).plan), /found no problems/);
    });
    it('with force a dirty log is zeroed by xfs_repair -L (a destructive step), then the filesystem is clean', async () => {
      dirtyLog(dev, 'g');
      const { plan, data } = await run({ dev, fstype: 'xfs', state: 'checked', force: true });
      assert.equal(plan.changed, true);
      assert.equal(plan.changed && plan.steps[0]!.destructive, true);
      assert.equal(data.log_zeroed, true);
      assert.equal(data.fsck_exit, 0);
      assert.equal((await run({ dev, fstype: 'xfs', state: 'checked' })).plan.changed, false);
      // what force costs: the files whose metadata was only in the log (g1...g5) are gone; the older ones stay
      const mnt = mountAt(dev, 'checked-mnt');
      try {
        assert.equal(sh('ls "$1"', mnt), 'f1\nf2\nf3\nf4\nf5');
      } finally {
        sh('umount "$1"', mnt);
      }
    });
    it('refuses a mounted filesystem, and a device that is not xfs', async () => {
      const mnt = mountAt(dev, 'checked-mnt');
      try {
        await assert.rejects(run({ dev, fstype: 'xfs', state: 'checked' }), /is mounted on .*checked-mnt: xfs_repair needs it unmounted/);
      } finally {
        sh('umount "$1"', mnt);
      }
      const ext = loopImage('checked-ext4.img', '16M').loop;
      sh('mkfs.ext4 -q "$1"', ext);
      await assert.rejects(run({ dev: ext, fstype: 'xfs', state: 'checked' }), /holds a ext4 filesystem, not xfs: nothing for xfs_repair to check/);
    });
  });

  describe('resized', () => {
    let d: { loop: string; img: string };
    before(async () => {
      d = loopImage('grow.img', '320M');
      await run({ dev: d.loop, fstype: 'xfs', uuid });
    });

    it('shrinking is an error naming both sizes, force or not', async () => {
      for (const force of [false, true]) {
        await assert.rejects(
          run({ dev: d.loop, fstype: 'xfs', state: 'resized', size: '300M', force }),
          (e: Error) => /^xfs cannot shrink: the filesystem on \/dev\/loop\d+ is 320 MiB \(335544320 bytes\) and 300M is 300 MiB \(314572800 bytes\)/.test(e.message),
        );
      }
      assert.match(reason((await run({ dev: d.loop, fstype: 'xfs', state: 'resized' })).plan), /already 320 MiB \(the whole of/);
    });
    it('grows to the whole device on a temporary mount: check mode is exact, nothing is left mounted, a second run is no change', async () => {
      const before = growLeftovers();
      resizeImage(d, '400M');
      const check = await run({ dev: d.loop, fstype: 'xfs', state: 'resized' }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.deepEqual(check.plan.diff, [{ path: d.loop, before: `${320 * MiB} bytes\n`, after: `${400 * MiB} bytes\n` }]);
      assert.equal(sbField(d.loop, 'dblocks'), String((320 * MiB) / 4096));
      const { plan, data } = await run({ dev: d.loop, fstype: 'xfs', state: 'resized' });
      assert.match(plan.changed ? plan.steps[0]!.title : '', /^xfs_growfs -D 102400 on a temporary mount point \(grow .* 320 MiB → 400 MiB\)$/);
      assert.equal(data.size_bytes, 400 * MiB);
      assert.equal(sbField(d.loop, 'dblocks'), '102400');
      assert.equal(sbField(d.loop, 'uuid'), uuid);
      assert.equal(growLeftovers(), before);
      assert.equal(sh('findmnt -n -S "$1" || true', d.loop), '');
      assert.match(reason((await run({ dev: d.loop, fstype: 'xfs', state: 'resized' })).plan), /already 400 MiB \(the whole of/);
    });
    it('a last allocation group under 64 blocks is left out as the kernel does: no change, with the reason', async () => {
      resizeImage(d, String(400 * MiB + 30 * 4096));
      assert.match(reason((await run({ dev: d.loop, fstype: 'xfs', state: 'resized' })).plan), /already 400 MiB \(the whole of .*; the 30 blocks beyond it are fewer than the 64/);
    });
    it('grows on its own mount point when mounted (and it stays mounted)', async () => {
      resizeImage(d, '420M');
      const mnt = mountAt(d.loop, 'grow-mnt');
      const { plan, data } = await run({ dev: d.loop, fstype: 'xfs', state: 'resized', size: '410M' });
      assert.match(plan.changed ? plan.steps[0]!.title : '', /^xfs_growfs -D 104960 on .*grow-mnt \(grow/);
      assert.equal(data.size_bytes, 410 * MiB);
      assert.equal(sh('findmnt -n -o TARGET -S "$1"', d.loop), mnt);
      assert.match(sh('xfs_info "$1"', mnt), /^data\s+=\s+bsize=4096\s+blocks=104960,/m);
      assert.match(reason((await run({ dev: d.loop, fstype: 'xfs', state: 'resized', size: '410M' })).plan), /already 410 MiB \(410M\)/);
    });
    it('grows a copy with the same UUID while the original is mounted (the temporary mount uses nouuid)', async () => {
      // the original (d) is still mounted from the test before; the copy keeps its UUID, as a migration does
      const copy = loopImage('grow-copy.img', '320M');
      await run({ dev: copy.loop, fstype: 'xfs', uuid });
      resizeImage(copy, '360M');
      // the premise: xfs refuses to mount a second filesystem with a UUID that is mounted already
      assert.throws(() => sh('mkdir -p "$2" && mount -t xfs "$1" "$2" 2>&1', copy.loop, join(dir, 'dup')));
      const { data } = await run({ dev: copy.loop, fstype: 'xfs', state: 'resized', size_of_device: copy.img });
      assert.equal(data.size_bytes, 360 * MiB);
      assert.equal(sbField(copy.loop, 'uuid'), uuid);
    });
    it('when xfs_growfs fails the temporary mount is unmounted and removed all the same', async () => {
      const e = loopImage('grow-fail.img', '320M');
      await run({ dev: e.loop, fstype: 'xfs' });
      resizeImage(e, '400M');
      const params = filesystemModule.params.parse({ dev: e.loop, fstype: 'xfs', state: 'resized' });
      const ctx = createTaskContext({ host: transport.host, transport });
      const plan = await filesystemModule.plan(ctx, params);
      assert.equal(plan.changed, true);
      // the device shrinks between plan and apply: it still holds the filesystem, but not the planned size
      resizeImage(e, '360M');
      const before = growLeftovers();
      await assert.rejects(runSteps(ctx, plan.changed ? plan.steps : []), /xfs_growfs -D 102400 .*: exit 1[\s\S]*data size 102400 too large, maximum is 92160/);
      assert.equal(growLeftovers(), before);
      assert.equal(sh('findmnt -n -S "$1" || true', e.loop), '');
      assert.equal(sbField(e.loop, 'dblocks'), '81920');
    });
    it('an image file (no loop device of its own): made, checked and grown; the grow leaves no loop device behind', async () => {
      const img = join(dir, 'plain.img');
      sh('truncate -s 320M "$1"', img);
      await run({ dev: img, fstype: 'xfs' });
      assert.match(reason((await run({ dev: img, fstype: 'xfs', state: 'checked' })).plan), /found no problems/);
      sh('truncate -s 360M "$1"', img);
      const { data } = await run({ dev: img, fstype: 'xfs', state: 'resized' });
      assert.equal(data.size_bytes, 360 * MiB);
      assert.equal(sh('losetup -j "$1"', img), '');
      assert.equal(sh('xfs_db -r -c sb -c "print dblocks" "$1"', img), `dblocks = ${(360 * MiB) / 4096}`);
    });
    it('after a grow, the result reads the geometry once (the plan knew the rest): one round trip beyond the steps', async function () {
      this.timeout(180_000); // two mkfs and two grows: past the file's minute on a busy machine
      const counter = new RoundTripCounter(transport);
      /** Plans and applies a grow through the counter; the round trips of the apply (steps + result) and the registered data. */
      const grow = async (input: Record<string, unknown>): Promise<{ trips: string[]; steps: number; data: Record<string, unknown> }> => {
        const params = filesystemModule.params.parse(input);
        const ctx = createTaskContext({ host: transport.host, transport: counter });
        const plan = await planTask(filesystemModule, ctx, params);
        assert.ok('changed' in plan && plan.changed, JSON.stringify(plan));
        counter.reset();
        const data = await applyPlan(filesystemModule, ctx, params, plan);
        return { trips: [...counter.trips], steps: plan.steps.length, data };
      };
      const g = loopImage('grow-count.img', '320M');
      await run({ dev: g.loop, fstype: 'xfs' });
      resizeImage(g, '360M');
      // unmounted: mktemp, mount, xfs_growfs, umount, rmdir; then the result's one xfs_db
      const offline = await grow({ dev: g.loop, fstype: 'xfs', state: 'resized' });
      assert.deepEqual(offline.data, { size_bytes: 360 * MiB });
      assert.equal(offline.trips.length, 5 + 1, offline.trips.join('\n'));
      assert.match(offline.trips.at(-1)!, /^run xfs_db -r -c sb -c print -- /);
      // mounted: xfs_growfs on the mount point (one data step), then the result's one xfs_info
      resizeImage(g, '400M');
      const mnt = mountAt(g.loop, 'grow-count-mnt');
      const online = await grow({ dev: g.loop, fstype: 'xfs', state: 'resized' });
      assert.deepEqual(online.data, { size_bytes: 400 * MiB });
      assert.equal(online.steps, 1);
      assert.equal(online.trips.length, 1 + 1, online.trips.join('\n'));
      assert.equal(online.trips.at(-1), `run xfs_info ${mnt}`);
      sh('umount "$1"', mnt);
    });
    it('refuses a target beyond the device, and a device without xfs', async () => {
      await assert.rejects(run({ dev: d.loop, fstype: 'xfs', state: 'resized', size: '1G' }), /cannot grow the xfs filesystem on .* to 1 GiB: the device holds only 420 MiB/);
      const empty = loopImage('grow-empty.img', '16M').loop;
      await assert.rejects(run({ dev: empty, fstype: 'xfs', state: 'resized' }), /holds no filesystem, not xfs: nothing to resize/);
    });
  });
});
