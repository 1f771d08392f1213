// The only functions an expression can call: a fixed whitelist of Jinja/Ansible filters, tests and
// global functions. Each takes plain values and returns plain values; the lookups (the controller's
// environment and files) are done by the caller's CallContext, never from here.
import { builtin, type Builtin, type CallContext } from './call.js';
import { ExprEvalError } from './errors.js';
import { MAX_BUILT_LENGTH } from './filters.js';
import { entries, isMapping, makeMapping, pyRepr, pyStr, truthy, typeName } from './values.js';

export { applyBuiltin, arity, type Builtin, type CallContext, type LookupFn } from './call.js';
export { FILTERS } from './filters.js';
export { TESTS } from './tests.js';

/** The lookup plugins ferry has, with what each reads (the names are checked at parse time). */
export const LOOKUPS: Readonly<Record<string, string>> = Object.freeze({
  env: "a variable of the controller's environment ('' when unset, or default=…)",
  file: "a file on the controller, relative to the playbook's files/ directory or the playbook's directory (trailing whitespace stripped unless rstrip=false)",
});

/** The largest range(): as Jinja's sandbox, so `range(10**9)` cannot exhaust memory. */
export const MAX_RANGE = 100_000;

function int(v: unknown, what: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ExprEvalError(`${what} needs integers, got ${typeName(v)}`);
  return v;
}

function runLookup(name: string, args: unknown[], kw: Record<string, unknown>, ctx: CallContext): unknown[] {
  if (!ctx.lookup) throw new ExprEvalError(`${name}(…) is not available here`);
  const plugin = pyStr(args[0]).replace(/^ansible\.builtin\./, '');
  const options = Object.fromEntries(Object.entries(kw).filter(([k]) => k !== 'wantlist' && k !== 'errors'));
  return ctx.lookup(plugin, args.slice(1), options);
}

/** The global functions (`range(3)`, `lookup('env', 'HOME')`, `dict(a=1)`), by name. */
export const GLOBALS: Readonly<Record<string, Builtin & { lookup?: boolean }>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, Builtin & { lookup?: boolean }>, {
    range: builtin(['start', 'stop', 'step'], 1, (_v, args) => {
      const given = args.filter((a) => a !== undefined).map((a) => int(a, 'range'));
      const [start, stop, step] = given.length === 1 ? [0, given[0]!, 1] : [given[0]!, given[1]!, given[2] ?? 1];
      if (step === 0) throw new ExprEvalError('range() step must not be zero');
      const n = Math.max(0, Math.ceil((stop - start) / step));
      if (n > MAX_RANGE) throw new ExprEvalError(`range() is too long (${n} items, at most ${MAX_RANGE})`);
      return Array.from({ length: n }, (_, i) => start + i * step);
    }),
    lookup: {
      ...builtin([], 1, (_v, args, kw, ctx) => {
        const ran = runLookup('lookup', args, kw, ctx);
        if (truthy(kw.wantlist ?? false)) return ran;
        if (ran.every((x) => typeof x === 'string')) return ran.join(',');
        return ran.length === 1 ? ran[0] : ran;
      }, { varargs: true, kwonly: ['wantlist', 'errors', 'default', 'rstrip', 'lstrip'] }),
      lookup: true,
    },
    query: { ...builtin([], 1, (_v, args, kw, ctx) => runLookup('query', args, kw, ctx), { varargs: true, kwonly: ['errors', 'default', 'rstrip', 'lstrip'] }), lookup: true },
    q: { ...builtin([], 1, (_v, args, kw, ctx) => runLookup('q', args, kw, ctx), { varargs: true, kwonly: ['errors', 'default', 'rstrip', 'lstrip'] }), lookup: true },
    dict: builtin([], 0, (_v, args, kw) => {
      if (args.length > 1) throw new ExprEvalError(`dict() takes at most 1 positional argument, got ${args.length}`);
      const pairs: [string, unknown][] = [];
      const src = args[0];
      if (isMapping(src)) pairs.push(...entries(src));
      else if (Array.isArray(src)) {
        for (const p of src) {
          if (!Array.isArray(p) || p.length !== 2) throw new ExprEvalError(`dict() needs pairs (key, value), got ${pyRepr(p)}`);
          if (typeof p[0] !== 'string' && typeof p[0] !== 'number') throw new ExprEvalError(`a mapping key must be a string or number, got ${typeName(p[0])}`);
          pairs.push([String(p[0]), p[1]]);
        }
      } else if (src !== undefined) throw new ExprEvalError(`dict() needs a mapping or a list of pairs, got ${typeName(src)}`);
      pairs.push(...Object.entries(kw));
      if (pairs.length > MAX_BUILT_LENGTH) throw new ExprEvalError('dict() is too large');
      return makeMapping(pairs);
    }, { varargs: true, anyKeywords: true }),
  }),
);
