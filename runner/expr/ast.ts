// The syntax tree of a condition (`when:`, `failed_when:`, `changed_when:`, `until:`).
// Plain data only: an Expr can be logged, compared in tests and evaluated any number of times.

/** Binary arithmetic and concatenation operators. */
export type ArithOp = '+' | '-' | '*' | '/' | '//' | '%' | '~';

/** Comparison operators, including membership. */
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** One node of a parsed expression; `col` is the 1-based column in the source text it started at. */
export type Expr =
  | { kind: 'literal'; value: string | number | boolean | null; col: number }
  | { kind: 'list'; items: Expr[]; col: number }
  | { kind: 'dict'; entries: [Expr, Expr][]; col: number }
  | { kind: 'var'; name: string; col: number }
  | { kind: 'attr'; object: Expr; name: string; col: number }
  | { kind: 'index'; object: Expr; index: Expr; col: number }
  | { kind: 'not'; operand: Expr; col: number }
  | { kind: 'neg'; operand: Expr; col: number }
  | { kind: 'and'; operands: Expr[]; col: number }
  | { kind: 'or'; operands: Expr[]; col: number }
  | { kind: 'compare'; first: Expr; rest: { op: CompareOp; operand: Expr }[]; col: number }
  | { kind: 'arith'; op: ArithOp; left: Expr; right: Expr; col: number }
  | { kind: 'filter'; name: string; target: Expr; args: Expr[]; col: number }
  | { kind: 'test'; name: string; target: Expr; args: Expr[]; negated: boolean; col: number }
  | { kind: 'cond'; test: Expr; then: Expr; otherwise: Expr | null; col: number };

function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t')}'`;
}

function formatLiteral(v: string | number | boolean | null): string {
  if (v === null) return 'none';
  if (typeof v === 'string') return quoteString(v);
  return String(v);
}

/** Prints an expression back as source text (normalised spacing, full parentheses where needed), for messages and logs. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return formatLiteral(e.value);
    case 'list':
      return `[${e.items.map(formatExpr).join(', ')}]`;
    case 'dict':
      return `{${e.entries.map(([k, v]) => `${formatExpr(k)}: ${formatExpr(v)}`).join(', ')}}`;
    case 'var':
      return e.name;
    case 'attr':
      return `${formatOperand(e.object)}.${e.name}`;
    case 'index':
      return `${formatOperand(e.object)}[${formatExpr(e.index)}]`;
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
    case 'filter':
      return `${formatOperand(e.target)} | ${e.name}${e.args.length ? `(${e.args.map(formatExpr).join(', ')})` : ''}`;
    case 'test':
      return `${formatOperand(e.target)} is ${e.negated ? 'not ' : ''}${e.name}${e.args.length ? `(${e.args.map(formatExpr).join(', ')})` : ''}`;
    case 'cond':
      return `${formatOperand(e.then)} if ${formatOperand(e.test)}${e.otherwise ? ` else ${formatOperand(e.otherwise)}` : ''}`;
  }
}

const ATOMIC = new Set<Expr['kind']>(['literal', 'list', 'dict', 'var', 'attr', 'index']);

function formatOperand(e: Expr): string {
  return ATOMIC.has(e.kind) ? formatExpr(e) : `(${formatExpr(e)})`;
}
