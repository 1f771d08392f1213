// The only functions an expression can call: a fixed whitelist of Jinja/Ansible filters and tests.
// Each takes plain values and returns plain values; none can reach the host or the runtime.
import { ExprEvalError, UndefinedVariableError } from './errors.js';
import { Undefined, defined, entries, isMapping, ownValue, pyStr, truthy, typeName } from './values.js';

/** A filter or test: how many arguments it takes and what it does. */
export interface Builtin {
  minArgs: number;
  maxArgs: number;
  /** Receives an Undefined target instead of failing on it (default, mandatory, defined). */
  acceptsUndefined?: boolean;
  fn(value: unknown, args: unknown[]): unknown;
}

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

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// Jinja's int/float filters: anything that does not convert gives the default (0), not an error.
function toNumber(v: unknown, fallback: number, integer: boolean): number {
  let n: number | null = null;
  if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (INT_RE.test(s) || FLOAT_RE.test(s)) n = Number(s);
  }
  if (n === null || !Number.isFinite(n)) return fallback;
  return integer ? Math.trunc(n) : n;
}

function itemCount(name: string, v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isMapping(v)) return entries(v).length;
  throw new ExprEvalError(`the '${name}' filter needs a string, list or mapping, got ${typeName(v)}`);
}

function sequence(name: string, v: unknown): readonly unknown[] | string {
  if (typeof v === 'string' || Array.isArray(v)) return v;
  throw new ExprEvalError(`the '${name}' filter needs a list or string, got ${typeName(v)}`);
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

const versionTest: Builtin = {
  minArgs: 1,
  maxArgs: 2,
  fn: (v, [other, op = '==']) => {
    const cmp = VERSION_OPS[String(op)];
    if (!cmp || !Object.hasOwn(VERSION_OPS, String(op))) {
      throw new ExprEvalError(`the 'version' test's operator must be one of ${Object.keys(VERSION_OPS).join(' ')}, got ${pyStr(op)}`);
    }
    return cmp(compareVersions(pyStr(v), pyStr(other)));
  },
};

const defaultFilter: Builtin = {
  minArgs: 0,
  maxArgs: 2,
  acceptsUndefined: true,
  fn: (v, [fallback = '', whenFalsy = false]) => {
    if (v instanceof Undefined) return fallback;
    if (truthy(whenFalsy) && !truthy(v)) return fallback;
    return v;
  },
};

const lengthFilter: Builtin = { minArgs: 0, maxArgs: 0, fn: (v) => itemCount('length', v) };

/** The filters (`x | name(args)`), by name. */
export const FILTERS: Readonly<Record<string, Builtin>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Builtin>, {
    default: defaultFilter,
    d: defaultFilter,
    mandatory: {
      minArgs: 0,
      maxArgs: 1,
      acceptsUndefined: true,
      fn: (v: unknown, [msg]: unknown[]) => {
        if (v instanceof Undefined) {
          throw new UndefinedVariableError(v.path, msg === undefined ? `mandatory variable '${v.path}' is not defined` : pyStr(msg));
        }
        return v;
      },
    },
    length: lengthFilter,
    count: lengthFilter,
    int: { minArgs: 0, maxArgs: 1, fn: (v: unknown, [d = 0]: unknown[]) => toNumber(v, toNumber(d, 0, true), true) },
    float: { minArgs: 0, maxArgs: 1, fn: (v: unknown, [d = 0]: unknown[]) => toNumber(v, toNumber(d, 0, false), false) },
    // Ansible's bool: only yes/on/1/true (any case) and the number 1 are true.
    bool: {
      minArgs: 0,
      maxArgs: 0,
      fn: (v: unknown) => {
        if (typeof v === 'boolean') return v;
        if (typeof v === 'string') return ['yes', 'on', '1', 'true'].includes(v.trim().toLowerCase());
        return v === 1;
      },
    },
    string: { minArgs: 0, maxArgs: 0, fn: (v: unknown) => pyStr(v) },
    lower: { minArgs: 0, maxArgs: 0, fn: (v: unknown) => pyStr(v).toLowerCase() },
    upper: { minArgs: 0, maxArgs: 0, fn: (v: unknown) => pyStr(v).toUpperCase() },
    trim: { minArgs: 0, maxArgs: 0, fn: (v: unknown) => pyStr(v).trim() },
    first: {
      minArgs: 0,
      maxArgs: 0,
      fn: (v: unknown) => {
        const s = sequence('first', v);
        return s.length ? s[0] : new Undefined('first item', 'the list is empty');
      },
    },
    last: {
      minArgs: 0,
      maxArgs: 0,
      fn: (v: unknown) => {
        const s = sequence('last', v);
        return s.length ? s[s.length - 1] : new Undefined('last item', 'the list is empty');
      },
    },
    join: {
      minArgs: 0,
      maxArgs: 1,
      fn: (v: unknown, [sep = '']: unknown[]) => {
        const s = sequence('join', v);
        return (typeof s === 'string' ? [...s] : s).map(pyStr).join(pyStr(sep));
      },
    },
    list: {
      minArgs: 0,
      maxArgs: 0,
      fn: (v: unknown) => {
        if (typeof v === 'string') return [...v];
        if (Array.isArray(v)) return [...(v as unknown[])];
        if (isMapping(v)) return entries(v).map(([k]) => k);
        throw new ExprEvalError(`the 'list' filter needs a string, list or mapping, got ${typeName(v)}`);
      },
    },
    abs: {
      minArgs: 0,
      maxArgs: 0,
      fn: (v: unknown) => {
        if (typeof v !== 'number') throw new ExprEvalError(`the 'abs' filter needs a number, got ${typeName(v)}`);
        return Math.abs(v);
      },
    },
    ternary: {
      minArgs: 2,
      maxArgs: 3,
      fn: (v: unknown, [yes, no, none]: unknown[]) => (v === null && none !== undefined ? none : truthy(v) ? yes : no),
    },
  }),
);

const succeeded: Builtin = { minArgs: 0, maxArgs: 0, fn: (v) => !truthy(field(needMapping('succeeded', v), 'failed') ?? false) };
const failed: Builtin = { minArgs: 0, maxArgs: 0, fn: (v) => truthy(field(needMapping('failed', v), 'failed') ?? false) };
const skipped: Builtin = { minArgs: 0, maxArgs: 0, fn: (v) => truthy(field(needMapping('skipped', v), 'skipped') ?? false) };
// As Ansible: a looped task's result may only say `changed` in its `results` items.
const changed: Builtin = {
  minArgs: 0,
  maxArgs: 0,
  fn: (v) => {
    const m = needMapping('changed', v);
    const c = ownValue(m, 'changed');
    if (c.found) return truthy(c.value ?? false);
    const results = field(m, 'results');
    return Array.isArray(results) && results.some((r) => isMapping(r) && truthy(field(r, 'changed') ?? false));
  },
};

const is = (pred: (v: unknown) => boolean): Builtin => ({ minArgs: 0, maxArgs: 0, fn: pred });

/** The tests (`x is name(args)`), by name. */
export const TESTS: Readonly<Record<string, Builtin>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Builtin>, {
    defined: { minArgs: 0, maxArgs: 0, acceptsUndefined: true, fn: (v: unknown) => !(v instanceof Undefined) },
    undefined: { minArgs: 0, maxArgs: 0, acceptsUndefined: true, fn: (v: unknown) => v instanceof Undefined },
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
    succeeded,
    success: succeeded,
    failed,
    failure: failed,
    changed,
    change: changed,
    skipped,
    skip: skipped,
    version: versionTest,
    version_compare: versionTest,
  }),
);

/** Runs a filter or test on evaluated values; an undefined target fails unless the builtin accepts it. */
export function applyBuiltin(b: Builtin, value: unknown, args: unknown[]): unknown {
  if (!b.acceptsUndefined) defined(value);
  return b.fn(value, b.acceptsUndefined ? args : args.map(defined));
}
