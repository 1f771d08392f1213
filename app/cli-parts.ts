// What the command line runs with (its composition root): ferry's modules, each loaded the first time
// a run uses it (tasks/catalog.ts: `ferry run` of a playbook using `command` reads neither grub's code
// nor its schema), and the migration's fact tools. The library (app/api.ts) binds the eagerly loaded
// list (tasks/index.ts) instead: a library user's code, and the tests, hold the modules themselves.
import type { RunParts } from '../runner/api.js';
import { MIGRATION_FACT_TOOLS } from '../tasks/fact-tools.js';
import { lazyBuiltinModules } from '../tasks/catalog.js';

/** The options with the command line's modules and fact tools. */
export function withCliParts<O extends object>(o: O): O & RunParts {
  return { ...o, modules: lazyBuiltinModules(), factTools: MIGRATION_FACT_TOOLS };
}
