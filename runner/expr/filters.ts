// The filters (`x | name(args)`): Jinja2's and Ansible's, each a pure function of plain values.
// None can reach the host, the file system or the runtime; lookups are functions, not filters.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { applyBuiltin, builtin, type Builtin } from './call.js';
import { ExprEvalError, UndefinedVariableError } from './errors.js';
import { pyCapitalize, pyReplace, pySplit, pyStrip, pyTitle } from './methods.js';
import { fromJson, fromYaml, pyJson, toYaml } from './pydata.js';
import { pyPercentFormat } from './pyformat.js';
import { groupText, pyRegex, pyRegexEscape, pySub } from './pyregex.js';
import { TESTS } from './tests.js';
import {
  Undefined,
  compare,
  defined,
  entries,
  equals,
  isMapping,
  makeMapping,
  member,
  ownValue,
  pyRepr,
  pyStr,
  truthy,
  tuple,
  typeName,
} from './values.js';

/** The longest string or list a filter may build (`'x' * n`, `center(n)`, range): bounds a hostile expression's memory. */
export const MAX_BUILT_LENGTH = 10_000_000;

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// Jinja's int/float filters: anything that does not convert gives the default (0), not an error.
function toNumber(v: unknown, fallback: number, integer: boolean, base = 10): number {
  let n: number | null = null;
  if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (integer && base !== 10) {
      const body = s.replace(/^[+-]/, '').replace(base === 16 ? /^0x/i : base === 8 ? /^0o/i : base === 2 ? /^0b/i : /^$/, '');
      const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
      if (body && [...body.toLowerCase()].every((c) => digits.includes(c))) n = (s.startsWith('-') ? -1 : 1) * parseInt(body, base);
    } else if (INT_RE.test(s) || FLOAT_RE.test(s)) n = Number(s);
    else if (!integer && /^[+-]?(inf|infinity|nan)$/i.test(s)) n = /nan/i.test(s) ? NaN : s.startsWith('-') ? -Infinity : Infinity;
  }
  if (n === null || (integer && !Number.isFinite(n))) return fallback;
  return integer ? Math.trunc(n) : n;
}

function itemCount(name: string, v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMapping(v)) return entries(v).length;
  throw new ExprEvalError(`the '${name}' filter needs a string, list or mapping, got ${typeName(v)}`);
}

/** The items a filter iterates: a list's items, a string's characters, a mapping's keys. */
export function iterate(name: string, v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return entries(v).map(([k]) => k);
  throw new ExprEvalError(`the '${name}' filter needs a list, string or mapping, got ${typeName(v)}`);
}

function sequence(name: string, v: unknown): readonly unknown[] {
  if (typeof v === 'string') return [...v];
  if (Array.isArray(v)) return v;
  throw new ExprEvalError(`the '${name}' filter needs a list or string, got ${typeName(v)}`);
}

function mapping(name: string, v: unknown): Record<string, unknown> {
  if (!isMapping(v)) throw new ExprEvalError(`the '${name}' filter needs a mapping, got ${typeName(v)}`);
  return v;
}

/** Jinja's attribute getter: `attribute='a.b.0'` reads item['a']['b'][0]; missing parts are Undefined. */
export function attrGetter(attribute: unknown, fallback?: unknown): (item: unknown) => unknown {
  if (attribute === undefined || attribute === null) return (x) => x;
  const parts = typeof attribute === 'number' ? [attribute] : String(attribute).split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return (item) => {
    let v = item;
    let path = 'item';
    for (const p of parts) {
      const next = `${path}.${p}`;
      v = member(v, p, next, path);
      path = next;
    }
    if (v instanceof Undefined && fallback !== undefined) return fallback;
    return v;
  };
}

function caseKey(caseSensitive: unknown): (v: unknown) => unknown {
  return truthy(caseSensitive ?? false) ? (v) => v : (v) => (typeof v === 'string' ? v.toLowerCase() : v);
}

function sortBy(items: unknown[], key: (v: unknown) => unknown, reverse: boolean): unknown[] {
  const keyed = items.map((v) => ({ v, k: defined(key(v)) }));
  keyed.sort((a, b) => compare(a.k, b.k, 'sort'));
  if (reverse) {
    // Python's sorted(reverse=True) keeps equal items in their original order.
    const out: typeof keyed = [];
    for (let i = keyed.length - 1; i >= 0; ) {
      let j = i;
      while (j > 0 && compare(keyed[j - 1]!.k, keyed[i]!.k, 'sort') === 0) j--;
      out.push(...keyed.slice(j, i + 1));
      i = j - 1;
    }
    return out.map((x) => x.v);
  }
  return keyed.map((x) => x.v);
}

function uniqueBy(items: unknown[], key: (v: unknown) => unknown): unknown[] {
  const seen: unknown[] = [];
  const out: unknown[] = [];
  for (const v of items) {
    const k = defined(key(v));
    if (!seen.some((s) => equals(s, k))) {
      seen.push(k);
      out.push(v);
    }
  }
  return out;
}

function minMax(name: string, v: unknown, caseSensitive: unknown, attribute: unknown, sign: 1 | -1): unknown {
  const items = iterate(name, v);
  if (!items.length) return new Undefined(`${name} of an empty list`, 'No aggregated item, sequence was empty.');
  const get = attrGetter(attribute);
  const ck = caseKey(caseSensitive);
  let best = items[0];
  let bestKey = ck(defined(get(best)));
  for (const x of items.slice(1)) {
    const k = ck(defined(get(x)));
    if (compare(k, bestKey, name) * sign < 0) {
      best = x;
      bestKey = k;
    }
  }
  return best;
}

/** Python's shlex.quote. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(s) && /^[\x00-\x7f]*$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

function testFilter(name: string, args: unknown[], kw: Record<string, unknown>, what: string): (v: unknown) => boolean {
  if (!args.length) return (v) => truthy(v);
  const testName = args[0];
  if (typeof testName !== 'string' || !Object.hasOwn(TESTS, testName)) {
    throw new ExprEvalError(`${what}: no test named ${pyRepr(testName)}`);
  }
  const t = TESTS[testName]!;
  const rest = args.slice(1);
  return (v) => truthy(applyBuiltin(t, v, rest, Object.entries(kw)));
}

function mergeHash(a: Record<string, unknown>, b: Record<string, unknown>, recursive: boolean, listMerge: string): Record<string, unknown> {
  const out = new Map<string, unknown>(entries(a));
  for (const [k, bv] of entries(b)) {
    const av = out.get(k);
    if (recursive && isMapping(av) && isMapping(bv)) out.set(k, mergeHash(av, bv, recursive, listMerge));
    else if (Array.isArray(av) && Array.isArray(bv) && out.has(k)) {
      switch (listMerge) {
        case 'replace':
          out.set(k, bv);
          break;
        case 'keep':
          break;
        case 'append':
          out.set(k, [...av, ...bv]);
          break;
        case 'prepend':
          out.set(k, [...bv, ...av]);
          break;
        case 'append_rp':
          out.set(k, [...av.filter((x) => !bv.some((y) => equals(x, y))), ...bv]);
          break;
        case 'prepend_rp':
          out.set(k, [...bv, ...av.filter((x) => !bv.some((y) => equals(x, y)))]);
          break;
      }
    } else out.set(k, bv);
  }
  return makeMapping(out);
}

function flatten(items: readonly unknown[], levels: number | null, skipNulls: boolean): unknown[] {
  const out: unknown[] = [];
  for (const x of items) {
    if (skipNulls && (x === null || x === 'None' || x === 'null')) continue;
    if (Array.isArray(x) && (levels === null || levels >= 1)) out.push(...flatten(x, levels === null ? null : levels - 1, skipNulls));
    else out.push(x);
  }
  return out;
}

function setOp(name: string, a: unknown, b: unknown, keep: (x: unknown, inA: boolean, inB: boolean) => boolean, order: 'a' | 'ab'): unknown[] {
  const la = iterate(name, a);
  const lb = iterate(name, b);
  const has = (l: unknown[], x: unknown): boolean => l.some((y) => equals(x, y));
  const pool = order === 'ab' ? [...la, ...lb] : la;
  return uniqueBy(pool.filter((x) => keep(x, has(la, x), has(lb, x))), (x) => x);
}

function regexFlags(kw: { ignorecase?: unknown; multiline?: unknown }): { ignorecase: boolean; multiline: boolean } {
  return { ignorecase: truthy(kw.ignorecase ?? false), multiline: truthy(kw.multiline ?? false) };
}

function hashOf(algo: string, v: unknown): string {
  const names: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
  if (!Object.hasOwn(names, algo)) throw new ExprEvalError(`unknown hash type '${algo}'; use one of ${Object.keys(names).join(', ')}`);
  return createHash(names[algo]!).update(pyStr(v), 'utf8').digest('hex');
}

const COMMENT_STYLES: Record<string, Record<string, string>> = {
  plain: { decoration: '# ' },
  erlang: { decoration: '% ' },
  c: { decoration: '// ' },
  cblock: { beginning: '/*', decoration: ' * ', end: ' */' },
  xml: { beginning: '<!--', decoration: ' - ', end: '-->' },
};

// Ansible's comment filter, as plugins/filter/core.py builds it.
function comment(text: string, style: string, kw: Record<string, unknown>): string {
  const st = COMMENT_STYLES[style];
  if (!st || !Object.hasOwn(COMMENT_STYLES, style)) throw new ExprEvalError(`unknown comment style '${style}'; use one of ${Object.keys(COMMENT_STYLES).join(', ')}`);
  const deco = kw.decoration !== undefined ? pyStr(kw.decoration) : st.decoration!;
  const p: Record<string, string | number> = { newline: '\n', beginning: '', prefix: deco.trimEnd(), prefix_count: 1, decoration: '', postfix: deco.trimEnd(), postfix_count: 1, end: '' };
  Object.assign(p, st);
  for (const [k, v] of Object.entries(kw)) p[k] = typeof v === 'number' ? v : pyStr(v);
  const nl = String(p.newline);
  const decoration = String(p.decoration);
  const beginning = p.beginning ? `${p.beginning}${nl}` : '';
  const prefix = p.prefix ? (p.prefix !== nl ? `${p.prefix}${nl}` : nl).repeat(Number(p.prefix_count)) : '';
  const body = `${decoration}${text.split(nl).join(nl + decoration)}`.split(`${decoration}${nl}`).join(`${decoration.trimEnd()}${nl}`);
  const postfix = ['', ...Array<string>(Number(p.postfix_count)).fill(String(p.postfix))].join(nl);
  const end = p.end ? `${nl}${p.end}` : '';
  return beginning + prefix + body + postfix + end;
}

function indent(s: string, width: unknown, first: unknown, blank: unknown): string {
  const pad = typeof width === 'string' ? width : ' '.repeat(Number(width ?? 4));
  const lines = s.split('\n');
  const out = lines.map((l, i) => {
    if (i === 0 && !truthy(first ?? false)) return l;
    if (!truthy(blank ?? false) && l.trim() === '') return l;
    return pad + l;
  });
  return out.join('\n');
}

function b64decode(v: string): string {
  const clean = v.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) throw new ExprEvalError('b64decode: the value is not valid base64');
  const bytes = Buffer.from(clean, 'base64');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new ExprEvalError('b64decode: the decoded bytes are not UTF-8 text');
  return text;
}

const defaultFilter = builtin(
  ['default_value', 'boolean'],
  0,
  (v, [fallback = '', whenFalsy = false]) => {
    if (v instanceof Undefined) return fallback;
    if (truthy(whenFalsy) && !truthy(v)) return fallback;
    return v;
  },
  { acceptsUndefined: true },
);
const lengthFilter = builtin([], 0, (v) => itemCount('length', v));
const mandatory = builtin(
  ['msg'],
  0,
  (v, [msg]) => {
    if (v instanceof Undefined) {
      throw new UndefinedVariableError(v.path, msg === undefined || msg === null ? `mandatory variable '${v.path}' is not defined` : pyStr(msg));
    }
    return v;
  },
  { acceptsUndefined: true },
);
const hash = (algo: string): Builtin => builtin([], 0, (v) => hashOf(algo, v));
const escape = builtin([], 0, (v) =>
  pyStr(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!),
);

/** The filters (`x | name(args)`), by name. */
export const FILTERS: Readonly<Record<string, Builtin>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Builtin>, {
    default: defaultFilter,
    d: defaultFilter,
    mandatory,
    length: lengthFilter,
    count: lengthFilter,
    int: builtin(['default', 'base'], 0, (v, [d = 0, base = 10]) => toNumber(v, toNumber(d, 0, true), true, Number(base))),
    float: builtin(['default'], 0, (v, [d = 0]) => toNumber(v, toNumber(d, 0, false), false)),
    // Ansible's bool: yes/on/1/true (any case) and the number 1 are true, none stays none, anything else is false.
    bool: builtin([], 0, (v) => {
      if (v === null || typeof v === 'boolean') return v;
      if (typeof v === 'string') return ['yes', 'on', '1', 'true'].includes(v.toLowerCase());
      return v === 1;
    }),
    string: builtin([], 0, (v) => pyStr(v)),
    lower: builtin([], 0, (v) => pyStr(v).toLowerCase()),
    upper: builtin([], 0, (v) => pyStr(v).toUpperCase()),
    capitalize: builtin([], 0, (v) => pyCapitalize(pyStr(v))),
    title: builtin([], 0, (v) => pyTitle(pyStr(v))),
    trim: builtin(['chars'], 0, (v, [chars]) => pyStrip(pyStr(v), chars, true, true)),
    replace: builtin(['old', 'new', 'count'], 2, (v, [a, b, n]) => pyReplace(pyStr(v), pyStr(a), pyStr(b), n === undefined || n === null ? -1 : Number(n))),
    regex_replace: builtin(['pattern', 'replacement', 'ignorecase', 'multiline'], 0, (v, [pattern = '', replacement = '', ignorecase, multiline]) => {
      return pySub(pyRegex(pyStr(pattern), regexFlags({ ignorecase, multiline })), pyStr(replacement), pyStr(v)).text;
    }),
    regex_search: builtin(['regex'], 1, (v, [regex, ...refs], kw) => {
      const re = pyRegex(pyStr(regex), regexFlags(kw));
      const m = re.exec(pyStr(v));
      re.lastIndex = 0;
      if (!m) return null;
      if (!refs.length) return m[0];
      return refs.map((r) => {
        const s = pyStr(r);
        const g = /^\\g<(\S+)>/.exec(s) ?? /^\\(\d+)/.exec(s);
        if (!g) throw new ExprEvalError(`regex_search: unknown argument ${pyRepr(r)} (use '\\\\1' or '\\\\g<name>')`);
        const ref = /^\d+$/.test(g[1]!) ? Number(g[1]) : g[1]!;
        groupText(m, ref, s); // fails for a group the pattern does not have
        return (typeof ref === 'number' ? m[ref] : m.groups![ref]) ?? null;
      });
    }, { varargs: true, kwonly: ['ignorecase', 'multiline'] }),
    regex_findall: builtin(['regex', 'multiline', 'ignorecase'], 1, (v, [regex, multiline, ignorecase]) => {
      const re = pyRegex(pyStr(regex), regexFlags({ ignorecase, multiline }));
      const out: unknown[] = [];
      for (const m of pyStr(v).matchAll(re)) {
        if (m.length === 1) out.push(m[0]);
        else if (m.length === 2) out.push(m[1] ?? '');
        else out.push(tuple(m.slice(1).map((g) => g ?? '')));
      }
      return out;
    }),
    regex_escape: builtin(['re_type'], 0, (v, [reType = 'python']) => {
      if (reType === 'python') return pyRegexEscape(pyStr(v));
      if (reType === 'posix_basic') return pyStr(v).replace(/[\].[^$*\\]/g, '\\$&');
      throw new ExprEvalError(`regex_escape: regex type ${pyRepr(reType)} is not supported (python, posix_basic)`);
    }),
    split: builtin(['sep', 'maxsplit'], 0, (v, [sep, max]) => pySplit(pyStr(v), sep, max === undefined || max === null ? -1 : Number(max))),
    join: builtin(['d', 'attribute'], 0, (v, [sep = '', attribute]) => iterate('join', v).map(attrGetter(attribute)).map(pyStr).join(pyStr(sep))),
    first: builtin([], 0, (v) => {
      const s = iterate('first', v);
      return s.length ? s[0] : new Undefined('first item', 'the list is empty');
    }),
    last: builtin([], 0, (v) => {
      const s = iterate('last', v);
      return s.length ? s[s.length - 1] : new Undefined('last item', 'the list is empty');
    }),
    list: builtin([], 0, (v) => [...iterate('list', v)]),
    reverse: builtin([], 0, (v) => (typeof v === 'string' ? [...v].reverse().join('') : [...iterate('reverse', v)].reverse())),
    unique: builtin(['case_sensitive', 'attribute'], 0, (v, [cs, attribute]) => {
      const get = attrGetter(attribute);
      const ck = caseKey(cs);
      return uniqueBy([...iterate('unique', v)], (x) => ck(get(x)));
    }),
    sort: builtin(['reverse', 'case_sensitive', 'attribute'], 0, (v, [reverse = false, cs, attribute]) => {
      const attrs = attribute === undefined || attribute === null ? [undefined] : String(attribute).split(',');
      const getters = attrs.map((a) => attrGetter(a));
      const ck = caseKey(cs);
      return sortBy([...iterate('sort', v)], (x) => (getters.length === 1 ? ck(getters[0]!(x)) : getters.map((g) => ck(g(x)))), truthy(reverse));
    }),
    dictsort: builtin(['case_sensitive', 'by', 'reverse'], 0, (v, [cs, by = 'key', reverse = false]) => {
      const i = by === 'key' ? 0 : by === 'value' ? 1 : -1;
      if (i < 0) throw new ExprEvalError("dictsort: 'by' must be 'key' or 'value'");
      const ck = caseKey(cs);
      return sortBy(entries(mapping('dictsort', v)).map(([k, x]) => tuple([k, x])), (p) => ck((p as unknown[])[i]), truthy(reverse));
    }),
    items: builtin([], 0, (v) => (v === undefined || v instanceof Undefined ? [] : entries(mapping('items', v)).map(([k, x]) => tuple([k, x])))),
    map: builtin([], 0, (v, args, kw) => {
      const items = iterate('map', v);
      if (kw.attribute !== undefined) {
        const get = attrGetter(kw.attribute, kw.default);
        return items.map((x) => get(x));
      }
      const name = args[0];
      if (typeof name !== 'string' || !Object.hasOwn(FILTERS, name)) throw new ExprEvalError(`map: no filter named ${pyRepr(name)} (or give attribute='…')`);
      const f = FILTERS[name]!;
      const rest = args.slice(1);
      return items.map((x) => applyBuiltin(f, x, rest, Object.entries(kw)));
    }, { varargs: true, kwonly: ['attribute', 'default'] }),
    select: builtin([], 0, (v, args, kw) => iterate('select', v).filter(testFilter('select', args, kw, 'select')), { varargs: true }),
    reject: builtin([], 0, (v, args, kw) => iterate('reject', v).filter((x) => !testFilter('reject', args, kw, 'reject')(x)), { varargs: true }),
    selectattr: builtin(['attribute'], 1, (v, [attribute, ...args], kw) => {
      const get = attrGetter(attribute);
      const t = testFilter('selectattr', args, kw, 'selectattr');
      return iterate('selectattr', v).filter((x) => t(get(x)));
    }, { varargs: true }),
    rejectattr: builtin(['attribute'], 1, (v, [attribute, ...args], kw) => {
      const get = attrGetter(attribute);
      const t = testFilter('rejectattr', args, kw, 'rejectattr');
      return iterate('rejectattr', v).filter((x) => !t(get(x)));
    }, { varargs: true }),
    dict2items: builtin(['key_name', 'value_name'], 0, (v, [kn = 'key', vn = 'value']) =>
      entries(mapping('dict2items', v)).map(([k, x]) => makeMapping([[pyStr(kn), k], [pyStr(vn), x]])),
    ),
    items2dict: builtin(['key_name', 'value_name'], 0, (v, [kn = 'key', vn = 'value']) => {
      if (!Array.isArray(v)) throw new ExprEvalError(`items2dict needs a list, got ${typeName(v)}`);
      return makeMapping(
        v.map((item) => {
          const k = isMapping(item) ? ownValue(item, pyStr(kn)) : { found: false as const };
          const x = isMapping(item) ? ownValue(item, pyStr(vn)) : { found: false as const };
          if (!k.found || !x.found) throw new ExprEvalError(`items2dict needs each item to be a mapping with the keys '${pyStr(kn)}' and '${pyStr(vn)}', got ${pyRepr(item)}`);
          return [pyStr(k.value), x.value];
        }),
      );
    }),
    combine: builtin([], 0, (v, args, kw) => {
      const listMerge = pyStr(kw.list_merge ?? 'replace');
      if (!['replace', 'keep', 'append', 'prepend', 'append_rp', 'prepend_rp'].includes(listMerge)) {
        throw new ExprEvalError(`combine: list_merge must be one of replace, keep, append, prepend, append_rp, prepend_rp; got '${listMerge}'`);
      }
      const dicts = flatten([v, ...args], 1, false);
      dicts.forEach((d) => mapping('combine', d));
      if (!dicts.length) return {};
      return (dicts as Record<string, unknown>[]).reduce((a, b) => mergeHash(a, b, truthy(kw.recursive ?? false), listMerge));
    }, { varargs: true, kwonly: ['recursive', 'list_merge'] }),
    flatten: builtin(['levels', 'skip_nulls'], 0, (v, [levels, skipNulls = true]) =>
      flatten(sequence('flatten', v), levels === undefined || levels === null ? null : Number(levels), truthy(skipNulls)),
    ),
    zip: builtin([], 0, (v, args) => {
      const lists = [v, ...args].map((l) => iterate('zip', l));
      const n = Math.min(...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])));
    }, { varargs: true }),
    difference: builtin(['b'], 1, (a, [b]) => setOp('difference', a, b, (_, inA, inB) => inA && !inB, 'a')),
    intersect: builtin(['b'], 1, (a, [b]) => setOp('intersect', a, b, (_, inA, inB) => inA && inB, 'a')),
    union: builtin(['b'], 1, (a, [b]) => setOp('union', a, b, () => true, 'ab')),
    symmetric_difference: builtin(['b'], 1, (a, [b]) => setOp('symmetric_difference', a, b, (_, inA, inB) => inA !== inB, 'ab')),
    min: builtin(['case_sensitive', 'attribute'], 0, (v, [cs, attribute]) => minMax('min', v, cs, attribute, 1)),
    max: builtin(['case_sensitive', 'attribute'], 0, (v, [cs, attribute]) => minMax('max', v, cs, attribute, -1)),
    sum: builtin(['attribute', 'start'], 0, (v, [attribute, start = 0]) => {
      const get = attrGetter(attribute);
      return iterate('sum', v).reduce<unknown>((acc, x) => {
        const y = defined(get(x));
        if (Array.isArray(acc) && Array.isArray(y)) return [...acc, ...y];
        if (typeof acc !== 'number' && typeof acc !== 'boolean') throw new ExprEvalError(`sum: cannot add ${typeName(y)} to ${typeName(acc)}`);
        if (typeof y !== 'number' && typeof y !== 'boolean') throw new ExprEvalError(`sum: cannot add ${typeName(y)} to a number`);
        return Number(acc) + Number(y);
      }, start);
    }),
    abs: builtin([], 0, (v) => {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new ExprEvalError(`the 'abs' filter needs a number, got ${typeName(v)}`);
      return Math.abs(Number(v));
    }),
    round: builtin(['precision', 'method'], 0, (v, [precision = 0, method = 'common']) => {
      if (typeof v !== 'number') throw new ExprEvalError(`the 'round' filter needs a number, got ${typeName(v)}`);
      const f = 10 ** Number(precision);
      if (method === 'common') {
        // Python's round(): halves go to the even neighbour.
        const m = v * f;
        const r = Math.abs(m % 1) === 0.5 ? 2 * Math.round(m / 2) : Math.round(m);
        return r / f;
      }
      if (method === 'floor') return Math.floor(v * f) / f;
      if (method === 'ceil') return Math.ceil(v * f) / f;
      throw new ExprEvalError("round: method must be 'common', 'ceil' or 'floor'");
    }),
    ternary: builtin(['true_val', 'false_val', 'none_val'], 2, (v, [yes, no, none]) => (v === null && none !== undefined && none !== null ? none : truthy(v) ? yes : no)),
    to_json: builtin([], 0, (v, _a, kw) => pyJson(v, { indent: kw.indent === undefined ? null : Number(kw.indent), sortKeys: truthy(kw.sort_keys ?? false), ensureAscii: truthy(kw.ensure_ascii ?? true) }), {
      kwonly: ['indent', 'sort_keys', 'ensure_ascii'],
    }),
    to_nice_json: builtin(['indent', 'sort_keys'], 0, (v, [ind = 4, sortKeys = true], kw) => pyJson(v, { indent: Number(ind), sortKeys: truthy(sortKeys), ensureAscii: truthy(kw.ensure_ascii ?? true) }), {
      kwonly: ['ensure_ascii'],
    }),
    from_json: builtin([], 0, (v) => fromJson(v)),
    to_yaml: builtin([], 0, (v, _a, kw) => toYaml(v, false, kw.indent === undefined ? 2 : Number(kw.indent)), { kwonly: ['indent'] }),
    to_nice_yaml: builtin(['indent'], 0, (v, [ind = 4]) => toYaml(v, true, Number(ind))),
    from_yaml: builtin([], 0, (v) => fromYaml(v)),
    from_yaml_all: builtin([], 0, (v) => fromYaml(v, true)),
    b64encode: builtin(['encoding'], 0, (v) => Buffer.from(pyStr(v), 'utf8').toString('base64')),
    b64decode: builtin(['encoding'], 0, (v) => b64decode(pyStr(v))),
    basename: builtin([], 0, (v) => {
      const s = pyStr(v);
      return s.slice(s.lastIndexOf('/') + 1);
    }),
    dirname: builtin([], 0, (v) => {
      const s = pyStr(v);
      const i = s.lastIndexOf('/') + 1;
      const head = s.slice(0, i);
      return head && head !== '/'.repeat(head.length) ? head.replace(/\/+$/, '') : head;
    }),
    splitext: builtin([], 0, (v) => {
      const s = pyStr(v);
      const base = s.slice(s.lastIndexOf('/') + 1);
      const dot = base.lastIndexOf('.');
      if (dot <= 0 || /^\.+$/.test(base.slice(0, dot + 1))) return tuple([s, '']);
      const cut = s.length - base.length + dot;
      return tuple([s.slice(0, cut), s.slice(cut)]);
    }),
    path_join: builtin([], 0, (v) => {
      const parts = typeof v === 'string' ? [v] : sequence('path_join', v).map(pyStr);
      return parts.reduce((a, b) => (b.startsWith('/') ? b : a === '' || a.endsWith('/') ? a + b : `${a}/${b}`), '');
    }),
    normpath: builtin([], 0, (v) => posix.normalize(pyStr(v)).replace(/\/$/, '') || '.'),
    quote: builtin([], 0, (v) => shellQuote(v === null ? '' : pyStr(v))),
    comment: builtin(['style'], 0, (v, [style = 'plain'], kw) => comment(pyStr(v), pyStr(style), kw), {
      kwonly: ['decoration', 'beginning', 'end', 'prefix', 'prefix_count', 'postfix', 'postfix_count', 'newline'],
    }),
    indent: builtin(['width', 'first', 'blank'], 0, (v, [w, first, blank]) => indent(pyStr(v), w, first, blank)),
    center: builtin(['width'], 0, (v, [w = 80]) => {
      const s = pyStr(v);
      const width = Math.min(Number(w), MAX_BUILT_LENGTH);
      const gap = Math.max(0, width - [...s].length);
      const left = Math.floor(gap / 2) + (gap % 2 && width % 2 ? 1 : 0);
      return ' '.repeat(left) + s + ' '.repeat(gap - left);
    }),
    wordcount: builtin([], 0, (v) => (pyStr(v).match(/\w+/gu) ?? []).length),
    format: builtin([], 0, (v, args, kw) => {
      if (args.length && Object.keys(kw).length) throw new ExprEvalError("format: pass either positional or keyword arguments, not both");
      return pyPercentFormat(pyStr(v), Object.keys(kw).length ? makeMapping(Object.entries(kw)) : tuple([...args]));
    }, { varargs: true, anyKeywords: true }),
    hash: builtin(['hashtype'], 0, (v, [algo = 'sha1']) => hashOf(pyStr(algo), v)),
    checksum: hash('sha1'),
    sha1: hash('sha1'),
    md5: hash('md5'),
    extract: builtin(['container', 'morekeys'], 1, (item, [container, morekeys]) => {
      const keys = morekeys === undefined || morekeys === null ? [item] : Array.isArray(morekeys) ? [item, ...morekeys] : [item, morekeys];
      let v = container;
      let path = 'container';
      for (const k of keys) {
        const next = `${path}[${pyRepr(k)}]`;
        v = member(v, k, next, path);
        path = next;
      }
      return v;
    }),
    subelements: builtin(['subelements', 'skip_missing'], 1, (v, [sub, skipMissing = false]) => {
      const elements = isMapping(v) ? entries(v).map(([, x]) => x) : Array.isArray(v) ? v : null;
      if (!elements) throw new ExprEvalError('subelements: the value must be a list of mappings or a mapping');
      const path = Array.isArray(sub) ? sub.map(pyStr) : pyStr(sub).split('.');
      const out: unknown[] = [];
      for (const el of elements) {
        let values: unknown = el;
        for (const p of path) {
          const r = isMapping(values) ? ownValue(values, p) : { found: false as const };
          if (!r.found) {
            if (truthy(skipMissing)) {
              values = [];
              break;
            }
            throw new ExprEvalError(`subelements: could not find '${p}' in ${pyRepr(values)}`);
          }
          values = r.value;
        }
        if (!Array.isArray(values)) throw new ExprEvalError(`subelements: the key '${path.join('.')}' should point to a list, got ${pyRepr(values)}`);
        for (const x of values) out.push(tuple([el, x]));
      }
      return out;
    }),
    type_debug: builtin([], 0, (v) => {
      if (v === null) return 'NoneType';
      if (typeof v === 'boolean') return 'bool';
      if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
      if (typeof v === 'string') return 'str';
      if (Array.isArray(v)) return 'list';
      if (isMapping(v)) return 'dict';
      return typeName(v);
    }),
    escape: escape,
    e: escape,
    safe: builtin([], 0, (v) => v),
  }),
);
