// A converted guest is untrusted input: its symlinks must never make ferry mount over, read or
// write the host's own paths. Hostile busybox roots built in a temp dir, driven through a real sshd:
// every case is refused (or resolved inside the root) with a clear message, the host's mounts and
// files are unchanged (mountinfo before/after, sha256 of the host files the links name),
// `state: unmounted` removes what is mounted, and a second --check is truthful.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import { createTaskContext } from '../../runner/task-context.js';
import { ChrootTransport } from '../../runner/transport/chroot.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { chrootMountsModule } from '../../tasks/chroot-mounts.js';
import { CHROOT_BINDS, chrootBindsRefusal, readChrootBinds } from '../../tasks/guest/chroot-binds.js';
import { chrootExecModule } from '../../tasks/chroot-exec.js';
import { fstabModule } from '../../tasks/fstab.js';
import { grubModule } from '../../tasks/grub.js';
import { initramfsModule } from '../../tasks/initramfs.js';
import { kernelModule } from '../../tasks/kernel.js';
import { mountModule } from '../../tasks/mount.js';
import { parseMountinfo } from '../../tasks/storage/mountinfo.js';
import { NOPASSWD_USER, PASSWORD_USER, startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import { attachPartitionedImage } from '../helpers/loop-disk.js';
import { RoundTripCounter } from '../helpers/round-trips.js';
import { runModule } from '../helpers/run-module.js';

const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args]).toString().trim();
/** A host file's sha256, without the lines of the sshd harness's test users: other suites running meanwhile reset their passwords. */
const sha256 = (p: string): string =>
  existsSync(p)
    ? createHash('sha256')
        .update(readFileSync(p, 'utf8').split('\n').filter((l) => !new RegExp(`^(${NOPASSWD_USER}|${PASSWORD_USER}):`).test(l)).join('\n'))
        .digest('hex')
    : 'absent';

describe('hostile guest roots @integration', function () {
  this.timeout(120_000);
  let host: SshdHost;
  let transport: SshTransport;
  let userTransport: SshTransport;
  let dir: string;
  /** A host directory a guest link names (run -> it): nothing may be mounted on it or written in it. */
  let target: string;
  const loops: string[] = [];

  /** The host files the hostile links name, by path, with their hashes before anything ran. */
  const HOST_FILES = ['/etc/shadow', '/etc/passwd', '/etc/modules', '/etc/resolv.conf'];
  let hostHashes: Record<string, string>;

  /**
   * The host mounts a misdirected bind would show: on /, /etc, the API filesystems, the link target,
   * or anywhere in this test's directory (other suites may mount elsewhere meanwhile).
   */
  const watched = (): string[] =>
    parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((m) => ['/', '/etc', '/run', '/dev', '/dev/pts', '/proc', '/sys', target].includes(m.mountPoint) || m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`))
      .map((m) => `${m.id} ${m.mountPoint} ${m.fstype} ${m.root}`)
      .sort();
  const mountsUnder = (root: string): string[] =>
    parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((m) => m.mountPoint.startsWith(`${root}/`))
      .map((m) => m.mountPoint);

  /** Runs a module as ferry usually runs: a login user with become (root's login shell here is slow to start). */
  const run = <P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: { check?: boolean; t?: SshTransport } = {}): Promise<{ plan: Plan; data: Record<string, unknown> }> =>
    runModule(mod, input, { transport: opts.t ?? userTransport, check: opts.check, become: (opts.t ?? userTransport) === userTransport ? {} : false });
  const reasonOf = (p: Plan): string => (p.changed ? `changed: ${p.steps.map((s) => s.title).join('; ')}` : p.reason);
  const refusedWith = (re: RegExp) => (e: unknown) => {
    assert.ok(e instanceof TaskFailedError, String(e));
    assert.match(e.message, re);
    return true;
  };

  /** A minimal guest: static busybox as /bin/*, a Debian os-release, real /dev, /proc, /sys, /run, /tmp. */
  function guestRoot(name: string, at?: string): string {
    const root = at ?? join(dir, name);
    for (const d of ['bin', 'etc/default', 'dev', 'proc', 'sys', 'run', 'tmp', 'usr/sbin', 'usr/lib', 'boot']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const a of sh('/bin/busybox --list').split('\n')) if (a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'usr/lib/os-release'), 'ID=debian\nVERSION_ID=12\nPRETTY_NAME="hostile test guest"\n');
    symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:guest-root:/root:/bin/sh\n');
    return root;
  }

  /** Replaces a guest path by a symlink. */
  function link(root: string, path: string, to: string): void {
    rmSync(join(root, path), { recursive: true, force: true });
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(to, join(root, path));
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    if (!existsSync('/bin/busybox')) {
      console.warn('    SKIPPED: hostile guest roots need /bin/busybox (Debian package busybox-static)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'ferry-hostile-'));
    target = mkdtempSync(join(tmpdir(), 'ferry-hostile-target-'));
    writeFileSync(join(target, 'grub.cfg'), 'the host target, never written\n');
    host = await startSshd(); // first: it may add its test users to /etc/passwd and /etc/shadow
    hostHashes = Object.fromEntries(HOST_FILES.map((f) => [f, sha256(f)]));
    transport = sshTransport(host);
    userTransport = sshTransport(host, NOPASSWD_USER);
  });

  after(async () => {
    if (dir) sh('for m in $(grep -o " $1/[^ ]*" /proc/self/mountinfo | sort -r); do umount "$m"; done; true', dir);
    for (const l of loops) sh('losetup -d "$1" 2>/dev/null || true', l);
    await transport?.close().catch(() => undefined);
    await userTransport?.close().catch(() => undefined);
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (target) rmSync(target, { recursive: true, force: true });
  });

  afterEach(() => {
    for (const f of HOST_FILES) assert.equal(sha256(f), hostHashes[f], `the host's ${f} changed`);
    assert.equal(readFileSync(join(target, 'grub.cfg'), 'utf8'), 'the host target, never written\n');
    assert.deepEqual(sh('ls -A "$1"', target), 'grub.cfg', `something was written into the host directory ${target}`);
  });

  describe('bind targets that are guest symlinks are refused, nothing is mounted', () => {
    const cases: { name: string; path: string; to: () => string; shown: RegExp }[] = [
      { name: 'run -> a host directory', path: 'run', to: () => target, shown: /\/run is a symbolic link in the guest \(-> \/tmp\/ferry-hostile-target-[^)]*\)/ },
      { name: 'sys -> /etc', path: 'sys', to: () => '/etc', shown: /\/sys is a symbolic link in the guest \(-> \/etc\)/ },
      { name: 'dev -> /', path: 'dev', to: () => '/', shown: /\/dev is a symbolic link in the guest \(-> \/\)/ },
      { name: 'proc -> ../../.. (relative, out of the root on the host)', path: 'proc', to: () => '../../..', shown: /\/proc is a symbolic link in the guest \(-> \.\.\/\.\.\/\.\.\)/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const root = guestRoot(c.path);
        link(root, c.path, c.to());
        const before = watched();
        const message = new RegExp(`${c.shown.source}: ferry binds the host's /${c.path} only onto a real directory inside the root, never through a guest's link; make /${c.path} a directory in the guest`);
        await assert.rejects(run(chrootMountsModule, { root }, { check: true }), refusedWith(message));
        await assert.rejects(run(chrootMountsModule, { root }), refusedWith(message));
        await assert.rejects(run(chrootExecModule, { root, cmd: 'echo ran' }), refusedWith(message));
        assert.deepEqual(watched(), before, 'a mount appeared on the host');
        // a second --check says the same, not a plan that would go wrong again
        await assert.rejects(run(chrootMountsModule, { root }, { check: true }), refusedWith(message));
        const un = await run(chrootMountsModule, { root, state: 'unmounted' });
        assert.match(reasonOf(un.plan), /^nothing is mounted at or below /);
        // without the binds the root is still usable
        const { data } = await run(chrootExecModule, { root, cmd: 'echo ran', mounts: false });
        assert.equal(String(data.stdout).trim(), 'ran');
      });
    }

    it('a refusal in the middle leaves nothing mounted (dev is fine, sys -> /etc is not)', async () => {
      const root = guestRoot('late');
      link(root, 'sys', '/etc');
      const before = watched();
      await assert.rejects(run(chrootExecModule, { root, cmd: 'true' }), refusedWith(/\/sys is a symbolic link/));
      assert.deepEqual(watched(), before);
    });
  });

  describe('binds by real mount point', () => {
    it('nested dev/pts -> /: hidden by the host /dev bound first, so the binds land inside the root; a second --check is no change; unmounted removes them', async () => {
      const root = guestRoot('nested');
      link(root, 'dev/pts', '/');
      const before = watched();
      const check = await run(chrootMountsModule, { root }, { check: true });
      assert.match(reasonOf(check.plan), new RegExp(`^changed: bind ${CHROOT_BINDS.join(', ')} into ${root}$`));
      assert.deepEqual(watched(), before, 'check mode mounted something');
      await run(chrootMountsModule, { root });
      const during = watched().filter((l) => !before.includes(l));
      assert.deepEqual(during.map((l) => l.split(' ')[1]).sort(), CHROOT_BINDS.map((d) => root + d).sort(), 'the five binds, and nothing on the host');
      assert.match(during.find((l) => l.split(' ')[1] === `${root}/dev/pts`)!, / devpts /);
      const again = await run(chrootMountsModule, { root }, { check: true });
      assert.equal(reasonOf(again.plan), `all chroot binds are mounted under ${root}`);
      const unCheck = await run(chrootMountsModule, { root, state: 'unmounted' }, { check: true });
      // deepest first; among equals the last mounted first
      assert.equal(reasonOf(unCheck.plan), `changed: unmount ${root}/dev/pts, ${root}/proc, ${root}/run, ${root}/sys, ${root}/dev`);
      await run(chrootMountsModule, { root, state: 'unmounted' });
      assert.deepEqual(watched(), before);
      assert.match(reasonOf((await run(chrootMountsModule, { root, state: 'unmounted' }, { check: true })).plan), /^nothing is mounted at or below /);
    });

    it('unmounted also removes what was mounted below the binds meanwhile, deepest first; so does the mount module on the root', async () => {
      const fsRoot = join(dir, 'below');
      mkdirSync(fsRoot);
      sh('mount -t tmpfs ferry-hostile "$1"', fsRoot);
      guestRoot('below', fsRoot);
      const before = watched();
      await run(chrootMountsModule, { root: fsRoot });
      // what a package script might add inside the chroot (the binds are slaves: nothing of it reaches the host's /dev)
      sh('mount -t tmpfs ferry-shm "$1"', join(fsRoot, 'dev/shm'));
      const un = await run(chrootMountsModule, { root: fsRoot, state: 'unmounted' }, { check: true });
      assert.match(reasonOf(un.plan), new RegExp(`^changed: unmount ${fsRoot}/dev/shm, ${fsRoot}/dev/pts, `));
      await run(chrootMountsModule, { root: fsRoot, state: 'unmounted' });
      assert.deepEqual(mountsUnder(fsRoot), []);
      await run(chrootMountsModule, { root: fsRoot });
      sh('mount -t tmpfs ferry-shm "$1"', join(fsRoot, 'dev/shm'));
      await run(mountModule, { path: fsRoot, state: 'unmounted', recursive: true });
      assert.deepEqual(watched(), before.filter((l) => !l.includes(` ${fsRoot} `)));
    });

    it('a session unmounts what it mounted even when the command mounted more inside', async () => {
      const root = guestRoot('session');
      const before = watched();
      await assert.rejects(run(chrootExecModule, { root, cmd: 'mount -t tmpfs none /dev/shm && exit 3' }), /exit 3/);
      assert.deepEqual(watched(), before);
    });
  });

  describe('the chroot binds are read in one round trip', () => {
    /** readChrootBinds through a counting transport (root's login, as the sessions run): the facts, the refusal and each round trip. */
    async function countedBinds(root: string) {
      const counter = new RoundTripCounter(transport);
      const f = await readChrootBinds(createTaskContext({ host: transport.host, transport: counter, check: true }), root);
      return { f, refused: chrootBindsRefusal(root, f), trips: counter.trips };
    }

    it('two refused targets: the first in mount order is told, as one check of them all stops there; a root given through a link names its real path', async () => {
      const root = guestRoot('one-trip');
      link(root, 'sys', '/etc');
      link(root, 'run', target);
      const via = join(dir, 'one-trip-via');
      symlinkSync(root, via);
      for (const given of [root, via]) {
        const { refused, trips } = await countedBinds(given);
        assert.equal(trips.length, 1, trips.join('\n'));
        assert.equal(
          refused,
          `cannot bind /dev, /proc, /sys, /run into ${root}: ${root}/sys is a symbolic link in the guest (-> /etc): ferry binds the host's /sys only onto a real directory inside the root, never through a guest's link; make /sys a directory in the guest, or run without the chroot binds`,
        );
      }
    });

    it('binds already mounted are not counted: only /dev/pts missing is checked under the bound /dev; all bound checks nothing', async () => {
      const root = guestRoot('one-trip-bound');
      await run(chrootMountsModule, { root });
      try {
        const all = await countedBinds(root);
        assert.equal(all.trips.length, 1, all.trips.join('\n'));
        assert.equal(all.f.targets, undefined);
        assert.equal(all.refused, undefined);
        sh('umount "$1"', join(root, 'dev/pts'));
        const pts = await countedBinds(root);
        assert.equal(pts.trips.length, 1, pts.trips.join('\n'));
        assert.equal(pts.f.targets?.exitCode, 0);
        assert.equal(pts.refused, undefined);
      } finally {
        await run(chrootMountsModule, { root, state: 'unmounted' });
      }
      assert.deepEqual(mountsUnder(root), []);
    });

    it('with nothing to do, chroot_exec (creates) and initramfs (converged) read no binds: a guest run -> a host directory is not refused then', async () => {
      const root = guestRoot('nothing-to-do');
      link(root, 'run', target);
      writeFileSync(join(root, 'done'), '');
      writeFileSync(join(root, 'usr/sbin/update-initramfs'), '#!/bin/sh\nexit 0\n');
      chmodSync(join(root, 'usr/sbin/update-initramfs'), 0o755);
      mkdirSync(join(root, 'etc/initramfs-tools'));
      writeFileSync(join(root, 'etc/initramfs-tools/modules'), 'virtio_blk\nvirtio_pci\nvirtio_net\nvirtio_scsi\n');
      writeFileSync(join(root, 'etc/initramfs-tools/initramfs.conf'), 'MODULES=most\n');
      const counter = new RoundTripCounter(userTransport);
      const counted = <P>(mod: TaskModule<P>, input: Record<string, unknown>) => runModule(mod, input, { transport: counter, become: {} });
      const exec = await counted(chrootExecModule, { root, cmd: 'echo ran', creates: '/done' });
      assert.equal(reasonOf(exec.plan), '/done exists (creates)');
      const initramfs = await counted(initramfsModule, { root });
      assert.equal(reasonOf(initramfs.plan), 'initramfs-tools config already asks for virtio and every image holds virtio_blk (no images)');
      assert.ok(!counter.trips.some((t) => t.includes('/proc/self/mountinfo')), counter.trips.join('\n'));
      // with something to do, the binds are read and the link refused, as before
      await assert.rejects(run(chrootExecModule, { root, cmd: 'echo ran' }), refusedWith(/\/run is a symbolic link in the guest/));
      assert.deepEqual(mountsUnder(root), []);
    });

    it('a root that is not a directory is told from the same round trip', async () => {
      const { f, refused, trips } = await countedBinds(join(dir, 'no-such-root'));
      assert.equal(trips.length, 1, trips.join('\n'));
      assert.deepEqual(f.mounts, []);
      assert.equal(refused, `chroot root ${join(dir, 'no-such-root')} is not a directory on ${transport.host}`);
    });
  });

  describe('guest files are read and written inside the root', () => {
    /** put/get through the chroot transport, with the API filesystems bound as during a session. */
    const cases: { name: string; setup: (root: string) => void; path: string; get?: string | null | RegExp; put?: { lands: () => string } | RegExp }[] = [
      {
        name: 'etc/fstab -> /etc/shadow resolves to the guest\'s shadow; a write replaces the link',
        setup: (r) => {
          writeFileSync(join(r, 'etc/shadow'), 'guest shadow\n');
          link(r, 'etc/fstab', '/etc/shadow');
        },
        path: '/etc/fstab',
        get: 'guest shadow\n',
        put: { lands: () => 'etc/fstab' },
      },
      {
        name: 'a symlinked boot/grub (absolute, to a host directory) leads to that path inside the root',
        setup: (r) => {
          mkdirSync(join(r, target), { recursive: true });
          link(r, 'boot/grub', target);
        },
        path: '/boot/grub/device.map',
        get: null,
        put: { lands: () => `${target.slice(1)}/device.map` },
      },
      {
        name: 'a relative link climbing above the root stops at the root',
        setup: (r) => link(r, 'etc/up', '../../../../../../../..'),
        path: '/etc/up/etc/passwd',
        get: 'root:x:0:0:guest-root:/root:/bin/sh\n',
        put: { lands: () => 'etc/passwd' },
      },
      {
        name: 'a link through /proc/1/root (the host\'s root while /proc is bound) is refused',
        setup: (r) => link(r, 'etc/initramfs-tools', '/proc/1/root/etc'),
        path: '/etc/initramfs-tools/modules',
        get: /leads into \/proc: the host's own \/proc is bound there during chroot sessions/,
        put: /leads into \/proc/,
      },
      {
        name: 'a link into /run (the host\'s /run while bound) is refused',
        setup: (r) => link(r, 'etc/default/grub', '../../run/x'),
        path: '/etc/default/grub',
        get: /leads into \/run/,
      },
      {
        name: 'a link loop is refused',
        setup: (r) => {
          link(r, 'etc/a', 'b');
          link(r, 'etc/b', 'a');
        },
        path: '/etc/a',
        get: /too many levels of symbolic links/,
      },
      {
        name: 'a fifo is refused, not read (cat would wait on it forever)',
        setup: (r) => {
          rmSync(join(r, 'etc/fstab'), { force: true });
          sh('mkfifo "$1"', join(r, 'etc/fstab'));
        },
        path: '/etc/fstab',
        get: /\/etc\/fstab is not a regular file in the guest/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const root = guestRoot(`files-${cases.indexOf(c)}`);
        c.setup(root);
        await run(chrootMountsModule, { root });
        try {
          // as root, and as a user through sudo: reads first, then writes
          const both = [transport, userTransport].map((t) => ({ ct: new ChrootTransport(t, root), become: t === userTransport ? {} : (false as const) }));
          for (const { ct, become } of both) {
            if (c.get instanceof RegExp) await assert.rejects(ct.get(c.path, { become }), refusedWith(c.get));
            else if (c.get !== undefined) assert.equal((await ct.get(c.path, { become }))?.toString() ?? null, c.get);
          }
          for (const { ct, become } of both) {
            if (c.put instanceof RegExp) await assert.rejects(ct.put(c.path, 'written\n', { become }), refusedWith(c.put));
            else if (c.put) {
              await ct.put(c.path, 'written\n', { become });
              const landed = join(root, c.put.lands());
              assert.ok(lstatSync(landed).isFile(), `${landed} is a regular file`);
              assert.equal(readFileSync(landed, 'utf8'), 'written\n');
              assert.equal(sh('stat -c %a "$1"', landed), '644');
            }
          }
        } finally {
          await run(chrootMountsModule, { root, state: 'unmounted' });
        }
        assert.deepEqual(mountsUnder(root), []);
      });
    }

    it('a guest whose /bin is a link to /bin is refused (a loop inside the root), never the host\'s /bin/sh', async () => {
      const root = guestRoot('bin');
      link(root, 'bin', '/bin');
      await assert.rejects(run(chrootExecModule, { root, cmd: 'true', mounts: false }), refusedWith(/\/bin on \S+: guest path \/bin\/sh: too many levels of symbolic links/));
      link(root, 'bin', 'nowhere');
      await assert.rejects(run(chrootExecModule, { root, cmd: 'true', mounts: false }), refusedWith(/is not a guest root \(no executable \/bin\/sh in it\)/));
    });
  });

  describe('the guest-file editors', () => {
    it('fstab: etc/fstab -> /etc/shadow edits what the link names inside the guest, never the host\'s shadow', async () => {
      const root = guestRoot('fstab');
      writeFileSync(join(root, 'etc/shadow'), '/dev/xvda1 / ext4 defaults 0 1\n');
      link(root, 'etc/fstab', '/etc/shadow');
      const check = await run(fstabModule, { root, check_uuids: false }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(check.plan.diff?.[0]?.before, '/dev/xvda1 / ext4 defaults 0 1\n');
      await run(fstabModule, { root, check_uuids: false }, { t: transport });
      assert.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /^\/dev\/vda1\s+\/ ext4 defaults 0 1\n$/);
      assert.equal(readFileSync(join(root, 'etc/shadow'), 'utf8'), '/dev/xvda1 / ext4 defaults 0 1\n', 'the file the link named is left as it was');
      assert.ok(lstatSync(join(root, 'etc/fstab')).isFile());
      const again = await run(fstabModule, { root, check_uuids: false });
      assert.match(reasonOf(again.plan), /already fits KVM/);
    });

    it('initramfs: a config directory linked through /proc/1/root is refused before anything runs', async () => {
      const root = guestRoot('initramfs');
      writeFileSync(join(root, 'usr/sbin/update-initramfs'), '#!/bin/sh\nexit 0\n');
      chmodSync(join(root, 'usr/sbin/update-initramfs'), 0o755);
      link(root, 'etc/initramfs-tools', '/proc/1/root/etc');
      await assert.rejects(run(initramfsModule, { root }), refusedWith(/guest path \/etc\/initramfs-tools\/modules leads into \/proc/));
      assert.deepEqual(mountsUnder(root), []);
    });

    it('a chroot session: a guest etc -> /proc/1/root/etc is refused before the host\'s resolv.conf could be moved aside', async () => {
      const root = guestRoot('session-etc');
      link(root, 'etc', '/proc/1/root/etc');
      await assert.rejects(run(chrootExecModule, { root, cmd: 'true' }), refusedWith(/\/etc\/resolv\.conf in \S+: guest path \/etc\/resolv\.conf leads into \/proc/));
      assert.deepEqual(mountsUnder(root), []);
    });

    it('kernel: offline packages are not staged through a guest tmp -> /proc/1/root/tmp', async () => {
      const root = guestRoot('kernel');
      link(root, 'tmp', '/proc/1/root/tmp');
      const debs = join(dir, 'debs');
      mkdirSync(debs);
      writeFileSync(join(debs, 'linux-image-test_1_amd64.deb'), 'not really a package\n');
      assert.ok(!existsSync('/tmp/ferry-pkgs'));
      await assert.rejects(run(kernelModule, { root, packages_dir: debs }), refusedWith(/cannot stage the packages of \S+ in the guest: guest path \/tmp leads into \/proc/));
      assert.ok(!existsSync('/tmp/ferry-pkgs'), 'the host\'s /tmp/ferry-pkgs was created');
      assert.deepEqual(mountsUnder(root), []);
    });

    it('grub: etc/default/grub -> /etc/passwd and a symlinked boot/grub are edited inside the guest; a second run is no change', async () => {
      // grub needs a root mounted from a partition of a disk with a table
      const img = join(dir, 'grub.img');
      sh('truncate -s 64M "$1" && printf "label: dos\\nstart=2048, type=83, bootable\\n" | sfdisk -q "$1"', img);
      const disk = attachPartitionedImage(img);
      loops.push(disk);
      sh('mkfs.ext4 -q "$1"', `${disk}p1`);
      const root = join(dir, 'grub');
      mkdirSync(root);
      sh('mount "$1" "$2"', `${disk}p1`, root);
      guestRoot('grub', root);
      // stand-ins for the GRUB tools: enough for the module to plan, edit and regenerate grub.cfg
      mkdirSync(join(root, 'usr/lib/grub/i386-pc'), { recursive: true });
      const tool = (name: string, body: string): void => {
        writeFileSync(join(root, 'usr/sbin', name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(root, 'usr/sbin', name), 0o755);
      };
      tool('grub-install', 'exit 0');
      tool('grub-mkconfig', 'cfg="# generated in the guest\\n"; if [ "$1" = -o ]; then printf "$cfg" > "$2"; else printf "$cfg"; fi');
      link(root, 'etc/default/grub', '/etc/passwd');
      mkdirSync(join(root, target), { recursive: true });
      link(root, 'boot/grub', target);
      const before = watched();
      const check = await run(grubModule, { root, disk, install: false }, { check: true });
      assert.equal(check.plan.changed, true);
      const d = check.plan.diff?.find((x) => x.path === `${root}/etc/default/grub`);
      assert.equal(d?.before, 'root:x:0:0:guest-root:/root:/bin/sh\n', 'the guest\'s passwd, not the host\'s');
      await run(grubModule, { root, disk, install: false });
      assert.ok(lstatSync(join(root, 'etc/default/grub')).isFile());
      assert.match(readFileSync(join(root, 'etc/default/grub'), 'utf8'), /^GRUB_DEVICE="UUID=/m);
      assert.equal(readFileSync(join(root, target, 'grub.cfg'), 'utf8'), '# generated in the guest\n');
      assert.deepEqual(watched(), before, 'the sessions left mounts behind');
      const again = await run(grubModule, { root, disk, install: false });
      assert.match(reasonOf(again.plan), /^\/etc\/default\/grub is right, \/boot\/grub\/grub\.cfg is what grub-mkconfig generates$/);
      assert.deepEqual(watched(), before);
      // check mode mounts nothing, so it leaves grub.cfg uncompared and says so
      const checkAgain = await run(grubModule, { root, disk, install: false }, { check: true });
      assert.match(reasonOf(checkAgain.plan), /^\/etc\/default\/grub is right, \/boot\/grub\/grub\.cfg is there with no host device in root=$/);
      assert.match(checkAgain.plan.partial ?? '', /^\/boot\/grub\/grub\.cfg was not compared with what grub-mkconfig generates: .*check mode mounts nothing/);
      assert.deepEqual(watched(), before);
    });
  });
});
