// YAML loading that remembers where every node came from, so that any later error
// (a bad parameter, an undefined variable) can name file:line.
import { readFileSync } from 'node:fs';
import {
  isMap,
  isScalar,
  isSeq,
  isAlias,
  LineCounter,
  parseAllDocuments,
  type Node,
  type Document,
  type DocumentOptions,
  type SchemaOptions,
} from 'yaml';
import { ValidationError, type Loc, type Problem } from './errors.js';

const nodeLocs = new WeakMap<object, Loc>();
const keyLocs = new WeakMap<object, Map<string | number, Loc>>();

/** The location of a loaded object or array, or of one of its keys / items when `key` is given. */
export function locOf(value: unknown, key?: string | number): Loc | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (key !== undefined) return keyLocs.get(value)?.get(key) ?? nodeLocs.get(value);
  return nodeLocs.get(value);
}

/** Records a location for a value built by code rather than loaded (e.g. a task expanded from a shorthand). */
export function setLoc(value: object, loc: Loc | undefined, key?: string | number): void {
  if (!loc) return;
  if (key === undefined) {
    nodeLocs.set(value, loc);
    return;
  }
  let m = keyLocs.get(value);
  if (!m) keyLocs.set(value, (m = new Map()));
  m.set(key, loc);
}

/** Copies the recorded locations of `from` onto `to` (used when an object is cloned). */
export function copyLocs(from: object, to: object): void {
  const l = nodeLocs.get(from);
  if (l) nodeLocs.set(to, l);
  const k = keyLocs.get(from);
  if (k) keyLocs.set(to, new Map(k));
}

/** A deep clone that keeps recorded locations (structuredClone would drop them). */
export function cloneWithLocs<T>(value: T): T {
  if (Array.isArray(value)) {
    const out = value.map((v) => cloneWithLocs(v));
    copyLocs(value, out);
    return out as T;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cloneWithLocs(v);
    copyLocs(value, out);
    return out as T;
  }
  return value;
}

function locAt(file: string, lc: LineCounter, offset: number | undefined): Loc {
  const pos = lc.linePos(offset ?? 0);
  return { file, line: pos.line, col: pos.col };
}

function toJs(node: unknown, file: string, lc: LineCounter, doc: Document, problems: Problem[]): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toJs(node.resolve(doc), file, lc, doc, problems);
  if (isScalar(node)) return node.value;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    setLoc(out, locAt(file, lc, (node as Node).range?.[0]));
    for (const pair of node.items) {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      const keyLoc = locAt(file, lc, (keyNode as Node | null)?.range?.[0] ?? (node as Node).range?.[0]);
      // In YAML 1.1 mode the `yaml` library hands merge keys over as Symbol('<<').
      if (key === '<<' || (typeof key === 'symbol' && key.description === '<<')) {
        // YAML merge key: fold the referenced mapping(s) in, without overriding explicit keys.
        const merged = toJs(pair.value, file, lc, doc, problems);
        for (const src of Array.isArray(merged) ? merged : [merged]) {
          if (src && typeof src === 'object') {
            for (const [k, v] of Object.entries(src)) if (!(k in out)) out[k] = v;
          }
        }
        continue;
      }
      const k = typeof key === 'string' ? key : String(key);
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        problems.push({ loc: keyLoc, message: `duplicate key '${k}'`, hint: 'remove one of the two entries' });
      }
      out[k] = toJs(pair.value, file, lc, doc, problems);
      setLoc(out, keyLoc, k);
    }
    return out;
  }
  if (isSeq(node)) {
    const out: unknown[] = [];
    setLoc(out, locAt(file, lc, (node as Node).range?.[0]));
    node.items.forEach((item, i) => {
      out.push(toJs(item, file, lc, doc, problems));
      setLoc(out, locAt(file, lc, (item as Node | null)?.range?.[0] ?? (node as Node).range?.[0]), i);
    });
    return out;
  }
  return node;
}

/** YAML dialect: `version` '1.2' (the library default) or '1.1'; `customTags` adjusts the scalars (e.g. to PyYAML's). */
export type YamlOptions = Pick<DocumentOptions & SchemaOptions, 'version' | 'customTags'>;

/** Parses YAML text (first document only unless `all`), recording the file:line of every mapping key and sequence item. */
export function parseYaml(text: string, file: string, options: YamlOptions = {}): unknown {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lc,
    uniqueKeys: false,
    prettyErrors: false,
    ...options,
  });
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: Problem[] = [];
  for (const d of list) {
    for (const e of d.errors) {
      const pos = e.linePos?.[0];
      problems.push({
        loc: { file, line: pos?.line ?? 1, col: pos?.col },
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        hint: 'fix the YAML syntax (indentation, quoting, a missing colon)',
      });
    }
  }
  if (problems.length) throw new ValidationError(problems);
  const first = list[0];
  if (!first) return null;
  const value = toJs(first.contents, file, lc, first, problems);
  if (problems.length) throw new ValidationError(problems);
  return value;
}

/** Reads and parses a YAML file; a missing or unreadable file is a ValidationError naming it. */
export function loadYamlFile(path: string, displayPath = path, options: YamlOptions = {}): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError([
      { loc: { file: displayPath, line: 1 }, message: `cannot read file: ${(e as Error).message}`, hint: 'check the path' },
    ]);
  }
  return parseYaml(text, displayPath, options);
}
