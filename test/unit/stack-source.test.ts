// An internal error's stack from the bundled CLI is printed in terms of the sources: frames in a
// built file with a map beside it point at the source line; other frames stay as they are.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { sourceStack } from '../../app/stack-source.js';

describe('sourceStack: a bundle stack in terms of the sources', () => {
  let dir: string;
  let built: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-stack-'));
    // a source whose `throw` is on line 4, compiled (types dropped, lines moved) with a map
    const source = 'type T = {\n  a: string;\n};\nexport function boom(): T { throw new Error("x"); }\n';
    const out = transformSync(source, { loader: 'ts', sourcemap: 'external', sourcefile: '../src/boom.ts', minify: true });
    built = join(dir, 'dist', 'boom.js');
    await mkdir(join(dir, 'dist'));
    await writeFile(built, out.code + '//# sourceMappingURL=boom.js.map\n');
    await writeFile(built + '.map', out.map);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('maps a frame (file URL or path) of a file with a map to its source line, and leaves the others', async () => {
    const { boom } = (await import(pathToFileURL(built).href)) as { boom: () => void };
    let stack = '';
    try {
      boom();
    } catch (e) {
      stack = (e as Error).stack!;
    }
    const frame = stack.split('\n').find((l) => l.includes('boom.js'))!;
    assert.match(frame, /boom\.js:1:\d+/, stack);
    const mapped = sourceStack(stack);
    assert.ok(mapped.includes(`${join(dir, 'src', 'boom.ts')}:4:`), mapped);
    assert.ok(!mapped.includes('boom.js'), mapped);
    // a plain path is mapped the same way; a file without a map and Node's own frames are kept
    const other = join(dir, 'dist', 'nomap.js');
    const fake = `Error: y\n    at f (${built}:1:${frame.split(':').at(-1)!.replace(')', '')})\n    at g (${other}:3:4)\n    at node:internal/x:1:2`;
    const fakeMapped = sourceStack(fake);
    assert.ok(fakeMapped.includes(`${join(dir, 'src', 'boom.ts')}:4:`), fakeMapped);
    assert.ok(fakeMapped.includes(`${other}:3:4`), fakeMapped);
    assert.ok(fakeMapped.includes('node:internal/x:1:2'), fakeMapped);
  });
});
