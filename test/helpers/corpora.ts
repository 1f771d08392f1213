// Where the shared test corpora are: ../shared/corpora beside the repository (as on the
// developers' machines and in CI), or $FERRY_CORPORA.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** The corpora folder; throws with a clear message when it is missing. */
export const CORPORA = process.env.FERRY_CORPORA ?? resolve(ROOT, '../shared/corpora');

if (!existsSync(CORPORA)) {
  throw new Error(`test corpora not found at ${CORPORA}: put shared/corpora beside the repository or set FERRY_CORPORA`);
}

/** A path inside the corpora. */
export function corpus(...parts: string[]): string {
  return join(CORPORA, ...parts);
}
