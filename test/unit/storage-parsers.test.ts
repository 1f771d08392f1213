// Table-driven tests of the storage parsers against real tool output saved in test/fixtures/storage.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dataSignatures, interpretBlkidProbe, parseBlkidExport, parseWipefs } from '../../tasks/storage/blkid.js';
import { ddCopiedBytes, parseDdChunk, parseDdProgress } from '../../tasks/copy/dd-progress.js';
import { interpretE2fsckExit, parseDumpe2fsHeader } from '../../tasks/storage/e2fsck.js';
import { parseLosetupList } from '../../tasks/storage/losetup.js';
import { parseLvs, parsePvs, parseVgs } from '../../runner/facts/lvm.js';
import { dmName, kpartxPartitionName, splitDmName } from '../../tasks/storage/lvs.js';
import { findMount, missingOptions, mountsUnder, parseMountinfo, unescapeOctal } from '../../tasks/storage/mountinfo.js';
import { recordSplitter } from '../../tasks/storage/records.js';
import { isRealChange, parseItemizeChanges, parseProgress2, parseProgress2Chunk } from '../../tasks/copy/rsync-itemize.js';
import { isNoPartitionTable, parseSfdiskJson } from '../../tasks/storage/sfdisk.js';

const fx = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/storage/${name}`, import.meta.url)), 'utf8');

describe('storage parsers', () => {
  describe('sfdisk --json', () => {
    it('parses a dos table with a bootable partition', () => {
      const t = parseSfdiskJson(fx('sfdisk-msdos.json'));
      assert.equal(t.label, 'dos');
      assert.equal(t.id, '0x52688b52');
      assert.equal(t.sectorSize, 512);
      assert.deepEqual(t.partitions, [
        { node: '/dev/loop0p1', start: 2048, size: 65536, type: '83', bootable: true },
        { node: '/dev/loop0p2', start: 67584, size: 63488, type: '83', bootable: false },
      ]);
    });
    it('parses the table written on an LV in the lab (sfdisk names its partition as if the kernel had scanned it)', () => {
      const t = parseSfdiskJson(fx('sfdisk-lv-msdos.json'));
      assert.equal(t.device, '/dev/vg1/xr1-disk');
      assert.deepEqual(t.partitions, [{ node: '/dev/vg1/xr1-disk1', start: 2048, size: 1169408, type: '83', bootable: true }]);
      // sfdisk's own re-read fails on device-mapper and it still exits 0: the kernel never shows the partition.
      assert.match(fx('sfdisk-apply-lv.stderr'), /Re-reading the partition table failed\.: Invalid argument/);
      assert.match(fx('sfdisk-apply-lv.stdout'), /The kernel still uses the old table/);
    });
    it('parses a gpt table (types upper-cased GUIDs)', () => {
      const t = parseSfdiskJson(fx('sfdisk-gpt.json'));
      assert.equal(t.label, 'gpt');
      assert.equal(t.partitions.length, 2);
      assert.deepEqual(t.partitions[1], { node: 'g.img2', start: 18432, size: 110592, type: '0FC63DAF-8483-4772-8E79-3D69E47D7DE4', bootable: false });
    });
    it('recognises the "no partition table" failure of an empty device', () => {
      assert.equal(fx('sfdisk-empty.stdout'), '');
      assert.equal(isNoPartitionTable(fx('sfdisk-empty.stderr')), true);
      assert.equal(isNoPartitionTable('sfdisk: cannot open /dev/sdz: No such file or directory'), false);
    });
    it('rejects output that is not a table', () => {
      assert.throws(() => parseSfdiskJson('nope'), /not JSON/);
      assert.throws(() => parseSfdiskJson('{}'), /no "partitiontable"/);
    });
  });

  describe('blkid and wipefs', () => {
    const cases: { file: string; exit: number; want: Record<string, string | undefined> }[] = [
      { file: 'blkid-p-ext4.txt', exit: 0, want: { type: 'ext4', uuid: '0b4f2f8e-7c1a-4d0e-9d8a-3f2e1c0b9a87', label: 'root-fs', ptType: undefined } },
      { file: 'blkid-p-dos-table.txt', exit: 0, want: { type: undefined, uuid: undefined, label: undefined, ptType: 'dos' } },
      { file: 'blkid-p-gpt.txt', exit: 0, want: { type: undefined, ptType: 'gpt' } },
      { file: 'blkid-p-empty.txt', exit: 0, want: { type: undefined, ptType: undefined } },
    ];
    for (const c of cases) {
      it(`interprets ${c.file}`, () => {
        const sig = interpretBlkidProbe(c.exit, fx(c.file), '', '/dev/x');
        for (const [k, v] of Object.entries(c.want)) assert.equal(sig[k as keyof typeof sig], v, k);
      });
    }
    it('exit 2 (nothing found) is an empty signature, other failures throw', () => {
      assert.deepEqual(interpretBlkidProbe(2, '', '', '/dev/x'), {});
      assert.throws(() => interpretBlkidProbe(4, '', 'blkid: error: /dev/x: No such file', '/dev/x'), /No such file/);
    });
    it('keeps partition entry keys of a partition', () => {
      assert.equal(parseBlkidExport(fx('blkid-p-ext4.txt')).PART_ENTRY_FLAGS, '0x80');
    });
    const wipefsCases: { file: string; all: { type: string; offset: number }[]; data: string[] }[] = [
      { file: 'wipefs-ext4.txt', all: [{ type: 'ext4', offset: 0x438 }], data: ['ext4'] },
      { file: 'wipefs-dos-table.txt', all: [{ type: 'dos', offset: 0x1fe }], data: [] },
      { file: 'wipefs-gpt.txt', all: [{ type: 'gpt', offset: 0x200 }, { type: 'gpt', offset: 0x3fffe00 }, { type: 'PMBR', offset: 0x1fe }], data: [] },
    ];
    for (const c of wipefsCases) {
      it(`parses ${c.file}`, () => {
        const sigs = parseWipefs(fx(c.file));
        assert.deepEqual(sigs, c.all);
        assert.deepEqual(dataSignatures(sigs).map((s) => s.type), c.data);
      });
    }
  });

  describe('mountinfo', () => {
    const mounts = parseMountinfo(fx('mountinfo.txt'));
    it('decodes octal escapes in mount points', () => {
      assert.equal(unescapeOctal('a\\040b\\011c\\134d'), 'a b\tc\\d');
      const m = findMount(mounts, '/tmp/stg/mnt with space/');
      assert.ok(m);
      assert.equal(m.fstype, 'tmpfs');
      assert.deepEqual(m.superOptions, ['rw', 'size=1024k']);
    });
    it('reads source, root and options of a bind mount', () => {
      const m = findMount(mounts, '/tmp/stg/bindtgt');
      assert.ok(m);
      assert.equal(m.source, '/dev/loop0p1');
      assert.equal(m.majorMinor, '259:0');
      assert.equal(m.root, '/');
      assert.deepEqual(m.options, ['rw', 'relatime']);
    });
    it('lists mounts below a path deepest first', () => {
      assert.deepEqual(mountsUnder(mounts, '/dev').map((m) => m.mountPoint), ['/dev/shm', '/dev/pts', '/dev/pts', '/dev/shm', '/dev']);
      assert.equal(findMount(mounts, '/nowhere'), undefined);
    });
    it('says which options are missing', () => {
      const m = findMount(mounts, '/tmp/stg/bindsrc')!;
      assert.deepEqual(missingOptions(m, ['rw', 'defaults']), []);
      assert.deepEqual(missingOptions(m, ['ro', 'noatime']), ['ro', 'noatime']);
    });
    it('rejects a line without the separator', () => {
      assert.throws(() => parseMountinfo('1 2 3:4 / /x rw shared:1'), /not understood/);
    });
  });

  describe('rsync', () => {
    it('parses an initial itemized dry run, with links', () => {
      const items = parseItemizeChanges(fx('rsync-itemize-initial.txt'));
      assert.equal(items.length, 7);
      assert.deepEqual(items[1], { update: 'h', fileType: 'f', attrs: '+++++++++', path: 'a.txt', target: 'hard' });
      assert.deepEqual(items[2], { update: 'c', fileType: 'L', attrs: '+++++++++', path: 'link', target: 'a.txt' });
      assert.equal(items[3]!.path, 'dir with space/');
      assert.ok(items.every(isRealChange));
    });
    it('finds no change in an up-to-date dry run', () => {
      assert.deepEqual(parseItemizeChanges(fx('rsync-itemize-nochange.txt')), []);
    });
    it('parses deletions and attribute-only changes', () => {
      const items = parseItemizeChanges(fx('rsync-itemize-update.txt'));
      assert.deepEqual(
        items.map((i) => [i.update, i.attrs, i.path]),
        [
          ['*', 'deleting', 'extra'],
          ['.', '..t......', './'],
          ['*', 'deleting', 'dir with space/f'],
          ['>', '.st......', 'a.txt'],
          ['h', '.st......', 'hard'],
          ['.', '..t......', 'dir with space/'],
          ['.', '...p.....', 'sub/big.bin'],
        ],
      );
      assert.equal(isRealChange({ update: '.', fileType: 'f', attrs: '         ', path: 'x' }), false);
    });
    it('parses progress2 samples (binary rate units, xfr counters)', () => {
      const samples = parseProgress2Chunk(fx('rsync-progress2-slow.txt'));
      assert.equal(samples.length, 5);
      assert.deepEqual(samples[1], { bytes: 2097152, percent: 34, bytesPerSec: Math.round(1.95 * 1024 ** 2), etaSec: 1 });
      assert.deepEqual(samples[4], { bytes: 6000000, percent: 100, bytesPerSec: Math.round(1.95 * 1024 ** 2), etaSec: 2, transferred: 1, toCheck: 0, total: 2 });
      assert.equal(parseProgress2Chunk(fx('rsync-progress2.txt')).at(-1)!.bytes, 300008);
      assert.equal(parseProgress2('sending incremental file list'), null);
    });
  });

  describe('dd status=progress', () => {
    it('parses progress samples and the summary (SI rate units)', () => {
      const s = parseDdChunk(fx('dd-status-progress.txt'));
      assert.deepEqual(s[0], { bytes: 4194304, seconds: 1, bytesPerSec: 3_900_000 });
      assert.deepEqual(s.at(-1), { bytes: 12582912, seconds: 3.90167, bytesPerSec: 3_200_000 });
      assert.equal(ddCopiedBytes(fx('dd-status-progress.txt')), 12582912);
      assert.equal(ddCopiedBytes(fx('dd-status-progress-short.txt')), 4997120);
      assert.equal(ddCopiedBytes('dd: failed to open /dev/nope: No such file or directory\n'), null);
      assert.equal(parseDdProgress('1220+0 records in'), null);
    });
    it('assembles records split across chunks', () => {
      const got: string[] = [];
      const feed = recordSplitter((r) => got.push(r));
      const text = fx('dd-status-progress.txt');
      for (let i = 0; i < text.length; i += 7) feed(text.slice(i, i + 7));
      assert.deepEqual(got.map(parseDdProgress).filter(Boolean).length, 4);
    });
  });

  describe('e2fsck and dumpe2fs', () => {
    const cases: [number | null, boolean, boolean, boolean, RegExp][] = [
      [0, true, false, false, /no errors/],
      [1, true, true, false, /corrected/],
      [2, true, true, true, /reboot/],
      [3, true, true, true, /reboot/],
      [4, false, false, false, /uncorrected/],
      [8, false, false, false, /operational error/],
      [12, false, false, false, /uncorrected; operational/],
      [16, false, false, false, /usage/],
      [32, false, false, false, /cancelled/],
      [128, false, false, false, /shared library/],
      [null, false, false, false, /killed/],
    ];
    for (const [code, ok, changed, reboot, meaning] of cases) {
      it(`exit ${code}`, () => {
        const o = interpretE2fsckExit(code);
        assert.deepEqual([o.ok, o.changed, o.reboot], [ok, changed, reboot]);
        assert.match(o.meaning, meaning);
      });
    }
    it('fixtures: clean run exits 0, a fixed run says it modified the filesystem', () => {
      assert.match(fx('e2fsck-clean.txt'), /Pass 5/);
      assert.match(fx('e2fsck-fixed.txt'), /FILE SYSTEM WAS MODIFIED/);
      assert.match(fx('e2fsck-missing.txt'), /No such file/);
    });
    it('parses dumpe2fs -h', () => {
      const h = parseDumpe2fsHeader(fx('dumpe2fs-h-ext4.txt'));
      assert.deepEqual(
        [h.blockCount, h.blockSize, h.sizeBytes, h.uuid, h.state, h.volumeName],
        [32768, 1024, 32768 * 1024, '0b4f2f8e-7c1a-4d0e-9d8a-3f2e1c0b9a87', 'clean', 'root-fs'],
      );
      assert.throws(() => parseDumpe2fsHeader('dumpe2fs: Bad magic number'), /Block count/);
    });
  });

  describe('losetup and LVM reports', () => {
    it('parses losetup -j', () => {
      assert.deepEqual(parseLosetupList(fx('losetup-j.txt')), [{ device: '/dev/loop0', backingFile: '/tmp/stg/a.img' }]);
      assert.deepEqual(parseLosetupList(''), []);
    });
    // Real lvm2 2.03.16 reports captured in the lab VM (test/fixtures/storage/SOURCE.md).
    it('parses the pristine lab: vg0 empty, vg1 holding the guest disk', () => {
      assert.deepEqual(parseLvs(fx('lvs-pristine.json')), [
        { name: 'xr1-disk', vg: 'vg1', sizeBytes: 599785472, path: '/dev/vg1/xr1-disk', attr: '-wi-a-----', active: true, open: false, origin: '' },
      ]);
      assert.deepEqual(parseVgs(fx('vgs-pristine.json')), [
        { name: 'vg0', sizeBytes: 4290772992, freeBytes: 4290772992, extentSizeBytes: 4194304, lvCount: 0, pvCount: 1, uuid: '', attr: '' },
        { name: 'vg1', sizeBytes: 4290772992, freeBytes: 3690987520, extentSizeBytes: 4194304, lvCount: 1, pvCount: 1, uuid: '', attr: '' },
      ]);
      assert.deepEqual(parsePvs(fx('pvs-pristine.json')), [
        { name: '/dev/vdb', vg: 'vg0', sizeBytes: 4290772992 },
        { name: '/dev/vdc', vg: 'vg1', sizeBytes: 4290772992 },
      ]);
    });
    it('parses the state after the rename, and with a snapshot (origin and attributes)', () => {
      assert.deepEqual(parseLvs(fx('lvs-renamed.json')).map((l) => [l.name, l.path]), [['xr1-disk-old', '/dev/vg1/xr1-disk-old']]);
      const lvs = parseLvs(fx('lvs-snapshot.json'));
      assert.deepEqual(lvs.map((l) => [l.name, l.sizeBytes, l.attr, l.origin]), [
        ['xr1-disk', 599785472, '-wi-a-----', ''],
        ['xr1-disk-ferry-snap', 125829120, 'swi-a-s---', 'xr1-disk-old'],
        ['xr1-disk-old', 599785472, 'owi-a-s---', ''],
      ]);
      assert.deepEqual(parseVgs(fx('vgs-snapshot.json'))[1], { name: 'vg1', sizeBytes: 4290772992, freeBytes: 2965372928, extentSizeBytes: 4194304, lvCount: 3, pvCount: 1, uuid: '', attr: '' });
    });
    it('a missing VG: vgs exits 5 with an empty report and says so on stderr', () => {
      assert.deepEqual(parseVgs(fx('vgs-missing.stdout')), []);
      assert.match(fx('vgs-missing.stderr'), /Volume group "vg9" not found/);
    });
    it('refuses reports without --units b --nosuffix, and non-JSON output', () => {
      assert.throws(() => parseLvs('{"report":[{"lv":[{"lv_name":"a","lv_size":"10.00g"}]}]}'), /--units b --nosuffix/);
      assert.throws(() => parseLvs('  LV VG Attr'), /not JSON/);
    });
    const names: [string, string, string][] = [
      ['vg1', 'xr1-disk', 'vg1-xr1--disk'],
      ['vg-data', 'root', 'vg--data-root'],
      ['vg1', 'a--b', 'vg1-a----b'],
    ];
    for (const [vg, lv, dm] of names) {
      it(`device-mapper name of ${vg}/${lv} is ${dm}`, () => {
        assert.equal(dmName(vg, lv), dm);
        assert.deepEqual(splitDmName(dm), { vg, lv });
      });
    }
    it('kpartx partition names', () => {
      assert.equal(kpartxPartitionName('vg1-xr1--disk', 1), 'vg1-xr1--disk1');
      assert.equal(kpartxPartitionName('vg1-disk0', 2), 'vg1-disk0p2');
    });
    it('the name kpartx really gave the partition of vg1/xr1-disk (kpartx -l / -a -v / -d -v in the lab)', () => {
      const name = kpartxPartitionName(dmName('vg1', 'xr1-disk'), 1);
      // "NAME : start size device offset" and "add map NAME (maj:min): 0 size linear maj:min offset"
      assert.equal(/^(\S+) : 0 (\d+) \/dev\/vg1\/xr1-disk 2048$/m.exec(fx('kpartx-l.txt'))?.[1], name);
      assert.equal(/^add map (\S+) \(\d+:\d+\): 0 1169408 linear/m.exec(fx('kpartx-a-v.txt'))?.[1], name);
      assert.equal(/^del devmap : (\S+)$/m.exec(fx('kpartx-d-v.txt'))?.[1], name);
    });
  });
});
