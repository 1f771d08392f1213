import { strict as assert } from 'node:assert';
import { editFstab, parseFstab } from '../../tasks/guest-files/fstab.js';
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
