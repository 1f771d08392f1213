// A package loaded by its first use instead of at start-up, for the large ones most runs never need
// (diff, fast-xml-parser): start-up time is a target (bench/startup.ts).
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A getter that loads the package `name` the first time it is called, and returns the same module after. */
export function lazyRequire<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(name) as T);
}
