// A task's `environment:`: the layers of its play, blocks and task rendered into the variables its
// commands run with.
import { TaskFailedError, type Loc } from './errors.js';
import { renderDeep } from './template.js';

type Obj = Record<string, unknown>;

/** The task's `environment:` layers rendered and merged (later layers win): names to strings. */
export function renderEnvironment(layers: (Obj | string)[] | undefined, vars: Obj, loc: Loc): Record<string, string> | undefined {
  if (!layers?.length) return undefined;
  const env: Record<string, string> = {};
  for (const layer of layers) {
    const v = renderDeep(layer, vars, loc);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new TaskFailedError(`environment: ${JSON.stringify(layer)} rendered to ${JSON.stringify(v)}, not a mapping of names to values`);
    }
    for (const [k, x] of Object.entries(v as Obj)) {
      if (x === null || x === undefined) continue;
      env[k] = typeof x === 'object' ? JSON.stringify(x) : typeof x === 'boolean' ? (x ? 'True' : 'False') : String(x);
    }
  }
  return env;
}
