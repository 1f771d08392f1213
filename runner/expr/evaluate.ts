// Evaluates a parsed condition against a host's variables. It walks the tree: no code is
// generated, and the only operations are the ones written here and the whitelisted builtins.
import { closest, distance } from 'fastest-levenshtein';
import type { Expr } from './ast.js';
import { formatExpr } from './ast.js';
import { applyBuiltin, FILTERS, TESTS } from './builtins.js';
import { ExprEvalError } from './errors.js';
import { Undefined, compare, contains, defined, equals, isMapping, member, ownValue, pyStr, truthy, typeName } from './values.js';

/** The variables an expression sees: inventory and play vars, facts, registered results. */
export type Vars = Readonly<Record<string, unknown>>;

function lookupVar(name: string, vars: Vars): unknown {
  const r = ownValue(vars, name);
  if (r.found) return r.value;
  const names = Object.keys(vars);
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

function arith(op: string, a: unknown, b: unknown): unknown {
  a = defined(a);
  b = defined(b);
  switch (op) {
    case '~':
      return pyStr(a) + pyStr(b);
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
      return number(a, op) + number(b, op);
    case '-':
      return number(a, op) - number(b, op);
    case '*':
      // No string or list repetition: `'x' * 1e9` would be a one-line memory bomb.
      return number(a, op) * number(b, op);
    case '/':
    case '//':
    case '%': {
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

function evalNode(e: Expr, vars: Vars): unknown {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'list':
      return e.items.map((i) => defined(evalNode(i, vars)));
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of e.entries) {
        const key = defined(evalNode(k, vars));
        if (typeof key !== 'string' && typeof key !== 'number') throw new ExprEvalError(`a mapping key must be a string or number, got ${typeName(key)}`);
        // defineProperty: a key named __proto__ stays a plain own key, never a prototype change.
        Object.defineProperty(out, String(key), { value: defined(evalNode(v, vars)), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'var':
      return lookupVar(e.name, vars);
    case 'attr':
      return member(evalNode(e.object, vars), e.name, formatExpr(e), formatExpr(e.object));
    case 'index': {
      const obj = evalNode(e.object, vars);
      const key = defined(evalNode(e.index, vars));
      const path = `${formatExpr(e.object)}[${typeof key === 'string' ? `'${key}'` : pyStr(key)}]`;
      return member(obj, key, path, formatExpr(e.object));
    }
    case 'not':
      return !truthy(evalNode(e.operand, vars));
    case 'neg':
      return -number(evalNode(e.operand, vars), '-');
    case 'and':
    case 'or': {
      // Python semantics: the value of the deciding operand, evaluated left to right and short-circuited.
      let v: unknown;
      for (const o of e.operands) {
        v = defined(evalNode(o, vars));
        if (truthy(v) === (e.kind === 'or')) return v;
      }
      return v;
    }
    case 'compare': {
      let left = evalNode(e.first, vars);
      for (const { op, operand } of e.rest) {
        const right = evalNode(operand, vars);
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
      return arith(e.op, evalNode(e.left, vars), evalNode(e.right, vars));
    case 'filter': {
      const b = FILTERS[e.name];
      if (!b) throw new ExprEvalError(`unknown filter '${e.name}'`);
      return applyBuiltin(b, evalNode(e.target, vars), e.args.map((a) => evalNode(a, vars)));
    }
    case 'test': {
      const b = TESTS[e.name];
      if (!b) throw new ExprEvalError(`unknown test '${e.name}'`);
      const r = truthy(applyBuiltin(b, evalNode(e.target, vars), e.args.map((a) => evalNode(a, vars))));
      return e.negated ? !r : r;
    }
    case 'cond':
      if (truthy(evalNode(e.test, vars))) return evalNode(e.then, vars);
      if (e.otherwise) return evalNode(e.otherwise, vars);
      return new Undefined(formatExpr(e), 'the condition is false and there is no else');
  }
}

/** Evaluates an expression to a plain value; an undefined variable is an UndefinedVariableError naming it. */
export function evaluate(expr: Expr, vars: Vars): unknown {
  if (!isMapping(vars) && (vars === null || typeof vars !== 'object')) throw new ExprEvalError('variables must be a mapping');
  return defined(evalNode(expr, vars));
}

/** Evaluates a condition to true/false with Jinja truthiness (false, 0, '', [], {}, none are false). */
export function evaluateBool(expr: Expr, vars: Vars): boolean {
  return truthy(evaluate(expr, vars));
}
