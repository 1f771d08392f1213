// An internal error's stack in terms of the TypeScript sources. The built CLI is a bundle
// (app/cli-bundle-write.ts) whose line numbers say little; Node maps stacks itself only under
// --enable-source-maps, which costs every run the reading of every map at start-up. This reads
// the maps only when there is a stack to print.
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `at fn (file:///…/x.js:12:34)` or `at file:///…/x.js:12:34`, or a plain path
const FRAME = /((?:file:\/\/)?\/[^\s():]+\.js):(\d+):(\d+)/g;

/** The stack with every frame in a built file that has a source map pointed at its source line instead. */
export function sourceStack(stack: string): string {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (file: string): SourceMap | null => {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(file + '.map', 'utf8')) as SourceMapPayload));
      } catch {
        maps.set(file, null); // no map next to it (Node's own files, a package): left as it is
      }
    }
    return maps.get(file)!;
  };
  return stack.replace(FRAME, (whole, where: string, line: string, column: string) => {
    const file = where.startsWith('file://') ? fileURLToPath(where) : where;
    const map = mapOf(file);
    const at = map?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!at || !('originalSource' in at) || typeof at.originalSource !== 'string') return whole;
    const source = new URL(at.originalSource, pathToFileURL(file));
    const shown = source.protocol === 'file:' ? fileURLToPath(source) : source.href;
    return `${shown}:${at.originalLine + 1}:${at.originalColumn + 1}`;
  });
}
