// Table-driven tests of the xfs parsers against real xfsprogs output saved in test/fixtures/storage.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { interpretBlkidProbe } from '../../tasks/storage/blkid.js';
import { interpretXfsRepair, mkfsXfsError, parseXfsDbSb, parseXfsInfo, xfsGrownBlocks, xfsRepairFindings, type XfsRepairOutcome } from '../../tasks/storage/xfs.js';

const fx = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/storage/${name}`, import.meta.url)), 'utf8');

describe('xfs parsers', () => {
  describe('superblock and geometry', () => {
    it('xfs_db -r -c sb -c print: size, allocation groups, UUID and the NUL-padded label', () => {
      assert.deepEqual(parseXfsDbSb(fx('xfs-db-sb-print.txt')), {
        blockSize: 4096,
        dataBlocks: 81920,
        agBlocks: 20480,
        agCount: 4,
        sizeBytes: 320 * 1024 * 1024,
        uuid: '3f1b6f4e-2a57-4c1e-9e0e-7d3c2b1a0f99',
        label: 'xr1root',
      });
    });
    it('xfs_db: an empty label, and output that is not an xfs superblock', () => {
      const noLabel = fx('xfs-db-sb-print.txt').replace(/^fname = .*$/m, 'fname = "\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"');
      assert.equal(parseXfsDbSb(noLabel).label, '');
      assert.throws(() => parseXfsDbSb(fx('xfs-db-sb-print.txt').replace('0x58465342', '0')), /magic number is 0, not XFSB/);
      assert.throws(() => parseXfsDbSb(''), /magic number is missing/);
      assert.throws(() => parseXfsDbSb(fx('xfs-db-sb-print.txt').replace(/^dblocks = .*$/m, '')), /no dblocks/);
    });
    it('xfs_info on a mounted filesystem (grown to a partial sixth allocation group) and the geometry xfs_growfs prints', () => {
      assert.deepEqual(parseXfsInfo(fx('xfs-info-mounted.txt')), { blockSize: 4096, dataBlocks: 102464, agBlocks: 20480, agCount: 6, sizeBytes: 102464 * 4096 });
      // xfs_growfs prints the geometry before the grow, then what changed
      const grow = fx('xfs-growfs.stdout');
      assert.equal(parseXfsInfo(grow).dataBlocks, 81920);
      assert.match(grow, /^data blocks changed from 81920 to 102464$/m);
      assert.throws(() => parseXfsInfo('xfs_info: /mnt is not a mounted XFS filesystem'), /no "meta-data=... agcount"/);
    });
    it('blkid -p sees TYPE, UUID and LABEL of an xfs filesystem', () => {
      assert.deepEqual(interpretBlkidProbe(0, fx('blkid-p-xfs.txt'), '', '/dev/loop0'), { type: 'xfs', uuid: '3f1b6f4e-2a57-4c1e-9e0e-7d3c2b1a0f99', label: 'xr1root' });
    });
  });

  describe('xfs_growfs rounding (the kernel leaves out a last allocation group under 64 blocks)', () => {
    const cases: [target: number, agBlocks: number, want: number][] = [
      [102430, 20480, 102400], // measured: xfs_growfs -D 102430 → "data blocks changed from 96000 to 102400"
      [102464, 20480, 102464], // measured: exactly 64 blocks are kept
      [102463, 20480, 102400],
      [102400, 20480, 102400],
      [96000, 20480, 96000],
    ];
    for (const [target, ag, want] of cases) {
      it(`${target} blocks with ${ag}-block groups → ${want}`, () => assert.equal(xfsGrownBlocks(target, ag), want));
    }
  });

  describe('xfs_repair outcomes', () => {
    const cases: { name: string; exit: number; noModify: boolean; want: XfsRepairOutcome }[] = [
      { name: 'xfs-repair-n-clean', exit: 0, noModify: true, want: { state: 'clean' } },
      { name: 'xfs-repair-n-corrupt', exit: 1, noModify: true, want: { state: 'problems', problems: ['would have reset inode 128 nlinks from 9 to 2'] } },
      { name: 'xfs-repair-fixed', exit: 0, noModify: false, want: { state: 'repaired', problems: ['resetting inode 128 nlinks from 9 to 2'] } },
      // with -n a dirty log is only an ALERT and exit 1; without -n it is exit 2
      { name: 'xfs-repair-n-dirty-log', exit: 1, noModify: true, want: { state: 'dirty-log' } },
      { name: 'xfs-repair-dirty-log', exit: 2, noModify: false, want: { state: 'dirty-log' } },
      // -L prints the ALERT too (the log "is being destroyed") and exits 0: a repair, not a dirty log
      { name: 'xfs-repair-L', exit: 0, noModify: false, want: { state: 'repaired', problems: ['clearing needsrepair flag and regenerating metadata'] } },
      {
        name: 'xfs-repair-mounted',
        exit: 1,
        noModify: true,
        want: { state: 'failed', meaning: "exit 1: xfs_repair: /dev/loop0 contains a mounted and writable filesystem\nfatal error -- couldn't initialize XFS library" },
      },
    ];
    for (const c of cases) {
      it(`${c.name} (exit ${c.exit}) → ${c.want.state}`, () => {
        assert.deepEqual(interpretXfsRepair(c.exit, fx(`${c.name}.stdout`), fx(`${c.name}.stderr`), c.noModify), c.want);
      });
    }
    it('exit 1 of a run that did not finish is a failure, not a finding; a killed run fails', () => {
      const o = interpretXfsRepair(1, '', 'bad primary superblock - bad magic number !!!\n\nattempting to find secondary superblock...\nSorry, could not find valid secondary superblock\nExiting now.\n', true);
      assert.deepEqual(o, { state: 'failed', meaning: 'exit 1: bad primary superblock - bad magic number !!!\nattempting to find secondary superblock...\nSorry, could not find valid secondary superblock\nExiting now.' });
      assert.deepEqual(interpretXfsRepair(null, '', '', true), { state: 'failed', meaning: 'xfs_repair was killed' });
    });
    it('findings leave out the phases, their progress lines and the log notices', () => {
      assert.deepEqual(xfsRepairFindings(fx('xfs-repair-n-clean.stderr') + fx('xfs-repair-n-clean.stdout')), []);
      assert.deepEqual(xfsRepairFindings(fx('xfs-repair-n-dirty-log.stderr')), []);
      assert.deepEqual(xfsRepairFindings(fx('xfs-repair-dirty-log.stderr')), []);
    });
  });

  it('mkfs.xfs errors keep the message, not the usage text after it', () => {
    assert.equal(mkfsXfsError(fx('mkfs-xfs-too-small.stderr')), 'Filesystem must be larger than 300MB.');
    assert.equal(fx('mkfs-xfs-too-small.stdout'), '');
    assert.equal(mkfsXfsError(''), 'mkfs.xfs failed without a message');
  });
});
