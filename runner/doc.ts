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
  properties?: Record<string, JsonSchemaProp>;
  required?: string[];
  /** A record's values (set's variables): any key, each value of this schema. */
  additionalProperties?: JsonSchemaProp | boolean;
}

/** One parameter as `ferry doc` shows it; `options` are the keys of an object it holds (or of each item of its list). */
export interface ParamDoc {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
  options?: ParamDoc[];
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

/** The object with named keys a parameter holds: itself, its list's items, or one alternative of a union. */
function objectPart(p: JsonSchemaProp): JsonSchemaProp | undefined {
  if (p.properties) return p;
  if (p.items) return objectPart(p.items);
  for (const alt of p.anyOf ?? p.oneOf ?? []) {
    const o = objectPart(alt);
    if (o) return o;
  }
  return undefined;
}

function paramDocs(schema: JsonSchemaProp): ParamDoc[] {
  const req = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const nested = objectPart(p);
    return {
      name,
      type: typeOf(p),
      required: req.has(name),
      default: p.default,
      description: p.description ?? '',
      ...(nested ? { options: paramDocs(nested) } : {}),
    };
  });
}

/** The schema's fields, so that a part zod cannot convert is named by the option holding it. */
function fieldsOf(schema: z.ZodType): Record<string, z.ZodType> {
  const def = (schema as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; in?: z.ZodType; innerType?: z.ZodType } } })._zod.def;
  if (def.shape) return def.shape;
  const inner = def.in ?? def.innerType;
  return inner ? fieldsOf(inner) : {};
}

/**
 * The parameters of a module, with the options nested in each. Throws, naming the module and the
 * option, when a part of the schema has no JSON Schema form (ferry doc would otherwise show less than
 * the module takes).
 */
export function moduleParams(m: TaskModule): ParamDoc[] {
  const convert = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'throw' }) as JsonSchemaProp;
  let schema: JsonSchemaProp;
  try {
    schema = convert(m.params);
  } catch (e) {
    for (const [name, field] of Object.entries(fieldsOf(m.params))) {
      try {
        convert(field);
      } catch (fe) {
        throw new Error(`ferry doc: module ${m.name}: option '${name}' cannot be documented: ${(fe as Error).message}`, { cause: fe });
      }
    }
    throw new Error(`ferry doc: module ${m.name}: its parameters cannot be documented: ${(e as Error).message}`, { cause: e });
  }
  if (!schema.properties && typeof schema.additionalProperties === 'object') {
    // A record (set): any name is a parameter.
    return [{ name: '<any name>', type: typeOf(schema.additionalProperties), required: false, description: schema.description ?? '' }];
  }
  if (schema.type !== 'object') throw new Error(`ferry doc: module ${m.name}: its parameters are not an object (JSON Schema type ${typeOf(schema)})`);
  return paramDocs(schema);
}

/** A parameter's lines: name, type and flags, then its description, then its options one level in. */
function paramLines(p: ParamDoc, indent: string, bullet: string): string[] {
  const flags = [p.required ? 'required' : undefined, p.default !== undefined ? `default ${JSON.stringify(p.default)}` : undefined].filter(Boolean);
  const lines = [`${indent}${bullet}${p.name}  (${p.type}${flags.length ? `; ${flags.join('; ')}` : ''})`];
  const under = `${indent}${' '.repeat(bullet.length)}    `;
  if (p.description) lines.push(`${under}${p.description}`);
  for (const o of p.options ?? []) lines.push(...paramLines(o, under, '- '));
  return lines;
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
  for (const p of moduleParams(m)) lines.push(...paramLines(p, '  ', ''));
  if (m.freeForm) lines.push('', `A bare string argument fills '${m.freeForm}' (e.g. "${m.name}: ...").`);
  lines.push('', `CHECK MODE: ${m.doc.checkMode}${m.doc.checkModeNote ? ` — ${m.doc.checkModeNote}` : ''}`);
  lines.push('', 'RESULT (register:)', '  changed, failed, msg' + (m.doc.result ? '' : ''));
  for (const [k, v] of Object.entries(m.doc.result ?? {})) lines.push(`  ${k}: ${v}`);
  lines.push('', 'EXAMPLE', ...m.doc.example.trim().split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}
