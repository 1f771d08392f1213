// The tests (`x is name(args)`): Jinja2's and Ansible's, each a pure predicate of plain values.
import { builtin, type Builtin } from './call.js';
import { ExprEvalError } from './errors.js';
import { pyRegex } from './pyregex.js';
import { Undefined, compare, contains, equals, isMapping, ownValue, pyStr, truthy, typeName } from './values.js';

function needMapping(name: string, v: unknown): Record<string, unknown> {
  if (!isMapping(v)) {
    throw new ExprEvalError(`the '${name}' test needs a registered result (a mapping with failed/changed/skipped), got ${typeName(v)}`);
  }
  return v;
}

function field(m: Record<string, unknown>, key: string): unknown {
  const r = ownValue(m, key);
  return r.found ? r.value : undefined;
}

// Loose version comparison (as Ansible's `version` test does by default): numeric parts compare as numbers.
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+_~]/);
  const pb = b.split(/[.\-+_~]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : null;
    const ny = /^\d+$/.test(y) ? Number(y) : null;
    if (nx !== null && ny !== null) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (nx !== null) return 1; // a number sorts after a word, as LooseVersion does ("1.0" > "1.a")
    else if (ny !== null) return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const VERSION_OPS: Record<string, (c: number) => boolean> = {
  '==': (c) => c === 0,
  '=': (c) => c === 0,
  eq: (c) => c === 0,
  '!=': (c) => c !== 0,
  '<>': (c) => c !== 0,
  ne: (c) => c !== 0,
  '<': (c) => c < 0,
  lt: (c) => c < 0,
  '<=': (c) => c <= 0,
  le: (c) => c <= 0,
  '>': (c) => c > 0,
  gt: (c) => c > 0,
  '>=': (c) => c >= 0,
  ge: (c) => c >= 0,
};

const versionTest = builtin(['version', 'operator', 'strict', 'version_type'], 1, (v, [other, op = '==']) => {
  const cmp = Object.hasOwn(VERSION_OPS, String(op)) ? VERSION_OPS[String(op)] : undefined;
  if (!cmp) throw new ExprEvalError(`the 'version' test's operator must be one of ${Object.keys(VERSION_OPS).join(' ')}, got ${pyStr(op)}`);
  return cmp(compareVersions(pyStr(v), pyStr(other)));
});

const succeeded = builtin([], 0, (v) => !truthy(field(needMapping('succeeded', v), 'failed') ?? false));
const failed = builtin([], 0, (v) => truthy(field(needMapping('failed', v), 'failed') ?? false));
const skipped = builtin([], 0, (v) => truthy(field(needMapping('skipped', v), 'skipped') ?? false));
// As Ansible: a looped task's result may only say `changed` in its `results` items.
const changed = builtin([], 0, (v) => {
  const m = needMapping('changed', v);
  const c = ownValue(m, 'changed');
  if (c.found) return truthy(c.value ?? false);
  const results = field(m, 'results');
  return Array.isArray(results) && results.some((r) => isMapping(r) && truthy(field(r, 'changed') ?? false));
});
const unreachable = builtin([], 0, (v) => truthy(field(needMapping('unreachable', v), 'unreachable') ?? false));

const is = (pred: (v: unknown) => boolean): Builtin => builtin([], 0, pred);
const cmp = (pred: (c: number) => boolean, op: string): Builtin => builtin(['other'], 1, (v, [o]) => pred(compare(v, o, op)));
const eq = builtin(['other'], 1, (v, [o]) => equals(v, o));
const ne = builtin(['other'], 1, (v, [o]) => !equals(v, o));
const lt = cmp((c) => c < 0, '<');
const le = cmp((c) => c <= 0, '<=');
const gt = cmp((c) => c > 0, '>');
const ge = cmp((c) => c >= 0, '>=');

function regexTest(kind: 'match' | 'search' | 'fullmatch'): Builtin {
  return builtin(['pattern', 'ignorecase', 'multiline'], 0, (v, [pattern = '', ignorecase, multiline]) => {
    let p = pyStr(pattern);
    if (kind === 'fullmatch') {
      const flags = /^\(\?[aiLmsux]+\)/.exec(p)?.[0] ?? '';
      p = `${flags}(?:${p.slice(flags.length)})\\Z`;
    }
    const re = pyRegex(p, { ignorecase: truthy(ignorecase ?? false), multiline: truthy(multiline ?? false) });
    const s = pyStr(v);
    if (kind === 'search') {
      re.lastIndex = 0;
      const r = re.test(s);
      re.lastIndex = 0;
      return r;
    }
    // re.match is anchored at the start only: a sticky search from 0.
    return new RegExp(re.source, re.flags.replace('g', '') + 'y').test(s);
  });
}

function sameLists(name: string, a: unknown, b: unknown): [unknown[], unknown[]] {
  if (!Array.isArray(a) || !Array.isArray(b)) throw new ExprEvalError(`the '${name}' test needs two lists, got ${typeName(a)} and ${typeName(b)}`);
  return [a, b];
}

const subset = builtin(['superset'], 1, (a, [b]) => {
  const [x, y] = sameLists('subset', a, b);
  return x.every((i) => y.some((j) => equals(i, j)));
});
const superset = builtin(['subset'], 1, (a, [b]) => {
  const [x, y] = sameLists('superset', a, b);
  return y.every((i) => x.some((j) => equals(i, j)));
});

/** The tests (`x is name(args)`), by name. */
export const TESTS: Readonly<Record<string, Builtin>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Builtin>, {
    defined: builtin([], 0, (v) => !(v instanceof Undefined), { acceptsUndefined: true }),
    undefined: builtin([], 0, (v) => v instanceof Undefined, { acceptsUndefined: true }),
    none: is((v) => v === null),
    true: is((v) => v === true),
    false: is((v) => v === false),
    boolean: is((v) => typeof v === 'boolean'),
    string: is((v) => typeof v === 'string'),
    number: is((v) => typeof v === 'number'),
    // JS has one number type: an integral float (2.0) counts as an integer here, unlike Python.
    integer: is((v) => typeof v === 'number' && Number.isInteger(v)),
    float: is((v) => typeof v === 'number' && !Number.isInteger(v)),
    mapping: is((v) => isMapping(v)),
    sequence: is((v) => typeof v === 'string' || Array.isArray(v) || isMapping(v)),
    iterable: is((v) => typeof v === 'string' || Array.isArray(v) || isMapping(v)),
    lower: is((v) => typeof v === 'string' && v === v.toLowerCase()),
    upper: is((v) => typeof v === 'string' && v === v.toUpperCase()),
    even: is((v) => Number(v) % 2 === 0),
    odd: is((v) => Math.abs(Number(v) % 2) === 1),
    divisibleby: builtin(['num'], 1, (v, [n]) => Number(v) % Number(n) === 0),
    sameas: builtin(['other'], 1, (v, [o]) => v === o),
    in: builtin(['seq'], 1, (v, [seq]) => contains(seq, v)),
    contains: builtin(['item'], 1, (v, [item]) => contains(v, item)),
    eq,
    equalto: eq,
    '==': eq,
    ne,
    '!=': ne,
    lt,
    lessthan: lt,
    '<': lt,
    le,
    '<=': le,
    gt,
    greaterthan: gt,
    '>': gt,
    ge,
    '>=': ge,
    truthy: builtin(['convert_bool'], 0, (v) => truthy(v)),
    falsy: builtin(['convert_bool'], 0, (v) => !truthy(v)),
    match: regexTest('match'),
    search: regexTest('search'),
    regex: builtin(['pattern', 'ignorecase', 'multiline', 'match_type'], 0, (v, [pattern, ignorecase, multiline, type = 'search'], kw) => {
      const t = String(type);
      if (t !== 'match' && t !== 'search' && t !== 'fullmatch') throw new ExprEvalError(`the 'regex' test's match_type must be match, search or fullmatch`);
      return regexTest(t).fn(v, [pattern, ignorecase, multiline], kw, {});
    }),
    any: is((v) => Array.isArray(v) && v.some((x) => truthy(x))),
    all: is((v) => Array.isArray(v) && v.every((x) => truthy(x))),
    subset,
    issubset: subset,
    superset,
    issuperset: superset,
    succeeded,
    success: succeeded,
    successful: succeeded,
    failed,
    failure: failed,
    changed,
    change: changed,
    skipped,
    skip: skipped,
    unreachable,
    reachable: builtin([], 0, (v) => !unreachable.fn(v, [], {}, {})),
    version: versionTest,
    version_compare: versionTest,
  }),
);
