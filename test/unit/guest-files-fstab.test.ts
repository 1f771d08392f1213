import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fstabModule } from '../../tasks/fstab.js';
import { mapDevice } from '../../tasks/guest-files/device-names.js';
import { editFstab, parseFstab, type FstabMapped } from '../../tasks/guest-files/fstab.js';
import { XEN_ONLY_PREFIX } from '../../tasks/guest-files/text-lines.js';
import { assertEdit, corpus } from './guest-files-helpers.js';

describe('guest-files: fstab', () => {
  it('Qubes VM fstab (tabs and spaces mixed): xvd -> vd, swap kept, xenfs commented out', () => {
    const r = assertEdit((t) => editFstab(t), corpus('fstab/qubes-vm-misc-fstab-mixed-tabs'), {
      removed: [
        '/dev/xvdb\t\t/rw\t\t\tauto\tnoauto,defaults,discard,nosuid,nodev\t1 2',
        '/dev/xvdc1      swap                    swap    defaults        0 0',
        'xen                     /proc/xen               xenfs   defaults        0 0',
        '/dev/xvdi\t/mnt/removable\tauto noauto,user,rw 0 0',
      ],
      added: [
        '/dev/vdb\t\t/rw\t\t\tauto\tnoauto,defaults,discard,nosuid,nodev\t1 2',
        // One more space keeps the mount-point column where it was.
        '/dev/vdc1       swap                    swap    defaults        0 0',
        `${XEN_ONLY_PREFIX}xen                     /proc/xen               xenfs   defaults        0 0`,
        '/dev/vdi\t/mnt/removable\tauto noauto,user,rw 0 0',
      ],
    });
    assert.deepEqual(r.notes, ['line 13: xenfs on /proc/xen commented out (it exists only under Xen)']);
    const swap = parseFstab(r.text).entries.find((e) => e.vfstype === 'swap');
    assert.deepEqual(swap, { line: 8, spec: '/dev/vdc1', file: 'swap', vfstype: 'swap', opts: 'defaults', freq: '0', passno: '0' });
  });

  it('OpenXT NDVM fstab: swap on xvda2 renamed, trailing spaces and blank lines kept', () => {
    const before = corpus('fstab/openxt-ndvm-xvda2-swap-trailing-ws');
    const r = assertEdit((t) => editFstab(t), before, {
      removed: [
        'xenfs\t\t/proc/xen\t\t\t\txenfs  defaults\t\t\t\t\t\t\t\t0  0',
        '/dev/xvda2      none                                    swap   sw\t\t\t\t\t\t\t\t0  0',
      ],
      added: [
        `${XEN_ONLY_PREFIX}xenfs\t\t/proc/xen\t\t\t\txenfs  defaults\t\t\t\t\t\t\t\t0  0`,
        '/dev/vda2       none                                    swap   sw\t\t\t\t\t\t\t\t0  0',
      ],
    });
    assert.ok(r.text.includes('size=1M   0  0  \n'), 'the line with trailing spaces is untouched');
  });

  it('older Qubes AppVM fstab: whole-disk xvdb/g/h/i renamed, mapper devices left alone', () => {
    const r = assertEdit((t) => editFstab(t), corpus('fstab/qubes-appvm-2010-anaconda-header'), {
      removed: [
        '/dev/xvdb\t\t/rw\t\t\text4\tnoauto,defaults\t0 0',
        '/dev/xvdg\t/mnt/outgoing\tvfat noauto,user,rw 0 0',
        '/dev/xvdh\t/mnt/incoming\tvfat noauto,user,rw 0 0',
        '/dev/xvdi\t/mnt/removable\tauto noauto,user,rw 0 0',
      ],
      added: [
        '/dev/vdb\t\t/rw\t\t\text4\tnoauto,defaults\t0 0',
        '/dev/vdg\t/mnt/outgoing\tvfat noauto,user,rw 0 0',
        '/dev/vdh\t/mnt/incoming\tvfat noauto,user,rw 0 0',
        '/dev/vdi\t/mnt/removable\tauto noauto,user,rw 0 0',
      ],
    });
    assert.ok(r.text.startsWith('\n#\n# /etc/fstab\n'), 'leading blank line and header kept');
    assert.equal(r.notes, undefined);
  });

  it('libmount fixture: UUID entries unchanged but reported, 4-field lines parsed', () => {
    const text = corpus('fstab/util-linux-libmount-uuid-comments');
    const r = assertEdit((t) => editFstab(t), text, { removed: [], added: [] });
    assert.deepEqual(
      r.references.map((x) => [x.line, x.kind, x.file]),
      [
        [6, 'UUID', '/'],
        [7, 'UUID', '/boot'],
        [11, 'UUID', 'swap'],
      ],
    );
    const { entries, problems } = parseFstab(text, 'fstab.comment');
    assert.deepEqual(problems, []);
    assert.equal(entries.length, 11);
    const nfs = entries.find((e) => e.vfstype === 'nfs')!;
    assert.deepEqual(nfs, { line: 18, spec: 'foo.com:/mnt/share', file: '/mnt/remote', vfstype: 'nfs', opts: 'noauto' });
    assert.equal(entries.find((e) => e.file === '/any/foo/')?.line, 20);
  });

  it('rewrites a given UUID (mkfs + rsync route) and reports the new one', () => {
    const text = corpus('fstab/util-linux-libmount-uuid-comments');
    const uuidMap = { 'D3A8F783-DF75-4DC8-9163-975A891052C0': '0b7c5e1e-1111-2222-3333-444455556666' };
    const r = assertEdit((t) => editFstab(t, { uuidMap }), text, {
      removed: ['UUID=d3a8f783-df75-4dc8-9163-975a891052c0 /     ext3    noatime,defaults 1 1'],
      added: ['UUID=0b7c5e1e-1111-2222-3333-444455556666 /     ext3    noatime,defaults 1 1'],
    });
    assert.deepEqual(r.references[0], { line: 6, kind: 'UUID', value: '0b7c5e1e-1111-2222-3333-444455556666', file: '/' });
  });

  it('renames /dev/sdXN only when asked', () => {
    const text = '/dev/sda1 / ext4 defaults 1 1\n/dev/sdb swap swap sw 0 0';
    assert.equal(editFstab(text).changed, false);
    const r = editFstab(text, { renameSd: true });
    assert.equal(r.text, '/dev/vda1 / ext4 defaults 1 1\n/dev/vdb swap swap sw 0 0', 'no final newline added');
  });

  it('reports a one-field line with file:line', () => {
    const { problems } = parseFstab('/dev/xvda1 / ext4 defaults 0 1\n/dev/xvda2\n', '/etc/fstab');
    assert.deepEqual(problems.map((p) => p.loc), [{ file: '/etc/fstab', line: 2 }]);
  });
});

// No fstab in the corpora comes from xen-tools; this one is written as xen-tools writes it (swap LV
// on xvda1, root LV on xvda2): two LVs that become two KVM disks, root on vda1 of the
// re-partitioned root LV and swap the whole vdb, which no name rule can tell.
const XEN_TOOLS_FSTAB = readFileSync(new URL('../fixtures/guest-files/fstab-xen-tools', import.meta.url), 'utf8');
const XEN_TOOLS_MAP = { xvda2: 'vda1', xvda1: 'vdb' };
// What XEN_TOOLS_MAP does to it (one more space keeps each next column where it was).
const XEN_TOOLS_EDIT = {
  removed: ['/dev/xvda2 / ext4 noatime,nodiratime,errors=remount-ro 0 1', '/dev/xvda1 none swap sw 0 0'],
  added: ['/dev/vda1  / ext4 noatime,nodiratime,errors=remount-ro 0 1', '/dev/vdb   none swap sw 0 0'],
  mapped: [
    [5, '/dev/xvda2', '/dev/vda1'],
    [6, '/dev/xvda1', '/dev/vdb'],
  ] as [number, string, string][],
};

describe('guest-files: fstab device_map', () => {
  const cases: { name: string; text: string; map: Record<string, string>; removed: string[]; added: string[]; mapped: [number, string, string][]; notes?: string[] }[] = [
    {
      name: 'xen-tools fstab: root xvda2 -> vda1, swap xvda1 -> vdb (each once: vdb is not renamed again)',
      text: XEN_TOOLS_FSTAB,
      map: XEN_TOOLS_MAP,
      ...XEN_TOOLS_EDIT,
    },
    {
      name: 'keys and values may carry /dev/',
      text: XEN_TOOLS_FSTAB,
      map: { '/dev/xvda2': '/dev/vda1', xvda1: '/dev/vdb' },
      ...XEN_TOOLS_EDIT,
    },
    {
      name: 'a whole-disk key maps its partitions; an exact key wins over it; a device not in the map follows the rule',
      text: '/dev/xvda2\t/\text4\tdefaults\t0 1\n/dev/xvdb1\t/srv\text4\tdefaults\t0 2\n/dev/xvdb2\t/var\text4\tdefaults\t0 2\n/dev/xvdb\t/mnt/b\tauto\tnoauto\t0 0\n/dev/xvdd1\t/tmp\text4\tdefaults\t0 2\n',
      map: { xvda2: 'vda1', xvdb: 'vdc', xvdb2: 'vdd' },
      removed: ['/dev/xvda2\t/\text4\tdefaults\t0 1', '/dev/xvdb1\t/srv\text4\tdefaults\t0 2', '/dev/xvdb2\t/var\text4\tdefaults\t0 2', '/dev/xvdb\t/mnt/b\tauto\tnoauto\t0 0', '/dev/xvdd1\t/tmp\text4\tdefaults\t0 2'],
      added: ['/dev/vda1\t/\text4\tdefaults\t0 1', '/dev/vdc1\t/srv\text4\tdefaults\t0 2', '/dev/vdd\t/var\text4\tdefaults\t0 2', '/dev/vdc\t/mnt/b\tauto\tnoauto\t0 0', '/dev/vdd1\t/tmp\text4\tdefaults\t0 2'],
      mapped: [
        [1, '/dev/xvda2', '/dev/vda1'],
        [2, '/dev/xvdb1', '/dev/vdc1'],
        [3, '/dev/xvdb2', '/dev/vdd'],
        [4, '/dev/xvdb', '/dev/vdc'],
      ],
    },
    {
      name: 'sd names are mapped without rename_sd; UUID= entries and other devices are left alone',
      text: '/dev/sda2 / ext3 defaults,errors=remount-ro 0 1\n/dev/sda1 none swap sw 0 0\nUUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11 /srv ext4 defaults 0 2\n/dev/sdc1 /mnt auto noauto 0 0\n',
      map: { sda2: 'vda1', sda1: 'vdb' },
      removed: ['/dev/sda2 / ext3 defaults,errors=remount-ro 0 1', '/dev/sda1 none swap sw 0 0'],
      added: ['/dev/vda1 / ext3 defaults,errors=remount-ro 0 1', '/dev/vdb  none swap sw 0 0'],
      mapped: [
        [1, '/dev/sda2', '/dev/vda1'],
        [2, '/dev/sda1', '/dev/vdb'],
      ],
      notes: ['line 3: /srv is mounted by UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11; check the converted disk has it'],
    },
    {
      name: 'two devices that would become one are noted (the map\'s xvdb and the rule\'s xvdc both give vdc)',
      text: '/dev/xvdb /srv ext4 defaults 0 2\n/dev/xvdc /var ext4 defaults 0 2\n',
      map: { xvdb: 'vdc' },
      removed: ['/dev/xvdb /srv ext4 defaults 0 2', '/dev/xvdc /var ext4 defaults 0 2'],
      added: ['/dev/vdc  /srv ext4 defaults 0 2', '/dev/vdc  /var ext4 defaults 0 2'],
      mapped: [[1, '/dev/xvdb', '/dev/vdc']],
      notes: ['line 2: /dev/xvdc becomes /dev/vdc, as /dev/xvdb on line 1 does; check device_map'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = assertEdit((t) => editFstab(t, { deviceMap: c.map }), c.text, { removed: c.removed, added: c.added });
      assert.deepEqual(r.mapped, c.mapped.map(([line, from, to]): FstabMapped => ({ line, from, to })));
      assert.deepEqual(r.notes, c.notes);
    });
  }

  it('without a map the rule gives the xen-tools guest the wrong names (why device_map exists)', () => {
    const r = editFstab(XEN_TOOLS_FSTAB);
    assert.ok(r.text.includes('/dev/vda2  / ext4') && r.text.includes('/dev/vda1  none swap'));
    assert.deepEqual(r.mapped, []);
  });

  it('a value naming another key is not followed: each entry is mapped exactly once', () => {
    const r = editFstab('/dev/xvda1 none swap sw 0 0\n/dev/xvdb /srv ext4 defaults 0 2\n', { deviceMap: { xvda1: 'xvdb', xvdb: 'vdc' } });
    assert.equal(r.text, '/dev/xvdb  none swap sw 0 0\n/dev/vdc  /srv ext4 defaults 0 2\n');
  });

  it('mapDevice', () => {
    const map = { xvda2: 'vda1', xvda1: 'vdb', xvdb: 'vdc', xvde: 'vdf1' };
    const table: [string, string | undefined][] = [
      ['/dev/xvda2', '/dev/vda1'],
      ['/dev/xvda1', '/dev/vdb'],
      ['/dev/xvda', undefined],
      ['/dev/xvdb', '/dev/vdc'],
      ['/dev/xvdb12', '/dev/vdc12'],
      // a disk mapped to a partition: its partitions have no name there
      ['/dev/xvde1', undefined],
      ['/dev/xvdbb1', undefined],
      ['/dev/mapper/vg-root', undefined],
      ['UUID=0b3c7f1e', undefined],
    ];
    assert.deepEqual(table.map(([d]) => mapDevice(d, map)), table.map(([, e]) => e));
  });

  it('params: device_map is checked before any host is contacted, every problem at once', () => {
    const issues = (device_map: Record<string, string>) => {
      const r = fstabModule.params.safeParse({ path: '/etc/fstab', device_map });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({ xvda2: 'vda1', xvda1: 'vdb', xvdb: 'vdc' }), []);
    assert.deepEqual(issues({ xvda1: 'vdb', '/dev/xvda1': 'vdc' }), ['device_map./dev/xvda1: /dev/xvda1 is mapped twice (also as xvda1)']);
    assert.deepEqual(issues({ xvda1: 'vdb', xvdb: '/dev/vdb' }), ['device_map.xvdb: xvdb and xvda1 both map to vdb']);
    // JavaScript lists an integer-like key ('1') first.
    assert.deepEqual(issues({ 'xvda-1': 'vdb', xvdb: 'VDC', '1': 'vdd' }), [
      'device_map.1: device "1" is not a device name like xvda2 or vdb (letters, then an optional partition number)',
      'device_map.xvda-1: device "xvda-1" is not a device name like xvda2 or vdb (letters, then an optional partition number)',
      'device_map.xvdb: target "VDC" is not a device name like xvda2 or vdb (letters, then an optional partition number)',
    ]);
  });
});
