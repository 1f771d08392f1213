// The guest conversion modules (chroot, fstab, kernel, initramfs, grub) on a real Debian guest:
// the lab's guest filesystem copied into the partition of a loop-attached disk image, driven
// through a real sshd; then the image is booted under qemu and must reach GRUB and a login prompt.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootCheck } from '../../lab/boot-check.js';
import { cacheRoot } from '../../lab/paths.js';
import { sh as cmd } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import { ChrootTransport } from '../../runner/transport/chroot.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { chrootExecModule } from '../../tasks/chroot-exec.js';
import { fstabModule } from '../../tasks/fstab.js';
import { grubModule } from '../../tasks/grub.js';
import { initramfsModule } from '../../tasks/initramfs.js';
import { kernelModule } from '../../tasks/kernel.js';
import { startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import { attachPartitionedImage } from '../helpers/loop-disk.js';
import { runModule } from '../helpers/run-module.js';

const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args], { maxBuffer: 64 << 20 }).toString().trim();

/** The lab's Debian guest filesystem image: $FERRY_GUEST_IMAGE, else the newest complete lab build. */
function findGuestImage(): string | undefined {
  if (process.env.FERRY_GUEST_IMAGE) return process.env.FERRY_GUEST_IMAGE;
  const roots = [cacheRoot(), join(homedir(), '.cache', 'ferry', 'lab-dev')];
  const found: { image: string; mtime: number }[] = [];
  for (const r of roots) {
    if (!existsSync(r)) continue;
    for (const d of readdirSync(r)) {
      const info = join(r, d, 'build.json');
      if (!existsSync(info)) continue;
      const image = (JSON.parse(readFileSync(info, 'utf8')) as { guest?: { image?: string } }).guest?.image;
      if (image && existsSync(image)) found.push({ image, mtime: Number(sh('stat -c %Y "$1"', info)) });
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.image;
}

describe('guest conversion modules @integration @slow', function () {
  this.timeout(15 * 60_000);
  let host: SshdHost;
  let transport: SshTransport;
  let dir: string;
  let image: string;
  let loop: string;
  let part: string;
  let root: string;
  let pkgs: string;
  const loops: string[] = [];
  const mountPoints: string[] = [];

  const run = <P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: { check?: boolean } = {}): Promise<{ plan: Plan; data: Record<string, unknown> }> =>
    runModule(mod, input, { transport, check: opts.check });

  /** The host's mount table, less what other test runs on this machine mount in their own temporary directories. */
  const hostMounts = (): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => {
        const mp = l.split(' ')[4] ?? '';
        return l && (!mp.startsWith(`${tmpdir()}/`) || mp === dir || mp.startsWith(`${dir}/`));
      });

  const bindsUnder = (r: string): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${r}/`));

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    const guest = findGuestImage();
    if (!guest) {
      console.warn('    no lab guest image (run npm run lab:up once, or set FERRY_GUEST_IMAGE); skipping');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'ferry-convert-'));
    image = join(dir, 'disk.img');
    const guestBytes = Number(sh('stat -c %s "$1"', guest!));
    // 1 MiB for the MBR gap (core.img lives there), the guest filesystem, and 256 MiB to grow it by
    sh('truncate -s "$1" "$2"', String(Math.ceil(guestBytes / 1048576) + 1 + 256) + 'M', image);
    sh('printf "label: dos\\nstart=2048, type=83, bootable\\n" | sfdisk -q "$1"', image);
    loop = attachPartitionedImage(image);
    loops.push(loop);
    part = `${loop}p1`;
    sh('dd if="$1" of="$2" bs=4M conv=sparse status=none && e2fsck -fy "$2" >/dev/null 2>&1; resize2fs "$2" >/dev/null 2>&1', guest!, part);
    root = join(dir, 'root');
    mkdirSync(root);
    sh('mount "$1" "$2"', part, root);
    mountPoints.push(root);
    // Offline packages: what the lab left in the guest's apt cache for a conversion and the guest lacks.
    pkgs = join(dir, 'pkgs');
    mkdirSync(pkgs);
    const installed = new Set(sh('chroot "$1" dpkg-query -W -f "\\${Package}\\n"', root).split('\n'));
    const archives = join(root, 'var/cache/apt/archives');
    for (const f of readdirSync(archives).filter((x) => x.endsWith('.deb'))) {
      if (!installed.has(f.split('_')[0]!)) copyFileSync(join(archives, f), join(pkgs, f));
    }
    if (!readdirSync(pkgs).some((f) => f.startsWith('grub-pc_'))) {
      console.warn('    the guest image holds no grub-pc .deb for an offline install; skipping');
      this.skip();
    }
    host = await startSshd();
    transport = sshTransport(host);
  });

  after(async () => {
    for (const m of mountPoints.reverse()) {
      try {
        sh('for m in $(grep -o " $1/[^ ]*" /proc/self/mountinfo | sort -r); do umount "$m"; done; mountpoint -q "$1" && umount "$1" || true', m);
      } catch {
        // best effort: detaching the loops comes next
      }
    }
    for (const l of loops) sh('losetup -d "$1" 2>/dev/null || true', l);
    await transport?.close().catch(() => undefined);
    await host?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('chroot transport', () => {
    const tag = randomBytes(4).toString('hex');
    it('expands globs and redirections inside the guest, not on the host', async () => {
      const d = `/tmp/ferry-glob-${tag}`;
      mkdirSync(d);
      writeFileSync(join(d, 'host-only.deb'), 'host');
      try {
        mkdirSync(join(root, d));
        writeFileSync(join(root, d, 'guest-only.deb'), 'guest');
        const t = new ChrootTransport(transport, root);
        const r = await t.run(cmd`ls ${d}/${cmd`*.deb`} > /tmp/ferry-ls-${tag}; cat /tmp/ferry-ls-${tag}`);
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(r.stdout.trim(), `${d}/guest-only.deb`);
        assert.ok(existsSync(join(root, `tmp/ferry-ls-${tag}`)), 'the redirection wrote into the guest');
        assert.ok(!existsSync(`/tmp/ferry-ls-${tag}`), 'and not onto the host');
        const w = await t.run(cmd`pwd; echo "$FERRY_X"`, { cwd: '/etc', env: { FERRY_X: 'in-guest' } });
        assert.deepEqual(w.stdout.trim().split('\n'), ['/etc', 'in-guest']);
      } finally {
        rmSync(d, { recursive: true, force: true });
        rmSync(join(root, d), { recursive: true, force: true });
        rmSync(join(root, `tmp/ferry-ls-${tag}`), { force: true });
      }
    });

    it('put/get resolve guest symlinks inside the root, never onto the host', async () => {
      const hostDir = `/tmp/ferry-escape-${tag}`;
      mkdirSync(hostDir);
      mkdirSync(join(root, hostDir));
      symlinkSync(hostDir, join(root, 'var', `ferry-link-${tag}`)); // absolute: on the host it would leave the root
      try {
        const t = new ChrootTransport(transport, root);
        await t.put(`/var/ferry-link-${tag}/f.conf`, 'written\n', { mode: 0o600 });
        assert.equal(readFileSync(join(root, hostDir, 'f.conf'), 'utf8'), 'written\n');
        assert.ok(!existsSync(join(hostDir, 'f.conf')), 'nothing written to the host directory the link names');
        assert.equal(sh('stat -c %a "$1"', join(root, hostDir, 'f.conf')), '600');
        assert.equal((await t.get(`/var/ferry-link-${tag}/f.conf`))?.toString(), 'written\n');
        assert.equal(await t.get('/nonexistent/file'), null);
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
        rmSync(join(root, hostDir), { recursive: true, force: true });
        rmSync(join(root, 'var', `ferry-link-${tag}`), { force: true });
      }
    });
  });

  describe('chroot module', () => {
    it('binds the API filesystems, blocks daemons and copies resolv.conf for the command only', async () => {
      const before = existsSync(join(root, 'etc/resolv.conf')) ? readFileSync(join(root, 'etc/resolv.conf'), 'utf8') : null;
      const { plan, data } = await run(chrootExecModule, {
        root,
        cmd: 'test -e /proc/self/status && test -e /sys/class && test -c /dev/null && /usr/sbin/policy-rc.d; echo "policy=$?"; cat /etc/resolv.conf',
      });
      assert.equal(plan.changed, true);
      assert.match(String(data.stdout), /^policy=101$/m);
      assert.equal(String(data.stdout).split('\n').slice(1).join('\n').trim(), readFileSync('/etc/resolv.conf', 'utf8').trim());
      assert.deepEqual(bindsUnder(root), []);
      assert.ok(!existsSync(join(root, 'usr/sbin/policy-rc.d')));
      assert.equal(existsSync(join(root, 'etc/resolv.conf')) ? readFileSync(join(root, 'etc/resolv.conf'), 'utf8') : null, before);
    });

    it('undoes everything when the command fails', async () => {
      await assert.rejects(run(chrootExecModule, { root, cmd: 'mountpoint -q /proc && exit 7' }), (e: unknown) => {
        assert.ok(e instanceof TaskFailedError);
        assert.match(e.message, /exit 7/);
        return true;
      });
      assert.deepEqual(bindsUnder(root), []);
      assert.ok(!existsSync(join(root, 'usr/sbin/policy-rc.d')));
      assert.ok(!readdirSync(join(root, 'etc')).some((f) => f.endsWith('.ferry-saved')));
    });

    it('creates: no change, with the reason, checked inside the guest', async () => {
      const { plan } = await run(chrootExecModule, { root, argv: ['false'], creates: '/etc/debian_version' });
      assert.equal(plan.changed, false);
      assert.equal(plan.changed === false && plan.reason, '/etc/debian_version exists (creates)');
    });
  });

  describe('fstab', () => {
    it('renames xvda1 to vda1, with an exact diff in check mode, then reports no change', async () => {
      const check = await run(fstabModule, { root, devices: [part] }, { check: true });
      assert.equal(check.plan.changed, true);
      // the editor keeps the columns where they were: the shorter name is padded
      assert.equal(check.plan.diff?.[0]?.after, '/dev/vda1  / ext4 errors=remount-ro 0 1\n');
      assert.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), '/dev/xvda1 / ext4 errors=remount-ro 0 1\n');
      await run(fstabModule, { root, devices: [part] });
      assert.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), '/dev/vda1  / ext4 errors=remount-ro 0 1\n');
      const again = await run(fstabModule, { root, devices: [part] });
      assert.equal(again.plan.changed, false);
      assert.match(again.plan.changed === false ? again.plan.reason : '', /already fits KVM/);
    });

    it('refuses a UUID no named device has (the mkfs + rsync case) and accepts it mapped with uuid_map', async () => {
      const real = sh('blkid -p -o value -s UUID "$1"', part);
      const old = '0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11';
      const path = join(dir, 'fstab-uuid');
      writeFileSync(path, `# root\nUUID=${old} / ext4 defaults 0 1\n`);
      await assert.rejects(run(fstabModule, { path, devices: [part] }), (e: unknown) => {
        assert.ok(e instanceof TaskFailedError);
        assert.match(e.message, new RegExp(`${path}:2: UUID=${old} \\(mounted on /\\) is on none of the named devices: ${part} \\(ext4 UUID=${real}`));
        assert.match(e.message, new RegExp(`uuid_map: \\{${old}: ${real}\\}`));
        return true;
      });
      await assert.rejects(run(fstabModule, { path }), /no devices were named/);
      const { plan } = await run(fstabModule, { path, devices: [part], uuid_map: { [old]: real } });
      assert.equal(plan.changed, true);
      assert.equal(readFileSync(path, 'utf8'), `# root\nUUID=${real} / ext4 defaults 0 1\n`);
      const again = await run(fstabModule, { path, devices: [part] });
      assert.equal(again.plan.changed, false);
      assert.match(again.plan.changed === false ? again.plan.reason : '', new RegExp(`UUID=${real} is on ${part}`));
    });
  });

  describe('kernel', () => {
    it('finds the guest\'s cloud kernel good and changes nothing', async () => {
      const { plan } = await run(kernelModule, { root });
      assert.equal(plan.changed, false);
      assert.match(plan.changed === false ? plan.reason : '', /^kernel \S+-cloud-amd64 boots under KVM: \S+ has CONFIG_VIRTIO_BLK=m and \/lib\/modules\/.*virtio_blk\.ko/);
    });

    it('installs the kernel from packages_dir when virtio_blk.ko is missing, then judges it good', async function () {
      const ver = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'))!.slice('vmlinuz-'.length);
      const kdir = join(dir, 'kernel-debs');
      mkdirSync(kdir, { recursive: true });
      const deb = kernelDeb(ver, kdir);
      if (!deb) {
        console.warn(`    no .deb of linux-image-${ver} in the guest's apt cache nor from apt-get download; skipping`);
        this.skip();
      }
      const ko = sh('find "$1" -name "virtio_blk.ko*"', join(root, 'lib/modules', ver));
      const aside = join(dir, 'virtio_blk.ko.aside');
      copyFileSync(ko, aside);
      rmSync(ko);
      try {
        await installKernel(ver, ko, kdir);
      } finally {
        // later tests need the module whatever happened here
        if (!existsSync(ko)) copyFileSync(aside, ko);
      }
    });

    /** The kernel package of the guest's running version: from its apt cache, else `apt-get download` (cached under ~/.cache/ferry). */
    function kernelDeb(ver: string, into: string): string | undefined {
      const pkg = `linux-image-${ver}`;
      const archives = join(root, 'var/cache/apt/archives');
      const cached = readdirSync(archives).find((f) => f.startsWith(`${pkg}_`));
      if (cached) {
        copyFileSync(join(archives, cached), join(into, cached));
        return cached;
      }
      const version = sh('chroot "$1" dpkg-query -W -f "\\${Version}" "$2"', root, pkg);
      const cache = join(homedir(), '.cache', 'ferry', 'convert-debs');
      mkdirSync(cache, { recursive: true });
      const want = (f: string): boolean => f.startsWith(`${pkg}_${version.replace(/:/g, '%3a')}_`);
      if (!readdirSync(cache).some(want)) {
        try {
          sh('cd "$1" && apt-get download -q "$2=$3" >/dev/null 2>&1', cache, pkg, version);
        } catch {
          return undefined;
        }
      }
      const f = readdirSync(cache).find(want);
      if (f) copyFileSync(join(cache, f), join(into, f));
      return f;
    }

    async function installKernel(ver: string, ko: string, kdir: string): Promise<void> {
      // Without packages_dir the guest's apt must reach its mirror; point it at a closed local port.
      const sources = join(root, 'etc/apt/sources.list');
      const savedSources = readFileSync(sources);
      writeFileSync(sources, 'deb http://127.0.0.1:9/debian bookworm main\n');
      try {
        await assert.rejects(run(kernelModule, { root }), (e: unknown) => {
          assert.ok(e instanceof TaskFailedError);
          // apt-get update exits 0 when every mirror failed: its "Failed to fetch" warnings are what tell
          assert.match(e.message, /^cannot install linux-image-amd64: the guest's package manager could not reach its mirror \(.*apt-get -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= update -q': exit 0\nW: Failed to fetch http:\/\/127\.0\.0\.1:9\//);
          assert.match(e.message, /give the package files offline instead: packages_dir: a directory on \S+ holding \*\.deb files of linux-image-amd64/);
          return true;
        });
      } finally {
        writeFileSync(sources, savedSources);
      }
      assert.deepEqual(bindsUnder(root), []);
      assert.ok(!existsSync(join(root, 'usr/sbin/policy-rc.d')));
      const check = await run(kernelModule, { root, packages_dir: kdir }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.match(check.plan.diff?.[0]?.before ?? '', /CONFIG_VIRTIO_BLK=m but no virtio_blk\.ko/);
      const { data } = await run(kernelModule, { root, packages_dir: kdir });
      assert.equal(data.kernel, ver);
      assert.ok(existsSync(ko), 'dpkg -i put the module back');
      assert.ok(!existsSync(join(root, 'tmp/ferry-pkgs')), 'the staged packages are removed');
      assert.deepEqual(bindsUnder(root), []);
      assert.equal((await run(kernelModule, { root })).plan.changed, false);
    }
  });

  describe('initramfs', () => {
    it('drops the Xen modules, adds virtio, rebuilds and verifies the image, then reports no change', async () => {
      const check = await run(initramfsModule, { root }, { check: true });
      assert.equal(check.plan.changed, true);
      const modulesDiff = check.plan.diff?.find((d) => d.path?.endsWith('/etc/initramfs-tools/modules'));
      assert.match(modulesDiff?.before ?? '', /xen-blkfront/);
      assert.doesNotMatch(modulesDiff?.after ?? '', /xen-blkfront/);
      const { data } = await run(initramfsModule, { root });
      const images = data.images as string[];
      assert.ok(images.length >= 1);
      for (const img of images) assert.match(sh('chroot "$1" lsinitramfs "$2"', root, img), /virtio_blk\.ko/);
      assert.match(readFileSync(join(root, 'etc/initramfs-tools/modules'), 'utf8'), /^virtio_blk$/m);
      const again = await run(initramfsModule, { root });
      assert.equal(again.plan.changed, false);
      assert.match(again.plan.changed === false ? again.plan.reason : '', /every image holds virtio_blk \(\/boot\/initrd\.img-/);
      // A rebuild cut after the config files were written leaves the old image: older than the files, it is rebuilt.
      const img = join(root, images[0]!.replace(/^\//, ''));
      const built = statSync(img).mtime;
      utimesSync(img, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
      try {
        const stale = await run(initramfsModule, { root }, { check: true });
        assert.equal(stale.plan.changed, true);
        assert.match(stale.plan.changed ? stale.plan.steps[0]!.title : '', new RegExp(`older than /etc/initramfs-tools/\\S+, so built without its settings: ${images[0]!.replace(/\./g, '\\.')}`));
      } finally {
        utimesSync(img, built, built);
      }
      assert.equal((await run(initramfsModule, { root }, { check: true })).plan.changed, false);
    });
  });

  describe('grub', () => {
    it('refuses a partition given as the disk before running grub-install', async () => {
      await assert.rejects(run(grubModule, { root, disk: part, packages_dir: pkgs }), /is a partition, not a whole disk: grub-install would stop with "will not proceed with blocklists"/);
      assert.ok(!existsSync(join(root, 'usr/sbin/grub-install')), 'nothing was installed');
    });

    it('refuses a root mounted through a loop device with an offset', async () => {
      const img = join(dir, 'offset.img');
      sh('truncate -s 64M "$1" && printf "label: dos\\nstart=2048, type=83\\n" | sfdisk -q "$1"', img);
      const whole = attachPartitionedImage(img);
      loops.push(whole);
      const offset = sh('losetup -o 1048576 -f --show "$1"', img);
      loops.push(offset);
      sh('mkfs.ext4 -q "$1"', offset);
      const r2 = join(dir, 'offset-root');
      mkdirSync(r2);
      sh('mount "$1" "$2" && mkdir -p "$2/bin" "$2/etc" && cp /bin/sh "$2/bin/sh" && cp /etc/os-release "$2/etc/os-release"', offset, r2);
      mountPoints.push(r2);
      await assert.rejects(run(grubModule, { root: r2, disk: whole }), (e: unknown) => {
        assert.ok(e instanceof TaskFailedError);
        assert.match(e.message, new RegExp(`${r2} is mounted from ${offset}, a loop device with offset 1048576 .*"diskfilter writes are not supported"; attach the whole image with \`losetup -P IMAGE\``));
        return true;
      });
    });

    it('installs GRUB offline to the whole loop disk, with root=UUID in grub.cfg, then reports no change', async () => {
      const mountsBefore = hostMounts();
      const check = await run(grubModule, { root, disk: loop, boot_device: part, packages_dir: pkgs }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.deepEqual(hostMounts(), mountsBefore, 'check mode mounted something');
      const { data } = await run(grubModule, { root, disk: loop, boot_device: part, packages_dir: pkgs });
      assert.ok((data.modules as string[]).includes('ext2'));
      const uuid = sh('blkid -p -o value -s UUID "$1"', part);
      const cfg = readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8');
      assert.match(cfg, new RegExp(`linux\\s+/boot/vmlinuz-\\S+ root=UUID=${uuid} .*console=ttyS0,115200`));
      assert.doesNotMatch(cfg, /root=\/dev\/loop/);
      assert.equal(sh('dd if="$1" bs=512 count=1 status=none | grep -c GRUB || true', loop), '1');
      assert.deepEqual(bindsUnder(root), []);
      const again = await run(grubModule, { root, disk: loop, boot_device: part, packages_dir: pkgs });
      assert.equal(again.plan.changed, false, again.plan.changed ? `still changes: ${JSON.stringify(again.plan.data)}` : '');
      assert.match(again.plan.changed === false ? again.plan.reason : '', /boots the guest's core\.img \(MBR, embedded core\.img, ext2 module\)/);
    });

    it('check mode on the installed guest mounts nothing: the host\'s mount table is the same before and after, and it says what it left out', async () => {
      const mountsBefore = hostMounts();
      const check = await run(grubModule, { root, disk: loop, boot_device: part, packages_dir: pkgs }, { check: true });
      assert.deepEqual(hostMounts(), mountsBefore, 'check mode mounted something');
      assert.equal(check.plan.changed, false, check.plan.changed ? `would change: ${check.plan.steps.map((s) => s.title).join('; ')}` : '');
      assert.match(
        check.plan.changed === false ? check.plan.reason : '',
        /^\/etc\/default\/grub is right, \/boot\/grub\/grub\.cfg is there with no host device in root=, and \/dev\/loop\d+ boots the guest's core\.img \(MBR, embedded core\.img, ext2 module\)$/,
      );
      assert.equal(check.plan.partial, `/boot/grub/grub.cfg was not compared with what grub-mkconfig generates: that needs /dev, /proc and /sys bound into ${root}, and check mode mounts nothing (a real run compares it)`);
      // what check mode can tell without mounting it still tells: a grub.cfg with the host's device in root= is stale
      const cfgPath = join(root, 'boot/grub/grub.cfg');
      const cfg = readFileSync(cfgPath, 'utf8');
      try {
        writeFileSync(cfgPath, cfg.replace(/root=UUID=\S+/g, `root=${part}`));
        const stale = await run(grubModule, { root, disk: loop, boot_device: part, packages_dir: pkgs }, { check: true });
        assert.deepEqual(hostMounts(), mountsBefore, 'check mode mounted something');
        assert.deepEqual(stale.plan.changed ? stale.plan.steps.map((s) => s.title) : [], [`grub-mkconfig -o /boot/grub/grub.cfg in ${root}`]);
        assert.deepEqual(stale.plan.changed ? stale.plan.steps.map((s) => s.cmd?.display) : [], [`env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C chroot ${root} /bin/sh -c 'grub-mkconfig -o /boot/grub/grub.cfg'`]);
      } finally {
        writeFileSync(cfgPath, cfg);
      }
    });
  });

  describe('the converted disk boots', () => {
    it('reaches GRUB and a login prompt on the serial console under qemu', async function () {
      sh('sync');
      for (const m of mountPoints.splice(0).reverse()) sh('umount "$1"', m);
      for (const l of loops.splice(0)) sh('losetup -d "$1"', l);
      const result = await bootCheck(image, { timeoutMs: 8 * 60_000 });
      assert.ok(result.sawGrub, `no GRUB on the serial console (stopped by ${result.stoppedBy}):\n${result.log.slice(-3000)}\n${result.firmwareLog.slice(-1500)}`);
      assert.ok(result.sawLogin, `no login prompt (stopped by ${result.stoppedBy} after ${result.seconds}s):\n${result.log.slice(-3000)}`);
    });
  });
});
