import { strict as assert } from 'node:assert';
import { DRACUT_DROP_IN_NAME, dracutDropIn, editDracutConf } from '../../tasks/initramfs/dracut.js';
import { editInitramfsConf, editInitramfsModules } from '../../tasks/initramfs/initramfs-tools.js';
import { editMkinitcpio } from '../../tasks/initramfs/mkinitcpio.js';
import { assertEdit, corpus } from './guest-files-helpers.js';

const VIRTIO = ['virtio_blk', 'virtio_pci', 'virtio_net', 'virtio_scsi'];

describe('guest-files: initramfs-tools', () => {
  for (const f of ['initramfs-tools/debian-modules-template', 'initramfs-tools/devuan-aws-modules-ena-ixgbevf']) {
    it(`${f}: virtio drivers appended once, comments and existing modules kept`, () => {
      const r = assertEdit((t) => editInitramfsModules(t), corpus(f), { removed: [], added: VIRTIO });
      assert.ok(r.text.endsWith('\nvirtio_blk\nvirtio_pci\nvirtio_net\nvirtio_scsi\n'));
    });
  }

  it('removes Xen frontends in either spelling, keeps module arguments and present virtio', () => {
    const text = '# modules\nxen-blkfront\nxen_netfront\nxenfs\nvirtio_pci\nloop max_loop=64\nxen-kbdfront\nxen_fbfront\nxen-pcifront';
    const r = assertEdit((t) => editInitramfsModules(t), text, {
      removed: ['xen-blkfront', 'xen_netfront', 'xenfs', 'xen-kbdfront', 'xen_fbfront', 'xen-pcifront'],
      added: ['virtio_blk', 'virtio_net', 'virtio_scsi'],
    });
    assert.equal(r.text, '# modules\nvirtio_pci\nloop max_loop=64\nvirtio_blk\nvirtio_net\nvirtio_scsi\n');
    assert.equal(r.notes?.length, 6);
  });

  it('Qubes conf.d: MODULES=dep becomes most; the stock Debian/Ubuntu confs stay as they are', () => {
    assertEdit(editInitramfsConf, corpus('initramfs-tools/qubes-conf.d-qubes.conf'), { removed: ['MODULES=dep'], added: ['MODULES=most'] });
    for (const f of ['initramfs-tools/debian-0.142-initramfs.conf', 'initramfs-tools/ubuntu-0.99-initramfs.conf-compcache']) {
      const text = corpus(f);
      assert.deepEqual(editInitramfsConf(text), { text, changed: false });
    }
  });
});

describe('guest-files: initramfs-tools RESUME= (conf.d/resume) under its KVM name', () => {
  const XEN_TOOLS = { deviceMap: { xvda2: 'vda1', xvda1: 'vdb' } };
  const table: [string, string, { deviceMap?: Record<string, string> }, string | undefined][] = [
    ['xen-tools swap LV xvda1 becomes the whole disk vdb', 'RESUME=/dev/xvda1\n', XEN_TOOLS, 'RESUME=/dev/vdb\n'],
    ['quoted, the quotes kept', 'RESUME="/dev/xvda1"\n', XEN_TOOLS, 'RESUME="/dev/vdb"\n'],
    ['a whole-disk key maps a partition on it', 'RESUME=/dev/xvdb2\n', { deviceMap: { xvdb: 'vdc' } }, 'RESUME=/dev/vdc2\n'],
    ['without a map: the rule', 'RESUME=/dev/xvdb\n', {}, 'RESUME=/dev/vdb\n'],
    ['a name not in the map: the rule', 'RESUME=/dev/xvdc1\n', XEN_TOOLS, 'RESUME=/dev/vdc1\n'],
    ['renamed once: a mapped xvda1 -> vdb is not then vdb -> anything', 'RESUME=/dev/xvda1\n', { deviceMap: { xvda1: 'vdb', vdb: 'vdc' } }, 'RESUME=/dev/vdb\n'],
    ['UUID= stays (the swap LV keeps its UUID)', 'RESUME=UUID=1b2c3d4e-0000-4000-8000-00000000abcd\n', XEN_TOOLS, undefined],
    ['none and auto stay', 'RESUME=none\n', XEN_TOOLS, undefined],
    ['a commented line stays', '# RESUME=/dev/xvda1\n', XEN_TOOLS, undefined],
  ];
  for (const [what, text, names, want] of table) {
    it(what, () => {
      const r = editInitramfsConf(text, names);
      if (want === undefined) assert.deepEqual(r, { text, changed: false });
      else {
        assert.equal(r.text, want);
        assert.equal(r.changed, true);
        assert.match(r.notes?.join('\n') ?? '', /RESUME=.* changed to \/dev\/vd/);
      }
    });
  }
  it('MODULES=dep and RESUME= in one file: both edited', () => {
    assert.equal(editInitramfsConf('MODULES=dep\nRESUME=/dev/xvda1\n', XEN_TOOLS).text, 'MODULES=most\nRESUME=/dev/vdb\n');
  });
});

describe('guest-files: mkinitcpio.conf', () => {
  it('2024 array syntax: MODULES=() filled, HOOKS untouched', () => {
    assertEdit(editMkinitcpio, corpus('mkinitcpio/arch-stock-2024-array-syntax'), {
      removed: ['MODULES=()'],
      added: [`MODULES=(${VIRTIO.join(' ')})`],
    });
  });

  it('2013 string syntax stays string syntax', () => {
    assertEdit(editMkinitcpio, corpus('mkinitcpio/arch-stock-2013-string-syntax'), {
      removed: ['MODULES=""'],
      added: [`MODULES="${VIRTIO.join(' ')}"`],
    });
  });

  it('non-empty array keeps its module first', () => {
    assertEdit(editMkinitcpio, corpus('mkinitcpio/grapheneos-server-modules-ext4'), {
      removed: ['MODULES=(ext4)'],
      added: [`MODULES=(ext4 ${VIRTIO.join(' ')})`],
    });
  });

  it('drops Xen modules, keeps quoting of other items and a trailing comment, no duplicates', () => {
    const text = "MODULES=(xen-blkfront 'ext4' virtio_blk xen_netfront) # for the VPS\nHOOKS=(base udev)\n";
    assertEdit(editMkinitcpio, text, {
      removed: ["MODULES=(xen-blkfront 'ext4' virtio_blk xen_netfront) # for the VPS"],
      added: ["MODULES=('ext4' virtio_blk virtio_pci virtio_net virtio_scsi) # for the VPS"],
    });
  });

  it('a multi-line MODULES array is left alone with a note', () => {
    const text = 'MODULES=(\n  ext4\n)\n';
    const r = editMkinitcpio(text);
    assert.equal(r.text, text);
    assert.match(r.notes![0], /^line 1: MODULES value not understood/);
  });
});

describe('guest-files: dracut', () => {
  it('drop-in text', () => {
    assert.equal(DRACUT_DROP_IN_NAME, '90-ferry-kvm.conf');
    assert.equal(
      dracutDropIn(),
      '# Written by ferry: this guest now runs under KVM (virtio), no longer under Xen.\n' +
        'add_drivers+=" virtio_blk virtio_pci virtio_net virtio_scsi "\n' +
        'omit_drivers+=" xen_blkfront xen_netfront xen_scsifront xenfs xen_pcifront xen_kbdfront xen_fbfront "\n',
    );
    assert.ok(!dracutDropIn({ omitXen: false }).includes('omit_drivers'));
  });

  it('Qubes dracut.conf: xen-blkfront removed from the exclusive drivers= list', () => {
    const r = assertEdit(editDracutConf, corpus('dracut/qubes-dracut-qubes.conf'), {
      removed: ['drivers="xen-blkfront dm-mod dm-thin-pool dm-persistent-data ext4 overlay"'],
      added: ['drivers="dm-mod dm-thin-pool dm-persistent-data ext4 overlay"'],
    });
    assert.ok(r.notes!.some((n) => n.includes('drivers= is an exclusive list')));
  });

  it('gardenlinux AWS drop-in: the only driver was Xen, the += padding stays', () => {
    assertEdit(editDracutConf, corpus('dracut/gardenlinux-aws-90-xen-blkfront-driver.conf'), {
      removed: ['add_drivers+=" xen-blkfront "'],
      added: ['add_drivers+=" "'],
    });
  });

  for (const f of ['dracut/dracut-2013-sample-dracut.conf', 'dracut/dracut-suse.conf.example', 'dracut/gardenlinux-pxe-30-omit-cdc-ether.conf']) {
    it(`${f}: nothing to change (commented, or only omit_* lists)`, () => {
      const text = corpus(f);
      assert.deepEqual(editDracutConf(text), { text, changed: false });
    });
  }
});
