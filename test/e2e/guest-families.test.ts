// The guest conversion modules on the paths the lab's guest alone does not take, for real: on a
// sparse copy of the lab's Debian 12 guest, loop-mounted here and driven through a real sshd,
//  1. `kernel` without packages_dir installs linux-image-amd64 with apt-get from the guest's mirror
//     (the guest's own kernels removed first);
//  2. the guest switched to Debian's dracut with a Xen-era dracut.conf.d: `initramfs` must find
//     dracut, drop Xen, add virtio, rebuild with dracut and prove virtio_blk is in the image;
//  3. that kernel and dracut image boot under qemu (TCG) from a virtio disk to a login prompt;
//  4. and the proof can fail: a missing image is found, a rebuild that still leaves virtio_blk
//     out fails the task, and the plan finds that image lacking it.
// Network: apt-get update (about 15 MB) on each run; the .debs apt fetched are kept under
// ~/.cache/ferry/apt-archives and put back into the copy's apt cache next time, where apt checks
// them against the mirror's index instead of downloading them again (70 MB of kernel).
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootCheck } from '../../lab/boot-check.js';
import { ensureBuilt } from '../../lab/index.js';
import { withLabLock } from '../../lab/lock.js';
import { cacheRoot } from '../../lab/paths.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { chrootExecModule } from '../../tasks/chroot-exec.js';
import { initramfsModule } from '../../tasks/initramfs.js';
import { kernelModule } from '../../tasks/kernel.js';
import { startSshd, sshTransport, type SshdHost } from '../harness/sshd.js';
import {
  assertChrootSessionUndone,
  debCache,
  endGuestSuite,
  guestKernelBoot,
  guestSuiteSkipReason,
  inGuest,
  packageState as packageStateIn,
  sh,
  StepTimer,
  timedModuleRun,
  unmountAndDetach,
} from './helpers/guest-e2e.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh-keygen', 'losetup', 'resize2fs'];
/** Where the .debs apt fetched for this test are kept between runs. */
const DEB_CACHE = join(homedir(), '.cache', 'ferry', 'apt-archives', 'guest-families');
/** The Xen-era dracut config the conversion finds in the guest. */
const XEN_DRACUT_CONF = '# Xen PV guest: the block and network frontends early\nadd_drivers+=" xen-blkfront xen-netfront "\n';

const escapeRegExp = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('guest families: online kernel install and a dracut guest, for real @e2e @slow', function () {
  this.timeout(20 * 60_000);
  let host: SshdHost | undefined;
  let transport: SshTransport;
  let dir = '';
  let image = '';
  let loop = '';
  let root = '';
  let kernel = '';
  const timer = new StepTimer();

  const run = timedModuleRun(timer, () => transport);
  const g = (script: string, ...args: string[]): string => inGuest(root, script, ...args);
  const packageState = (pkg: string): string => packageStateIn(root, pkg);
  const lsinitrd = (img: string): string => g('lsinitrd "$1"', img);
  const modulesIn = (listing: string): string[] => [...listing.matchAll(/\/([^/\s]+)\.ko(?:\.\w+)?\s*$/gm)].map((m) => m[1]!);
  const debs = (): ReturnType<typeof debCache> => debCache(DEB_CACHE, root);

  function mountCopy(): void {
    loop = sh('losetup -f --show "$1"', image);
    sh('mount "$1" "$2"', loop, root);
  }

  function unmountCopy(): void {
    if (!loop) return;
    unmountAndDetach(root, loop);
    loop = '';
  }

  before(async function () {
    const why = guestSuiteSkipReason(REQUIRED_TOOLS, 'apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client', 'install a kernel and dracut into a copy of the lab guest');
    if (why) {
      console.warn(`\n  !!! SKIPPING the guest families e2e suite: ${why}\n`);
      this.skip();
    }
    const lab = await timer.timed('lab guest image (ensureBuilt)', () => withLabLock(cacheRoot(), ensureBuilt));
    dir = mkdtempSync(join(tmpdir(), 'ferry-families-'));
    image = join(dir, 'guest.img');
    root = join(dir, 'root');
    mkdirSync(root);
    await timer.timed('sparse copy, grown to 2 GiB, mounted', () => {
      // The generic kernel's modules alone are 400 MB: the copy gets the room a real guest's disk would have.
      sh('cp --sparse=always "$1" "$2" && truncate -s 2G "$2" && e2fsck -fy "$2" >/dev/null 2>&1; resize2fs "$2" >/dev/null 2>&1', lab.guestImage, image);
      mountCopy();
    });
    host = await startSshd();
    transport = sshTransport(host);
  });

  after(async () => {
    await endGuestSuite({ release: unmountCopy, what: 'unmount the copy', transport, host, dir });
    timer.print();
  });

  describe('kernel: the online install (apt-get in a chroot session)', () => {
    before(async () => {
      await timer.timed('remove the guest\'s kernel packages', () => {
        const kernels = g('dpkg-query -W -f "\\${db:Status-Abbrev} \\${Package}\\n" "linux-image-*" | awk \'$1 == "ii" { print $2 }\'').split('\n').filter(Boolean);
        assert.ok(kernels.some((k) => /-cloud-amd64$/.test(k)), `the lab guest runs the cloud kernel: ${kernels.join(' ')}`);
        g('DEBIAN_FRONTEND=noninteractive dpkg --purge "$@" >/dev/null 2>&1', ...kernels);
      });
      assert.deepEqual(readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz-')), []);
    });

    it('check mode: would install linux-image-amd64 from the mirror, and changes nothing', async () => {
      const status = readFileSync(join(root, 'var/lib/dpkg/status'));
      const boot = readdirSync(join(root, 'boot'));
      const { plan } = await run(kernelModule, { root }, 'kernel (check mode)', { check: true });
      assert.equal(plan.changed, true);
      assert.equal(plan.diff?.[0]?.before, 'no /boot/vmlinuz-* at all\n');
      assert.equal(plan.diff?.[0]?.after, "a kernel with virtio_blk (linux-image-amd64 from the guest's mirror)\n");
      assert.match(plan.changed ? plan.steps[0]!.title : '', /^install linux-image-amd64 from the guest's mirror into \S+ \(Debian GNU\/Linux 12 \(bookworm\): no kernel with virtio_blk\)$/);
      assert.ok(readFileSync(join(root, 'var/lib/dpkg/status')).equals(status), 'dpkg status unchanged');
      assert.deepEqual(readdirSync(join(root, 'boot')), boot);
      assertChrootSessionUndone(root);
    });

    it('installs linux-image-amd64 from the mirror, judges it good, then reports no change', async () => {
      const resolv = readFileSync(join(root, 'etc/resolv.conf'));
      debs().seed();
      const { plan, data } = await run(kernelModule, { root }, 'kernel: apt-get update + install linux-image-amd64');
      assert.equal(plan.changed, true);
      assert.equal(data.msg, "installed linux-image-amd64 from the guest's mirror");
      kernel = String(data.kernel);
      assert.match(kernel, /^\d+\.\d+\.\d+-\d+-amd64$/, 'the generic kernel, not the cloud one');
      // read back independently: the kernel, its config and its module
      assert.ok(statSync(join(root, 'boot', `vmlinuz-${kernel}`)).size > 1 << 20);
      assert.match(readFileSync(join(root, 'boot', `config-${kernel}`), 'utf8'), /^CONFIG_VIRTIO_BLK=m$/m);
      assert.match(sh('find "$1" -name "virtio_blk.ko*"', join(root, 'lib/modules', kernel)), /\/kernel\/drivers\/block\/virtio_blk\.ko/);
      assert.equal(packageState('linux-image-amd64'), 'ii');
      // apt-get update really fetched the mirror's index into the guest
      assert.ok(readdirSync(join(root, 'var/lib/apt/lists')).some((f) => /_dists_bookworm_main_binary-amd64_Packages$/.test(f)), 'no Packages index');
      // and left no binary caches of apt's (about 60 MB; the lab image has none) in the guest
      assert.deepEqual(readdirSync(join(root, 'var/cache/apt')).filter((f) => f.endsWith('.bin')), [], 'apt wrote its binary caches into the guest');
      assert.ok(readFileSync(join(root, 'etc/resolv.conf')).equals(resolv), "the guest's resolv.conf is back");
      assertChrootSessionUndone(root);
      debs().keep(false);

      const again = await run(kernelModule, { root }, 'kernel (second run)');
      assert.equal(again.plan.changed, false);
      assert.equal(again.plan.changed === false && again.plan.reason, `kernel ${kernel} boots under KVM: ${kernel} has CONFIG_VIRTIO_BLK=m and /lib/modules/${kernel}/kernel/drivers/block/virtio_blk.ko`);
    });
  });

  describe('initramfs: a Debian guest on dracut, with a Xen-era dracut.conf.d', () => {
    let img = '';
    let xenImage = '';

    before(async function () {
      if (!kernel) this.skip(); // the kernel install failed: nothing to build an image for
      img = `/boot/initrd.img-${kernel}`;
      mkdirSync(join(root, 'etc/dracut.conf.d'), { recursive: true });
      writeFileSync(join(root, 'etc/dracut.conf.d/10-xen.conf'), XEN_DRACUT_CONF);
      debs().seed();
      // dracut conflicts with initramfs-tools: apt removes it, and dracut's trigger rebuilds the image
      const { data } = await run(
        chrootExecModule,
        { root, cmd: 'apt-get install -y -q --no-install-recommends dracut', env: { DEBIAN_FRONTEND: 'noninteractive' } },
        'apt-get install dracut (its trigger builds the Xen-era image)',
      );
      assert.match(String(data.stdout), /Removing initramfs-tools/);
      debs().keep(true);
      assert.equal(packageState('dracut'), 'ii');
      assert.notEqual(packageState('initramfs-tools'), 'ii');
      xenImage = lsinitrd(img);
      assert.match(xenImage, /^dracut modules:$/m, 'a dracut image');
      assert.ok(modulesIn(xenImage).includes('xen-netfront'), 'the Xen-era config put xen-netfront in the image');
      assert.ok(modulesIn(xenImage).includes('xen-scsifront'), 'a generic dracut image holds every SCSI driver');
    });

    it('finds dracut, drops Xen, adds virtio, rebuilds with dracut and lists virtio_blk in the image; then no change', async () => {
      const check = await run(initramfsModule, { root }, 'initramfs (check mode)', { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(check.plan.data?.generator, 'dracut');
      assert.deepEqual(
        check.plan.diff?.map((d) => [d.path, d.before, d.after]),
        [
          [`${root}/etc/dracut.conf.d/10-xen.conf`, XEN_DRACUT_CONF, '# Xen PV guest: the block and network frontends early\nadd_drivers+=" "\n'],
          [
            `${root}/etc/dracut.conf.d/90-ferry-kvm.conf`,
            '',
            '# Written by ferry: this guest now runs under KVM (virtio), no longer under Xen.\n' +
              'add_drivers+=" virtio_blk virtio_pci virtio_net virtio_scsi "\n' +
              'omit_drivers+=" xen_blkfront xen_netfront xen_scsifront xenfs xen_pcifront xen_kbdfront xen_fbfront "\n',
          ],
        ],
      );
      assert.match(check.plan.changed ? check.plan.steps[0]!.title : '', /with dracut \(dracut is installed, not the family's usual update-initramfs; edit /);
      assert.equal(readFileSync(join(root, 'etc/dracut.conf.d/10-xen.conf'), 'utf8'), XEN_DRACUT_CONF, 'check mode wrote nothing');
      assert.ok(!existsSync(join(root, 'etc/dracut.conf.d/90-ferry-kvm.conf')));

      const before = statSync(join(root, img)).mtimeMs;
      const { data } = await run(initramfsModule, { root }, 'initramfs: dracut -f --regenerate-all + lsinitrd');
      assert.deepEqual(data, {
        images: [img],
        edited: ['/etc/dracut.conf.d/10-xen.conf', '/etc/dracut.conf.d/90-ferry-kvm.conf'],
        generator: 'dracut',
      });
      assert.ok(statSync(join(root, img)).mtimeMs > before, 'the image was rebuilt');
      const listing = lsinitrd(img);
      // --regenerate-all runs dracut again for each kernel with --kver; the trigger's build had none
      assert.doesNotMatch(xenImage, /^Arguments: .*--kver/m);
      assert.match(listing, /^Arguments: .*--kver/m, 'built by the regenerate-all run');
      const mods = modulesIn(listing);
      for (const m of ['virtio_blk', 'virtio_net', 'virtio_scsi']) assert.ok(mods.includes(m), `${m} is in the image`);
      // xen-scsifront is not first in the drop-in's omit list: dracut 059 omits it only when it is spelt with "_"
      for (const m of ['xen-blkfront', 'xen-netfront', 'xen-scsifront']) assert.ok(!mods.includes(m), `${m} is left out of the image`);
      assertChrootSessionUndone(root);

      const again = await run(initramfsModule, { root }, 'initramfs (second run)');
      assert.equal(again.plan.changed, false);
      assert.equal(again.plan.changed === false && again.plan.reason, `dracut config already asks for virtio and every image holds virtio_blk (${img})`);
    });
  });

  describe('the dracut image boots', () => {
    it('finds its root on a virtio disk and reaches a login prompt under qemu (TCG, direct kernel boot)', async function () {
      if (!kernel || !existsSync(join(root, 'etc/dracut.conf.d/90-ferry-kvm.conf'))) this.skip();
      const directKernel = guestKernelBoot(root, kernel, join(dir, 'boot'), 'root=/dev/vda ro console=ttyS0 panic=-1');
      sh('sync');
      unmountCopy();
      // the copy's raw filesystem as the only virtio disk (-snapshot: nothing written to it), under TCG as on any machine
      const r = await timer.timed('boot under qemu TCG to a login prompt', () => bootCheck(image, { accel: 'tcg', directKernel }));
      mountCopy();
      const tail = `(stopped by ${r.stoppedBy} after ${r.seconds} s):\n${r.log.slice(-3000)}\n${r.firmwareLog.slice(-1500)}`;
      assert.equal(r.stoppedBy, 'login', `no login prompt ${tail}`);
      assert.match(r.log, /dracut-\S+ \(Initramfs\)/, `not the dracut initramfs ${tail}`);
      assert.match(r.log, /virtio_blk virtio\d+: \[vda\]/, `virtio_blk did not find the disk ${tail}`);
      assert.match(r.log, /EXT4-fs \(vda\): mounted filesystem/, `the root was not mounted from vda ${tail}`);
      assert.match(r.log, /xr1 login:/);
      console.log(`      login prompt after ${r.seconds} s`);
    });
  });

  describe('the proof can fail', () => {
    it('a missing image is found, a rebuild that leaves virtio_blk out fails the task, and that image is found too', async function () {
      if (!kernel || !existsSync(join(root, 'etc/dracut.conf.d/90-ferry-kvm.conf'))) this.skip();
      const img = `/boot/initrd.img-${kernel}`;
      const title = (p: Plan): string => (p.changed ? p.steps[0]!.title : `no change: ${p.reason}`);
      // The image is gone, and a config the module does not manage keeps every kernel module out
      // of the next one (as for a kernel with its drivers built in).
      rmSync(join(root, img));
      writeFileSync(join(root, 'etc/dracut.conf.d/95-local.conf'), '# this kernel has its drivers built in\nno_kernel="yes"\n');
      const missing = await run(initramfsModule, { root }, 'initramfs (check mode) without an image', { check: true });
      assert.deepEqual(missing.plan.changed && missing.plan.diff, [], 'the config is right: only the image is wrong');
      assert.match(title(missing.plan), new RegExp(`; without virtio_blk: \\(no image for kernel ${escapeRegExp(kernel)}\\)\\)$`));

      await assert.rejects(run(initramfsModule, { root }, 'initramfs with no_kernel="yes": rebuild, then the check fails'), (e: unknown) => {
        assert.ok(e instanceof TaskFailedError, String(e));
        assert.equal(
          e.message,
          `after the dracut rebuild these images still lack virtio_blk: ${img}; look for no_kernel, hostonly, drivers= or omit_drivers settings in ` +
            '/etc/dracut.conf, /etc/dracut.conf.d/*.conf and /usr/lib/dracut/dracut.conf.d/*.conf',
        );
        return true;
      });
      assertChrootSessionUndone(root);
      // read back: the rebuild did make the image, and it really holds no module at all
      const listing = lsinitrd(img);
      assert.match(listing, /^Arguments: .*--kver/m, 'the failing run rebuilt the image');
      assert.deepEqual(modulesIn(listing), []);

      const lacking = await run(initramfsModule, { root }, 'initramfs (check mode) on the image without virtio_blk', { check: true });
      assert.deepEqual(lacking.plan.changed && lacking.plan.diff, []);
      // Debian's generic kernel has ext4 as a module (CONFIG_EXT4_FS=m), and this root is ext4: that is missing too
      assert.match(
        title(lacking.plan),
        new RegExp(`\\(dracut is installed, not the family's usual update-initramfs; without virtio_blk: ${escapeRegExp(img)}; without the root filesystem's driver: ${escapeRegExp(img)} \\(no ext4 module for the ext4 root\\)\\)$`),
      );
    });
  });
});
