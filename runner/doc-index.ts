// The text of `ferry doc` without loading the modules: the build renders every built-in module's
// documentation once (runner/doc-index-write.ts) into a JSON file beside the registry, and the CLI
// reads that. Kept light (no zod, no task module) so that `ferry doc` starts fast.
import { readFileSync } from 'node:fs';

/** One module's documentation as `ferry doc` prints it. */
export interface ModuleDocText {
  name: string;
  summary: string;
  /** The whole `ferry doc NAME` output. */
  text: string;
}

/** Where the build writes the index of the built-in modules' docs (beside tasks/index.js). */
export const DOC_INDEX_URL = new URL('../tasks/module-docs.json', import.meta.url);

/** The module list for `ferry doc`: names (sorted) and summaries. */
export function formatModuleList(docs: readonly Pick<ModuleDocText, 'name' | 'summary'>[]): string {
  const sorted = [...docs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const w = Math.max(...sorted.map((d) => d.name.length));
  return sorted.map((d) => `${d.name.padEnd(w)}  ${d.summary}`).join('\n') + `\n\nferry doc MODULE shows one module's parameters, result and an example.`;
}

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
  const [{ builtinModules }, { moduleDocs }] = await Promise.all([import('../tasks/index.js'), import('./doc.js')]);
  return moduleDocs(builtinModules());
}
