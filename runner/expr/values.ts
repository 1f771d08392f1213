// The data model the evaluator works on: JSON-like values, with Python/Jinja semantics for
// truthiness, equality and ordering. Only own data properties of plain objects and arrays are
// ever read, so no expression can reach a prototype, a getter or a function.
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

/** The type name a user would understand, for messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'none';
  if (v instanceof Undefined) return 'undefined';
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
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i]));
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
  if (isMapping(container)) return typeof item === 'string' && ownValue(container, item).found;
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new ExprEvalError(`'in <string>' needs a string on the left, got ${typeName(item)}`);
    return container.includes(item);
  }
  throw new ExprEvalError(`'in' needs a list, mapping or string on the right, got ${typeName(container)}`);
}

/** Looks up `key` in `obj` as `obj.key` / `obj[key]` do; what cannot be found is an Undefined named `path`. */
export function member(obj: unknown, key: unknown, path: string, parentPath: string): unknown {
  if (obj instanceof Undefined) return new Undefined(path, obj.reason || `${quoteName(obj.path)} is undefined`);
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof key === 'number' && Number.isInteger(key)) {
      const i = key < 0 ? obj.length + key : key;
      if (i >= 0 && i < obj.length) return obj[i];
      return new Undefined(path, `index ${key} is out of range: ${quoteName(parentPath)} has ${obj.length} items`);
    }
    return new Undefined(path, `${quoteName(parentPath)} is a ${typeName(obj)}; it has no key ${pyRepr(key)}`);
  }
  if (isMapping(obj)) {
    if (typeof key !== 'string' && typeof key !== 'number') {
      return new Undefined(path, `a mapping key must be a string or number, not ${typeName(key)}`);
    }
    const r = ownValue(obj, String(key));
    if (r.found) return r.value;
    return new Undefined(path, `${quoteName(parentPath)} has no key ${pyRepr(String(key))}`);
  }
  return new Undefined(path, `${quoteName(parentPath)} is ${typeName(obj) === 'none' ? 'none' : `a ${typeName(obj)}`}, which has no key ${pyRepr(key)}`);
}

/** The Python `str()` of a value, as the `string` filter and `~` produce it. */
export function pyStr(v: unknown): string {
  v = defined(v);
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

function pyRepr(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isMapping(v)) return `{${entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return `<${typeName(v)}>`;
}
