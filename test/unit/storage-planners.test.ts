// Table-driven tests of the storage planners: params + facts → steps (or no change with its reason).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ddGeometry } from '../../tasks/blockcopy.js';
import { decideLvm, type LvmParams } from '../../tasks/storage/lvm-plan.js';
import { parseLvs, parseVgs } from '../../runner/facts/lvm.js';
import {
  compareTable,
  parseSfdiskJson,
  partitionPath,
  planPartitionLayout,
  renderSfdiskScript,
  resolveType,
  type PartitionRequest,
} from '../../tasks/storage/sfdisk.js';
import { largestPow2Divisor, parseBytes, parseSizeSpec } from '../../tasks/storage/sizes.js';
import { humanBytes } from '../../runner/reporter/format.js';

const fx = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/storage/${name}`, import.meta.url)), 'utf8');
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('storage planners', () => {
  describe('sizes', () => {
    const ok: [string | number, number][] = [
      [4096, 4096],
      ['4096', 4096],
      ['2048s', 2048 * 512],
      ['512M', 512 * MiB],
      ['512MiB', 512 * MiB],
      ['10G', 10 * GiB],
      ['10g', 10 * GiB],
      ['1.5G', 1.5 * GiB],
      ['1T', 1024 * GiB],
      ['64K', 65536],
    ];
    for (const [inp, want] of ok) it(`parseBytes(${JSON.stringify(inp)}) = ${want}`, () => assert.equal(parseBytes(inp), want));
    for (const bad of ['ten', '10X', '-1', '', '5%FREE']) {
      it(`parseBytes(${JSON.stringify(bad)}) throws with a hint`, () => assert.throws(() => parseBytes(bad), /not understood/));
    }
    it('parses LVM shares', () => {
      assert.deepEqual(parseSizeSpec('100%FREE'), { kind: 'percent', percent: 100, of: 'FREE' });
      assert.deepEqual(parseSizeSpec('50%vg'), { kind: 'percent', percent: 50, of: 'VG' });
      assert.deepEqual(parseSizeSpec('20%ORIGIN'), { kind: 'percent', percent: 20, of: 'ORIGIN' });
      assert.deepEqual(parseSizeSpec('1G'), { kind: 'bytes', bytes: GiB });
      assert.throws(() => parseSizeSpec('150%FREE'), /\(0, 100\]/);
    });
    it('formats and picks dd block sizes', () => {
      assert.equal(humanBytes(10 * GiB), '10 GiB');
      assert.equal(humanBytes(1536 * 1024), '1.5 MiB');
      // The one byte formatter (planners, progress, the migration recap): a decimal only where it says something.
      assert.equal(humanBytes(512), '512 B');
      assert.equal(humanBytes(5 * MiB), '5 MiB');
      assert.equal(humanBytes(12.34 * GiB), '12.3 GiB');
      assert.equal(humanBytes(-2 * MiB), '-2 MiB');
      assert.equal(humanBytes(3 * 1024 ** 5), '3 PiB');
      assert.equal(largestPow2Divisor(10 * GiB, 4 * MiB), 4 * MiB);
      assert.equal(largestPow2Divisor(3 * 512, 4 * MiB), 512);
      assert.deepEqual(ddGeometry(10 * GiB), { bs: 4 * MiB, count: 2560, countBytes: false });
      assert.deepEqual(ddGeometry(65536 * 3), { bs: 65536, count: 3, countBytes: false });
      assert.deepEqual(ddGeometry(512 * 3), { bs: 4 * MiB, count: 1536, countBytes: true });
      assert.deepEqual(ddGeometry(1000, 512), { bs: 512, count: 1000, countBytes: true });
    });
  });

  describe('partition layout', () => {
    const dev64 = 64 * MiB;
    it('resolves the table that was written to the msdos fixture, and finds no difference', () => {
      const req: PartitionRequest[] = [
        { size: '32M', type: '83', bootable: true },
        { size: 'rest', type: 'linux' },
      ];
      const layout = planPartitionLayout('dos', req, dev64);
      assert.deepEqual(layout, [
        { number: 1, start: 2048, size: 65536, rest: false, type: '83', bootable: true },
        { number: 2, start: 67584, size: 63488, rest: true, type: '83', bootable: false },
      ]);
      assert.deepEqual(compareTable(parseSfdiskJson(fx('sfdisk-msdos.json')), 'dos', layout), []);
      assert.equal(renderSfdiskScript('dos', layout), 'label: dos\n\nstart=2048, size=65536, type=83, bootable\nstart=67584, type=83\n');
    });
    it('the seed\'s one bootable partition over a 572 MiB LV is the table sfdisk wrote in the lab', () => {
      const layout = planPartitionLayout('dos', [{ start: '1M', size: 'rest', type: 'linux', bootable: true }], 599785472);
      assert.deepEqual(layout, [{ number: 1, start: 2048, size: 1169408, rest: true, type: '83', bootable: true }]);
      assert.deepEqual(compareTable(parseSfdiskJson(fx('sfdisk-lv-msdos.json')), 'dos', layout), []);
    });
    it('accepts gpt "rest" partitions whose end sfdisk aligned', () => {
      const layout = planPartitionLayout('gpt', [{ size: '8M', type: 'bios-boot' }, { size: 'rest' }], dev64);
      assert.equal(layout[1]!.size, 131038 - 18432 + 1);
      assert.deepEqual(compareTable(parseSfdiskJson(fx('sfdisk-gpt.json')), 'gpt', layout), []);
    });
    it('lists every difference from the table on disk', () => {
      const layout = planPartitionLayout('dos', [{ size: '16M', bootable: false }], dev64);
      assert.deepEqual(compareTable(parseSfdiskJson(fx('sfdisk-msdos.json')), 'dos', layout), [
        '2 partition(s) on disk, want 1',
        'partition 1 has 65536 sectors, want 32768',
        'partition 1 is bootable, want not bootable',
      ]);
      assert.deepEqual(compareTable(null, 'dos', layout), ['the device has no partition table']);
      assert.deepEqual(compareTable(parseSfdiskJson(fx('sfdisk-msdos.json')), 'gpt', planPartitionLayout('gpt', [{ size: '32M' }, { size: 'rest' }], dev64))[0], 'label is dos, want gpt');
    });
    const bad: [string, PartitionRequest[], RegExp][] = [
      ['beyond the device', [{ size: '65M' }], /beyond the device/],
      ['overlapping', [{ size: '32M' }, { start: '16M', size: '8M' }], /overlaps partition 1/],
      ['rest not last', [{ size: 'rest' }, { size: '1M' }], /only allowed for the last/],
      ['two bootable', [{ size: '1M', bootable: true }, { size: '1M', bootable: true }], /only one/],
      ['five primaries', Array.from({ length: 5 }, () => ({ size: '1M' })), /at most 4/],
      ['odd bytes', [{ size: 1000 }], /whole number of 512-byte sectors/],
      ['bad type', [{ size: '1M', type: 'ntfs-ish' }], /not valid for a dos label/],
      ['no room', [{ size: '63M' }, { size: 'rest' }], /no room left/],
    ];
    for (const [name, req, err] of bad) it(`refuses ${name} before anything changes`, () => assert.throws(() => planPartitionLayout('dos', req, dev64), err));
    it('names partition devices', () => {
      assert.equal(partitionPath('/dev/loop0', 1), '/dev/loop0p1');
      assert.equal(partitionPath('/dev/nvme0n1', 2), '/dev/nvme0n1p2');
      assert.equal(partitionPath('/dev/sda', 1), '/dev/sda1');
      assert.equal(resolveType('gpt', 'linux'), '0FC63DAF-8483-4772-8E79-3D69E47D7DE4');
      assert.equal(resolveType('dos', '0x8e'), '8E');
    });
  });

  describe('lvm planner', () => {
    // Real reports from the lab (lvm2 2.03.16): vg1 of 4 GiB with 4 MiB extents; pristine = the guest's
    // 572 MiB LV; renamed = only xr1-disk-old; snapshot = new xr1-disk, xr1-disk-old and a snapshot of it.
    const state = (name: string) => ({ vg: parseVgs(fx(`vgs-${name}.json`)).find((v) => v.name === 'vg1')!, lvs: parseLvs(fx(`lvs-${name}.json`)) });
    const base: LvmParams = { vg: 'vg1', lv: 'new', state: 'present', force: false };
    const LV = 599785472; // 572 MiB, 143 extents
    // The rest of the planner's cases are tables: test/fixtures/decide/lvm/ (test/unit/decide-tables.test.ts).
    it('refuses what lvcreate refuses, seeing the same free space (lvcreate 100g after the seed\'s new LV)', () => {
      const lvmFree = Number(/insufficient free space \((\d+) extents\)/.exec(fx('lvcreate-toobig.txt'))![1]) * 4 * MiB;
      const { vg, lvs } = state('renamed');
      const after = { ...vg, freeBytes: vg.freeBytes - LV, lvCount: 2 };
      assert.equal(after.freeBytes, lvmFree);
      const got = decideLvm({ ...base, lv: 'toobig', size: '100G' }, { vg: after, lvs: [...lvs, { ...lvs[0]!, name: 'xr1-disk' }] });
      assert.deepEqual(got, { refused: 'vg1/toobig: 100 GiB does not fit in vg1 (2.9 GiB free)' });
    });
    const { vg, lvs } = state('pristine');
    it('quotes hostile names as single words', () => {
      const got = decideLvm({ ...base, lv: 'x; rm -rf /', size: '1G' }, { vg, lvs });
      assert.ok('changed' in got && got.changed);
      assert.equal(got.steps[0]!.cmd!.text, "lvcreate -y -W y -L 1073741824b -n 'x; rm -rf /' -- vg1");
    });
  });
});
