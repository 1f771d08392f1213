// A recursive-descent parser for the Jinja2 expression subset Ansible users write in conditions.
// Precedence, loosest first (as Jinja2): `x if c else y`, or, and, not, comparisons / in,
// + - ~, * / // %, unary -, then postfix: .name [index] | filter is test.
import type { ArithOp, CompareOp, Expr } from './ast.js';
import { ExprSyntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { FILTERS, TESTS, type Builtin } from './builtins.js';
import { closest, distance } from 'fastest-levenshtein';

/** The longest condition accepted: a real one is a line or two; this bounds the work of a hostile one. */
export const MAX_EXPR_LENGTH = 10_000;
/** The deepest nesting accepted (parentheses, `not not …`, chains of operators), so evaluation cannot exhaust the stack. */
export const MAX_EXPR_DEPTH = 100;

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else']);
const LITERALS: Record<string, boolean | null> = {
  true: true,
  True: true,
  false: false,
  False: false,
  none: null,
  None: null,
  null: null,
};
/** Words a variable cannot be called, since a condition reads them as keywords or literals. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([...KEYWORDS, ...Object.keys(LITERALS)]);
// Names Ansible users call as functions; only filters and tests exist here.
const CALL_HINTS: Record<string, string> = {
  lookup: 'lookups are not supported in conditions; set a variable with the value instead',
  query: 'lookups are not supported in conditions; set a variable with the value instead',
  q: 'lookups are not supported in conditions; set a variable with the value instead',
};

// Depth of each node, computed as nodes are built, so deep trees made by long operator chains
// (`1+1+1+…`) are refused as well as deep parentheses.
const depths = new WeakMap<Expr, number>();

class Parser {
  private pos = 0;
  private nesting = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  private get tok(): Token {
    return this.tokens[this.pos]!;
  }

  private fail(reason: string, tok: Token = this.tok): never {
    if (this.isOp('=', tok)) reason = "'=' is not a comparison; use '=='";
    throw new ExprSyntaxError(reason, this.source, tok.col);
  }

  private describe(tok: Token): string {
    if (tok.type === 'eof') return 'the end of the expression';
    if (tok.type === 'string') return 'a string';
    if (tok.type === 'number') return `the number ${tok.value}`;
    return `'${tok.value}'`;
  }

  private isOp(value: string, tok: Token = this.tok): boolean {
    return tok.type === 'op' && tok.value === value;
  }

  private isName(value: string, tok: Token = this.tok): boolean {
    return tok.type === 'name' && tok.value === value;
  }

  private expectOp(value: string, what: string): Token {
    if (!this.isOp(value)) this.fail(`expected '${value}' ${what}, found ${this.describe(this.tok)}`);
    return this.tokens[this.pos++]!;
  }

  private node<E extends Expr>(e: E, ...children: (Expr | null)[]): E {
    let d = 0;
    for (const c of children) if (c) d = Math.max(d, depths.get(c) ?? 1);
    if (d + 1 > MAX_EXPR_DEPTH) this.fail(`expression is nested too deeply (more than ${MAX_EXPR_DEPTH} levels)`);
    depths.set(e, d + 1);
    return e;
  }

  // Guards the recursion itself: `((((…` must fail cleanly before the JS stack does. Every bracketed
  // sub-expression goes through parseExpression; `not` and unary minus recurse on their own.
  private enter(): void {
    if (++this.nesting > MAX_EXPR_DEPTH) this.fail(`expression is nested too deeply (more than ${MAX_EXPR_DEPTH} levels)`);
  }
  private leave(): void {
    this.nesting--;
  }

  parseAll(): Expr {
    if (this.tok.type === 'eof') this.fail('empty condition: write an expression, e.g. "result.rc == 0"');
    const e = this.parseExpression();
    const t = this.tokens[this.pos]!;
    if (t.type !== 'eof') {
      if (this.isOp('(', t)) this.fail('function calls are not allowed; use a filter (e.g. "x | length") or a test (e.g. "x is defined")');
      this.fail(`expected an operator (and, or, ==, in, is, |, …) or the end, found ${this.describe(t)}`);
    }
    return e;
  }

  private parseExpression(): Expr {
    this.enter();
    const col = this.tok.col;
    let e = this.parseOr();
    while (this.isName('if')) {
      this.pos++;
      const test = this.parseOr();
      let otherwise: Expr | null = null;
      if (this.isName('else')) {
        this.pos++;
        otherwise = this.parseExpression();
      }
      e = this.node({ kind: 'cond', test, then: e, otherwise, col }, test, e, otherwise);
    }
    this.leave();
    return e;
  }

  private parseOr(): Expr {
    const col = this.tok.col;
    const operands = [this.parseAnd()];
    while (this.isName('or')) {
      this.pos++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : this.node({ kind: 'or', operands, col }, ...operands);
  }

  private parseAnd(): Expr {
    const col = this.tok.col;
    const operands = [this.parseNot()];
    while (this.isName('and')) {
      this.pos++;
      operands.push(this.parseNot());
    }
    return operands.length === 1 ? operands[0]! : this.node({ kind: 'and', operands, col }, ...operands);
  }

  private parseNot(): Expr {
    if (this.isName('not')) {
      const col = this.tok.col;
      this.pos++;
      this.enter();
      const operand = this.parseNot();
      this.leave();
      return this.node({ kind: 'not', operand, col }, operand);
    }
    return this.parseCompare();
  }

  private compareOp(): CompareOp | null {
    const t = this.tok;
    if (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.value)) {
      this.pos++;
      return t.value as CompareOp;
    }
    if (this.isName('in')) {
      this.pos++;
      return 'in';
    }
    if (this.isName('not') && this.isName('in', this.tokens[this.pos + 1])) {
      this.pos += 2;
      return 'not in';
    }
    return null;
  }

  private parseCompare(): Expr {
    const col = this.tok.col;
    const first = this.parseAdditive();
    const rest: { op: CompareOp; operand: Expr }[] = [];
    for (let op = this.compareOp(); op; op = this.compareOp()) rest.push({ op, operand: this.parseAdditive() });
    return rest.length ? this.node({ kind: 'compare', first, rest, col }, first, ...rest.map((r) => r.operand)) : first;
  }

  private parseAdditive(): Expr {
    const col = this.tok.col;
    let left = this.parseMultiplicative();
    while (this.tok.type === 'op' && ['+', '-', '~'].includes(this.tok.value)) {
      const op = this.tokens[this.pos++]!.value as ArithOp;
      const right = this.parseMultiplicative();
      left = this.node({ kind: 'arith', op, left, right, col }, left, right);
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    const col = this.tok.col;
    let left = this.parseUnary();
    while (this.tok.type === 'op' && ['*', '/', '//', '%'].includes(this.tok.value)) {
      const op = this.tokens[this.pos++]!.value as ArithOp;
      const right = this.parseUnary();
      left = this.node({ kind: 'arith', op, left, right, col }, left, right);
    }
    return left;
  }

  private parseUnary(): Expr {
    const t = this.tok;
    if (this.isOp('-') || this.isOp('+')) {
      this.pos++;
      this.enter();
      const operand = this.parseUnary();
      this.leave();
      return t.value === '-' ? this.node({ kind: 'neg', operand, col: t.col }, operand) : operand;
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    if (t.type === 'string') {
      this.pos++;
      // Adjacent strings concatenate, as in Jinja and Python.
      let value = t.value;
      while (this.tok.type === 'string') value += this.tokens[this.pos++]!.value;
      return this.node({ kind: 'literal', value, col: t.col });
    }
    if (t.type === 'number') {
      this.pos++;
      return this.node({ kind: 'literal', value: t.num!, col: t.col });
    }
    if (t.type === 'name') {
      if (Object.hasOwn(LITERALS, t.value)) {
        this.pos++;
        return this.node({ kind: 'literal', value: LITERALS[t.value]!, col: t.col });
      }
      if (KEYWORDS.has(t.value)) this.fail(`expected a value, found the keyword '${t.value}'`);
      this.pos++;
      if (this.isOp('(')) {
        this.fail(CALL_HINTS[t.value] ?? `function calls are not allowed ('${t.value}(…)'); use a filter, e.g. "x | ${t.value}"`, t);
      }
      return this.node({ kind: 'var', name: t.value, col: t.col });
    }
    if (this.isOp('(')) {
      this.pos++;
      const first = this.parseExpression();
      let e = first;
      if (this.isOp(',')) {
        // A tuple: treated as a list.
        const items = [first];
        while (this.isOp(',')) {
          this.pos++;
          if (this.isOp(')')) break;
          items.push(this.parseExpression());
        }
        e = this.node({ kind: 'list', items, col: t.col }, ...items);
      }
      this.expectOp(')', `to close the '(' at column ${t.col}`);
      return e;
    }
    if (this.isOp('[')) {
      this.pos++;
      const items: Expr[] = [];
      while (!this.isOp(']')) {
        items.push(this.parseExpression());
        if (!this.isOp(',')) break;
        this.pos++;
      }
      this.expectOp(']', `to close the list opened at column ${t.col}`);
      return this.node({ kind: 'list', items, col: t.col }, ...items);
    }
    if (this.isOp('{')) {
      this.pos++;
      const entries: [Expr, Expr][] = [];
      while (!this.isOp('}')) {
        const k = this.parseExpression();
        this.expectOp(':', 'between a key and its value');
        const v = this.parseExpression();
        entries.push([k, v]);
        if (!this.isOp(',')) break;
        this.pos++;
      }
      this.expectOp('}', `to close the mapping opened at column ${t.col}`);
      return this.node({ kind: 'dict', entries, col: t.col }, ...entries.flat());
    }
    if (t.type === 'eof') this.fail('expected a value (a variable, string, number, list or parenthesis) at the end of the expression');
    this.fail(`expected a value (a variable, string, number, list or parenthesis), found ${this.describe(t)}`);
  }

  private parseArgs(what: string): Expr[] {
    if (!this.isOp('(')) return [];
    const open = this.tokens[this.pos++]!;
    const args: Expr[] = [];
    while (!this.isOp(')')) {
      if (this.tok.type === 'name' && this.isOp('=', this.tokens[this.pos + 1])) {
        this.fail(`keyword arguments are not supported in ${what}; pass the values in order`);
      }
      args.push(this.parseExpression());
      if (!this.isOp(',')) break;
      this.pos++;
    }
    this.expectOp(')', `to close the arguments of ${what} opened at column ${open.col}`);
    return args;
  }

  // Unknown names and wrong argument counts are found at load time, before any host is contacted.
  private checkBuiltin(what: 'filter' | 'test', table: Readonly<Record<string, Builtin>>, n: Token, args: Expr[]): void {
    const b = Object.hasOwn(table, n.value) ? table[n.value] : undefined;
    if (!b) {
      const names = Object.keys(table);
      const near = closest(n.value, names);
      const suggestion = distance(n.value, near) <= 2 ? `did you mean '${near}'? ` : '';
      this.fail(`unknown ${what} '${n.value}'; ${suggestion}available: ${names.join(', ')}`, n);
    }
    if (args.length < b.minArgs || args.length > b.maxArgs) {
      const want = b.minArgs === b.maxArgs ? `${b.minArgs}` : `${b.minArgs} to ${b.maxArgs}`;
      this.fail(`the ${what} '${n.value}' takes ${want} argument${b.maxArgs === 1 ? '' : 's'}, got ${args.length}`, n);
    }
  }

  private parsePostfix(e: Expr): Expr {
    for (;;) {
      const t = this.tok;
      if (this.isOp('.')) {
        this.pos++;
        const n = this.tok;
        if (n.type === 'name') {
          this.pos++;
          if (this.isOp('(')) {
            this.fail(`method calls are not allowed ('.${n.value}(…)'); use a filter or a test, e.g. "'text' in x" or "x | lower"`, n);
          }
          e = this.node({ kind: 'attr', object: e, name: n.value, col: n.col }, e);
        } else if (n.type === 'number') {
          this.pos++;
          const index = this.node({ kind: 'literal', value: n.num!, col: n.col });
          e = this.node({ kind: 'index', object: e, index, col: n.col }, e, index);
        } else {
          this.fail(`expected a name after '.', found ${this.describe(n)}`, n);
        }
      } else if (this.isOp('[')) {
        this.pos++;
        if (this.isOp(':') || this.isOp(']')) this.fail('slices are not supported; use the first / last filters or an index');
        const index = this.parseExpression();
        if (this.isOp(':')) this.fail('slices are not supported; use the first / last filters or an index');
        this.expectOp(']', `to close the '[' at column ${t.col}`);
        e = this.node({ kind: 'index', object: e, index, col: t.col }, e, index);
      } else if (this.isOp('|')) {
        this.pos++;
        const n = this.tok;
        if (n.type !== 'name') this.fail(`expected a filter name after '|', found ${this.describe(n)}`, n);
        this.pos++;
        const args = this.parseArgs(`the filter '${n.value}'`);
        this.checkBuiltin('filter', FILTERS, n, args);
        e = this.node({ kind: 'filter', name: n.value, target: e, args, col: n.col }, e, ...args);
      } else if (this.isName('is')) {
        this.pos++;
        let negated = false;
        if (this.isName('not')) {
          negated = true;
          this.pos++;
        }
        const n = this.tok;
        if (n.type !== 'name') this.fail(`expected a test name after 'is' (e.g. defined, none, failed), found ${this.describe(n)}`, n);
        this.pos++;
        const args = this.parseArgs(`the test '${n.value}'`);
        this.checkBuiltin('test', TESTS, n, args);
        e = this.node({ kind: 'test', name: n.value, target: e, args, negated, col: n.col }, e, ...args);
      } else {
        return e;
      }
    }
  }
}

// Users sometimes write `when: "{{ x }}"`: a whole-expression wrapper is stripped; mixed text is refused.
function stripBraces(src: string): { inner: string; offset: number } {
  const m = /^(\s*\{\{)([\s\S]*)\}\}\s*$/.exec(src);
  if (!m) {
    const at = src.indexOf('{{');
    if (at >= 0) {
      throw new ExprSyntaxError(
        "a condition is already an expression: write it without '{{ }}' (e.g. \"a == b\", not \"{{ a }} == {{ b }}\")",
        src,
        at + 1,
      );
    }
    return { inner: src, offset: 0 };
  }
  const inner = m[2]!;
  const nested = inner.search(/\{\{|\}\}/);
  if (nested >= 0) {
    throw new ExprSyntaxError(
      "a condition is already an expression: write it without '{{ }}' (e.g. \"a == b\", not \"{{ a }} == {{ b }}\")",
      src,
      m[1]!.length + nested + 1,
    );
  }
  return { inner, offset: m[1]!.length };
}

/** Parses a condition's text into an Expr; throws ExprSyntaxError with the column and what was expected. */
export function parseExpr(src: string): Expr {
  if (src.length > MAX_EXPR_LENGTH) {
    throw new ExprSyntaxError(`expression is too long (${src.length} characters, at most ${MAX_EXPR_LENGTH})`, src.slice(0, 40) + '…', 1);
  }
  const { inner, offset } = stripBraces(src);
  return new Parser(tokenize(inner, offset, src), src).parseAll();
}
