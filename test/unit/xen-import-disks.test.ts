// xen_import with several disks (issue 12): the root disk is the one root= names on the guest's
// kernel command line, every other disk is listed in extra_disks with the virtio name it gets,
// and a guest whose root is a guess among several LVs is warned about.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildXenImport, disksToWatch, xenImportReason, type XenSource } from '../../tasks/xen/import-data.js';
import { parseDomainXml } from '../../tasks/xen/libvirt-xen-xml.js';
import { virtioDiskName } from '../../tasks/guest-files/device-names.js';
import { parseBlkidExport } from '../../tasks/storage/blkid.js';
import { guestToInventoryVars, rootDeviceOf, rootSpecOf, type GuestInventoryVars } from '../../tasks/xen/inventory-vars.js';
import { parseXlConfig } from '../../tasks/xen/xl-config.js';
import { corpus } from '../helpers/corpora.js';

const DIR = corpus('libvirt-xlconfigdata');

// The disk-choosing vars of a guest, and the import's warnings for it.
type DiskVars = Pick<GuestInventoryVars, 'vg' | 'lv' | 'root_device' | 'extra_disks'>;

function diskVarsOf(text: string, path = '/etc/xen/web1.cfg'): { vars: DiskVars; warnings: string[] } {
  const v = guestToInventoryVars(parseXlConfig(text, path));
  const vars: DiskVars = {};
  for (const k of ['vg', 'lv', 'root_device', 'extra_disks'] as const) if (v[k] !== undefined) Object.assign(vars, { [k]: v[k] });
  return { vars, warnings: buildXenImport([{ path, text, origin: 'xl' }]).warnings };
}

// As xen-tools' xm.tmpl writes a guest: swap LV on xvda1, root LV on xvda2, `root = '/dev/xvda2 ro'`.
const XEN_TOOLS = `#
# Configuration file for the Xen instance web1, created
# by xen-tools 4.9.2 on Thu Dec  3 10:12:44 2026.
#

#
#  Kernel + memory size
#
kernel      = '/boot/vmlinuz-6.1.0-28-amd64'
extra       = 'elevator=noop'
ramdisk     = '/boot/initrd.img-6.1.0-28-amd64'

vcpus       = '1'
memory      = '512'

#
#  Disk device(s).
#
root        = '/dev/xvda2 ro'
disk        = [
                  'phy:/dev/vg0/web1-swap,xvda1,w',
                  'phy:/dev/vg0/web1-disk,xvda2,w',
              ]

#
#  Physical volumes
#

#
#  Hostname
#
name        = 'web1'

#
#  Networking
#
vif         = [ 'ip=192.0.2.10 ,mac=00:16:3E:2B:7A:11' ]

#
#  Behaviour
#
on_poweroff = 'destroy'
on_reboot   = 'restart'
on_crash    = 'restart'
`;

const SWAP_AS_VDB = { source: '/dev/vg0/web1-swap', vg: 'vg0', lv: 'web1-swap', xen: 'xvda1', kvm: 'vdb' };
const guest = (lines: string[]) => `name = 'web1'\n${lines.join('\n')}\n`;

describe('xen_import: the root disk and the other disks', () => {
  const cases: { name: string; cfg: string; vars: DiskVars; warning?: RegExp }[] = [
    {
      name: "xen-tools layout: swap xvda1 first, root xvda2 from root = '/dev/xvda2 ro'",
      cfg: XEN_TOOLS,
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'xvda2', extra_disks: [SWAP_AS_VDB] },
    },
    {
      name: 'xen-tools layout with the root disk listed first',
      cfg: guest(["root = '/dev/xvda2 ro'", "disk = [ 'phy:/dev/vg0/web1-disk,xvda2,w', 'phy:/dev/vg0/web1-swap,xvda1,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'xvda2', extra_disks: [SWAP_AS_VDB] },
    },
    {
      name: 'root= in extra',
      cfg: guest(['extra = "root=/dev/xvda2 ro console=hvc0"', "disk = [ 'phy:/dev/vg0/web1-swap,xvda1,w', 'phy:/dev/vg0/web1-disk,xvda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'xvda2', extra_disks: [SWAP_AS_VDB] },
    },
    {
      name: 'cmdline wins over root and extra, as in xl; the last root= counts',
      cfg: guest(['cmdline = "root=/dev/xvda1 root=/dev/xvda2 ro"', "root = '/dev/xvda1'", "disk = [ 'phy:/dev/vg0/web1-swap,xvda1,w', 'phy:/dev/vg0/web1-disk,xvda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'xvda2', extra_disks: [SWAP_AS_VDB] },
    },
    {
      name: 'a root disk plus whole data disks in another VG, one of them a file, and a cdrom (not listed)',
      cfg: guest([
        "root = '/dev/xvda1 ro'",
        'disk = [',
        "  'phy:/dev/vg0/db1-disk,xvda,w',",
        "  'format=raw,vdev=xvdb,access=rw,target=/dev/mapper/data--vg-db1--data',",
        "  'file:/srv/xen/db1-logs.img,xvdc,w',",
        "  '/srv/iso/debian.iso,raw,xvdd,r,devtype=cdrom',",
        "  'phy:/dev/data-vg/db1-backup,xvde,w',",
        ']',
      ]),
      // root xvda1 is a partition of the disk xvda: that disk is the root disk (the conversion's preflight refuses a partitioned LV)
      vars: {
        vg: 'vg0',
        lv: 'db1-disk',
        root_device: 'xvda1',
        extra_disks: [
          { source: '/dev/mapper/data--vg-db1--data', vg: 'data-vg', lv: 'db1-data', xen: 'xvdb', kvm: 'vdb' },
          { source: '/srv/xen/db1-logs.img', xen: 'xvdc', kvm: 'vdc' },
          { source: '/dev/data-vg/db1-backup', vg: 'data-vg', lv: 'db1-backup', xen: 'xvde', kvm: 'vdd' },
        ],
      },
    },
    {
      name: '/dev/sda1 names: root=/dev/sda2 matches the sda2 disk',
      cfg: guest(["root = '/dev/sda2 ro'", "disk = [ 'phy:/dev/vg0/web1-swap,sda1,w', 'phy:/dev/vg0/web1-disk,sda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'sda2', extra_disks: [{ ...SWAP_AS_VDB, xen: 'sda1' }] },
    },
    {
      name: 'root=/dev/xvda2 matches a disk written as sda2 (a PV guest sees vdev sda2 as xvda2)',
      cfg: guest(["root = '/dev/xvda2 ro'", "disk = [ 'phy:/dev/vg0/web1-swap,sda1,w', 'phy:/dev/vg0/web1-disk,sda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'xvda2', extra_disks: [{ ...SWAP_AS_VDB, xen: 'sda1' }] },
    },
    {
      name: '/dev/hda1 names',
      cfg: guest(["root = '/dev/hda1'", "disk = [ 'phy:/dev/vg0/web1-data,hdb,w', 'phy:/dev/vg0/web1-disk,hda1,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', root_device: 'hda1', extra_disks: [{ source: '/dev/vg0/web1-data', vg: 'vg0', lv: 'web1-data', xen: 'hdb', kvm: 'vdb' }] },
    },
    {
      name: 'root=UUID= with two LV disks and their filesystems not read: the first LV is a guess, and the import says so',
      cfg: guest(['extra = "root=UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11 ro"', "disk = [ 'phy:/dev/vg0/web1-swap,xvda1,w', 'phy:/dev/vg0/web1-disk,xvda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-swap', extra_disks: [{ source: '/dev/vg0/web1-disk', vg: 'vg0', lv: 'web1-disk', xen: 'xvda2', kvm: 'vdb' }] },
      warning:
        /^\/etc\/xen\/web1\.cfg: guest web1 has 2 LV-backed disks and root=UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11 could not be looked up \(blkid on the hypervisor reads the LVs and needs root: become: true\): lv is a guess \(\/dev\/vg0\/web1-swap\); set lv, root_device and extra_disks by hand$/,
    },
    {
      name: 'no root= at all (pygrub) with two LV disks: warned too',
      cfg: guest(["bootloader = 'pygrub'", "disk = [ 'phy:/dev/vg0/web1-disk,xvda,w', 'phy:/dev/vg1/web1-data,xvdb,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk', extra_disks: [{ source: '/dev/vg1/web1-data', vg: 'vg1', lv: 'web1-data', xen: 'xvdb', kvm: 'vdb' }] },
      warning: /guest web1 has 2 LV-backed disks and its kernel command line names no root=/,
    },
    {
      name: 'root= naming no disk of the guest: today\'s rule, warned',
      cfg: guest(["root = '/dev/xvdz1 ro'", "disk = [ 'phy:/dev/vg0/web1-swap,xvda1,w', 'phy:/dev/vg0/web1-disk,xvda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-swap', root_device: 'xvdz1', extra_disks: [{ source: '/dev/vg0/web1-disk', vg: 'vg0', lv: 'web1-disk', xen: 'xvda2', kvm: 'vdb' }] },
      warning: /2 LV-backed disks and root=\/dev\/xvdz1 names none of its disks: lv is a guess/,
    },
    {
      name: 'a single-disk guest: vg/lv only, no root_device or extra_disks (as before)',
      cfg: guest(["root = '/dev/xvda2 ro'", "disk = [ 'phy:/dev/vg0/web1-disk,xvda2,w' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk' },
    },
    {
      name: 'a single LV with a cdrom and UUID= root: nothing to guess, no warning',
      cfg: guest(['extra = "root=UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11"', "disk = [ 'phy:/dev/vg0/web1-disk,xvda,w', '/srv/iso/x.iso,raw,xvdc,r,devtype=cdrom' ]"]),
      vars: { vg: 'vg0', lv: 'web1-disk' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { vars, warnings } = diskVarsOf(c.cfg);
      assert.deepEqual(vars, c.vars);
      if (c.warning) {
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0], c.warning);
      } else assert.deepEqual(warnings, []);
    });
  }

  it('the warning reaches the plan\'s reason', () => {
    const d = buildXenImport([{ path: '/etc/xen/web1.cfg', text: cases[8].cfg, origin: 'xl' }]);
    assert.match(xenImportReason(d), /^read 1 guest from 1 file; WARNING: \/etc\/xen\/web1\.cfg: guest web1 has 2 LV-backed disks/);
  });

  it('root= forms read from a kernel command line', () => {
    const table: [string | undefined, string | undefined][] = [
      ['root=/dev/xvda2 ro', 'xvda2'],
      ['ro root=/dev/xvda console=hvc0', 'xvda'],
      ['root=/dev/sda1', 'sda1'],
      ['root=/dev/hdb3 ro', 'hdb3'],
      ['root=/dev/xvdaa1', 'xvdaa1'],
      ['root=UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11 ro', undefined],
      ['root=LABEL=root', undefined],
      ['root=PARTUUID=1234-01', undefined],
      ['root=/dev/mapper/vg-root', undefined],
      ['root=/dev/xvda2 root=LABEL=root', undefined],
      ['console=hvc0', undefined],
      [undefined, undefined],
    ];
    assert.deepEqual(table.map(([c]) => rootDeviceOf(c)), table.map(([, d]) => d));
  });

  it('virtio names past vdz', () => {
    assert.deepEqual([0, 1, 25, 26, 27, 51, 52].map(virtioDiskName), ['vda', 'vdb', 'vdz', 'vdaa', 'vdab', 'vdaz', 'vdba']);
  });
});

describe('xen_import: a root named by UUID= or LABEL= among several LVs, told apart by the LVs\' filesystems (blkid)', () => {
  const ROOT_UUID = '0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11';
  // xen-tools' layout, the root named by its filesystem: in xl's root, or in extra
  const byUuid = XEN_TOOLS.replace("root        = '/dev/xvda2 ro'", `root        = 'UUID=${ROOT_UUID.toUpperCase()} ro'`);
  const byLabel = XEN_TOOLS.replace("root        = '/dev/xvda2 ro'", '').replace("extra       = 'elevator=noop'", "extra       = 'root=LABEL=web1-root elevator=noop'");
  const source = (text: string): XenSource => ({ path: '/etc/xen/web1.cfg', text, origin: 'xl' });
  // as `blkid -p -o export` prints them (a label with a space comes escaped)
  const filesystems = {
    '/dev/vg0/web1-swap': parseBlkidExport('DEVNAME=/dev/vg0/web1-swap\nUUID=5d1b0a57-1c2e-4d3f-8a9b-0c1d2e3f4a5b\nVERSION=1\nTYPE=swap\nUSAGE=other\n'),
    '/dev/vg0/web1-disk': parseBlkidExport(`DEVNAME=/dev/vg0/web1-disk\nUUID=${ROOT_UUID}\nLABEL=web1-root\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n`),
  };
  const rootOf = (text: string, fs: NonNullable<Parameters<typeof buildXenImport>[1]>['filesystems']) => {
    const d = buildXenImport([source(text)], { filesystems: fs });
    const g = d.guests[0]!;
    return { lv: g.lv, root_device: g.root_device, extra: g.extra_disks?.map((e) => `${e.xen}->${e.kvm}`), warnings: d.warnings };
  };

  it('rootSpecOf: the last root= as a device, a UUID (lower case) or a label', () => {
    assert.deepEqual(rootSpecOf('root=/dev/xvda2 ro'), { device: 'xvda2' });
    assert.deepEqual(rootSpecOf(`ro root=UUID=${ROOT_UUID.toUpperCase()}`), { uuid: ROOT_UUID });
    assert.deepEqual(rootSpecOf('root=LABEL=web1-root console=hvc0'), { label: 'web1-root' });
    assert.deepEqual(rootSpecOf('root=/dev/xvda2 root=LABEL=r'), { label: 'r' });
    assert.equal(rootSpecOf('root=PARTUUID=1234-01'), undefined);
    assert.equal(rootSpecOf('console=hvc0'), undefined);
    assert.deepEqual(parseBlkidExport('LABEL=my\\ root\nTYPE=ext4\n'), { LABEL: 'my root', TYPE: 'ext4' });
  });

  it('only such guests ask for a read, of their LVs alone', () => {
    assert.deepEqual(disksToWatch([source(byUuid)]), ['/dev/vg0/web1-swap', '/dev/vg0/web1-disk']);
    assert.deepEqual(disksToWatch([source(byLabel)]), ['/dev/vg0/web1-swap', '/dev/vg0/web1-disk']);
    assert.deepEqual(disksToWatch([source(XEN_TOOLS)]), [], 'root=/dev/xvda2 names the disk');
    assert.deepEqual(disksToWatch([source(byUuid.replace("'phy:/dev/vg0/web1-swap,xvda1,w',", ''))]), [], 'one LV is the root');
  });

  it('the LV whose filesystem has the UUID or label is the root; root_device is its Xen device', () => {
    const expected = { lv: 'web1-disk', root_device: 'xvda2', extra: ['xvda1->vdb'], warnings: [] };
    assert.deepEqual(rootOf(byUuid, filesystems), expected);
    assert.deepEqual(rootOf(byLabel, filesystems), expected);
    // the root listed first in the config changes nothing
    const swapLast = byUuid.replace("'phy:/dev/vg0/web1-swap,xvda1,w',\n                  'phy:/dev/vg0/web1-disk,xvda2,w',", "'phy:/dev/vg0/web1-disk,xvda2,w',\n                  'phy:/dev/vg0/web1-swap,xvda1,w',");
    assert.notEqual(swapLast, byUuid);
    assert.deepEqual(rootOf(swapLast, filesystems), expected);
  });

  it('unread, matched by none or by several: the first LV is a guess, warned about with why', () => {
    const unread = rootOf(byUuid, {});
    assert.equal(unread.lv, 'web1-swap');
    assert.match(unread.warnings.join('\n'), new RegExp(`root=UUID=${ROOT_UUID} could not be looked up \\(blkid on the hypervisor reads the LVs and needs root: become: true\\): lv is a guess`));
    const none = rootOf(byLabel.replace('LABEL=web1-root', 'LABEL=other'), filesystems);
    assert.match(none.warnings.join('\n'), /root=LABEL=other is the filesystem of none of them \(blkid on the hypervisor\): lv is a guess/);
    const twins = { ...filesystems, '/dev/vg0/web1-swap': { UUID: ROOT_UUID, TYPE: 'ext4' } };
    assert.match(rootOf(byUuid, twins).warnings.join('\n'), /is the filesystem of 2 of them/);
  });
});

describe('xen_import: corpus guests with several disks (libvirt xlconfigdata, as they are)', () => {
  const cfg = (name: string): XenSource => ({ path: join(DIR, name), text: readFileSync(join(DIR, name), 'utf8'), origin: 'xl' });
  const HOME = { source: '/var/lib/libvirt/images/XenGuest2-home', xen: 'hdb', kvm: 'vdb' };
  const table: [string, DiskVars][] = [
    // hda LV + hdb qcow2 file + hdc cdrom (not listed); no root=, one LV: no warning
    ['test-new-disk.cfg', { vg: 'HostVG', lv: 'XenGuest2', extra_disks: [HOME] }],
    ['test-disk-positional-parms-full.cfg', { vg: 'HostVG', lv: 'XenGuest2', extra_disks: [HOME] }],
    ['test-disk-positional-parms-partial.cfg', { vg: 'HostVG', lv: 'XenGuest2', extra_disks: [HOME] }],
    ['test-vif-rate.cfg', { vg: 'HostVG', lv: 'XenGuest2', extra_disks: [HOME] }],
    ['test-fullvirt-direct-kernel-boot-extra.cfg', { vg: 'HostVG', lv: 'XenGuest2' }],
    ['test-rbd-multihost-noauth.cfg', { vg: 'HostVG', lv: 'XenGuest2', extra_disks: [{ source: 'rbd:pool/image', xen: 'hdb', kvm: 'vdb' }] }],
    // single-disk PV guests with root=/dev/xvda1 on the disk xvda: unchanged, no root_device
    ['test-paravirt-cmdline.cfg', { vg: 'HostVG', lv: 'XenGuest2' }],
    ['test-paravirt-cmdline-extra-root.cfg', { vg: 'HostVG', lv: 'XenGuest2' }],
  ];
  for (const [file, expected] of table) {
    it(file, () => {
      const d = buildXenImport([cfg(file)]);
      assert.deepEqual(d.warnings, []);
      const v = d.guests[0];
      assert.deepEqual({ vg: v.vg, lv: v.lv, root_device: v.root_device, extra_disks: v.extra_disks }, { root_device: undefined, extra_disks: undefined, ...expected });
    });
  }

  it('libvirt\'s XML of test-new-disk gives the same disks as its cfg', () => {
    const path = join(DIR, 'test-new-disk.xml');
    const v = guestToInventoryVars(parseDomainXml(readFileSync(path, 'utf8'), path));
    assert.deepEqual([v.vg, v.lv, v.extra_disks], ['HostVG', 'XenGuest2', [HOME]]);
  });
});
