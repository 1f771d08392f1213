// `ferry doc`'s text as data and its module list: kept light (no zod, no task module) so that a
// CLI can print the docs of modules it has not loaded (app/doc-index.ts reads them from the build).

/** One module's documentation as `ferry doc` prints it. */
export interface ModuleDocText {
  name: string;
  summary: string;
  /** The whole `ferry doc NAME` output. */
  text: string;
}

/** The module list for `ferry doc`: names (sorted) and summaries. */
export function formatModuleList(docs: readonly Pick<ModuleDocText, 'name' | 'summary'>[]): string {
  const sorted = [...docs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const w = Math.max(...sorted.map((d) => d.name.length));
  return sorted.map((d) => `${d.name.padEnd(w)}  ${d.summary}`).join('\n') + `\n\nferry doc MODULE shows one module's parameters, result and an example.`;
}
