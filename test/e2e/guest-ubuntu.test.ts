// The conversion modules on an Ubuntu guest, for real: a Xen-era Ubuntu 22.04 (jammy) PV guest root
// (lab/ubuntu-guest.ts: debootstrapped from the mirror debootstrap's own jammy script names, checked
// with the pinned archive key, no kernel of its own, xen-blkfront/xen-netfront in initramfs-tools'
// modules, /dev/xvda1 in fstab) is copied into partition 1 of a sparse msdos disk, loop-mounted here
// and driven through a real sshd:
//  1. `kernel` installs linux-image-virtual with apt-get from Ubuntu's mirror (check mode first);
//  2. `initramfs` drops Xen, adds virtio, runs update-initramfs, and the image is read back;
//  3. `fstab` renames xvda1 to vda1;
//  4. that kernel and initramfs boot under qemu (TCG, direct kernel boot) to a login prompt;
//  5. `grub` installs grub-pc from the mirror and grub-install onto the whole loop device, and
//     SeaBIOS boots the disk through GRUB to a login prompt.
// Network: Ubuntu's mirror (skipped loudly when it cannot be reached). apt-get update is about 2 MB
// (jammy main only); the .debs apt fetched are kept under ~/.cache/ferry/apt-archives/guest-ubuntu
// and put back into the copy's apt cache next time.
import { strict as assert } from 'node:assert';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootCheck, type BootCheckResult } from '../../lab/boot-check.js';
import { ensureUbuntuGuest, mirrorUnreachable, ubuntuMirror, XEN_CLOUDIMG_GRUB_DROP_IN, type UbuntuGuestInfo } from '../../lab/ubuntu-guest.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { fstabModule } from '../../tasks/fstab.js';
import { grubModule } from '../../tasks/grub.js';
import { initramfsModule } from '../../tasks/initramfs.js';
import { kernelModule } from '../../tasks/kernel.js';
import { sshTransport, startSshd, type SshdHost } from '../harness/sshd.js';
import {
  assertChrootSessionUndone,
  debCache,
  endGuestSuite,
  guestKernelBoot,
  guestSuiteSkipReason,
  packageState as packageStateIn,
  sh,
  StepTimer,
  timedModuleRun,
  unmountAndDetach,
} from './helpers/guest-e2e.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'gpg', 'gpgv', 'xz', 'mkfs.ext4', 'ssh-keygen', 'losetup', 'partx', 'sfdisk', 'resize2fs'];
const DEB_CACHE = join(homedir(), '.cache', 'ferry', 'apt-archives', 'guest-ubuntu');
/** The disk the guest's root is copied into: one bootable msdos partition from 1 MiB. */
const DISK_MB = 2048;
const XEN_MODULES_FILE = '# List of modules that you want to include in your initramfs.\nxen-blkfront\nxen-netfront\n';

describe('Ubuntu 22.04 guest: online kernel, initramfs-tools, fstab and GRUB, booted for real @e2e @slow', function () {
  this.timeout(30 * 60_000);
  let host: SshdHost | undefined;
  let transport: SshTransport;
  let guest: UbuntuGuestInfo;
  let dir = '';
  let disk = '';
  let loop = '';
  let root = '';
  let kernel = '';
  const timer = new StepTimer();

  const run = timedModuleRun(timer, () => transport);
  const packageState = (pkg: string): string => packageStateIn(root, pkg);
  const debs = (): ReturnType<typeof debCache> => debCache(DEB_CACHE, root);
  /** What a chroot session must leave behind: what every session must, and the guest's resolv.conf symlink back. */
  const assertSessionUndone = (): void => {
    assertChrootSessionUndone(root);
    assert.ok(lstatSync(join(root, 'etc/resolv.conf')).isSymbolicLink(), "the guest's resolv.conf is a symlink again");
    assert.equal(readlinkSync(join(root, 'etc/resolv.conf')), '../run/systemd/resolve/stub-resolv.conf');
  };

  /** Attaches the disk with its partition (loopNp1); returns the loop device. */
  function attachDisk(): string {
    const l = sh('losetup -f --show -P "$1"', disk);
    // the kernel's scan at attach time does not always see the table here (no msdos parser built in); partx asks again
    sh('for i in $(seq 50); do [ -b "$1p1" ] && exit 0; partx -a "$1" 2>/dev/null; sleep 0.1; done; exit 1', l);
    return l;
  }

  function attach(): void {
    loop = attachDisk();
    sh('mount "$1" "$2"', `${loop}p1`, root);
  }

  function detach(): void {
    if (!loop) return;
    unmountAndDetach(root, loop);
    loop = '';
  }

  /** Copies the kernel and initramfs out of the guest, detaches the disk and boots it with them. */
  async function bootDirect(label: string): Promise<BootCheckResult> {
    const directKernel = guestKernelBoot(root, kernel, join(dir, 'boot'), 'root=/dev/vda1 ro console=ttyS0 panic=-1');
    sh('sync');
    detach();
    try {
      // TCG always: the same boot on every machine, KVM or not
      return await timer.timed(label, () => bootCheck(disk, { directKernel, accel: 'tcg' }));
    } finally {
      attach();
    }
  }

  before(async function () {
    const cannot = guestSuiteSkipReason(
      REQUIRED_TOOLS,
      'apt-get install qemu-system-x86 qemu-utils debootstrap gpg gpgv xz-utils e2fsprogs fdisk util-linux openssh-client',
      'build an Ubuntu guest and convert it',
    );
    if (cannot) {
      console.warn(`\n  !!! SKIPPING the Ubuntu guest e2e suite: ${cannot}\n`);
      this.skip();
    }
    // The kernel and GRUB come from the mirror in every run, not only when the image is built.
    const mirror = await ubuntuMirror();
    const why = await mirrorUnreachable(mirror);
    if (why) {
      console.warn(`\n  !!! SKIPPING the Ubuntu guest e2e suite: Ubuntu's mirror cannot be reached (${why}); it is debootstrap's default for jammy, or $FERRY_UBUNTU_MIRROR\n`);
      this.skip();
    }
    guest = await timer.timed('Ubuntu guest image (ensureUbuntuGuest)', () => ensureUbuntuGuest((m) => console.log(`      [ubuntu-guest] ${m}`)));
    dir = mkdtempSync(join(tmpdir(), 'ferry-ubuntu-'));
    disk = join(dir, 'disk.img');
    root = join(dir, 'root');
    mkdirSync(root);
    await timer.timed('sparse disk: msdos table, the guest copied into partition 1, grown, mounted', () => {
      sh('truncate -s "$2"M "$1" && printf "label: dos\\nstart=2048, type=83, bootable\\n" | sfdisk -q "$1"', disk, String(DISK_MB));
      sh('dd if="$1" of="$2" bs=1M seek=1 conv=sparse,notrunc status=none', guest.image, disk);
      loop = attachDisk();
      // e2fsck exits 1 when it fixed something, which is fine before a resize
      sh('e2fsck -fy "$1" >/dev/null 2>&1 || [ $? -eq 1 ]; resize2fs "$1" 2>&1', `${loop}p1`);
      sh('mount "$1" "$2"', `${loop}p1`, root);
    });
    host = await startSshd();
    transport = sshTransport(host);
  });

  after(async () => {
    await endGuestSuite({ release: detach, what: 'detach the disk', transport, host, dir });
    if (guest) {
      const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
      console.log(`\n      Ubuntu guest ${guest.hash}: built from ${guest.mirror} in ${Object.values(guest.seconds).reduce((a, s) => a + s, 0).toFixed(1)} s`);
      for (const d of guest.downloads) console.log(`        ${mb(d.bytes).padStart(9)} in ${d.ms} ms  ${d.url}`);
      console.log(`        ${mb(guest.debootstrapDebs.bytes).padStart(9)} in ${guest.debootstrapDebs.count} .debs fetched by debootstrap`);
    }
    timer.print();
  });

  it('the guest is a Xen-era Ubuntu 22.04 with no kernel', () => {
    assert.match(readFileSync(join(root, 'etc/os-release'), 'utf8'), /^PRETTY_NAME="Ubuntu 22\.04/m);
    assert.deepEqual(readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz')), []);
    assert.equal(readFileSync(join(root, 'etc/initramfs-tools/modules'), 'utf8'), XEN_MODULES_FILE);
    assert.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /^\/dev\/xvda1 \/ ext4 /m);
    assert.equal(readlinkSync(join(root, 'etc/systemd/system/getty.target.wants/serial-getty@hvc0.service')), '/lib/systemd/system/serial-getty@.service');
    assert.equal(readFileSync(join(root, 'etc/default/grub.d/50-cloudimg-settings.cfg'), 'utf8'), XEN_CLOUDIMG_GRUB_DROP_IN);
    assert.equal(packageState('initramfs-tools'), 'ii');
    assert.equal(packageState('linux-image-virtual'), 'none');
  });

  describe('kernel: linux-image-virtual from Ubuntu\'s mirror', () => {
    it('check mode: would install linux-image-virtual, and changes nothing', async () => {
      const status = readFileSync(join(root, 'var/lib/dpkg/status'));
      const { plan } = await run(kernelModule, { root }, 'kernel (check mode)', { check: true });
      assert.equal(plan.changed, true);
      assert.equal(plan.diff?.[0]?.before, 'no /boot/vmlinuz-* at all\n');
      assert.equal(plan.diff?.[0]?.after, "a kernel with virtio_blk (linux-image-virtual from the guest's mirror)\n");
      assert.match(plan.changed ? plan.steps[0]!.title : '', /^install linux-image-virtual from the guest's mirror into \S+ \(Ubuntu 22\.04(\.\d+)? LTS: no kernel with virtio_blk\)$/);
      assert.ok(readFileSync(join(root, 'var/lib/dpkg/status')).equals(status), 'dpkg status unchanged');
      assert.deepEqual(readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz')), []);
      assert.deepEqual(readdirSync(join(root, 'var/lib/apt/lists')).filter((f) => f.endsWith('Packages')), [], 'no apt-get update in check mode');
      assertSessionUndone();
    });

    it('installs linux-image-virtual with apt-get, judges it good, then reports no change', async () => {
      debs().seed();
      const { plan, data } = await run(kernelModule, { root }, 'kernel: apt-get update + install linux-image-virtual');
      assert.equal(plan.changed, true);
      assert.equal(data.msg, "installed linux-image-virtual from the guest's mirror");
      kernel = String(data.kernel);
      assert.match(kernel, /^\d+\.\d+\.\d+-\d+-generic$/, "Ubuntu's virtual flavour is the generic kernel");
      // read back independently: the package, the kernel, its config, its modules
      assert.equal(packageState('linux-image-virtual'), 'ii');
      assert.ok(statSync(join(root, 'boot', `vmlinuz-${kernel}`)).size > 1 << 20);
      assert.match(readFileSync(join(root, 'boot', `config-${kernel}`), 'utf8'), /^CONFIG_VIRTIO_BLK=m$/m, "jammy's generic kernel has virtio_blk as a module");
      assert.ok(statSync(join(root, 'lib/modules', kernel, 'kernel/drivers/block/virtio_blk.ko')).size > 0);
      assert.ok(readdirSync(join(root, 'var/lib/apt/lists')).some((f) => /_dists_jammy_main_binary-amd64_Packages$/.test(f)), 'apt-get update fetched the index');
      // the kernel's postinst made an image for it
      assert.ok(existsSync(join(root, 'boot', `initrd.img-${kernel}`)), 'the kernel package built an initramfs');
      assertSessionUndone();
      debs().keep(false);

      const again = await run(kernelModule, { root }, 'kernel (second run)');
      assert.equal(again.plan.changed, false);
      assert.equal(again.plan.changed === false && again.plan.reason, `kernel ${kernel} boots under KVM: ${kernel} has CONFIG_VIRTIO_BLK=m and /lib/modules/${kernel}/kernel/drivers/block/virtio_blk.ko`);
    });
  });

  describe('initramfs: initramfs-tools with Xen frontends in its modules file', () => {
    it('drops Xen, adds virtio, runs update-initramfs, and the image says so; then no change', async function () {
      if (!kernel) this.skip();
      const img = `/boot/initrd.img-${kernel}`;
      const wanted = '# List of modules that you want to include in your initramfs.\nvirtio_blk\nvirtio_pci\nvirtio_net\nvirtio_scsi\n';
      const check = await run(initramfsModule, { root }, 'initramfs (check mode)', { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(check.plan.data?.generator, 'initramfs-tools');
      assert.deepEqual(check.plan.diff?.map((d) => [d.path, d.before, d.after]), [[`${root}/etc/initramfs-tools/modules`, XEN_MODULES_FILE, wanted]]);
      assert.equal(readFileSync(join(root, 'etc/initramfs-tools/modules'), 'utf8'), XEN_MODULES_FILE, 'check mode wrote nothing');

      const before = statSync(join(root, img)).mtimeMs;
      const { data } = await run(initramfsModule, { root }, 'initramfs: update-initramfs -u -k all');
      assert.deepEqual(data, { images: [img], edited: ['/etc/initramfs-tools/modules'], generator: 'initramfs-tools' });
      assert.ok(statSync(join(root, img)).mtimeMs > before, 'the image was rebuilt');
      assert.equal(readFileSync(join(root, 'etc/initramfs-tools/modules'), 'utf8'), wanted);
      // Read the image back: the modules it loads at boot are the new list, and each virtio driver is
      // either built into the kernel or a module in the image.
      const x = join(dir, 'unpacked');
      sh('rm -rf "$2" && mkdir -p "$2" && chroot "$1" unmkinitramfs "$3" /tmp/ferry-unpacked && mv "$1/tmp/ferry-unpacked" "$2/"', root, x, img);
      const top = existsSync(join(x, 'ferry-unpacked', 'main')) ? join(x, 'ferry-unpacked', 'main') : join(x, 'ferry-unpacked');
      const loads = readFileSync(join(top, 'conf/modules'), 'utf8');
      for (const m of ['virtio_blk', 'virtio_pci', 'virtio_net', 'virtio_scsi']) assert.match(loads, new RegExp(`^${m}\\s*$`, 'm'), `${m} is loaded at boot`); // force_load writes "NAME ARGS"
      assert.doesNotMatch(loads, /xen/, 'no Xen frontend is loaded at boot');
      const builtin = readFileSync(join(root, 'lib/modules', kernel, 'modules.builtin'), 'utf8');
      const listing = sh('cd "$1" && find . -name "*.ko*"', top);
      for (const m of ['virtio_blk', 'virtio_pci', 'virtio_net', 'virtio_scsi']) {
        const inKernel = new RegExp(`/${m}\\.ko$`, 'm').test(builtin);
        assert.ok(inKernel || new RegExp(`/${m}\\.ko(\\.\\w+)?$`, 'm').test(listing), `${m} is neither built in nor in the image`);
      }
      assertSessionUndone();

      const again = await run(initramfsModule, { root }, 'initramfs (second run)');
      assert.equal(again.plan.changed, false);
      assert.equal(again.plan.changed === false && again.plan.reason, `initramfs-tools config already asks for virtio and every image holds virtio_blk (${img})`);
    });
  });

  describe('fstab', () => {
    it('renames /dev/xvda1 to /dev/vda1 (check mode first), then no change', async () => {
      const text = readFileSync(join(root, 'etc/fstab'), 'utf8');
      const check = await run(fstabModule, { root }, 'fstab (check mode)', { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(check.plan.diff?.[0]?.after, text.replace('/dev/xvda1 ', '/dev/vda1  '));
      assert.equal(readFileSync(join(root, 'etc/fstab'), 'utf8'), text);
      await run(fstabModule, { root }, 'fstab');
      assert.match(readFileSync(join(root, 'etc/fstab'), 'utf8'), /^\/dev\/vda1 +\/ ext4 errors=remount-ro 0 1$/m);
      const again = await run(fstabModule, { root }, 'fstab (second run)');
      assert.equal(again.plan.changed === false && again.plan.reason, `${root}/etc/fstab already fits KVM`);
    });
  });

  describe('the converted guest boots', () => {
    it('direct kernel boot: root on virtio (vda1), a login prompt under qemu TCG', async function () {
      if (!kernel || !readFileSync(join(root, 'etc/initramfs-tools/modules'), 'utf8').includes('virtio_blk')) this.skip();
      const r = await bootDirect('boot under qemu TCG (direct kernel) to a login prompt');
      const tail = `(stopped by ${r.stoppedBy} after ${r.seconds} s):\n${r.log.slice(-3000)}`;
      assert.equal(r.stoppedBy, 'login', `no login prompt ${tail}`);
      assert.match(r.log, new RegExp(`Linux version ${kernel.replace(/\./g, '\\.')} `), `not the installed kernel ${tail}`);
      assert.match(r.log, /Loading, please wait\.\.\./, `not the initramfs-tools image ${tail}`);
      assert.match(r.log, /virtio_blk virtio\d+: \[vda\]/, `virtio_blk did not find the disk ${tail}`);
      assert.match(r.log, /EXT4-fs \(vda1\): mounted filesystem/, `the root was not mounted from vda1 ${tail}`);
      assert.match(r.log, /Ubuntu 22\.04(\.\d+)? LTS ur1 ttyS0/);
      assert.match(r.log, /ur1 login:/);
      console.log(`      login prompt after ${r.seconds} s`);
    });
  });

  describe('grub: grub-pc from the mirror onto the whole loop disk', () => {
    it('check mode changes nothing; grub-pc is installed, grub-install verified; then no change; SeaBIOS boots GRUB to a login prompt', async function () {
      if (!kernel) this.skip();
      // Ubuntu's GRUB_CMDLINE_LINUX_DEFAULT says quiet: ignore_loglevel lets the boot show the command line GRUB gave
      const params = { root, disk: loop, boot_device: `${loop}p1`, cmdline_add: ['ignore_loglevel'] };
      const status = readFileSync(join(root, 'var/lib/dpkg/status'));
      const mbr = (): string => sh('dd if="$1" bs=512 count=1 status=none | od -An -tx1 | tr -d " \\n"', loop);
      const mbrBefore = mbr();
      const check = await run(grubModule, params, 'grub (check mode)', { check: true });
      assert.equal(check.plan.changed, true);
      assert.match(check.plan.changed ? check.plan.steps[0]!.title : '', /^install grub-pc from the guest's mirror into /);
      assert.ok(readFileSync(join(root, 'var/lib/dpkg/status')).equals(status), 'dpkg status unchanged');
      assert.equal(mbr(), mbrBefore, 'the MBR is untouched');
      assertSessionUndone();

      debs().seed();
      const { data } = await run(grubModule, params, 'grub: install grub-pc, grub-mkconfig, grub-install');
      debs().keep(true);
      assert.equal(packageState('grub-pc'), 'ii');
      assert.ok((data.modules as string[]).includes('ext2'), `core.img has ext2: ${String(data.modules)}`);
      const cfg = readFileSync(join(root, 'boot/grub/grub.cfg'), 'utf8');
      const uuid = sh('blkid -p -s UUID -o value "$1"', `${loop}p1`);
      assert.match(cfg, new RegExp(`linux\\s+/boot/vmlinuz-${kernel.replace(/\./g, '\\.')} root=UUID=${uuid} .*console=ttyS0`), 'grub.cfg boots the kernel by UUID with a serial console');
      // the cloud image's drop-in is sourced last: its Xen console and console-only GRUB terminal had to go too
      const dropIn = readFileSync(join(root, 'etc/default/grub.d/50-cloudimg-settings.cfg'), 'utf8');
      assert.match(dropIn, /^GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 console=tty0 console=ttyS0,115200"$/m);
      assert.match(dropIn, /^GRUB_TERMINAL="serial console"$/m);
      assert.doesNotMatch(cfg, /hvc0/, 'no Xen console left in grub.cfg');
      assert.match(cfg, /^terminal_output serial console$/m, 'GRUB itself talks on the serial port');
      assert.ok(readdirSync(join(root, 'etc/default/grub.d')).includes('init-select.cfg'), "Ubuntu's own drop-in came with grub-common (left as it is)");
      assert.notEqual(mbr(), mbrBefore, 'grub-install wrote the MBR');
      assertSessionUndone();

      const again = await run(grubModule, params, 'grub (second run)');
      assert.equal(again.plan.changed, false, again.plan.changed ? again.plan.steps.map((s) => s.title).join('; ') : '');

      sh('sync');
      detach();
      let r: BootCheckResult;
      try {
        r = await timer.timed('boot under qemu TCG (SeaBIOS, GRUB) to a login prompt', () => bootCheck(disk, { accel: 'tcg' }));
      } finally {
        attach();
      }
      const tail = `(stopped by ${r.stoppedBy} after ${r.seconds} s):\n${r.log.slice(-3000)}\n[firmware]\n${r.firmwareLog.slice(-1500)}`;
      assert.equal(r.stoppedBy, 'login', `no login prompt ${tail}`);
      assert.match(r.firmwareLog, /Booting from Hard Disk/, `SeaBIOS did not boot the disk ${tail}`);
      // BOOT_IMAGE= is what GRUB's linux command puts first on the kernel command line
      assert.match(r.log, new RegExp(`Command line: BOOT_IMAGE=/boot/vmlinuz-${kernel.replace(/\./g, '\\.')} root=UUID=${uuid} `), `GRUB did not boot the kernel ${tail}`);
      assert.match(r.log, /EXT4-fs \(vda1\): mounted filesystem/, `the root was not mounted from vda1 ${tail}`);
      assert.match(r.log, /ur1 login:/);
      console.log(`      login prompt after ${r.seconds} s`);
    });
  });
});
