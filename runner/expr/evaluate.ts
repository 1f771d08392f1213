// Evaluates a parsed expression against a host's variables. It walks the tree: no code is
// generated, and the only operations are the ones written here and the whitelisted builtins.
import { closest, distance } from 'fastest-levenshtein';
import type { Expr, KwArgs } from './ast.js';
import { formatExpr } from './ast.js';
import { applyBuiltin, FILTERS, GLOBALS, TESTS, type CallContext, type LookupFn } from './builtins.js';
import { ExprEvalError } from './errors.js';
import { MAX_BUILT_LENGTH } from './filters.js';
import { callMethod } from './methods.js';
import { pyPercentFormat } from './pyformat.js';
import {
  OMIT,
  Undefined,
  compare,
  contains,
  defined,
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

/** The variables an expression sees: inventory and play vars, facts, registered results. */
export type Vars = Readonly<Record<string, unknown>>;

/** What evaluation may use beyond the variables. */
export interface EvalOptions {
  /** Runs lookup('env', …) / lookup('file', …); without it a lookup is an error. */
  lookup?: LookupFn;
}

/** The names an expression sees: a template's local variables (set, for) over the host's variables. */
export class Scope {
  private readonly locals = new Map<string, unknown>();

  constructor(
    private readonly vars: Vars,
    private readonly parent?: Scope,
  ) {}

  /** Looks a name up, innermost scope first; `omit` is always defined. */
  get(name: string): { found: true; value: unknown } | { found: false } {
    if (this.locals.has(name)) return { found: true, value: this.locals.get(name) };
    if (this.parent) return this.parent.get(name);
    const r = ownValue(this.vars, name);
    if (r.found) return r;
    if (name === 'omit') return { found: true, value: OMIT };
    return { found: false };
  }

  /** Sets a local variable of this scope. */
  set(name: string, value: unknown): void {
    this.locals.set(name, value);
  }

  /** A scope whose locals hide this one's (a for loop's body). */
  child(): Scope {
    return new Scope(this.vars, this);
  }

  /** Every visible name, for "did you mean". */
  names(): string[] {
    return [...new Set([...(this.parent ? this.parent.names() : Object.keys(this.vars)), ...this.locals.keys()])];
  }
}

interface Env {
  scope: Scope;
  ctx: CallContext;
}

function lookupVar(name: string, env: Env): unknown {
  const r = env.scope.get(name);
  if (r.found) return r.value;
  const names = env.scope.names();
  const near = names.length ? closest(name, names) : '';
  const hint = near && distance(name, near) <= 2 && name.length > 2 ? `did you mean '${near}'?` : '';
  return new Undefined(name, hint);
}

function number(v: unknown, op: string): number {
  v = defined(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const hint = typeof v === 'string' ? ' (convert with "| int" or "| float" first)' : '';
  throw new ExprEvalError(`'${op}' needs numbers, got ${typeName(v)}${hint}`);
}

function repeat(seq: string | unknown[], times: number): string | unknown[] {
  if (!Number.isInteger(times)) throw new ExprEvalError("can't multiply a sequence by a non-integer");
  const n = Math.max(0, times);
  if (seq.length * n > MAX_BUILT_LENGTH) throw new ExprEvalError(`'*' would build ${seq.length * n} items (at most ${MAX_BUILT_LENGTH})`);
  if (typeof seq === 'string') return seq.repeat(n);
  return Array.from({ length: n }, () => seq).flat();
}

function arith(op: string, a: unknown, b: unknown): unknown {
  a = defined(a);
  b = defined(b);
  if (op === '%' && typeof a === 'string') return pyPercentFormat(a, b);
  switch (op) {
    case '~':
      return pyStr(a) + pyStr(b);
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
      if (typeof a === 'string' || typeof b === 'string') {
        throw new ExprEvalError(`'+' cannot add ${typeName(a)} and ${typeName(b)}; join text with '~' (e.g. "x ~ '-' ~ n")`);
      }
      return number(a, op) + number(b, op);
    case '-':
      return number(a, op) - number(b, op);
    case '*':
      if ((typeof a === 'string' || Array.isArray(a)) && (typeof b === 'number' || typeof b === 'boolean')) return repeat(a, Number(b));
      if ((typeof b === 'string' || Array.isArray(b)) && (typeof a === 'number' || typeof a === 'boolean')) return repeat(b, Number(a));
      return number(a, op) * number(b, op);
    case '**': {
      const x = number(a, op);
      const y = number(b, op);
      if (x === 0 && y < 0) throw new ExprEvalError('0 cannot be raised to a negative power');
      const r = x ** y;
      if (Number.isNaN(r)) throw new ExprEvalError(`'**' of a negative number to a fractional power has no real value`);
      return r;
    }
    case '%':
    case '/':
    case '//': {
      const x = number(a, op);
      const y = number(b, op);
      if (y === 0) throw new ExprEvalError(`division by zero in '${op}'`);
      if (op === '/') return x / y;
      if (op === '//') return Math.floor(x / y);
      return ((x % y) + y) % y; // Python's modulo takes the sign of the divisor
    }
  }
  throw new ExprEvalError(`unknown operator '${op}'`);
}

// Python's slice semantics: negative and missing bounds, any non-zero step.
function slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  obj = defined(obj);
  if (typeof obj !== 'string' && !Array.isArray(obj)) throw new ExprEvalError(`only lists and strings can be sliced, got ${typeName(obj)}`);
  const items: unknown[] = typeof obj === 'string' ? [...obj] : obj;
  const n = items.length;
  const opt = (v: unknown): number | null => {
    v = defined(v);
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ExprEvalError(`slice indices must be integers or none, got ${typeName(v)}`);
    return v;
  };
  const st = opt(step) ?? 1;
  if (st === 0) throw new ExprEvalError('slice step cannot be zero');
  const norm = (v: number | null, dflt: number, lo: number, hi: number): number => {
    if (v === null) return dflt;
    const i = v < 0 ? v + n : v;
    return Math.min(Math.max(i, lo), hi);
  };
  const out: unknown[] = [];
  if (st > 0) {
    const a = norm(opt(start), 0, 0, n);
    const b = norm(opt(stop), n, 0, n);
    for (let i = a; i < b; i += st) out.push(items[i]);
  } else {
    const a = norm(opt(start), n - 1, -1, n - 1);
    const b = norm(opt(stop), -1, -1, n - 1);
    for (let i = a; i > b; i += st) out.push(items[i]);
  }
  return typeof obj === 'string' ? out.join('') : out;
}

function evalKw(kwargs: KwArgs, env: Env): [string, unknown][] {
  return kwargs.map(([k, v]) => [k, evalNode(v, env)]);
}

function evalNode(e: Expr, env: Env): unknown {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'list': {
      const items = e.items.map((i) => defined(evalNode(i, env)));
      return e.tuple ? tuple(items) : items;
    }
    case 'dict': {
      const out: [string, unknown][] = [];
      for (const [k, v] of e.entries) {
        const key = defined(evalNode(k, env));
        if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
          throw new ExprEvalError(`a mapping key must be a string or number, got ${typeName(key)}`);
        }
        out.push([typeof key === 'string' ? key : pyStr(key), defined(evalNode(v, env))]);
      }
      return makeMapping(out);
    }
    case 'var':
      return lookupVar(e.name, env);
    case 'attr':
      return member(evalNode(e.object, env), e.name, () => formatExpr(e), () => formatExpr(e.object));
    case 'index': {
      const obj = evalNode(e.object, env);
      const key = defined(evalNode(e.index, env));
      const path = (): string => `${formatExpr(e.object)}[${typeof key === 'string' ? pyRepr(key) : pyStr(key)}]`;
      return member(obj, key, path, () => formatExpr(e.object));
    }
    case 'slice':
      return slice(
        evalNode(e.object, env),
        e.start ? evalNode(e.start, env) : null,
        e.stop ? evalNode(e.stop, env) : null,
        e.step ? evalNode(e.step, env) : null,
      );
    case 'not':
      return !truthy(evalNode(e.operand, env));
    case 'neg':
      return -number(evalNode(e.operand, env), '-');
    case 'and':
    case 'or': {
      // Python semantics: the value of the deciding operand, evaluated left to right and short-circuited.
      let v: unknown;
      for (const o of e.operands) {
        v = defined(evalNode(o, env));
        if (truthy(v) === (e.kind === 'or')) return v;
      }
      return v;
    }
    case 'compare': {
      let left = evalNode(e.first, env);
      for (const { op, operand } of e.rest) {
        const right = evalNode(operand, env);
        let ok: boolean;
        switch (op) {
          case '==':
            ok = equals(left, right);
            break;
          case '!=':
            ok = !equals(left, right);
            break;
          case 'in':
            ok = contains(right, left);
            break;
          case 'not in':
            ok = !contains(right, left);
            break;
          case '<':
            ok = compare(left, right, op) < 0;
            break;
          case '<=':
            ok = compare(left, right, op) <= 0;
            break;
          case '>':
            ok = compare(left, right, op) > 0;
            break;
          case '>=':
            ok = compare(left, right, op) >= 0;
            break;
        }
        if (!ok) return false;
        left = right;
      }
      return true;
    }
    case 'arith':
      return arith(e.op, evalNode(e.left, env), evalNode(e.right, env));
    case 'filter': {
      const b = FILTERS[e.name];
      if (!b) throw new ExprEvalError(`unknown filter '${e.name}'`);
      return applyBuiltin(b, evalNode(e.target, env), e.args.map((a) => evalNode(a, env)), evalKw(e.kwargs, env), env.ctx);
    }
    case 'test': {
      const b = TESTS[e.name];
      if (!b) throw new ExprEvalError(`unknown test '${e.name}'`);
      const r = truthy(applyBuiltin(b, evalNode(e.target, env), e.args.map((a) => evalNode(a, env)), evalKw(e.kwargs, env), env.ctx));
      return e.negated ? !r : r;
    }
    case 'call': {
      const g = GLOBALS[e.name];
      if (!g) throw new ExprEvalError(`unknown function '${e.name}'`);
      return applyBuiltin(g, undefined, e.args.map((a) => evalNode(a, env)), evalKw(e.kwargs, env), env.ctx);
    }
    case 'method': {
      const self = evalNode(e.object, env);
      const args = e.args.map((a) => defined(evalNode(a, env)));
      const kw = makeMapping(evalKw(e.kwargs, env).map(([k, v]) => [k, defined(v)]));
      if (isMapping(self) && !['items', 'keys', 'values', 'get'].includes(e.name)) {
        throw new ExprEvalError(`a mapping has no method '${e.name}'`);
      }
      return callMethod(self, e.name, args, kw);
    }
    case 'cond':
      if (truthy(evalNode(e.test, env))) return evalNode(e.then, env);
      if (e.otherwise) return evalNode(e.otherwise, env);
      return new Undefined(formatExpr(e), 'the condition is false and there is no else');
  }
}

function toScope(vars: Vars | Scope): Scope {
  if (vars instanceof Scope) return vars;
  if (vars === null || typeof vars !== 'object') throw new ExprEvalError('variables must be a mapping');
  return new Scope(vars);
}

/** Evaluates to a value that may be Undefined (for templates that test or default it themselves). */
export function evaluateLoose(expr: Expr, vars: Vars | Scope, options: EvalOptions = {}): unknown {
  return evalNode(expr, { scope: toScope(vars), ctx: { lookup: options.lookup } });
}

/** Evaluates an expression to a plain value; an undefined variable is an UndefinedVariableError naming it. */
export function evaluate(expr: Expr, vars: Vars | Scope, options: EvalOptions = {}): unknown {
  return defined(evaluateLoose(expr, vars, options));
}

/** Evaluates a condition to true/false with Jinja truthiness (false, 0, '', [], {}, none are false). */
export function evaluateBool(expr: Expr, vars: Vars | Scope, options: EvalOptions = {}): boolean {
  return truthy(evaluate(expr, vars, options));
}
