// The Python methods an expression may call: a whitelist of pure methods of strings, mappings and
// lists (`x.split(',')`, `d.items()`, `l.index(v)`), implemented here. Nothing is looked up on the
// JavaScript value: `x.constructor(…)` is a syntax error, `x.toString()` does not exist.
import { ExprEvalError } from './errors.js';
import { pyStrFormat } from './pyformat.js';
import { defined, entries, equals, isMapping, ownValue, pyStr, tuple, typeName } from './values.js';

type Method = (self: never, args: unknown[], kw: Record<string, unknown>) => unknown;

interface MethodDef {
  min: number;
  max: number;
  /** Keyword arguments accepted (str.format takes any). */
  kw?: readonly string[] | 'any';
  fn: Method;
}

const WS = /[\s\x1c-\x1f\x85]/u;

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ExprEvalError(`${what} needs a string argument, got ${typeName(v)}`);
  return v;
}

function optInt(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ExprEvalError(`an integer is required, got ${typeName(v)}`);
  return v;
}

/** Python str.split(sep=None, maxsplit=-1). */
export function pySplit(s: string, sep: unknown, maxsplit: number): string[] {
  if (sep === undefined || sep === null) {
    const out: string[] = [];
    let i = 0;
    const n = s.length;
    while (i < n) {
      while (i < n && WS.test(s[i]!)) i++;
      if (i >= n) break;
      if (maxsplit >= 0 && out.length >= maxsplit) {
        out.push(s.slice(i).replace(/[\s\x1c-\x1f\x85]+$/u, ''));
        return out;
      }
      let j = i;
      while (j < n && !WS.test(s[j]!)) j++;
      out.push(s.slice(i, j));
      i = j;
    }
    return out;
  }
  const d = str(sep, 'split');
  if (d === '') throw new ExprEvalError('split: empty separator');
  const parts = s.split(d);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(d)];
}

function pyRsplit(s: string, sep: unknown, maxsplit: number): string[] {
  if (maxsplit < 0) return pySplit(s, sep, -1);
  const rev = (x: string): string => [...x].reverse().join('');
  const sepRev = sep === undefined || sep === null ? sep : rev(str(sep, 'rsplit'));
  return pySplit(rev(s), sepRev, maxsplit).map(rev).reverse();
}

/** Python str.replace(old, new, count); a negative count replaces every occurrence. */
export function pyReplace(s: string, from: string, to: string, count: number): string {
  if (count < 0) return from === '' ? [...s].join(to).replace(/^/, to) + (s ? to : '') : s.split(from).join(to);
  let out = '';
  let rest = s;
  while (count-- > 0) {
    const i = rest.indexOf(from);
    if (i < 0) break;
    out += rest.slice(0, i) + to;
    rest = rest.slice(i + from.length);
    if (from === '') {
      out += rest.slice(0, 1);
      rest = rest.slice(1);
    }
  }
  return out + rest;
}

/** Python str.strip / lstrip / rstrip: whitespace, or any of `chars`. */
export function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    let a = 0;
    let b = s.length;
    if (left) while (a < b && WS.test(s[a]!)) a++;
    if (right) while (b > a && WS.test(s[b - 1]!)) b--;
    return s.slice(a, b);
  }
  const set = new Set(str(chars, 'strip'));
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  if (left) while (a < b && set.has(cs[a]!)) a++;
  if (right) while (b > a && set.has(cs[b - 1]!)) b--;
  return cs.slice(a, b).join('');
}

function affixes(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new ExprEvalError(`${what} needs a string or a tuple of strings, got ${typeName(v)}`);
}

function slicePart(s: string, start: unknown, end: unknown): string {
  const n = s.length;
  const norm = (v: unknown, d: number): number => {
    const i = optInt(v, d);
    return i < 0 ? Math.max(0, n + i) : Math.min(n, i);
  };
  return s.slice(norm(start, 0), norm(end, n));
}

/** Python's str.title(): a letter after a non-letter is upper-cased, the others lower-cased. */
export function pyTitle(s: string): string {
  let prev = false;
  let out = '';
  for (const ch of s) {
    const letter = ch.toLowerCase() !== ch.toUpperCase();
    out += letter ? (prev ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prev = letter;
  }
  return out;
}

/** Python's str.capitalize(). */
export function pyCapitalize(s: string): string {
  const [first = '', ...rest] = [...s];
  return first.toUpperCase() + rest.join('').toLowerCase();
}

function justify(s: string, width: unknown, fill: unknown, how: 'l' | 'r' | 'c'): string {
  const w = optInt(width, 0);
  const f = fill === undefined ? ' ' : str(fill, 'the fill character');
  if ([...f].length !== 1) throw new ExprEvalError('the fill character must be exactly one character long');
  const gap = Math.max(0, w - [...s].length);
  if (how === 'l') return s + f.repeat(gap);
  if (how === 'r') return f.repeat(gap) + s;
  // Python puts the extra character on the right unless the string and width are both odd.
  const left = Math.floor(gap / 2) + (gap % 2 && w % 2 ? 1 : 0);
  return f.repeat(left) + s + f.repeat(gap - left);
}

function find(s: string, sub: unknown, start: unknown, end: unknown, fromRight: boolean): number {
  const n = s.length;
  const a = optInt(start, 0);
  const b = optInt(end, n);
  const lo = a < 0 ? Math.max(0, n + a) : Math.min(n, a);
  const hi = b < 0 ? Math.max(0, n + b) : Math.min(n, b);
  const part = s.slice(lo, hi);
  const i = fromRight ? part.lastIndexOf(str(sub, 'find')) : part.indexOf(str(sub, 'find'));
  return i < 0 ? -1 : i + lo;
}

const STR: Record<string, MethodDef> = {
  split: { min: 0, max: 2, kw: ['sep', 'maxsplit'], fn: (s: string, [sep, max], kw) => pySplit(s, sep ?? kw.sep, optInt(max ?? kw.maxsplit, -1)) },
  rsplit: { min: 0, max: 2, kw: ['sep', 'maxsplit'], fn: (s: string, [sep, max], kw) => pyRsplit(s, sep ?? kw.sep, optInt(max ?? kw.maxsplit, -1)) },
  splitlines: {
    min: 0,
    max: 1,
    fn: (s: string, [keep]) => {
      const lines = s.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|$)/gu) ?? [];
      const out = lines.filter((l, i) => l !== '' || i < lines.length - 1);
      if (out.length && out[out.length - 1] === '') out.pop();
      return keep ? out : out.map((l) => l.replace(/(\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])$/u, ''));
    },
  },
  strip: { min: 0, max: 1, fn: (s: string, [c]) => pyStrip(s, c, true, true) },
  lstrip: { min: 0, max: 1, fn: (s: string, [c]) => pyStrip(s, c, true, false) },
  rstrip: { min: 0, max: 1, fn: (s: string, [c]) => pyStrip(s, c, false, true) },
  startswith: { min: 1, max: 3, fn: (s: string, [p, a, b]) => affixes(p, 'startswith').some((x) => slicePart(s, a, b).startsWith(x)) },
  endswith: { min: 1, max: 3, fn: (s: string, [p, a, b]) => affixes(p, 'endswith').some((x) => slicePart(s, a, b).endsWith(x)) },
  replace: { min: 2, max: 3, fn: (s: string, [a, b, count]) => pyReplace(s, str(a, 'replace'), str(b, 'replace'), optInt(count, -1)) },
  lower: { min: 0, max: 0, fn: (s: string) => s.toLowerCase() },
  upper: { min: 0, max: 0, fn: (s: string) => s.toUpperCase() },
  capitalize: { min: 0, max: 0, fn: (s: string) => pyCapitalize(s) },
  title: { min: 0, max: 0, fn: (s: string) => pyTitle(s) },
  swapcase: { min: 0, max: 0, fn: (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('') },
  format: { min: 0, max: Infinity, kw: 'any', fn: (s: string, args, kw) => pyStrFormat(s, args, kw) },
  join: {
    min: 1,
    max: 1,
    fn: (s: string, [items]) => {
      const list = typeof items === 'string' ? [...items] : Array.isArray(items) ? items : isMapping(items) ? entries(items).map(([k]) => k) : null;
      if (!list) throw new ExprEvalError(`join needs a list of strings, got ${typeName(items)}`);
      return list.map((x, i) => (typeof x === 'string' ? x : (() => { throw new ExprEvalError(`sequence item ${i}: expected str instance, ${typeName(x)} found`); })())).join(s);
    },
  },
  find: { min: 1, max: 3, fn: (s: string, [sub, a, b]) => find(s, sub, a, b, false) },
  rfind: { min: 1, max: 3, fn: (s: string, [sub, a, b]) => find(s, sub, a, b, true) },
  index: {
    min: 1,
    max: 3,
    fn: (s: string, [sub, a, b]) => {
      const i = find(s, sub, a, b, false);
      if (i < 0) throw new ExprEvalError('substring not found');
      return i;
    },
  },
  count: {
    min: 1,
    max: 1,
    fn: (s: string, [sub]) => {
      const t = str(sub, 'count');
      return t === '' ? [...s].length + 1 : s.split(t).length - 1;
    },
  },
  zfill: {
    min: 1,
    max: 1,
    fn: (s: string, [w]) => {
      const sign = /^[+-]/.test(s) ? s[0]! : '';
      const body = s.slice(sign.length);
      return sign + body.padStart(optInt(w, 0) - sign.length, '0');
    },
  },
  ljust: { min: 1, max: 2, fn: (s: string, [w, f]) => justify(s, w, f, 'l') },
  rjust: { min: 1, max: 2, fn: (s: string, [w, f]) => justify(s, w, f, 'r') },
  center: { min: 1, max: 2, fn: (s: string, [w, f]) => justify(s, w, f, 'c') },
  isdigit: { min: 0, max: 0, fn: (s: string) => /^\d+$/u.test(s) },
  isalpha: { min: 0, max: 0, fn: (s: string) => /^\p{L}+$/u.test(s) },
  isalnum: { min: 0, max: 0, fn: (s: string) => /^[\p{L}\p{N}]+$/u.test(s) },
  isspace: { min: 0, max: 0, fn: (s: string) => s.length > 0 && [...s].every((c) => WS.test(c)) },
  islower: { min: 0, max: 0, fn: (s: string) => /\p{Ll}/u.test(s) && s === s.toLowerCase() },
  isupper: { min: 0, max: 0, fn: (s: string) => /\p{Lu}/u.test(s) && s === s.toUpperCase() },
};

const DICT: Record<string, MethodDef> = {
  items: { min: 0, max: 0, fn: (d: Record<string, unknown>) => entries(d).map(([k, v]) => tuple([k, v])) },
  keys: { min: 0, max: 0, fn: (d: Record<string, unknown>) => entries(d).map(([k]) => k) },
  values: { min: 0, max: 0, fn: (d: Record<string, unknown>) => entries(d).map(([, v]) => v) },
  get: {
    min: 1,
    max: 2,
    fn: (d: Record<string, unknown>, [k, fallback = null]) => {
      if (typeof k !== 'string' && typeof k !== 'number') return fallback;
      const r = ownValue(d, String(k));
      return r.found ? r.value : fallback;
    },
  },
};

const LIST: Record<string, MethodDef> = {
  index: {
    min: 1,
    max: 1,
    fn: (l: unknown[], [x]) => {
      const i = l.findIndex((y) => equals(y, x));
      if (i < 0) throw new ExprEvalError(`${pyStr(x)} is not in list`);
      return i;
    },
  },
  count: { min: 1, max: 1, fn: (l: unknown[], [x]) => l.filter((y) => equals(y, x)).length },
};

/** Every method name any type has: known at parse time, so a typo is a load-time error. */
export const METHOD_NAMES: ReadonlySet<string> = new Set([...Object.keys(STR), ...Object.keys(DICT), ...Object.keys(LIST)]);

/** Calls the whitelisted method `name` on `self`; an error names the type when it has no such method. */
export function callMethod(self: unknown, name: string, args: unknown[], kw: Record<string, unknown>): unknown {
  self = defined(self);
  const table = typeof self === 'string' ? STR : Array.isArray(self) ? LIST : isMapping(self) ? DICT : null;
  const m = table && Object.hasOwn(table, name) ? table[name]! : null;
  if (!m) throw new ExprEvalError(`a ${typeName(self)} has no method '${name}'`);
  if (args.length < m.min || args.length > m.max) {
    throw new ExprEvalError(`.${name}() takes ${m.min === m.max ? m.min : `${m.min} to ${m.max === Infinity ? 'any number of' : m.max}`} arguments, got ${args.length}`);
  }
  if (m.kw !== 'any') {
    for (const k of Object.keys(kw)) if (!(m.kw ?? []).includes(k)) throw new ExprEvalError(`.${name}() got an unexpected keyword argument '${k}'`);
  }
  return m.fn(self as never, args, kw);
}
