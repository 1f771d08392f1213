// The expression language of ferry: Jinja2 expressions and templates, as Ansible uses them, with a
// safe evaluator (a tree walk over plain data and a whitelist of filters, tests, functions and
// methods). Conditions (`when:`) are parsed once at load time and evaluated per host; values with
// `{{ }}` and `.j2` files are templates (template.ts); analyze.ts tells which variables they read.
import { ValidationError, type Loc, type Problem } from '../errors.js';
import { locOf } from '../yaml-source.js';
import type { Expr } from './ast.js';
import { ExprSyntaxError } from './errors.js';
import { parseExpr } from './parser.js';

export type { Expr, ArithOp, CompareOp, KwArgs } from './ast.js';
export { formatExpr } from './ast.js';
export { ExprSyntaxError, ExprEvalError, UndefinedVariableError, TemplateSyntaxError, templateLineOf } from './errors.js';
export { parseExpr, parseInnerExpr, MAX_EXPR_DEPTH, MAX_EXPR_LENGTH, RESERVED_NAMES } from './parser.js';
export { evaluate, evaluateBool, evaluateLoose, Scope, type Vars, type EvalOptions } from './evaluate.js';
export { FILTERS, TESTS, GLOBALS, LOOKUPS, type LookupFn } from './builtins.js';
export { METHOD_NAMES } from './methods.js';
export { OMIT, Undefined, isMapping, pyRepr, pyStr, quoteName } from './values.js';
export {
  ANSIBLE_TEMPLATE_OPTIONS,
  ANSIBLE_VALUE_OPTIONS,
  hasTemplateSyntax,
  outputText,
  parseTemplate,
  renderTemplate,
  renderValue,
  singleExpression,
  type Template,
  type TemplateNode,
  type TemplateOptions,
} from './template.js';
export { definedWhenFalse, definedWhenTrue, exprVariables, headOf, templateVariables, type VarUse } from './analyze.js';

function syntaxProblem(err: ExprSyntaxError, loc: Loc | undefined): Problem {
  const caret = err.source.length <= 120 ? `\n      ${err.source}\n      ${' '.repeat(err.col - 1)}^` : '';
  return {
    // `col` is the column inside the expression text: YAML quoting and folding make the file column unreliable.
    loc: loc ? { file: loc.file, line: loc.line, col: err.col } : undefined,
    message: `bad condition: ${err.reason} at column ${err.col} of the expression${caret}`,
    hint: 'conditions are Jinja2 expressions, e.g. "result.rc == 0 and x is defined"',
  };
}

/** Parses a condition read from a file; a syntax error becomes a ValidationError at `loc` (col = column in the expression). */
export function parseExprAt(src: string, loc: Loc | undefined): Expr {
  try {
    return parseExpr(src);
  } catch (e) {
    if (e instanceof ExprSyntaxError) throw new ValidationError([syntaxProblem(e, loc)]);
    throw e;
  }
}

/**
 * Parses a `when:`-style value as loaded from YAML: a string, a boolean, or a list meaning AND.
 * Every item's problem is reported (with its own file:line when the list was loaded by yaml-source).
 */
export function parseCondition(value: unknown, loc: Loc | undefined): Expr {
  const problems: Problem[] = [];
  const one = (v: unknown, at: Loc | undefined): Expr | null => {
    if (typeof v === 'boolean' || typeof v === 'number') return { kind: 'literal', value: v, col: 1 };
    if (typeof v !== 'string') {
      problems.push({
        loc: at,
        message: `a condition must be a string, a boolean or a list of them, got ${v === null ? 'nothing' : Array.isArray(v) ? 'a nested list' : typeof v}`,
        hint: 'write the condition as text, e.g. when: result.rc == 0',
      });
      return null;
    }
    try {
      return parseExpr(v);
    } catch (e) {
      if (!(e instanceof ExprSyntaxError)) throw e;
      problems.push(syntaxProblem(e, at));
      return null;
    }
  };
  let expr: Expr | null;
  if (Array.isArray(value)) {
    const items = value.map((v, i) => one(v, locOf(value, i) ?? loc));
    expr = items.length === 1 ? items[0]! : { kind: 'and', operands: items.filter((x): x is Expr => x !== null), col: 1 };
    // An empty list constrains nothing, as in Ansible.
    if (items.length === 0) expr = { kind: 'literal', value: true, col: 1 };
  } else {
    expr = one(value, loc);
  }
  if (problems.length || !expr) throw new ValidationError(problems);
  return expr;
}
