// Where blockcopy's compress: auto reads its compressibility sample (tasks/blockcopy.ts sampleBlocks).
import { strict as assert } from 'node:assert';
import { sampleBlocks } from '../../tasks/blockcopy.js';

const MiB = 1024 * 1024;

describe('blockcopy sampleBlocks', () => {
  const cases: { name: string; size: number; want: number[] }[] = [
    { name: 'under 1 MiB: nothing to sample', size: MiB - 1, want: [] },
    { name: 'fewer blocks than chunks: every whole block', size: 3 * MiB + 5, want: [0, 1, 2] },
    { name: 'exactly 16 blocks: all of them', size: 16 * MiB, want: Array.from({ length: 16 }, (_, i) => i) },
    {
      name: '64 MiB: 16 blocks from the first to the last, evenly spread',
      size: 64 * MiB,
      want: [0, 4, 8, 13, 17, 21, 25, 29, 34, 38, 42, 46, 50, 55, 59, 63],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(sampleBlocks(c.size), c.want));
  }
  it('every block of a 20 GiB range (plus a partial block) lies inside the range, none twice', () => {
    const size = 20 * 1024 * MiB + 4096;
    const blocks = sampleBlocks(size);
    assert.equal(blocks.length, 16);
    assert.equal(new Set(blocks).size, 16);
    assert.equal(blocks[0], 0);
    assert.equal(blocks.at(-1), 20 * 1024 - 1, 'the last whole block, not the partial one');
    for (const b of blocks) assert.ok((b + 1) * MiB <= size);
  });
});
