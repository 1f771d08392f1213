// Data conversions as Ansible's filters do them with Python's json and yaml modules:
// to_json / to_nice_json (json.dumps spacing, ensure_ascii), from_json, to_yaml, from_yaml.
import { Document, isScalar, parse as yamlParse, parseAllDocuments, visit } from 'yaml';
import { ExprEvalError } from './errors.js';
import { OMIT, Undefined, entries, isMapping, makeMapping, pyNumber, typeName } from './values.js';

function jsonString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || (ensureAscii && c > 0x7e)) {
      if (c > 0xffff) {
        const hi = Math.floor((c - 0x10000) / 0x400) + 0xd800;
        const lo = ((c - 0x10000) % 0x400) + 0xdc00;
        out += `\\u${hi.toString(16).padStart(4, '0')}\\u${lo.toString(16).padStart(4, '0')}`;
      } else out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

/** Options of Python's json.dumps that the filters use. */
export interface JsonOptions {
  indent?: number | null;
  sortKeys?: boolean;
  ensureAscii?: boolean;
  separators?: [string, string];
}

/** Python's json.dumps of a value (`', '` and `': '` separators unless indenting). */
export function pyJson(v: unknown, o: JsonOptions = {}, depth = 0): string {
  const indent = o.indent ?? null;
  const [itemSep, keySep] = o.separators ?? (indent === null ? [', ', ': '] : [',', ': ']);
  const ensureAscii = o.ensureAscii ?? true;
  const nl = indent === null ? '' : '\n' + ' '.repeat(indent * (depth + 1));
  const close = indent === null ? '' : '\n' + ' '.repeat(indent * depth);
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? pyNumber(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'string') return jsonString(v, ensureAscii);
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${nl}${v.map((x) => pyJson(x, o, depth + 1)).join(itemSep + nl)}${close}]`;
  }
  if (isMapping(v)) {
    let es = entries(v);
    if (!es.length) return '{}';
    if (o.sortKeys) es = es.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${nl}${es.map(([k, x]) => jsonString(k, ensureAscii) + keySep + pyJson(x, o, depth + 1)).join(itemSep + nl)}${close}}`;
  }
  if (v instanceof Undefined || v === OMIT) throw new ExprEvalError(`cannot convert ${typeName(v)} to JSON`);
  throw new ExprEvalError(`Object of type ${typeName(v)} is not JSON serializable`);
}

// Parsed data is rebuilt from plain entries, so a key named __proto__ stays a plain key.
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return makeMapping(Object.keys(v).map((k) => [k, plain((v as Record<string, unknown>)[k])]));
  return v;
}

/** Python's json.loads. */
export function fromJson(s: unknown): unknown {
  if (typeof s !== 'string') throw new ExprEvalError(`from_json needs a string, got ${typeName(s)}`);
  try {
    return plain(JSON.parse(s));
  } catch (e) {
    throw new ExprEvalError(`from_json: ${(e as Error).message}`);
  }
}

/** YAML 1.1-style loading as PyYAML's safe_load does (yes/no stay strings here: YAML 1.2 core schema). */
export function fromYaml(s: unknown, all = false): unknown {
  if (typeof s !== 'string') return s;
  try {
    if (all) return parseAllDocuments(s).map((d) => plain(d.toJS({ maxAliasCount: 100 })));
    return plain(yamlParse(s, { maxAliasCount: 100 }));
  } catch (e) {
    throw new ExprEvalError(`from_yaml: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Dumps data as YAML as Ansible's filters do: to_yaml puts collections of scalars in flow style (PyYAML's default_flow_style=None), to_nice_yaml uses block style. */
export function toYaml(v: unknown, nice: boolean, indent = 2): string {
  // PyYAML sorts mapping keys (sort_keys=True by default).
  const doc = new Document(v, { sortMapEntries: true });
  if (!nice) {
    const leaf = (items: unknown[]): boolean => items.every((x) => isScalar(x) || (x && typeof x === 'object' && 'value' in x && isScalar((x as { value: unknown }).value)));
    visit(doc, {
      Map: (_, n) => void (n.flow = leaf(n.items)),
      Seq: (_, n) => void (n.flow = leaf(n.items)),
    });
  }
  return doc.toString({ indent, lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
}
