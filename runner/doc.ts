// `ferry doc`: generated from the module schemas and docs, so it cannot drift from the code.
import { z } from 'zod';
import type { ModuleDocText } from './doc-list.js';
import type { ModuleRegistry, TaskModule } from './module.js';

interface JsonSchemaProp {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchemaProp[];
  oneOf?: JsonSchemaProp[];
  items?: JsonSchemaProp;
  const?: unknown;
}

function typeOf(p: JsonSchemaProp): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (p.const !== undefined) return JSON.stringify(p.const);
  const alts = p.anyOf ?? p.oneOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(' | ');
  if (p.type === 'array') return `list of ${p.items ? typeOf(p.items) : 'any'}`;
  if (Array.isArray(p.type)) return p.type.join(' | ');
  return p.type ?? 'any';
}

/** The parameters of a module as rows: name, type, required, default, description. */
export function moduleParams(m: TaskModule): { name: string; type: string; required: boolean; default?: unknown; description: string }[] {
  let schema: { properties?: Record<string, JsonSchemaProp>; required?: string[] };
  try {
    schema = z.toJSONSchema(m.params, { io: 'input', unrepresentable: 'any' }) as typeof schema;
  } catch {
    return [];
  }
  const req = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name,
    type: typeOf(p),
    required: req.has(name),
    default: p.default,
    description: p.description ?? '',
  }));
}

/** Every module's documentation, by name: what the build writes to the doc index (app/doc-index.ts). */
export function moduleDocs(mods: ModuleRegistry): ModuleDocText[] {
  return mods.names().map((n) => {
    const m = mods.get(n)!;
    return { name: n, summary: m.doc.summary, text: moduleDoc(m) };
  });
}

/** One module's documentation for `ferry doc MODULE`. */
export function moduleDoc(m: TaskModule): string {
  const lines: string[] = [`${m.name} — ${m.doc.summary}`, ''];
  if (m.doc.description) lines.push(m.doc.description.trim(), '');
  lines.push('PARAMETERS');
  for (const p of moduleParams(m)) {
    const flags = [p.required ? 'required' : undefined, p.default !== undefined ? `default ${JSON.stringify(p.default)}` : undefined].filter(Boolean);
    lines.push(`  ${p.name}  (${p.type}${flags.length ? `; ${flags.join('; ')}` : ''})`);
    if (p.description) lines.push(`      ${p.description}`);
  }
  if (m.freeForm) lines.push('', `A bare string argument fills '${m.freeForm}' (e.g. "${m.name}: ...").`);
  lines.push('', `CHECK MODE: ${m.doc.checkMode}${m.doc.checkModeNote ? ` — ${m.doc.checkModeNote}` : ''}`);
  lines.push('', 'RESULT (register:)', '  changed, failed, msg' + (m.doc.result ? '' : ''));
  for (const [k, v] of Object.entries(m.doc.result ?? {})) lines.push(`  ${k}: ${v}`);
  lines.push('', 'EXAMPLE', ...m.doc.example.trim().split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}
