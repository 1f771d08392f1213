import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParsedFileCache } from '../../runner/transport/file-cache.js';

describe('ParsedFileCache: a file parsed once for every connection', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-file-cache-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A cache that counts its parses and returns the lines it read. */
  const counting = (): { cache: ParsedFileCache<string[]>; parses: () => number } => {
    let n = 0;
    const cache = new ParsedFileCache((data) => {
      n += 1;
      return data.toString('utf8').split('\n').filter(Boolean);
    });
    return { cache, parses: () => n };
  };

  it('parses a file once, however many times it is asked for, and gives the same value', () => {
    const file = join(dir, 'same');
    writeFileSync(file, 'a\nb\n');
    const { cache, parses } = counting();
    const first = cache.get(file);
    for (let i = 0; i < 100; i++) assert.equal(cache.get(file), first);
    assert.deepEqual(first, ['a', 'b']);
    assert.equal(parses(), 1);
  });

  it('parses again after the file grew (a host key recorded) or was rewritten with another mtime', () => {
    const file = join(dir, 'grows');
    writeFileSync(file, 'a\n');
    const { cache, parses } = counting();
    assert.deepEqual(cache.get(file), ['a']);
    appendFileSync(file, 'b\n');
    assert.deepEqual(cache.get(file), ['a', 'b']);
    writeFileSync(file, 'c\nd\n'); // same size as before
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(cache.get(file), ['c', 'd']);
    assert.equal(parses(), 3);
  });

  it('throws as reading the file does when it is missing, and caches nothing for it', () => {
    const { cache, parses } = counting();
    assert.throws(() => cache.get(join(dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    assert.equal(parses(), 0);
  });
});
