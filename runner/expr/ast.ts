// The syntax tree of an expression (`when:`, `{{ … }}` in values and templates).
// Plain data only: an Expr can be logged, compared in tests and evaluated any number of times.

/** Binary arithmetic and concatenation operators. */
export type ArithOp = '+' | '-' | '*' | '/' | '//' | '%' | '**' | '~';

/** Comparison operators, including membership. */
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** Keyword arguments of a call, in the order written. */
export type KwArgs = [string, Expr][];

/** One node of a parsed expression; `col` is the 1-based column in the source text it started at. */
export type Expr =
  | { kind: 'literal'; value: string | number | boolean | null; col: number }
  | { kind: 'list'; items: Expr[]; tuple?: boolean; col: number }
  | { kind: 'dict'; entries: [Expr, Expr][]; col: number }
  | { kind: 'var'; name: string; col: number }
  | { kind: 'attr'; object: Expr; name: string; col: number }
  | { kind: 'index'; object: Expr; index: Expr; col: number }
  | { kind: 'slice'; object: Expr; start: Expr | null; stop: Expr | null; step: Expr | null; col: number }
  | { kind: 'not'; operand: Expr; col: number }
  | { kind: 'neg'; operand: Expr; col: number }
  | { kind: 'and'; operands: Expr[]; col: number }
  | { kind: 'or'; operands: Expr[]; col: number }
  | { kind: 'compare'; first: Expr; rest: { op: CompareOp; operand: Expr }[]; col: number }
  | { kind: 'arith'; op: ArithOp; left: Expr; right: Expr; col: number }
  | { kind: 'filter'; name: string; target: Expr; args: Expr[]; kwargs: KwArgs; col: number }
  | { kind: 'test'; name: string; target: Expr; args: Expr[]; kwargs: KwArgs; negated: boolean; col: number }
  | { kind: 'call'; name: string; args: Expr[]; kwargs: KwArgs; col: number }
  | { kind: 'method'; object: Expr; name: string; args: Expr[]; kwargs: KwArgs; col: number }
  | { kind: 'cond'; test: Expr; then: Expr; otherwise: Expr | null; col: number };

function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t')}'`;
}

function formatLiteral(v: string | number | boolean | null): string {
  if (v === null) return 'none';
  if (typeof v === 'string') return quoteString(v);
  return String(v);
}

function formatArgs(args: Expr[], kwargs: KwArgs): string {
  return [...args.map(formatExpr), ...kwargs.map(([k, v]) => `${k}=${formatExpr(v)}`)].join(', ');
}

/** Prints an expression back as source text (normalised spacing, full parentheses where needed), for messages and logs. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return formatLiteral(e.value);
    case 'list':
      if (e.tuple) return `(${e.items.map(formatExpr).join(', ')}${e.items.length === 1 ? ',' : ''})`;
      return `[${e.items.map(formatExpr).join(', ')}]`;
    case 'dict':
      return `{${e.entries.map(([k, v]) => `${formatExpr(k)}: ${formatExpr(v)}`).join(', ')}}`;
    case 'var':
      return e.name;
    case 'attr':
      return `${formatOperand(e.object)}.${e.name}`;
    case 'index':
      return `${formatOperand(e.object)}[${formatExpr(e.index)}]`;
    case 'slice':
      return `${formatOperand(e.object)}[${e.start ? formatExpr(e.start) : ''}:${e.stop ? formatExpr(e.stop) : ''}${e.step ? `:${formatExpr(e.step)}` : ''}]`;
    case 'not':
      return `not ${formatOperand(e.operand)}`;
    case 'neg':
      return `-${formatOperand(e.operand)}`;
    case 'and':
      return e.operands.map(formatOperand).join(' and ');
    case 'or':
      return e.operands.map(formatOperand).join(' or ');
    case 'compare':
      return [formatOperand(e.first), ...e.rest.map((r) => `${r.op} ${formatOperand(r.operand)}`)].join(' ');
    case 'arith':
      return `${formatOperand(e.left)} ${e.op} ${formatOperand(e.right)}`;
    case 'filter': {
      const a = formatArgs(e.args, e.kwargs);
      return `${formatOperand(e.target)} | ${e.name}${a ? `(${a})` : ''}`;
    }
    case 'test': {
      const a = formatArgs(e.args, e.kwargs);
      return `${formatOperand(e.target)} is ${e.negated ? 'not ' : ''}${e.name}${a ? `(${a})` : ''}`;
    }
    case 'call':
      return `${e.name}(${formatArgs(e.args, e.kwargs)})`;
    case 'method':
      return `${formatOperand(e.object)}.${e.name}(${formatArgs(e.args, e.kwargs)})`;
    case 'cond':
      return `${formatOperand(e.then)} if ${formatOperand(e.test)}${e.otherwise ? ` else ${formatOperand(e.otherwise)}` : ''}`;
  }
}

const ATOMIC = new Set<Expr['kind']>(['literal', 'list', 'dict', 'var', 'attr', 'index', 'slice', 'call', 'method']);

function formatOperand(e: Expr): string {
  return ATOMIC.has(e.kind) ? formatExpr(e) : `(${formatExpr(e)})`;
}

/** The direct sub-expressions of a node, in source order (for analyses that walk the tree). */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'literal':
    case 'var':
      return [];
    case 'list':
      return e.items;
    case 'dict':
      return e.entries.flat();
    case 'attr':
      return [e.object];
    case 'index':
      return [e.object, e.index];
    case 'slice':
      return [e.object, e.start, e.stop, e.step].filter((x): x is Expr => x !== null);
    case 'not':
    case 'neg':
      return [e.operand];
    case 'and':
    case 'or':
      return e.operands;
    case 'compare':
      return [e.first, ...e.rest.map((r) => r.operand)];
    case 'arith':
      return [e.left, e.right];
    case 'filter':
    case 'test':
      return [e.target, ...e.args, ...e.kwargs.map(([, v]) => v)];
    case 'call':
      return [...e.args, ...e.kwargs.map(([, v]) => v)];
    case 'method':
      return [e.object, ...e.args, ...e.kwargs.map(([, v]) => v)];
    case 'cond':
      return [e.test, e.then, ...(e.otherwise ? [e.otherwise] : [])];
  }
}
