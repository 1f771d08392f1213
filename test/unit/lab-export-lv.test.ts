import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseLvSegments, type LvSegment } from '../../lab/export-lv.js';

// Real `lvs --reportformat json --segments -o seg_pe_ranges,segtype VG/LV` output from the lab host.
const fixture = (f: string): string => fs.readFileSync(`test/fixtures/lab-lvs/${f}`, 'utf8');

describe('lab exportLv: LV segments from lvs', () => {
  const cases: { file: string; segments: LvSegment[] }[] = [
    // The guest LV as the build makes it: 213 extents from the start of the PV.
    { file: 'linear-one-segment.json', segments: [{ pv: '/dev/vdc', start: 0, count: 213 }] },
    // Extended after another LV took the next extents: LV order is not PV order.
    {
      file: 'linear-two-segments.json',
      segments: [
        { pv: '/dev/vdb', start: 0, count: 2 },
        { pv: '/dev/vdb', start: 3, count: 2 },
      ],
    },
  ];
  for (const c of cases) {
    it(c.file, () => assert.deepEqual(parseLvSegments(fixture(c.file), 'vg/lv'), c.segments));
  }

  it('names the LV when lvs reports no segment', () => {
    assert.throws(() => parseLvSegments('{"report":[{"seg":[]}]}', 'vg0/nosuch'), /LV vg0\/nosuch not found/);
  });

  it('refuses a segment type it cannot copy extent by extent', () => {
    const striped = '{"report":[{"seg":[{"seg_pe_ranges":"/dev/vdb:0-9 /dev/vdc:0-9", "segtype":"striped"}]}]}';
    assert.throws(() => parseLvSegments(striped, 'vg0/s'), /linear LVs only; vg0\/s has a striped segment/);
  });
});
