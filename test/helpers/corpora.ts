// Where the test corpora are: test/fixtures/corpora, real files from public repositories copied
// byte for byte, each folder with its SOURCE.md (origin and licence), so a clone alone runs the tests.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corpora folder inside the repository. */
export const CORPORA = fileURLToPath(new URL('../fixtures/corpora', import.meta.url));

/** A path inside the corpora. */
export function corpus(...parts: string[]): string {
  return join(CORPORA, ...parts);
}
