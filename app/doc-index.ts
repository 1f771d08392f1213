// The text of `ferry doc` without loading the modules: the build renders every built-in module's
// documentation once (app/doc-index-write.ts) into a JSON file beside this one, and the CLI reads
// that. Kept light (no zod, no task module) so that `ferry doc` starts fast.
import { readFileSync } from 'node:fs';
import type { ModuleDocText } from '../runner/doc-list.js';

/** Where the build writes the index of the built-in modules' docs (dist/app/module-docs.json). */
export const DOC_INDEX_URL = new URL('./module-docs.json', import.meta.url);

/**
 * The built-in modules' docs: from the build's index, or, where there is none (running from the
 * sources), rendered from the modules themselves.
 */
export async function builtinModuleDocs(): Promise<ModuleDocText[]> {
  let json: string | undefined;
  try {
    json = readFileSync(DOC_INDEX_URL, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (json !== undefined) return JSON.parse(json) as ModuleDocText[];
  const [{ builtinModules }, { moduleDocs }] = await Promise.all([import('../tasks/index.js'), import('../runner/doc.js')]);
  return moduleDocs(builtinModules());
}
