import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseDeb822Sources, parseSourcesList, pickDebianMirror } from '../../lab/mirror.js';

const dir = 'test/fixtures/lab-apt-sources';
const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');

describe('lab mirror (from apt configuration)', () => {
  const cases: { file: string; parse: typeof parseSourcesList; mirror: string; count: number }[] = [
    // This machine's own /etc/apt/sources.list.d/debian.sources (snapshot URLs appear only in comments).
    { file: 'debian-snapshot-comments.sources', parse: parseDeb822Sources, mirror: 'http://deb.debian.org/debian', count: 2 },
    { file: 'oneline-with-options.list', parse: parseSourcesList, mirror: 'http://ftp.example.org/debian', count: 3 },
    // A disabled stanza is skipped; a folded URIs field keeps its first URI.
    { file: 'disabled-then-enabled.sources', parse: parseDeb822Sources, mirror: 'http://mirror-a.example.org/debian', count: 1 },
  ];
  for (const c of cases) {
    it(`${c.file} -> ${c.mirror}`, () => {
      const sources = c.parse(read(c.file), c.file);
      assert.equal(sources.length, c.count);
      assert.equal(pickDebianMirror(sources, 'bookworm'), c.mirror);
    });
  }

  it('keeps the stanza line in origin and the folded URI list', () => {
    const [s] = parseDeb822Sources(read('disabled-then-enabled.sources'), 'x.sources');
    assert.equal(s.origin, 'x.sources:7');
    assert.deepEqual(s.uris, ['http://mirror-a.example.org/debian', 'http://mirror-b.example.org/debian']);
    assert.deepEqual(s.suites, ['bookworm-updates', 'bookworm']);
  });

  it('does not take a -security or -updates suite for the release itself', () => {
    const sources = parseSourcesList('deb http://sec.example.org/debian-security bookworm-security main\n', 'a.list');
    assert.throws(() => pickDebianMirror(sources, 'bookworm'), /no apt source offers Debian 'bookworm' main[\s\S]*a\.list:1/);
  });
});
