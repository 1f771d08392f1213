// Build step (`npm run build`, after tsc): renders every built-in module's `ferry doc` text into
// the doc index (dist/app/module-docs.json), so the CLI documents modules without loading them.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinModules } from '../tasks/index.js';
import { moduleDocs } from '../runner/doc.js';
import { DOC_INDEX_URL } from './doc-index.js';

// From the sources (tsx) it would write app/module-docs.json there, which then shadows the modules.
if (!import.meta.url.endsWith('.js')) throw new Error('run the compiled doc-index-write.js (npm run build), not the TypeScript source');
writeFileSync(DOC_INDEX_URL, JSON.stringify(moduleDocs(builtinModules()), null, 1) + '\n');
process.stdout.write(`wrote ${fileURLToPath(DOC_INDEX_URL)}\n`);
