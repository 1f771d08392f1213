// A recursive-descent parser for Jinja2 expressions, with Jinja2's precedence, loosest first:
// `x if c else y`, or, and, not, comparisons / in, + -, ~, * / // %, **, unary - +,
// then postfix: .name [index] [a:b:c] .method(…) and the filters / tests that follow them.
// Calls are only the whitelisted globals (range, lookup, …) and methods (str.split, dict.items, …).
import { closest, distance } from 'fastest-levenshtein';
import type { ArithOp, CompareOp, Expr, KwArgs } from './ast.js';
import { ExprSyntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { FILTERS, GLOBALS, LOOKUPS, TESTS, arity, type Builtin } from './builtins.js';
import { METHOD_NAMES } from './methods.js';

/** The longest expression accepted: a real one is a line or two; this bounds the work of a hostile one. */
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

// Depth of each node, computed as nodes are built, so deep trees made by long operator chains
// (`1+1+1+…`) are refused as well as deep parentheses.
const depths = new WeakMap<Expr, number>();

/** The parser over one token stream; the template parser drives it statement by statement. */
export class ExprParser {
  pos = 0;
  private nesting = 0;

  constructor(
    readonly tokens: Token[],
    private readonly source: string,
  ) {}

  /** The current token. */
  get tok(): Token {
    return this.tokens[this.pos]!;
  }

  /** Throws a syntax error at `tok` (the current token by default). */
  fail(reason: string, tok: Token = this.tok): never {
    if (this.isOp('=', tok) && !reason.startsWith('keyword')) reason = "'=' is not a comparison; use '=='";
    throw new ExprSyntaxError(reason, this.source, tok.col);
  }

  /** How a token reads in a message. */
  describe(tok: Token): string {
    if (tok.type === 'eof') return 'the end of the expression';
    if (tok.type === 'string') return 'a string';
    if (tok.type === 'number') return `the number ${tok.value}`;
    return `'${tok.value}'`;
  }

  /** Whether `tok` is the operator `value`. */
  isOp(value: string, tok: Token = this.tok): boolean {
    return tok.type === 'op' && tok.value === value;
  }

  /** Whether `tok` is the name `value`. */
  isName(value: string, tok: Token = this.tok): boolean {
    return tok.type === 'name' && tok.value === value;
  }

  /** Consumes the operator `value` or fails saying what it was for. */
  expectOp(value: string, what: string): Token {
    if (!this.isOp(value)) this.fail(`expected '${value}' ${what}, found ${this.describe(this.tok)}`);
    return this.tokens[this.pos++]!;
  }

  /** Consumes a plain name (a variable to assign) or fails. */
  expectName(what: string): Token {
    const t = this.tok;
    if (t.type !== 'name' || KEYWORDS.has(t.value) || Object.hasOwn(LITERALS, t.value)) this.fail(`expected ${what}, found ${this.describe(t)}`);
    this.pos++;
    return t;
  }

  /** Whether every token has been read. */
  atEnd(): boolean {
    return this.tok.type === 'eof';
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

  /** Parses the whole token stream as one expression. */
  parseAll(): Expr {
    if (this.tok.type === 'eof') this.fail('empty condition: write an expression, e.g. "result.rc == 0"');
    const e = this.parseExpression();
    const t = this.tokens[this.pos]!;
    if (t.type !== 'eof') {
      if (this.isOp('(', t)) this.fail('function calls are not allowed here; use a filter (e.g. "x | length") or a test (e.g. "x is defined")');
      this.fail(`expected an operator (and, or, ==, in, is, |, …) or the end, found ${this.describe(t)}`);
    }
    return e;
  }

  /** One expression, conditional expressions included. */
  parseExpression(withCond = true): Expr {
    this.enter();
    const col = this.tok.col;
    let e = this.parseOr();
    while (withCond && this.isName('if')) {
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

  private binary(ops: string[], next: () => Expr): Expr {
    const col = this.tok.col;
    let left = next();
    while (this.tok.type === 'op' && ops.includes(this.tok.value)) {
      const op = this.tokens[this.pos++]!.value as ArithOp;
      const right = next();
      left = this.node({ kind: 'arith', op, left, right, col }, left, right);
    }
    return left;
  }

  // As Jinja2: `~` binds tighter than + and -, looser than * and /.
  private parseAdditive(): Expr {
    return this.binary(['+', '-'], () => this.binary(['~'], () => this.binary(['*', '/', '//', '%'], () => this.binary(['**'], () => this.parseUnary(true)))));
  }

  // As Jinja2: `-x | f` is `(-x) | f`, and `-2 ** 2` is `(-2) ** 2`.
  private parseUnary(withFilter: boolean): Expr {
    const t = this.tok;
    let e: Expr;
    if (this.isOp('-') || this.isOp('+')) {
      this.pos++;
      this.enter();
      const operand = this.parseUnary(false);
      this.leave();
      e = t.value === '-' ? this.node({ kind: 'neg', operand, col: t.col }, operand) : operand;
    } else {
      e = this.parsePrimary();
    }
    e = this.parsePostfix(e);
    return withFilter ? this.parseFilters(e) : e;
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
      if (this.isOp('(')) return this.parseGlobalCall(t);
      return this.node({ kind: 'var', name: t.value, col: t.col });
    }
    if (this.isOp('(')) {
      this.pos++;
      if (this.isOp(')')) {
        this.pos++;
        return this.node({ kind: 'list', items: [], tuple: true, col: t.col });
      }
      const first = this.parseExpression();
      let e = first;
      if (this.isOp(',')) {
        const items = [first];
        while (this.isOp(',')) {
          this.pos++;
          if (this.isOp(')')) break;
          items.push(this.parseExpression());
        }
        e = this.node({ kind: 'list', items, tuple: true, col: t.col }, ...items);
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

  // `range(…)`, `lookup('env', …)`: only the whitelisted globals, and only the lookups ferry has.
  private parseGlobalCall(n: Token): Expr {
    const g = Object.hasOwn(GLOBALS, n.value) ? GLOBALS[n.value] : undefined;
    if (!g) {
      const near = closest(n.value, Object.keys(GLOBALS));
      const hint = distance(n.value, near) <= 2 ? `did you mean '${near}(…)'? ` : '';
      this.fail(`'${n.value}(…)' is not a function ferry has; ${hint}functions: ${Object.keys(GLOBALS).join(', ')}; or use a filter, e.g. "x | ${n.value}"`, n);
    }
    const { args, kwargs } = this.parseArgs(`'${n.value}(…)'`);
    this.checkArgs('function', n, g, args, kwargs);
    if (g.lookup) {
      const first = args[0];
      if (!first || first.kind !== 'literal' || typeof first.value !== 'string') {
        this.fail(`the first argument of ${n.value}(…) must be the lookup's name as a string, e.g. ${n.value}('env', 'HOME')`, n);
      }
      const name = (first.value as string).replace(/^ansible\.builtin\./, '');
      if (!Object.hasOwn(LOOKUPS, name)) {
        this.fail(`the lookup '${first.value}' is not supported; ferry has: ${Object.keys(LOOKUPS).join(', ')} (lookups that run commands, such as pipe, never will)`, this.tokens.find((x) => x.col === first.col) ?? n);
      }
    }
    return this.node({ kind: 'call', name: n.value, args, kwargs, col: n.col }, ...args, ...kwargs.map(([, v]) => v));
  }

  // Where each keyword argument was written, for messages about it.
  private readonly kwTokens = new WeakMap<KwArgs, Token[]>();

  private parseArgs(what: string): { args: Expr[]; kwargs: KwArgs } {
    const args: Expr[] = [];
    const kwargs: KwArgs = [];
    const kwTokens: Token[] = [];
    this.kwTokens.set(kwargs, kwTokens);
    if (!this.isOp('(')) return { args, kwargs };
    const open = this.tokens[this.pos++]!;
    while (!this.isOp(')')) {
      if (this.tok.type === 'name' && this.isOp('=', this.tokens[this.pos + 1])) {
        const k = this.tok;
        this.pos += 2;
        if (kwargs.some(([name]) => name === k.value)) this.fail(`keyword argument '${k.value}' given twice`, k);
        kwargs.push([k.value, this.parseExpression()]);
        kwTokens.push(k);
      } else {
        if (kwargs.length) this.fail(`a positional argument cannot follow keyword arguments in ${what}`);
        args.push(this.parseExpression());
      }
      if (!this.isOp(',')) break;
      this.pos++;
    }
    this.expectOp(')', `to close the arguments of ${what} opened at column ${open.col}`);
    return { args, kwargs };
  }

  // Unknown names and wrong arguments are found at load time, before any host is contacted.
  private lookupBuiltin(what: 'filter' | 'test', table: Readonly<Record<string, Builtin>>, n: Token): Builtin {
    const b = Object.hasOwn(table, n.value) ? table[n.value] : undefined;
    if (!b) {
      const names = Object.keys(table);
      const near = closest(n.value, names);
      const suggestion = distance(n.value, near) <= 2 ? `did you mean '${near}'? ` : '';
      this.fail(`unknown ${what} '${n.value}'; ${suggestion}available: ${names.join(', ')}`, n);
    }
    return b;
  }

  private checkArgs(what: string, n: Token, b: Builtin, args: Expr[], kwargs: KwArgs): void {
    const { min, max } = arity(b);
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    const arityError = (): never => this.fail(`the ${what} '${n.value}' takes ${want} argument${max === 1 ? '' : 's'}, got ${args.length}`, n);
    if (args.length > max) arityError();
    kwargs.forEach(([k], j) => {
      const at = this.kwTokens.get(kwargs)?.[j] ?? n;
      const i = b.params.indexOf(k);
      if (i >= 0 && i < args.length) this.fail(`the ${what} '${n.value}' got '${k}' both by position and by keyword`, at);
      if (i < 0 && !b.anyKeywords && !(b.kwonly ?? []).includes(k)) {
        const known = [...b.params, ...(b.kwonly ?? [])];
        this.fail(`keyword argument '${k}' is not a parameter of the ${what} '${n.value}'${known.length ? ` (it takes: ${known.join(', ')})` : ''}`, at);
      }
    });
    for (let i = args.length; i < min; i++) {
      const name = b.params[i];
      if (name === undefined || !kwargs.some(([k]) => k === name)) {
        if (name === undefined || kwargs.length === 0) arityError();
        this.fail(`the ${what} '${n.value}' needs its argument '${name}'`, n);
      }
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
            if (!METHOD_NAMES.has(n.value)) {
              const near = closest(n.value, [...METHOD_NAMES]);
              const hint = distance(n.value, near) <= 2 ? `did you mean '.${near}(…)'? ` : '';
              this.fail(`'.${n.value}(…)' is not a method ferry has; ${hint}methods: ${[...METHOD_NAMES].join(', ')}; or use a filter, e.g. "x | lower"`, n);
            }
            const { args, kwargs } = this.parseArgs(`'.${n.value}(…)'`);
            e = this.node({ kind: 'method', object: e, name: n.value, args, kwargs, col: n.col }, e, ...args, ...kwargs.map(([, v]) => v));
          } else {
            e = this.node({ kind: 'attr', object: e, name: n.value, col: n.col }, e);
          }
        } else if (n.type === 'number') {
          this.pos++;
          const index = this.node({ kind: 'literal', value: n.num!, col: n.col });
          e = this.node({ kind: 'index', object: e, index, col: n.col }, e, index);
        } else {
          this.fail(`expected a name after '.', found ${this.describe(n)}`, n);
        }
      } else if (this.isOp('[')) {
        this.pos++;
        const parts: (Expr | null)[] = [];
        let colons = 0;
        let cur: Expr | null = null;
        while (!this.isOp(']')) {
          if (this.isOp(':')) {
            if (++colons > 2) this.fail('a slice has at most three parts: [start:stop:step]');
            parts.push(cur);
            cur = null;
            this.pos++;
            continue;
          }
          if (cur) break;
          cur = this.parseExpression();
        }
        parts.push(cur);
        this.expectOp(']', `to close the '[' at column ${t.col}`);
        if (colons === 0) {
          if (!cur) this.fail('expected an index or a slice inside [ ]', t);
          e = this.node({ kind: 'index', object: e, index: cur, col: t.col }, e, cur);
        } else {
          const [start = null, stop = null, step = null] = parts;
          e = this.node({ kind: 'slice', object: e, start, stop, step, col: t.col }, e, start, stop, step);
        }
      } else if (this.isOp('(')) {
        this.fail('only filters, tests, the functions range/lookup/query/dict and the listed methods can be called');
      } else {
        return e;
      }
    }
  }

  private startsArgument(): boolean {
    const t = this.tok;
    if (t.type === 'string' || t.type === 'number' || this.isOp('[') || this.isOp('{')) return true;
    return t.type === 'name' && !KEYWORDS.has(t.value);
  }

  private parseFilters(e: Expr): Expr {
    for (;;) {
      if (this.isOp('|')) {
        this.pos++;
        const n = this.tok;
        if (n.type !== 'name') this.fail(`expected a filter name after '|', found ${this.describe(n)}`, n);
        this.pos++;
        const b = this.lookupBuiltin('filter', FILTERS, n);
        const { args, kwargs } = this.parseArgs(`the filter '${n.value}'`);
        this.checkArgs('filter', n, b, args, kwargs);
        e = this.node({ kind: 'filter', name: n.value, target: e, args, kwargs, col: n.col }, e, ...args, ...kwargs.map(([, v]) => v));
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
        const b = this.lookupBuiltin('test', TESTS, n);
        let args: Expr[] = [];
        let kwargs: KwArgs = [];
        if (this.isOp('(')) ({ args, kwargs } = this.parseArgs(`the test '${n.value}'`));
        else if (this.startsArgument()) {
          // Jinja's `x is divisibleby 3` / `x is sameas none`: one argument without parentheses.
          args = [this.parsePostfix(this.parsePrimary())];
        }
        this.checkArgs('test', n, b, args, kwargs);
        e = this.node({ kind: 'test', name: n.value, target: e, args, kwargs, negated, col: n.col }, e, ...args, ...kwargs.map(([, v]) => v));
      } else {
        return e;
      }
    }
  }
}

// The index of `needle` outside string literals, or -1.
function indexOutsideStrings(src: string, needle: string, from = 0): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i]!;
    if (c === "'" || c === '"') {
      i++;
      while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      continue;
    }
    if (src.startsWith(needle, i)) return i;
  }
  return -1;
}

const ALREADY = "a condition is already an expression: write it without '{{ }}' (e.g. \"a == b\", not \"{{ a }} == {{ b }}\")";

// Users sometimes write `when: "{{ x }}"`: a whole-expression wrapper is stripped; mixed text is refused.
function stripBraces(src: string): { inner: string; offset: number } {
  const open = indexOutsideStrings(src, '{{');
  if (open < 0) return { inner: src, offset: 0 };
  const m = /^(\s*\{\{)([\s\S]*)\}\}\s*$/.exec(src);
  if (!m || open !== m[1]!.length - 2) throw new ExprSyntaxError(ALREADY, src, open + 1);
  const inner = m[2]!;
  const nested = Math.min(...['{{', '}}'].map((x) => indexOutsideStrings(inner, x)).map((i) => (i < 0 ? Infinity : i)));
  if (nested !== Infinity) throw new ExprSyntaxError(ALREADY, src, m[1]!.length + nested + 1);
  return { inner, offset: m[1]!.length };
}

function checkLength(src: string): void {
  if (src.length > MAX_EXPR_LENGTH) {
    throw new ExprSyntaxError(`expression is too long (${src.length} characters, at most ${MAX_EXPR_LENGTH})`, src.slice(0, 40) + '…', 1);
  }
}

/** Parses a condition's text into an Expr; throws ExprSyntaxError with the column and what was expected. */
export function parseExpr(src: string): Expr {
  checkLength(src);
  const { inner, offset } = stripBraces(src);
  return new ExprParser(tokenize(inner, offset, src), src).parseAll();
}

/** Parses the text between `{{` and `}}` (columns counted from `offset` within `fullSource`). */
export function parseInnerExpr(inner: string, offset: number, fullSource: string): Expr {
  checkLength(inner);
  const p = new ExprParser(tokenize(inner, offset, fullSource), fullSource);
  if (p.atEnd()) p.fail("empty expression: write a variable or an expression between '{{' and '}}'");
  return p.parseAll();
}
