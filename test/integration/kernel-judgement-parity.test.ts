// The migration judges a guest's kernels twice: preflight (playbooks/xen-to-kvm.yaml, in shell on the
// hypervisor, reading the source with debugfs or a read-only mount) to know whether the conversion
// will install a kernel and so needs room for it; and the kernel module (tasks/guest/kernels.ts, in
// TypeScript, on a listing run in the copy's chroot), which decides whether to install one. Should
// preflight find a kernel the module rejects, it reserves too little room and the install runs out of
// space half-way. Here both judge the same real trees: the module's listing in a busybox chroot, and
// the preflight's own shell function (taken from the playbook) through debugfs on an ext4 image made
// of the tree (mkfs.ext4 -d: no mount, no loop device) and through a directory as its xfs read does.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { chooseKvmKernel, KERNEL_LISTING, parseKernelListing } from '../../tasks/guest/kernels.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The preflight's shell: its `kernel_check` (kvm_kernel, dir_ls, dir_cat) and its debugfs readers, as the playbook has them. */
function preflightKernelShell(): { kernelCheck: string; extReaders: string } {
  type Task = { name?: string; shell?: string; block?: Task[]; rescue?: Task[]; always?: Task[] };
  const plays = parse(readFileSync(join(ROOT, 'playbooks/xen-to-kvm.yaml'), 'utf8')) as { tasks?: Task[] }[];
  const walk = (ts: Task[] = []): Task[] => ts.flatMap((t) => [t, ...walk(t.block), ...walk(t.rescue), ...walk(t.always)]);
  const shells = plays.flatMap((p) => walk(p.tasks)).flatMap((t) => (typeof t.shell === 'string' && t.shell.includes("kernel_check='") ? [t.shell] : []));
  assert.equal(shells.length, 1, 'the playbook has no single preflight shell with kernel_check');
  const text = shells[0]!;
  const kernelCheck = /kernel_check='([^']*)'/.exec(text)?.[1];
  const extReaders = ['ext_ls', 'ext_cat'].map((f) => new RegExp(`^\\s*${f}\\(\\) \\{.*\\}$`, 'm').exec(text)?.[0]);
  assert.ok(kernelCheck && extReaders.every(Boolean), 'kernel_check or the debugfs readers are not where this test looks (the preflight shell changed: update the test)');
  return { kernelCheck, extReaders: extReaders.join('\n') };
}

/** A guest's /boot and /lib/modules: files by path (a config's lines, a module's bytes). */
type Tree = Record<string, string>;

const config = (virtioBlk: string): string => `# Linux kernel config\nCONFIG_EXT4_FS=y\n${virtioBlk}\nCONFIG_XEN=y\n`;

/**
 * Real layouts of guests' kernels, and what both judges must say (`preflight`: where the preflight may
 * find less than the module, never more — it then asks for room for a kernel the module will not install).
 */
const CASES: { name: string; tree: Tree; good: string | undefined; preflight?: undefined }[] = [
  {
    name: "Debian's generic kernel: CONFIG_VIRTIO_BLK=m and the module",
    tree: { 'boot/vmlinuz-6.1.0-13-amd64': 'k', 'boot/config-6.1.0-13-amd64': config('CONFIG_VIRTIO_BLK=m'), 'lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko': 'm' },
    good: '6.1.0-13-amd64',
  },
  {
    name: "Debian squeeze's Xen-only build (with a virtio module even)",
    tree: { 'boot/vmlinuz-2.6.32-5-xen-amd64': 'k', 'boot/config-2.6.32-5-xen-amd64': config('CONFIG_VIRTIO_BLK=m'), 'lib/modules/2.6.32-5-xen-amd64/kernel/drivers/block/virtio_blk.ko': 'm' },
    good: undefined,
  },
  { name: "CentOS 5's el5xen", tree: { 'boot/vmlinuz-2.6.18-398.el5xen': 'k', 'boot/config-2.6.18-398.el5xen': config('CONFIG_VIRTIO_BLK=y') }, good: undefined },
  { name: 'virtio_blk built in (=y), no modules tree', tree: { 'boot/vmlinuz-5.10.0-custom': 'k', 'boot/config-5.10.0-custom': config('CONFIG_VIRTIO_BLK=y') }, good: '5.10.0-custom' },
  {
    name: '=m but the module is not installed',
    tree: { 'boot/vmlinuz-4.19.0-6-amd64': 'k', 'boot/config-4.19.0-6-amd64': config('CONFIG_VIRTIO_BLK=m'), 'lib/modules/4.19.0-6-amd64/kernel/drivers/net/virtio_net.ko': 'm' },
    good: undefined,
  },
  { name: 'built without it (is not set)', tree: { 'boot/vmlinuz-3.2.0-4-amd64': 'k', 'boot/config-3.2.0-4-amd64': config('# CONFIG_VIRTIO_BLK is not set') }, good: undefined },
  {
    name: 'no /boot/config (Arch): modules.builtin lists it',
    tree: { 'boot/vmlinuz-6.6.1-arch1-1': 'k', 'lib/modules/6.6.1-arch1-1/modules.builtin': 'kernel/fs/ext4/ext4.ko\nkernel/drivers/block/virtio_blk.ko\n' },
    good: '6.6.1-arch1-1',
  },
  {
    name: 'no /boot/config: a compressed module file (.ko.zst)',
    tree: { 'boot/vmlinuz-6.7.0-arch3-1': 'k', 'lib/modules/6.7.0-arch3-1/modules.builtin': 'kernel/fs/ext4/ext4.ko\n', 'lib/modules/6.7.0-arch3-1/kernel/drivers/block/virtio_blk.ko.zst': 'm' },
    good: '6.7.0-arch3-1',
  },
  {
    name: 'built without it (is not set), a stray virtio_blk.ko left in its modules tree',
    tree: { 'boot/vmlinuz-4.9.0-custom': 'k', 'boot/config-4.9.0-custom': config('# CONFIG_VIRTIO_BLK is not set'), 'lib/modules/4.9.0-custom/kernel/drivers/block/virtio_blk.ko': 'm' },
    good: undefined,
  },
  {
    name: 'the module only where DKMS puts one (updates/): the module finds it, preflight does not look there',
    tree: { 'boot/vmlinuz-5.4.0-150-generic': 'k', 'boot/config-5.4.0-150-generic': config('CONFIG_VIRTIO_BLK=m'), 'lib/modules/5.4.0-150-generic/updates/dkms/virtio_blk.ko': 'm' },
    good: '5.4.0-150-generic',
    preflight: undefined,
  },
  { name: 'no /boot/config and no modules', tree: { 'boot/vmlinuz-2.6.38-custom': 'k' }, good: undefined },
  {
    name: 'a Xen-only kernel beside a good one',
    tree: {
      'boot/vmlinuz-2.6.32-5-xen-amd64': 'k',
      'boot/config-2.6.32-5-xen-amd64': config('CONFIG_VIRTIO_BLK=m'),
      'boot/vmlinuz-3.16.0-4-amd64': 'k',
      'boot/config-3.16.0-4-amd64': config('CONFIG_VIRTIO_BLK=m'),
      'lib/modules/3.16.0-4-amd64/kernel/drivers/block/virtio_blk.ko': 'm',
    },
    good: '3.16.0-4-amd64',
  },
  { name: 'no kernel at all (a PV guest PyGrub booted from the host\'s kernel)', tree: { 'boot/grub/menu.lst': 'default 0\n' }, good: undefined },
];

describe('kernel judgement: the preflight\'s shell and the kernel module agree on real layouts @integration', function () {
  this.timeout(120_000);
  let dir: string;
  let shellParts: { kernelCheck: string; extReaders: string };
  const sh = (script: string, ...args: string[]): string => execFileSync('sh', ['-c', script, 'sh', ...args], { encoding: 'utf8' }).trim();

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // chroot
    for (const tool of ['/bin/busybox', '/sbin/debugfs', '/sbin/mkfs.ext4']) {
      if (!existsSync(tool)) {
        console.warn(`    SKIPPED: needs ${tool} (Debian packages busybox-static, e2fsprogs)`);
        this.skip();
      }
    }
    shellParts = preflightKernelShell();
    dir = mkdtempSync(join(tmpdir(), 'ferry-kernel-parity-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  /** The tree as a guest root in `dir/name`: the files, and a busybox /bin and /dev/null for the module's listing. */
  const makeRoot = (name: string, tree: Tree): string => {
    const root = join(dir, name);
    for (const [p, text] of Object.entries(tree)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    }
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const tool of ['sh', 'grep', 'sed', 'find']) symlinkSync('busybox', join(root, 'bin', tool));
    // the module's chroot has the host's /dev bound; the listing needs only /dev/null
    mkdirSync(join(root, 'dev'));
    execFileSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
    return root;
  };

  CASES.forEach((c, i) => {
    const { name, tree, good } = c;
    const preflight = 'preflight' in c ? c.preflight : good;
    it(`${name}: ${good ? `${preflight === good ? 'both find' : 'the module finds'} ${good}` : 'neither finds a kernel that boots under KVM'}`, () => {
      const root = makeRoot(`case${i}`, tree);
      // the kernel module: its listing run in the guest (here a chroot), parsed and judged
      const listing = execFileSync('chroot', [root, '/bin/sh', '-c', KERNEL_LISTING.text], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      const moduleSays = chooseKvmKernel(parseKernelListing(listing)).good?.version;
      assert.equal(moduleSays, good, `the kernel module: ${listing}`);
      // preflight, ext: the same tree as an ext4 filesystem, read with debugfs (as the hypervisor reads the LV)
      const img = join(dir, `case${i}.img`);
      sh('truncate -s 16M "$1" && mkfs.ext4 -q -F -d "$2" "$1"', img, root);
      const viaDebugfs = sh(`${shellParts.kernelCheck}\ndev=$1\n${shellParts.extReaders}\nkvm_kernel ext`, img);
      // preflight, xfs: the tree as a read-only mount shows it (here the directory itself)
      const viaDir = sh(`${shellParts.kernelCheck}\nmnt=$1\nkvm_kernel dir`, root);
      assert.equal(viaDebugfs || undefined, preflight, 'preflight through debugfs');
      assert.equal(viaDir || undefined, preflight, 'preflight through a directory');
    });
  });

});
