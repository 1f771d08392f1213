// How filters, tests and functions are declared and called: parameters by position or keyword
// (checked at parse time), undefined values refused unless the builtin handles them itself.
import { defined } from './values.js';

/** What a call needs from the caller: the lookup plugins' implementation (the controller's env and files). */
export interface CallContext {
  lookup?: LookupFn;
}

/** Runs one lookup (`lookup('env', 'HOME')`): `name` without a collection prefix, the terms and the keyword arguments. */
export type LookupFn = (name: string, terms: unknown[], kw: Record<string, unknown>) => unknown[];

/** A filter, test or function: its parameters and what it does. */
export interface Builtin {
  /** Names of the parameters after the value, in order; each may be passed by position or by keyword. */
  params: readonly string[];
  /** How many of `params` must be given. */
  required: number;
  /** Takes any number of further positional arguments (appended after `params`). */
  varargs?: boolean;
  /** Keyword-only parameters (given to `fn` in `kw`). */
  kwonly?: readonly string[];
  /** Takes any keyword argument (dict(a=1), 'x' | format(name=…)). */
  anyKeywords?: boolean;
  /** Receives an Undefined value or argument instead of failing on it (default, mandatory, defined). */
  acceptsUndefined?: boolean;
  fn(value: unknown, args: unknown[], kw: Record<string, unknown>, ctx: CallContext): unknown;
}

/** The positional arity of a builtin, for messages and the parse-time check. */
export function arity(b: Builtin): { min: number; max: number } {
  return { min: b.required, max: b.varargs ? Infinity : b.params.length };
}

/** Binds evaluated arguments to the builtin's parameters and calls it. */
export function applyBuiltin(b: Builtin, value: unknown, args: unknown[], kwargs: [string, unknown][], ctx: CallContext = {}): unknown {
  const check = b.acceptsUndefined ? (v: unknown) => v : defined;
  const bound: unknown[] = b.params.map((_, i) => (i < args.length ? check(args[i]) : undefined));
  if (b.varargs) for (let i = b.params.length; i < args.length; i++) bound.push(check(args[i]));
  const kw: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of kwargs) {
    const i = b.params.indexOf(k);
    if (i >= 0) bound[i] = check(v);
    else kw[k] = check(v);
  }
  return b.fn(value === undefined ? value : check(value), bound, kw, ctx);
}

/** A builtin with `params` of which the first `required` must be given. */
export function builtin(params: readonly string[], required: number, fn: Builtin['fn'], extra: Partial<Builtin> = {}): Builtin {
  return { params, required, fn, ...extra };
}
