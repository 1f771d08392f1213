import { strict as assert } from 'node:assert';
import { grubModule } from '../../tasks/grub.js';
import { editDefaultGrub } from '../../tasks/grub/default-grub.js';
import { renameDevice } from '../../tasks/guest-files/device-names.js';
import { rewriteKernelCmdline } from '../../tasks/guest-files/kernel-cmdline.js';
import { editMenuLst } from '../../tasks/grub/menu-lst.js';
import { assertEdit, corpus, lineChanges } from './guest-files-helpers.js';

// A xen-tools guest: swap LV as xvda1, root LV as xvda2; under KVM the root is vda1, the swap LV the whole disk vdb.
const XEN_TOOLS_MAP = { xvda2: 'vda1', xvda1: 'vdb' };
// Only the device renaming, so each case reads as the devices it changes.
const DEVICES_ONLY = { serialConsole: false, netIfnames: false, dropXenOnly: false };

describe('guest-files: renameDevice', () => {
  it('the map first, else the rule; each path renamed once', () => {
    const map = { xvda2: 'vda1', xvda1: 'vdb', xvdb: 'vdc', xvdb2: 'vdd', xvdc: 'xvdb' };
    const table: [string, { renameSd?: boolean; deviceMap?: Record<string, string> }, string | undefined][] = [
      ['/dev/xvda2', { deviceMap: map }, '/dev/vda1'],
      ['/dev/xvda1', { deviceMap: map }, '/dev/vdb'],
      // a whole-disk key maps its partitions; an exact key wins over it
      ['/dev/xvdb1', { deviceMap: map }, '/dev/vdc1'],
      ['/dev/xvdb2', { deviceMap: map }, '/dev/vdd'],
      // not in the map: the rule
      ['/dev/xvdd1', { deviceMap: map }, '/dev/vdd1'],
      ['/dev/xvda2', {}, '/dev/vda2'],
      // a value naming another key is not followed
      ['/dev/xvdc', { deviceMap: map }, '/dev/xvdb'],
      // sd names: mapped without rename_sd, by the rule only with it
      ['/dev/sda2', { deviceMap: { sda2: 'vda1' } }, '/dev/vda1'],
      ['/dev/sdb1', { deviceMap: { sda2: 'vda1' } }, undefined],
      ['/dev/sdb1', { deviceMap: { sda2: 'vda1' }, renameSd: true }, '/dev/vdb1'],
      ['/dev/mapper/vg-root', { deviceMap: map }, undefined],
      ['UUID=0b3c7f1e', { deviceMap: map }, undefined],
    ];
    assert.deepEqual(
      table.map(([path, opts]) => renameDevice(path, opts)),
      table.map(([, , want]) => want),
    );
  });
});

describe('guest-files: kernel command line with a device map', () => {
  const cases: { name: string; map: Record<string, string>; before: string; after: string; again?: false }[] = [
    {
      name: 'xen-tools: root xvda2 -> vda1, resume xvda1 -> vdb (the rule alone would say vda2 and vda1)',
      map: XEN_TOOLS_MAP,
      before: 'root=/dev/xvda2 resume=/dev/xvda1 ro',
      after: 'root=/dev/vda1 resume=/dev/vdb ro',
    },
    {
      name: 'a whole-disk key maps a partition; a name not in the map follows the rule',
      map: { xvdb: 'vdc' },
      before: 'root=/dev/xvda1 resume=/dev/xvdb2 ro',
      after: 'root=/dev/vda1 resume=/dev/vdc2 ro',
    },
    {
      name: 'an exact key wins over the whole-disk key',
      map: { xvdb: 'vdc', xvdb2: 'vdd' },
      before: 'root=/dev/xvdb1 resume=/dev/xvdb2',
      after: 'root=/dev/vdc1 resume=/dev/vdd',
    },
    {
      name: 'renamed once: resume xvda1 -> xvdb is not taken on to vdc (nor through the rule)',
      map: { xvda1: 'xvdb', xvdb: 'vdc' },
      before: 'root=/dev/xvdb resume=/dev/xvda1',
      after: 'root=/dev/vdc resume=/dev/xvdb',
      again: false, // a second pass would map the xvdb it wrote: the map says what to do with Xen names only
    },
    {
      name: 'UUID= and device-mapper names are left alone',
      map: XEN_TOOLS_MAP,
      before: 'root=UUID=d3a8f783-df75-4dc8-9163-975a891052c0 resume=/dev/mapper/vg-swap',
      after: 'root=UUID=d3a8f783-df75-4dc8-9163-975a891052c0 resume=/dev/mapper/vg-swap',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = rewriteKernelCmdline(c.before, { ...DEVICES_ONLY, deviceMap: c.map });
      assert.equal(r.text, c.after);
      assert.equal(r.changed, c.before !== c.after);
      if (c.again !== false) assert.equal(rewriteKernelCmdline(r.text, { ...DEVICES_ONLY, deviceMap: c.map }).changed, false);
    });
  }

  it('with the defaults the map works alongside the console and interface-naming edits', () => {
    const r = rewriteKernelCmdline('root=/dev/xvda2 resume=/dev/xvda1 console=hvc0 ro', { deviceMap: XEN_TOOLS_MAP });
    assert.equal(r.text, 'root=/dev/vda1 resume=/dev/vdb console=tty0 console=ttyS0,115200 ro net.ifnames=0 biosdevname=0');
  });
});

// What xen-tools' Debian guests carry once grub-pc is installed in them: the stock file with root= and resume= set.
const XEN_TOOLS_DEFAULT_GRUB = [
  'GRUB_DEFAULT=0',
  'GRUB_TIMEOUT=5',
  'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`',
  'GRUB_CMDLINE_LINUX_DEFAULT="quiet"',
  'GRUB_CMDLINE_LINUX="root=/dev/xvda2 resume=/dev/xvda1"',
  'GRUB_DEVICE=/dev/xvda2',
  '',
].join('\n');

describe('guest-files: /etc/default/grub with a device map', () => {
  const cases: { name: string; text: string; map: Record<string, string>; removed: string[]; added: string[] }[] = [
    {
      name: 'xen-tools: root=, resume= and GRUB_DEVICE as the map says',
      text: XEN_TOOLS_DEFAULT_GRUB,
      map: XEN_TOOLS_MAP,
      removed: ['GRUB_CMDLINE_LINUX="root=/dev/xvda2 resume=/dev/xvda1"', 'GRUB_DEVICE=/dev/xvda2'],
      added: ['GRUB_CMDLINE_LINUX="root=/dev/vda1 resume=/dev/vdb"', 'GRUB_DEVICE=/dev/vda1'],
    },
    {
      name: 'a drop-in: a whole-disk key maps GRUB_DEVICE\'s partition, resume= not in the map follows the rule',
      text: 'GRUB_DEVICE="/dev/xvdb1"\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX resume=/dev/xvdd2"\n',
      map: { xvdb: 'vdc' },
      removed: ['GRUB_DEVICE="/dev/xvdb1"', 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX resume=/dev/xvdd2"'],
      added: ['GRUB_DEVICE="/dev/vdc1"', 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX resume=/dev/vdd2"'],
    },
    {
      name: 'Qubes drop-in: /dev/mapper/dmroot in GRUB_DEVICE and root= is no Xen disk name, the map leaves it',
      text: corpus('default-grub/qubes-grub.d-30-qubes-hvc0.cfg'),
      map: { xvda: 'vda', xvda3: 'vda1' },
      removed: [],
      added: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assertEdit((t) => editDefaultGrub(t, { ...DEVICES_ONLY, deviceMap: c.map, dropIn: true, ensure: false }), c.text, { removed: c.removed, added: c.added });
    });
  }

  it('renamed once: GRUB_DEVICE xvda1 -> xvdb is not taken on to vdc', () => {
    const r = editDefaultGrub('GRUB_DEVICE="/dev/xvda1"\n', { deviceMap: { xvda1: 'xvdb', xvdb: 'vdc' }, ensure: false });
    assert.equal(r.text, 'GRUB_DEVICE="/dev/xvdb"\n');
  });

  it('without a map the rule gives the xen-tools guest the wrong names (why grub takes device_map)', () => {
    const r = editDefaultGrub(XEN_TOOLS_DEFAULT_GRUB, { ...DEVICES_ONLY, ensure: false });
    assert.deepEqual(lineChanges(XEN_TOOLS_DEFAULT_GRUB, r.text).added, ['GRUB_CMDLINE_LINUX="root=/dev/vda2 resume=/dev/vda1"', 'GRUB_DEVICE=/dev/vda2']);
  });

  it('Devuan on EC2: GRUB_DEVICE=PARTUUID= is still reported with a map', () => {
    const r = editDefaultGrub(corpus('default-grub/devuan-aws-hvc0-ttyS0-partuuid'), { deviceMap: XEN_TOOLS_MAP });
    assert.ok(r.notes!.some((n) => n.startsWith('line 11: GRUB_DEVICE=PARTUUID=505e8893-01')));
  });
});

describe('guest-files: menu.lst with a device map', () => {
  it('the Linode menu.lst\'s root=/dev/xvda follows a whole-disk key on every kernel line', () => {
    const before = corpus('menu-lst/linode-arch-xen-pv-xvda-hvc0');
    const r = editMenuLst(before, { ...DEVICES_ONLY, deviceMap: { xvda: 'vdb' } });
    const changes = lineChanges(before, r.text);
    assert.equal(changes.added.length, 4);
    assert.deepEqual(
      changes.added.map((l) => l.replace(/^kernel \S+ /, '').split(' ')[0]),
      ['root=/dev/vdb', 'root=/dev/vdb', 'root=/dev/vdb', 'root=/dev/vdb'],
    );
    assert.deepEqual(changes.removed.map((l) => l.replace('root=/dev/xvda ', 'root=/dev/vdb ')), changes.added);
  });
});

describe('grub params: device_map', () => {
  it('is checked as the fstab module checks it, every problem at once', () => {
    const issues = (device_map: Record<string, string>) => {
      const r = grubModule.params.safeParse({ root: '/mnt/web1', disk: '/dev/vg1/web1-disk', device_map });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues(XEN_TOOLS_MAP), []);
    assert.deepEqual(issues({ xvda1: 'vdb', '/dev/xvda1': 'vdc', xvdb: '/dev/vdb', 'xvda-1': 'vdd' }), [
      'device_map./dev/xvda1: /dev/xvda1 is mapped twice (also as xvda1)',
      'device_map.xvdb: xvdb and xvda1 both map to vdb',
      'device_map.xvda-1: device "xvda-1" is not a device name like xvda2 or vdb (letters, then an optional partition number)',
    ]);
  });
});
