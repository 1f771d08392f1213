// The pure parts of the guest conversion modules, on output captured from the lab's Debian guest
// (test/fixtures/convert/SOURCE.md) and table cases for the other families.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh } from '../../runner/command.js';
import { osFacts } from '../../runner/facts/parse.js';
import { chrootCommand } from '../../runner/transport/chroot.js';
import { parseFstab, type FstabReference } from '../../tasks/guest-files/fstab.js';
import { unmatchedReferences, type DeviceIds } from '../../tasks/guest/fstab-refs.js';
import {
  addCmdlineTokens,
  coreEmbedded,
  coreImageModules,
  ensureGrubSetting,
  grubCfgKernels,
  grubCfgRootProblems,
  grubFsModule,
  grubPartModule,
  hasGrubBootCode,
} from '../../tasks/grub/install.js';
import { chooseGenerator, initramfsImages, listingHasModule } from '../../tasks/initramfs/images.js';
import { chooseKvmKernel, isXenOnlyKernel, parseKernelListing, rootFsModulesNeeded } from '../../tasks/guest/kernels.js';
import { detectGuestOs, parseOsRelease } from '../../tasks/guest/os-family.js';
import { offlineInstallCommand, onlineInstallCommands } from '../../tasks/guest/packages.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/convert');
const text = (name: string): string => readFileSync(join(FIX, name), 'utf8');
const bytes = (name: string): Buffer => readFileSync(join(FIX, name));

describe('convert: guest distribution from os-release', () => {
  const cases: [string, { id: string; family: string; kernel: string; grub: string; initramfs: string; format: string }][] = [
    ['os-release-debian-12', { id: 'debian', family: 'debian', kernel: 'linux-image-amd64', grub: 'grub', initramfs: 'initramfs-tools', format: 'deb' }],
    ['os-release-ubuntu-22.04', { id: 'ubuntu', family: 'ubuntu', kernel: 'linux-image-virtual', grub: 'grub', initramfs: 'initramfs-tools', format: 'deb' }],
    ['os-release-rocky-8.5', { id: 'rocky', family: 'rhel', kernel: 'kernel', grub: 'grub2', initramfs: 'dracut', format: 'rpm' }],
    ['os-release-centos-7', { id: 'centos', family: 'rhel', kernel: 'kernel', grub: 'grub2', initramfs: 'dracut', format: 'rpm' }],
    ['os-release-arch', { id: 'arch', family: 'arch', kernel: 'linux', grub: 'grub', initramfs: 'mkinitcpio', format: 'pkg' }],
  ];
  for (const [file, want] of cases) {
    it(`${file} -> ${want.family}`, () => {
      const os = detectGuestOs(text(file));
      assert.deepEqual(
        { id: os.id, family: os.family, kernel: os.kernelPackage, grub: os.grubPrefix, initramfs: os.initramfs, format: os.packageFormat },
        want,
      );
    });
  }
  it('Linux Mint (ID_LIKE="ubuntu debian") is handled as Ubuntu', () => {
    assert.equal(detectGuestOs('ID=linuxmint\nID_LIKE="ubuntu debian"\n').family, 'ubuntu');
  });
  it('refuses an unsupported distribution, naming it', () => {
    assert.throws(() => detectGuestOs(text('os-release-alpine-3.19'), '/mnt/x/etc/os-release'), /\/mnt\/x\/etc\/os-release: distribution ID=alpine is not supported/);
    assert.throws(() => detectGuestOs('NAME=x\n'), /has no ID= line/);
  });
  it('one taxonomy: every os-release here gets the profile of its host-facts family (debian, redhat, arch), or is refused', () => {
    const dirs = [join(dirname(fileURLToPath(import.meta.url)), '../fixtures/convert'), join(dirname(fileURLToPath(import.meta.url)), '../fixtures/facts/os-release')];
    const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.startsWith('os-release') || f.endsWith('.txt')).map((f) => join(d, f)));
    assert.ok(files.length >= 15, files.join(' '));
    const PROFILES: Record<string, string[]> = { debian: ['debian', 'ubuntu'], redhat: ['rhel'], arch: ['arch'] };
    for (const f of files) {
      const body = readFileSync(f, 'utf8');
      const hostFamily = osFacts(parseOsRelease(body)).family;
      let profile: string | undefined;
      try {
        profile = detectGuestOs(body).family;
      } catch {
        profile = undefined;
      }
      if (profile === undefined) assert.equal(PROFILES[hostFamily], undefined, `${f}: ${hostFamily} refused`);
      else assert.ok(PROFILES[hostFamily]?.includes(profile), `${f}: ${hostFamily} vs ${profile}`);
    }
  });
  it('parses quoting and escapes', () => {
    assert.deepEqual(parseOsRelease('A="x \\"y\\""\nB=\'z w\'\nC=bare\n# D=no\n'), { A: 'x "y"', B: 'z w', C: 'bare' });
  });
});

describe('convert: choosing a kernel that boots under KVM', () => {
  it('the Debian cloud kernel of the lab guest is good (CONFIG_VIRTIO_BLK=m and the module file)', () => {
    const { good, verdicts } = chooseKvmKernel(parseKernelListing(text('kernel-listing-bookworm-cloud.txt')));
    assert.equal(verdicts.length, 1);
    assert.equal(good?.version, '6.1.0-50-cloud-amd64');
    assert.equal(good?.why, '6.1.0-50-cloud-amd64 has CONFIG_VIRTIO_BLK=m and /lib/modules/6.1.0-50-cloud-amd64/kernel/drivers/block/virtio_blk.ko');
  });

  it('the root filesystem drivers of the same kernel (the listing of its package): ext4 built in, xfs a module the image must hold', () => {
    const [k] = parseKernelListing(text('kernel-listing-bookworm-cloud-fs.txt'));
    assert.deepEqual(k?.fsConfig, { ext4: 'y', xfs: 'm' });
    assert.deepEqual(k.fsModules, ['xfs']);
    assert.deepEqual(k.fsBuiltin, ['ext4']);
    assert.deepEqual(rootFsModulesNeeded(k, 'ext4'), []);
    assert.deepEqual(rootFsModulesNeeded(k, 'ext3'), [], "ext4's built-in driver mounts ext3");
    assert.deepEqual(rootFsModulesNeeded(k, 'xfs'), ['xfs']);
    assert.deepEqual(rootFsModulesNeeded(k, 'btrfs'), [], 'a type without a known driver is not judged');
    assert.deepEqual(rootFsModulesNeeded(k, undefined), []);
    // a kernel with ext4 only as a module (no config line, only the module file): ext2 and ext3 roots need it too
    const [m] = parseKernelListing('K 5.10.0-9-amd64\nD 5.10.0-9-amd64\nF 5.10.0-9-amd64 /lib/modules/5.10.0-9-amd64/kernel/fs/ext4/ext4.ko.xz\n');
    assert.deepEqual(rootFsModulesNeeded(m!, 'ext3'), ['ext4']);
    assert.deepEqual(rootFsModulesNeeded(m!, 'xfs'), [], 'no xfs module file: nothing to judge by');
  });

  const cases: { name: string; listing: string; good?: string; whys: string[] }[] = [
    {
      name: 'Debian etch Xen kernel only',
      listing: 'K 2.6.18-6-xen-686\nC 2.6.18-6-xen-686 # CONFIG_VIRTIO_BLK is not set\nD 2.6.18-6-xen-686\n',
      whys: ['2.6.18-6-xen-686 is a Xen-only kernel build'],
    },
    {
      name: '=m but the module is missing, beside an older kernel with it built in',
      listing: 'K 6.1.0-9-amd64\nC 6.1.0-9-amd64 CONFIG_VIRTIO_BLK=m\nD 6.1.0-9-amd64\nK 5.10.0-20-amd64\nC 5.10.0-20-amd64 CONFIG_VIRTIO_BLK=y\n',
      good: '5.10.0-20-amd64',
      whys: ['6.1.0-9-amd64 has CONFIG_VIRTIO_BLK=m but no virtio_blk.ko* under /lib/modules/6.1.0-9-amd64', '5.10.0-20-amd64 has CONFIG_VIRTIO_BLK=y'],
    },
    {
      name: 'CentOS 7 with compressed modules; the newest good one wins',
      listing: [
        'K 3.10.0-1160.el7.x86_64',
        'C 3.10.0-1160.el7.x86_64 CONFIG_VIRTIO_BLK=m',
        'D 3.10.0-1160.el7.x86_64',
        'M 3.10.0-1160.el7.x86_64 /lib/modules/3.10.0-1160.el7.x86_64/kernel/drivers/block/virtio_blk.ko.xz',
        'K 3.10.0-862.el7.x86_64',
        'C 3.10.0-862.el7.x86_64 CONFIG_VIRTIO_BLK=m',
        'D 3.10.0-862.el7.x86_64',
        'M 3.10.0-862.el7.x86_64 /lib/modules/3.10.0-862.el7.x86_64/kernel/drivers/block/virtio_blk.ko.xz',
      ].join('\n'),
      good: '3.10.0-1160.el7.x86_64',
      whys: [
        '3.10.0-1160.el7.x86_64 has CONFIG_VIRTIO_BLK=m and /lib/modules/3.10.0-1160.el7.x86_64/kernel/drivers/block/virtio_blk.ko.xz',
        '3.10.0-862.el7.x86_64 has CONFIG_VIRTIO_BLK=m and /lib/modules/3.10.0-862.el7.x86_64/kernel/drivers/block/virtio_blk.ko.xz',
      ],
    },
    {
      name: 'a kernel without config: modules.builtin decides',
      listing: 'K 6.9.1-custom\nD 6.9.1-custom\nB 6.9.1-custom\n',
      good: '6.9.1-custom',
      whys: ['6.9.1-custom lists virtio_blk in modules.builtin'],
    },
    {
      name: 'CentOS 5 el5xen and no modules directory',
      listing: 'K 2.6.18-398.el5xen\nK 2.6.18-398.el5\n',
      whys: ['2.6.18-398.el5xen is a Xen-only kernel build', '2.6.18-398.el5 has no /boot/config-2.6.18-398.el5 and no /lib/modules/2.6.18-398.el5'],
    },
    { name: 'no kernels at all', listing: '', whys: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { good, verdicts } = chooseKvmKernel(parseKernelListing(c.listing));
      assert.equal(good?.version, c.good);
      assert.deepEqual(verdicts.map((v) => v.why), c.whys);
    });
  }
  it('tells Xen-only builds by name', () => {
    assert.deepEqual(['2.6.18-6-xen-686', '2.6.32-xen', '2.6.18-398.el5xen', '6.1.0-50-cloud-amd64', '5.14.0-362.el9.x86_64'].map(isXenOnlyKernel), [true, true, true, false, false]);
  });
});

describe('convert: initramfs images', () => {
  it('finds the images of each generator in a /boot listing', () => {
    // (.new: update-initramfs's half-written image when a run was cut; it renames it when done)
    const boot = ['config-6.1.0-50-cloud-amd64', 'initrd.img-6.1.0-50-cloud-amd64', 'initrd.img-6.1.0-50-cloud-amd64.new', 'initrd.img-6.1.0-9-amd64.bak', 'vmlinuz-6.1.0-50-cloud-amd64', 'grub'];
    assert.deepEqual(initramfsImages('initramfs-tools', boot), [{ path: '/boot/initrd.img-6.1.0-50-cloud-amd64', version: '6.1.0-50-cloud-amd64' }]);
    const el = ['initramfs-5.14.0-362.el9.x86_64.img', 'initramfs-5.14.0-362.el9.x86_64kdump.img', 'initramfs-0-rescue-abc.img', 'vmlinuz-5.14.0-362.el9.x86_64'];
    assert.deepEqual(
      initramfsImages('dracut', el).map((i) => i.version),
      ['5.14.0-362.el9.x86_64', '0-rescue-abc'],
    );
    assert.deepEqual(
      initramfsImages('mkinitcpio', ['initramfs-linux.img', 'initramfs-linux-fallback.img', 'vmlinuz-linux']).map((i) => i.version),
      ['linux', 'linux-fallback'],
    );
  });
  it("Debian's dracut keeps the initramfs-tools name: those are dracut images too (backups are not)", () => {
    const boot = ['config-6.1.0-50-amd64', 'initrd.img-6.1.0-50-amd64', 'initrd.img-6.1.0-9-amd64.bak', 'vmlinuz-6.1.0-50-amd64'];
    assert.deepEqual(initramfsImages('dracut', boot), [{ path: '/boot/initrd.img-6.1.0-50-amd64', version: '6.1.0-50-amd64' }]);
    assert.deepEqual(initramfsImages('mkinitcpio', boot), []);
  });
  it('the generator is the installed one: the family default first, else the one found', () => {
    const cases: [Parameters<typeof chooseGenerator>[0], string, string, RegExp][] = [
      ['initramfs-tools', 'update-initramfs\n', 'initramfs-tools', /^update-initramfs is installed$/],
      // Debian 12 with dracut: dracut-core conflicts with initramfs-tools, so only dracut is there
      ['initramfs-tools', 'dracut\n', 'dracut', /^dracut is installed, not the family's usual update-initramfs$/],
      ['mkinitcpio', 'dracut\nmkinitcpio\n', 'mkinitcpio', /^mkinitcpio is installed$/],
      ['dracut', '', 'dracut', /^none of update-initramfs, dracut, mkinitcpio is installed/],
    ];
    for (const [family, probe, generator, why] of cases) {
      const r = chooseGenerator(family, probe);
      assert.equal(r.generator, generator, `${family} + ${JSON.stringify(probe)}`);
      assert.match(r.why, why);
    }
  });
  it('finds virtio_blk in a real lsinitramfs listing, and not once its lines are gone', () => {
    const listing = text('lsinitramfs-bookworm-cloud.txt');
    assert.equal(listingHasModule(listing), true);
    assert.equal(listingHasModule(listing.split('\n').filter((l) => !l.includes('virtio_blk')).join('\n')), false);
    // virtio_blk_foo.ko or a directory called virtio_blk are not the module
    assert.equal(listingHasModule('usr/lib/modules/x/virtio_blk_foo.ko\nusr/lib/virtio_blk\n'), false);
  });
  it('reads lsinitrd (ls -l style) and compressed module names', () => {
    const line = '-rw-r--r--   1 root     root        12345 Jan  1 00:00 usr/lib/modules/5.14.0-362.el9.x86_64/kernel/drivers/block/virtio_blk.ko.xz';
    assert.equal(listingHasModule(line), true);
    assert.equal(listingHasModule('usr/lib/modules/6.9.1-arch1-1/kernel/drivers/block/virtio_blk.ko.zst'), true);
  });
});

describe('convert: grub.cfg, grub-install and the disk', () => {
  it('grub.cfg from a host without udev names the loop device in root=: a problem with file:line', () => {
    const cfg = text('grub-cfg-no-udev-loop-root.cfg');
    assert.deepEqual(grubCfgRootProblems(cfg, '/boot/grub/grub.cfg').slice(0, 1), [
      '/boot/grub/grub.cfg:119: /boot/vmlinuz-6.1.0-50-cloud-amd64 has root=/dev/loop0p1, a loop device of the converting host',
    ]);
  });
  it('grub.cfg made with GRUB_DEVICE="UUID=…" is fine', () => {
    const cfg = text('grub-cfg-grub-device-uuid.cfg');
    assert.deepEqual(grubCfgRootProblems(cfg), []);
    assert.equal(grubCfgKernels(cfg)[0]?.root, 'UUID=4fc047dd-3cd1-47ac-9dba-9ea8af1f5702');
  });
  it('root= values: host devices and Xen names are problems, guest names are not', () => {
    const cfg = ['linux /vmlinuz root=/dev/mapper/vg1-xr1--disk1 ro', 'linux16 /vmlinuz root=/dev/xvda1', 'linux /vmlinuz root=/dev/vda1', 'linux /vmlinuz root=LABEL=root', 'linux /vmlinuz ro'].join('\n');
    assert.deepEqual(grubCfgRootProblems(cfg, 'g'), [
      'g:1: /vmlinuz has root=/dev/mapper/vg1-xr1--disk1, a device-mapper device of the converting host',
      'g:2: /vmlinuz has root=/dev/xvda1, a Xen disk name; under KVM the disk is /dev/vdX',
    ]);
  });
  it('reads the core.img modules from grub-install --verbose', () => {
    assert.deepEqual(coreImageModules(text('grub-install-verbose-bookworm.txt')), ['part_msdos', 'ext2', 'ext2', 'part_msdos', 'biosdisk']);
    const noFs = "grub-install: info: grub-mkimage --directory '/usr/lib/grub/i386-pc' --prefix '(,msdos1)/boot/grub' --output '/boot/grub/i386-pc/core.img'  --dtb '' --sbat '' --format 'i386-pc' --compression 'auto'   'part_msdos' 'biosdisk' ";
    assert.deepEqual(coreImageModules(noFs), ['part_msdos', 'biosdisk']);
    assert.equal(coreImageModules('Installation finished. No error reported.\n'), undefined);
  });
  it('sees GRUB boot code in the MBR and the embedded core.img after it', () => {
    const head = bytes('disk-head-grub-bookworm.bin');
    const core = bytes('core-bookworm.img');
    assert.equal(hasGrubBootCode(head), true);
    assert.equal(coreEmbedded(head, core), true);
    assert.equal(hasGrubBootCode(Buffer.alloc(512)), false);
    const other = Buffer.from(core);
    other[4000] = other[4000]! ^ 0xff;
    assert.equal(coreEmbedded(head, other), false, 'a different core.img is not the embedded one');
    assert.equal(coreEmbedded(head.subarray(0, 4096), core), false, 'too short a read');
  });
  it('picks the GRUB modules for the filesystem and partition table', () => {
    assert.deepEqual(['ext4', 'ext3', 'xfs', 'btrfs', 'zfs'].map(grubFsModule), ['ext2', 'ext2', 'xfs', 'btrfs', undefined]);
    assert.deepEqual(['dos', 'gpt', undefined].map(grubPartModule), ['part_msdos', 'part_gpt', undefined]);
  });
});

describe('convert: /etc/default/grub additions', () => {
  it('adds GRUB_DEVICE with a comment unless the file sets it', () => {
    const r = ensureGrubSetting('GRUB_TIMEOUT=5\n', 'GRUB_DEVICE', 'UUID=abc', 'why');
    assert.deepEqual(r, { text: 'GRUB_TIMEOUT=5\n# ferry: why\nGRUB_DEVICE="UUID=abc"\n', changed: true });
    assert.equal(ensureGrubSetting(r.text, 'GRUB_DEVICE', 'UUID=abc', 'why').changed, false);
    assert.equal(ensureGrubSetting('GRUB_DEVICE="PARTUUID=1"\n', 'GRUB_DEVICE', 'UUID=abc', 'why').changed, false);
  });
  it('adds missing kernel parameters to the last GRUB_CMDLINE_LINUX, keeping its quoting', () => {
    const cases: [string, string[], string][] = [
      ['GRUB_CMDLINE_LINUX="console=ttyS0"\n', ['nomodeset', 'console=ttyS0'], 'GRUB_CMDLINE_LINUX="console=ttyS0 nomodeset"\n'],
      ["GRUB_CMDLINE_LINUX=''\n", ['a=1'], "GRUB_CMDLINE_LINUX='a=1'\n"],
      ['GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n', ['quiet'], 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'],
      ['GRUB_TIMEOUT=5', ['a=1'], 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX a=1"\n'],
    ];
    for (const [input, tokens, want] of cases) assert.equal(addCmdlineTokens(input, tokens).text, want, input);
  });
});

describe('convert: fstab references against the named devices', () => {
  const fstab = 'UUID=AAA / ext4 defaults 0 1\nLABEL=data /srv ext4 defaults 0 2\nUUID=BBB none swap sw,nofail 0 0\n';
  const refs: FstabReference[] = [
    { line: 1, kind: 'UUID', value: 'AAA', file: '/' },
    { line: 2, kind: 'LABEL', value: 'data', file: '/srv' },
    { line: 3, kind: 'UUID', value: 'BBB', file: 'none' },
  ];
  const entries = parseFstab(fstab, 'f').entries;
  it('matches UUIDs case-insensitively and skips nofail entries', () => {
    const devices: DeviceIds[] = [
      { device: '/dev/loop0p1', ids: { TYPE: 'ext4', UUID: 'aaa' } },
      { device: '/dev/loop0p2', ids: { TYPE: 'ext4', LABEL: 'data' } },
    ];
    assert.deepEqual(unmatchedReferences('f', refs, entries, devices), []);
  });
  it('reports each missing one at file:line with a uuid_map hint naming the device\'s UUID', () => {
    const devices = [{ device: '/dev/loop0p1', ids: { TYPE: 'ext4', UUID: 'NEW' } }];
    const problems = unmatchedReferences('/mnt/x/etc/fstab', refs, entries, devices);
    assert.deepEqual(
      problems.map((p) => [p.loc?.line, p.message]),
      [
        [1, 'UUID=AAA (mounted on /) is on none of the named devices: /dev/loop0p1 (ext4 UUID=NEW)'],
        [2, 'LABEL=data (mounted on /srv) is on none of the named devices: /dev/loop0p1 (ext4 UUID=NEW)'],
      ],
    );
    assert.match(problems[0]!.hint!, /uuid_map: \{AAA: NEW\}/);
    assert.match(problems[0]!.hint!, /filesystem: uuid: AAA/);
  });
});

describe('convert: commands run in the guest', () => {
  it('chroot puts env and cwd inside the guest and quotes the root', () => {
    const c = chrootCommand('/mnt/guest root', sh`ls *.deb`, { cwd: '/tmp/debs', env: { A: 'b c' } });
    assert.equal(
      c.text,
      "env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C chroot '/mnt/guest root' /bin/sh -c " +
        "'cd -- /tmp/debs && env '\\''A=b c'\\'' sh -c '\\''ls *.deb'\\'''",
    );
  });
  it('offline installs glob the package files in the guest; online ones name the family\'s tools', () => {
    assert.equal(offlineInstallCommand('deb').text, 'DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/ferry-pkgs/*.deb');
    assert.equal(offlineInstallCommand('rpm').text, 'rpm -Uvh --replacepkgs /tmp/ferry-pkgs/*.rpm');
    assert.equal(offlineInstallCommand('pkg').text, 'pacman -U --noconfirm --needed /tmp/ferry-pkgs/*.pkg.tar.*');
    const deb = onlineInstallCommands(detectGuestOs(text('os-release-debian-12')), ['linux-image-amd64']);
    assert.equal(deb.install.text, 'DEBIAN_FRONTEND=noninteractive apt-get -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= install -y -q --no-install-recommends -o APT::Keep-Downloaded-Packages=false linux-image-amd64');
    assert.equal(deb.refresh.text, 'apt-get -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= update -q');
    assert.match(onlineInstallCommands(detectGuestOs(text('os-release-centos-7')), ['kernel']).install.text, /dnf -y install kernel; else yum -y install kernel/);
  });
});
