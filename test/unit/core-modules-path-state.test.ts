// Parsing what the one-command path probe printed on real files (saved output), and the probe's quoting.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePathState, probeCommand, type PathState } from '../../tasks/lib/path-state.js';
import { countTreeDifferences, parseFindTree } from '../../tasks/file.js';

interface Table {
  cases: { path: string; checksum: boolean; stdout: string }[];
}
const probe = JSON.parse(readFileSync(new URL('../fixtures/core/probe-path.json', import.meta.url), 'utf8')) as Table;

const HELLO = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'; // sha256 of "hello\n"
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const root = { owner: 'root', group: 'root', uid: 0, gid: 0 };

const expected: Record<string, PathState> = {
  '/tmp/pf/plain|true': { exists: true, type: 'file', mode: 0o644, ...root, size: 6, sha256: HELLO },
  '/tmp/pf/empty|true': { exists: true, type: 'file', mode: 0o644, ...root, size: 0, sha256: EMPTY },
  '/tmp/pf/sticky|true': { exists: true, type: 'directory', mode: 0o1777, ...root, size: 4096 },
  '/tmp/pf/link|true': { exists: true, type: 'link', mode: 0o777, ...root, size: 5, linkTarget: 'plain' },
  '/tmp/pf/link-nl|true': { exists: true, type: 'link', mode: 0o777, ...root, size: 10, linkTarget: 'odd\ntarget' },
  '/tmp/pf/nobody file|true': {
    exists: true,
    type: 'file',
    mode: 0o4750,
    owner: 'nobody',
    group: 'nogroup',
    uid: 65534,
    gid: 65534,
    size: 1,
    sha256: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881',
  },
  '/tmp/pf/fifo|true': { exists: true, type: 'fifo', mode: 0o644, ...root, size: 0 },
  '/tmp/pf/name\nwith newline|true': {
    exists: true,
    type: 'file',
    mode: 0o600,
    ...root,
    size: 4,
    sha256: '3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7',
  },
  '/tmp/pf/missing|true': { exists: false },
  '/tmp/pf/link|false': { exists: true, type: 'link', mode: 0o777, ...root, size: 5, linkTarget: 'plain' },
};

describe('core modules: path probe', () => {
  for (const c of probe.cases) {
    it(`parses the probe of ${JSON.stringify(c.path)}${c.checksum ? ' with checksum' : ''}`, () => {
      const want = expected[`${c.path}|${c.checksum}`];
      assert.ok(want, 'every fixture case has an expectation');
      assert.deepEqual(parsePathState(c.stdout), want);
    });
  }

  it('refuses output it does not recognise', () => {
    assert.throws(() => parsePathState('stat: cannot stat\n'), /unexpected stat output/);
    assert.throws(() => parsePathState('81a4|root|root|0|0|6\nsha256:zz  -\n'), /unexpected sha256sum output/);
  });

  it('quotes the path once, as a shell variable, whatever it holds', () => {
    const cmd = probeCommand("/tmp/x'; rm -rf / #", { checksum: true });
    assert.ok(cmd.text.startsWith(`P='/tmp/x'\\''; rm -rf / #'; `), cmd.text);
    assert.equal(cmd.text.split('rm -rf').length, 2, 'the hostile text appears once, inside the quoted assignment');
  });
});

describe('core modules: file recurse comparison', () => {
  const entries = parseFindTree(readFileSync(new URL('../fixtures/core/find-tree.txt', import.meta.url), 'utf8'));
  it('parses every entry of real find -printf output', () => {
    assert.equal(entries.length, 6);
    assert.deepEqual(entries[0], { uid: 0, gid: 0, owner: 'root', group: 'root', mode: 0o2755, type: 'd' });
  });
  const table: [string, { mode?: string; owner?: string; group?: string }, number][] = [
    ['owner root: only the nobody-owned file differs', { owner: 'root' }, 1],
    ['owner by uid 0: same answer', { owner: '0' }, 1],
    ['group root: all agree', { group: 'root' }, 0],
    ['mode 0644: the dir (2755) and the 600 file differ; the link is skipped', { mode: '0644' }, 2],
    ['symbolic u+r: everything already readable by its owner', { mode: 'u+r' }, 0],
    ['symbolic go-w: nothing is group/other-writable', { mode: 'go-w' }, 0],
    ['symbolic g+w: all five non-links change', { mode: 'g+w' }, 5],
    ['owner nobody and mode 0644: all but the nobody-owned 644 file and the link', { owner: 'nobody', mode: '0644' }, 4],
  ];
  for (const [name, want, count] of table) {
    it(name, () => {
      assert.equal(countTreeDifferences(entries, want), count);
    });
  }
});
