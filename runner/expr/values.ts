// The data model the evaluator works on: JSON-like values, with Python/Jinja semantics for
// truthiness, equality, ordering and str()/repr(). Only own data properties of plain objects and
// arrays are ever read, so no expression can reach a prototype, a getter or a function.
import { ExprEvalError, UndefinedVariableError } from './errors.js';

/** A lookup that found nothing: carried until used, so `x is defined` and `x | default(…)` can see it. */
export class Undefined {
  constructor(
    /** The expression that is undefined, e.g. `result.stdout`. */
    readonly path: string,
    /** Why, when more can be said than "undefined": the first missing piece, a near name, the none that was looked into. */
    readonly reason: string,
  ) {}
}

/** Ansible's `omit`: a parameter whose value is this is left out, as if it had not been written. */
export class Omit {
  private constructor() {}
  /** The one omit value. */
  static readonly value = new Omit();
}

/** The value of the `omit` variable. */
export const OMIT = Omit.value;

// Tuples are lists here, but `'%s %s' % (a, b)` and repr need to tell them apart from `[a, b]`.
const tuples = new WeakSet<readonly unknown[]>();

/** Marks a list as a Python tuple (a parenthesised literal, dict.items() pairs). */
export function tuple<T extends unknown[]>(items: T): T {
  tuples.add(items);
  return items;
}

/** Whether a list was made as a tuple. */
export function isTuple(v: unknown): v is unknown[] {
  return Array.isArray(v) && tuples.has(v);
}

// Never visible, even when a mapping holds them as own keys (JSON.parse creates own `__proto__`).
const BLOCKED_KEYS = new Set(['__proto__', 'constructor', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

/** True for the mappings expressions may look into: objects whose prototype is Object.prototype or null. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The own data entries of a mapping (accessors and blocked names left out). */
export function entries(obj: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k of Object.keys(obj)) {
    const r = ownValue(obj, k);
    if (r.found) out.push([k, r.value]);
  }
  return out;
}

/** Reads one own data property; accessors and blocked names count as missing. */
export function ownValue(obj: object, key: string): { found: true; value: unknown } | { found: false } {
  if (BLOCKED_KEYS.has(key)) return { found: false };
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (!d || !('value' in d)) return { found: false };
  return { found: true, value: d.value };
}

/** A new mapping from entries; keys are defined as plain own properties (a `__proto__` key never changes the prototype). */
export function makeMapping(items: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of items) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** The type name a user would understand, for messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'none';
  if (v instanceof Undefined) return 'undefined';
  if (v === OMIT) return 'omit';
  if (Array.isArray(v)) return 'list';
  if (isMapping(v)) return 'mapping';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** Quotes an expression for a message, with quotes it does not contain. */
export function quoteName(path: string): string {
  return path.includes("'") ? `"${path}"` : `'${path}'`;
}

/** Throws UndefinedVariableError when `v` is undefined; returns it otherwise. */
export function defined(v: unknown): unknown {
  if (v instanceof Undefined) {
    const why = v.reason ? ` (${v.reason})` : '';
    throw new UndefinedVariableError(
      v.path,
      `${quoteName(v.path)} is undefined${why}; guard it with "${v.path} is defined" or give a default: "${v.path} | default(…)"`,
    );
  }
  return v;
}

/** Jinja truthiness: false, 0, '', [], {} and none are false. */
export function truthy(v: unknown): boolean {
  v = defined(v);
  if (v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMapping(v)) return entries(v).length > 0;
  return true;
}

// Python treats True/False as 1/0 in arithmetic and comparison.
function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Python `==`: deep for lists and mappings, True == 1, no string/number coercion. */
export function equals(a: unknown, b: unknown): boolean {
  a = defined(a);
  b = defined(b);
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== null && nb !== null) return na === nb;
  if (Array.isArray(a) && Array.isArray(b)) return isTuple(a) === isTuple(b) && a.length === b.length && a.every((x, i) => equals(x, b[i]));
  if (isMapping(a) && isMapping(b)) {
    const ea = entries(a);
    if (ea.length !== entries(b).length) return false;
    return ea.every(([k, v]) => {
      const r = ownValue(b, k);
      return r.found && equals(v, r.value);
    });
  }
  return a === b;
}

/** Python ordering (<0, 0, >0) for numbers, strings and lists; anything else is an error saying how to fix it. */
export function compare(a: unknown, b: unknown, op: string): number {
  a = defined(a);
  b = defined(b);
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== null && nb !== null) return na < nb ? -1 : na > nb ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!equals(a[i], b[i])) return compare(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  const hint = typeof a === 'string' || typeof b === 'string' ? ' (convert with "| int" or "| float" first)' : '';
  throw new ExprEvalError(`cannot compare ${typeName(a)} with ${typeName(b)} using '${op}'${hint}`);
}

/** Python `in`: item of a list, key of a mapping, substring of a string. */
export function contains(container: unknown, item: unknown): boolean {
  container = defined(container);
  item = defined(item);
  if (Array.isArray(container)) return container.some((x) => equals(x, item));
  if (isMapping(container)) return (typeof item === 'string' || typeof item === 'number') && ownValue(container, String(item)).found;
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new ExprEvalError(`'in <string>' needs a string on the left, got ${typeName(item)}`);
    return container.includes(item);
  }
  throw new ExprEvalError(`'in' needs a list, mapping or string on the right, got ${typeName(container)}`);
}

/** Looks up `key` in `obj` as `obj.key` / `obj[key]` do; what cannot be found is an Undefined named `path` (computed only then). */
export function member(obj: unknown, key: unknown, path: string | (() => string), parentPath: string | (() => string)): unknown {
  const p = (): string => (typeof path === 'string' ? path : path());
  const pp = (): string => (typeof parentPath === 'string' ? parentPath : parentPath());
  if (obj instanceof Undefined) return new Undefined(p(), obj.reason || `${quoteName(obj.path)} is undefined`);
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof key === 'number' && Number.isInteger(key)) {
      const i = key < 0 ? obj.length + key : key;
      if (i >= 0 && i < obj.length) return obj[i];
      return new Undefined(p(), `index ${key} is out of range: ${quoteName(pp())} has ${obj.length} items`);
    }
    return new Undefined(p(), `${quoteName(pp())} is a ${typeName(obj)}; it has no key ${pyRepr(key)}`);
  }
  if (isMapping(obj)) {
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
      return new Undefined(p(), `a mapping key must be a string or number, not ${typeName(key)}`);
    }
    const r = ownValue(obj, String(key));
    if (r.found) return r.value;
    return new Undefined(p(), `${quoteName(pp())} has no key ${pyRepr(String(key))}`);
  }
  return new Undefined(p(), `${quoteName(pp())} is ${typeName(obj) === 'none' ? 'none' : `a ${typeName(obj)}`}, which has no key ${pyRepr(key)}`);
}

/** The Python `str()` of a value, as the `string` filter and `~` produce it. */
export function pyStr(v: unknown): string {
  v = defined(v);
  if (typeof v === 'string') return v;
  if (v === OMIT) throw new ExprEvalError('omit can only be a whole value (e.g. "{{ x | default(omit) }}"), not part of a string');
  return pyRepr(v);
}

/** Python's str() of a number: integral values print without a fraction, as ints do (see README: one number type). */
export function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

function pyStringRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

/** The Python `repr()` of a value (strings quoted as Python quotes them). */
export function pyRepr(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === OMIT) return 'omit';
  if (v instanceof Undefined) return 'Undefined';
  if (typeof v === 'string') return pyStringRepr(v);
  if (typeof v === 'number') return pyNumber(v);
  if (Array.isArray(v)) {
    if (isTuple(v)) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(', ')})`;
    return `[${v.map(pyRepr).join(', ')}]`;
  }
  if (isMapping(v)) return `{${entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return `<${typeName(v)}>`;
}
