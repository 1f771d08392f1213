// Jinja2 templates: text with `{{ expr }}`, `{% if/elif/else %}`, `{% for %}` (loop.index, …,
// `{% else %}`), `{% set %}`, `{% raw %}` and `{# comments #}`, with Jinja's whitespace control
// (`{%-`, `-%}`, `+%}`, trim_blocks, lstrip_blocks). Parsed once into plain data, rendered by
// walking it with the expression evaluator: nothing is compiled, nothing outside the whitelist runs.
import type { Expr } from './ast.js';
import { ExprEvalError, ExprSyntaxError, TemplateSyntaxError, atTemplateLine } from './errors.js';
import { Scope, evaluateLoose, type EvalOptions, type Vars } from './evaluate.js';
import { tokenize } from './lexer.js';
import { ExprParser, MAX_EXPR_LENGTH } from './parser.js';
import { OMIT, Undefined, defined, entries, isMapping, pyStr, truthy, typeName } from './values.js';

/** Whitespace handling, as Jinja's Environment options. */
export interface TemplateOptions {
  /** Remove the first newline after a block or comment tag (Ansible: true). */
  trimBlocks: boolean;
  /** Strip spaces and tabs before a block or comment tag that starts its line (Ansible: false). */
  lstripBlocks: boolean;
  /** Keep the template's trailing newlines: Ansible re-adds what Jinja's keep_trailing_newline=False removed. */
  preserveTrailingNewlines: boolean;
  /** String literals inside `{{ }}` keep their backslashes (Ansible's escape_backslashes, on for playbook values). */
  escapeBackslashes: boolean;
}

/** Ansible's settings for the template module (plugins/action/template.py): trim_blocks on, lstrip_blocks off. */
export const ANSIBLE_TEMPLATE_OPTIONS: Readonly<TemplateOptions> = Object.freeze({
  trimBlocks: true,
  lstripBlocks: false,
  preserveTrailingNewlines: true,
  escapeBackslashes: false,
});

/** Ansible's settings for values in playbooks, inventories and -e (Templar.template's defaults). */
export const ANSIBLE_VALUE_OPTIONS: Readonly<TemplateOptions> = Object.freeze({ ...ANSIBLE_TEMPLATE_OPTIONS, escapeBackslashes: true });

/** One node of a parsed template. */
export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'output'; expr: Expr; line: number }
  | { kind: 'if'; branches: { test: Expr; body: TemplateNode[]; line: number }[]; otherwise: TemplateNode[] | null }
  | { kind: 'for'; targets: string[]; iter: Expr; filter: Expr | null; body: TemplateNode[]; otherwise: TemplateNode[] | null; line: number }
  | { kind: 'set'; targets: string[]; value: Expr; line: number }
  | { kind: 'setblock'; name: string; body: TemplateNode[]; line: number };

/** A parsed template: its nodes and how many newlines ended its source. */
export interface Template {
  nodes: TemplateNode[];
  trailingNewlines: number;
}

/** The largest text a template may render: bounds a hostile template's loops. */
export const MAX_TEMPLATE_OUTPUT = 64 * 1024 * 1024;
/** The most loop iterations one render may run in total. */
export const MAX_LOOP_ITERATIONS = 1_000_000;
/** The deepest nesting of statements. */
export const MAX_TEMPLATE_DEPTH = 100;

type Tag = 'var' | 'block' | 'comment';

interface Token {
  type: 'data' | Tag;
  /** For data: the text; for tags: the inner source (delimiters and whitespace signs removed). */
  text: string;
  /** Absolute index in the source where `text` starts. */
  at: number;
  /** For tags: the index of the opening `{`. */
  start: number;
}

const UNSUPPORTED: Record<string, string> = {
  macro: 'macros', call: 'call blocks', include: 'include', import: 'import', from: 'import', extends: 'template inheritance',
  block: 'template inheritance', filter: 'filter blocks', with: 'with blocks', do: 'the do extension', break: 'loop controls',
  continue: 'loop controls', autoescape: 'autoescape',
};

/** Line and column (1-based) of an index in `src`. */
function position(src: string, at: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = src.indexOf('\n'); i >= 0 && i < at; i = src.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, col: at - last };
}

class Lexer {
  private pos = 0;
  private lineStarting = true;
  readonly tokens: Token[] = [];

  constructor(
    private readonly src: string,
    private readonly opts: Readonly<TemplateOptions>,
  ) {}

  fail(reason: string, at: number): never {
    const p = position(this.src, at);
    throw new TemplateSyntaxError(reason, p.line, p.col);
  }

  // Applies the opening tag's whitespace control to the text before it.
  private pushData(text: string, at: number, sign: string, tag: Tag | 'raw'): void {
    if (sign === '-') text = text.replace(/\s+$/u, '');
    else if (sign !== '+' && this.opts.lstripBlocks && tag !== 'var') {
      const l = text.lastIndexOf('\n') + 1;
      if ((l > 0 || this.lineStarting) && /^[ \t\f\v]+$/.test(text.slice(l))) text = text.slice(0, l);
    }
    if (text) this.tokens.push({ type: 'data', text, at, start: at });
  }

  // Finds the end of a `{{`/`{%` tag: the closing delimiter outside strings and brackets.
  private scanTag(from: number, close: '}}' | '%}'): { innerEnd: number; end: number; sign: string } {
    const src = this.src;
    const stack: string[] = [];
    let i = from;
    while (i < src.length) {
      const c = src[i]!;
      if (c === "'" || c === '"') {
        const start = i;
        i++;
        while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
        if (i >= src.length) this.fail(`unterminated string: add the closing ${c}`, start);
        i++;
        continue;
      }
      if (stack.length === 0) {
        for (const sign of ['-', '+', '']) {
          if ((sign === '+' && close === '}}') || !src.startsWith(sign + close, i)) continue;
          return { innerEnd: i, end: i + sign.length + close.length, sign };
        }
      }
      if (c === '(' || c === '[' || c === '{') stack.push(c === '(' ? ')' : c === '[' ? ']' : '}');
      else if ((c === ')' || c === ']' || c === '}') && stack.length) {
        if (stack.pop() !== c) this.fail(`unexpected '${c}'`, i);
      }
      i++;
    }
    this.fail(close === '}}' ? "missing '}}' to close the '{{'" : "missing '%}' to close the '{%'", from - 2);
  }

  // After a closing delimiter: `-` strips all following whitespace, trim_blocks one newline.
  private afterClose(end: number, sign: string, tag: Tag): number {
    if (sign === '-') {
      while (end < this.src.length && /\s/u.test(this.src[end]!)) end++;
    } else if (sign === '' && tag !== 'var' && this.opts.trimBlocks && this.src[end] === '\n') end++;
    this.lineStarting = this.src[end - 1] === '\n';
    return end;
  }

  run(): Token[] {
    const src = this.src;
    while (this.pos < src.length) {
      const open = /\{[{%#]/g;
      open.lastIndex = this.pos;
      const m = open.exec(src);
      if (!m) {
        this.pushData(src.slice(this.pos), this.pos, '', 'var');
        break;
      }
      const start = m.index;
      const kind: Tag = m[0] === '{{' ? 'var' : m[0] === '{%' ? 'block' : 'comment';
      const sign = src[start + 2] === '-' || src[start + 2] === '+' ? src[start + 2]! : '';
      const innerStart = start + 2 + sign.length;
      const text = src.slice(this.pos, start);
      if (kind === 'comment') {
        const endRe = /([+-]?)#\}/g;
        endRe.lastIndex = innerStart;
        const e = endRe.exec(src);
        if (!e) this.fail("missing '#}' to close the comment", start);
        this.pushData(text, this.pos, sign, 'comment');
        this.pos = this.afterClose(e.index + e[0].length, e[1]!, 'comment');
        continue;
      }
      if (kind === 'block') {
        const raw = /^\{%([+-]?)\s*raw\s*(-?)%\}/.exec(src.slice(start, start + 64));
        if (raw) {
          this.pushData(text, this.pos, raw[1]!, 'block');
          let bodyStart = start + raw[0].length;
          if (raw[2] === '-') while (bodyStart < src.length && /\s/u.test(src[bodyStart]!)) bodyStart++;
          const endRe = /\{%([+-]?)\s*endraw\s*([+-]?)%\}/g;
          endRe.lastIndex = bodyStart;
          const e = endRe.exec(src);
          if (!e) this.fail("missing '{% endraw %}' for this '{% raw %}'", start);
          this.lineStarting = false;
          this.pushData(src.slice(bodyStart, e.index), bodyStart, e[1]!, 'block');
          this.pos = this.afterClose(e.index + e[0].length, e[2]!, 'block');
          continue;
        }
      }
      this.pushData(text, this.pos, sign, kind);
      const t = this.scanTag(innerStart, kind === 'var' ? '}}' : '%}');
      this.tokens.push({ type: kind, text: src.slice(innerStart, t.innerEnd), at: innerStart, start });
      this.pos = this.afterClose(t.end, t.sign, kind);
    }
    return this.tokens;
  }
}

type Frame =
  | { kind: 'root'; body: TemplateNode[] }
  | { kind: 'if'; node: Extract<TemplateNode, { kind: 'if' }>; body: TemplateNode[]; at: number; elseSeen: boolean }
  | { kind: 'for'; node: Extract<TemplateNode, { kind: 'for' }>; body: TemplateNode[]; at: number; elseSeen: boolean }
  | { kind: 'setblock'; node: Extract<TemplateNode, { kind: 'setblock' }>; body: TemplateNode[]; at: number };

const END_OF: Record<string, string> = { if: 'endif', for: 'endfor', setblock: 'endset' };

class TemplateParser {
  private readonly stack: Frame[] = [{ kind: 'root', body: [] }];

  constructor(
    private readonly src: string,
    private readonly lexer: Lexer,
    private readonly opts: Readonly<TemplateOptions>,
  ) {}

  private fail(reason: string, at: number): never {
    return this.lexer.fail(reason, at);
  }

  private get top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  // Runs the expression parser over a tag's text; its errors become template errors at the right line and column.
  private withParser<T>(tok: Token, f: (p: ExprParser) => T): T {
    if (tok.text.length > MAX_EXPR_LENGTH) this.fail(`expression is too long (${tok.text.length} characters, at most ${MAX_EXPR_LENGTH})`, tok.at);
    try {
      const raw = tok.type === 'var' && this.opts.escapeBackslashes;
      return f(new ExprParser(tokenize(tok.text, 0, tok.text, { rawStrings: raw }), tok.text));
    } catch (e) {
      if (e instanceof ExprSyntaxError) this.fail(e.reason, tok.at + e.col - 1);
      throw e;
    }
  }

  private targets(p: ExprParser): string[] {
    const paren = p.isOp('(');
    if (paren) p.pos++;
    const names = [p.expectName('a variable name').value];
    while (p.isOp(',')) {
      p.pos++;
      if (paren && p.isOp(')')) break;
      names.push(p.expectName('a variable name').value);
    }
    if (paren) p.expectOp(')', 'to close the names');
    return names;
  }

  private end(p: ExprParser, what: string): void {
    if (!p.atEnd()) p.fail(`unexpected ${p.describe(p.tok)} after ${what}`);
  }

  private statement(tok: Token): void {
    const line = position(this.src, tok.at).line;
    const m = /^(\s*)([A-Za-z_]\w*)/.exec(tok.text);
    if (!m) this.fail('expected a statement name (if, for, set, …) after {%', tok.at);
    const name = m[2]!;
    const nameAt = tok.at + m[1]!.length;
    const top = this.top;
    switch (name) {
      case 'if': {
        const test = this.withParser(tok, (p) => {
          p.pos++;
          const e = p.parseExpression();
          this.end(p, 'the if condition');
          return e;
        });
        const node: Extract<TemplateNode, { kind: 'if' }> = { kind: 'if', branches: [{ test, body: [], line }], otherwise: null };
        this.push({ kind: 'if', node, body: node.branches[0]!.body, at: tok.start, elseSeen: false }, node);
        return;
      }
      case 'elif': {
        if (top.kind !== 'if' || top.elseSeen) this.fail(`'elif' outside an if block${top.kind === 'if' ? ', or after its else' : ''}`, nameAt);
        const test = this.withParser(tok, (p) => {
          p.pos++;
          const e = p.parseExpression();
          this.end(p, 'the elif condition');
          return e;
        });
        const branch = { test, body: [] as TemplateNode[], line };
        top.node.branches.push(branch);
        top.body = branch.body;
        return;
      }
      case 'else': {
        this.withParser(tok, (p) => {
          p.pos++;
          this.end(p, 'else');
        });
        if ((top.kind !== 'if' && top.kind !== 'for') || top.elseSeen) this.fail(`'else' outside an if or for block${top.kind === 'if' || top.kind === 'for' ? ', or a second else' : ''}`, nameAt);
        top.elseSeen = true;
        top.node.otherwise = [];
        top.body = top.node.otherwise;
        return;
      }
      case 'for': {
        const node = this.withParser(tok, (p) => {
          p.pos++;
          const targets = this.targets(p);
          if (!p.isName('in')) p.fail(`expected 'in' after the loop variable${targets.length > 1 ? 's' : ''}, found ${p.describe(p.tok)}`);
          p.pos++;
          const iter = p.parseExpression(false);
          let filter: Expr | null = null;
          if (p.isName('if')) {
            p.pos++;
            filter = p.parseExpression();
          }
          if (p.isName('recursive')) p.fail('recursive loops are not supported');
          this.end(p, 'the for loop');
          return { kind: 'for' as const, targets, iter, filter, body: [] as TemplateNode[], otherwise: null, line };
        });
        this.push({ kind: 'for', node, body: node.body, at: tok.start, elseSeen: false }, node);
        return;
      }
      case 'set': {
        const r = this.withParser(tok, (p) => {
          p.pos++;
          const targets = this.targets(p);
          if (p.isOp('.')) p.fail('assigning to an attribute (namespace) is not supported; set a plain variable');
          if (p.atEnd()) {
            if (targets.length !== 1) p.fail('a block set takes one variable name');
            return { block: true as const, name: targets[0]! };
          }
          p.expectOp('=', "after the variable name (e.g. {% set x = 1 %})");
          const value = p.parseExpression();
          if (p.isOp(',')) p.fail("set one value per statement, or build a list: {% set a, b = [1, 2] %}");
          this.end(p, 'the set value');
          return { block: false as const, targets, value };
        });
        if (r.block) {
          const node: Extract<TemplateNode, { kind: 'setblock' }> = { kind: 'setblock', name: r.name, body: [], line };
          this.push({ kind: 'setblock', node, body: node.body, at: tok.start }, node);
        } else top.body.push({ kind: 'set', targets: r.targets, value: r.value, line });
        return;
      }
      case 'endif':
      case 'endfor':
      case 'endset': {
        this.withParser(tok, (p) => {
          p.pos++;
          this.end(p, name);
        });
        if (top.kind === 'root' || END_OF[top.kind] !== name) {
          const open = top.kind === 'root' ? 'nothing is open' : `the open block is '${top.kind === 'setblock' ? 'set' : top.kind}' (line ${position(this.src, top.at).line}), closed by '${END_OF[top.kind]}'`;
          this.fail(`unexpected '${name}': ${open}`, nameAt);
        }
        this.stack.pop();
        return;
      }
      default: {
        const what = Object.hasOwn(UNSUPPORTED, name) ? UNSUPPORTED[name] : null;
        if (what) this.fail(`'{% ${name} %}' (${what}) is not supported in ferry templates; supported: if/elif/else, for, set, raw`, nameAt);
        this.fail(`unknown statement '${name}'; ferry templates support if/elif/else, for, set, raw`, nameAt);
      }
    }
  }

  private push(frame: Frame, node: TemplateNode): void {
    if (this.stack.length > MAX_TEMPLATE_DEPTH) this.fail(`statements are nested too deeply (more than ${MAX_TEMPLATE_DEPTH} levels)`, (frame as { at: number }).at);
    this.top.body.push(node);
    this.stack.push(frame);
  }

  parse(tokens: Token[]): TemplateNode[] {
    for (const tok of tokens) {
      if (tok.type === 'data') this.top.body.push({ kind: 'text', text: tok.text });
      else if (tok.type === 'var') {
        if (!tok.text.trim()) this.fail("empty expression: write a variable or an expression between '{{' and '}}'", tok.at);
        const expr = this.withParser(tok, (p) => p.parseAll());
        this.top.body.push({ kind: 'output', expr, line: position(this.src, tok.at).line });
      } else if (tok.type === 'block') this.statement(tok);
    }
    const open = this.top;
    if (open.kind !== 'root') {
      this.fail(`'{% ${open.kind === 'setblock' ? 'set' : open.kind} %}' is never closed: add '{% ${END_OF[open.kind]} %}'`, open.at);
    }
    return open.body;
  }
}

const cache = new Map<string, Template>();
const CACHE_MAX = 2000;

/** Parses a template; throws TemplateSyntaxError with the line and column. Parsed templates are cached. */
export function parseTemplate(source: string, opts: Readonly<TemplateOptions> = ANSIBLE_TEMPLATE_OPTIONS): Template {
  const key = `${opts.trimBlocks ? 1 : 0}${opts.lstripBlocks ? 1 : 0}${opts.preserveTrailingNewlines ? 1 : 0}${opts.escapeBackslashes ? 1 : 0}${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // As Jinja: \r\n and \r read as \n, and (keep_trailing_newline=False) one final newline is not part of the template.
  let src = source.replace(/\r\n?/g, '\n');
  const trailingNewlines = /\n*$/.exec(src)![0].length;
  if (src.endsWith('\n')) src = src.slice(0, -1);
  const lexer = new Lexer(src, opts);
  const nodes = new TemplateParser(src, lexer, opts).parse(lexer.run());
  const t: Template = { nodes, trailingNewlines: opts.preserveTrailingNewlines ? trailingNewlines : 0 };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, t);
  return t;
}

/** Whether a string holds template syntax at all (`{{`, `{%` or `{#`). */
export function hasTemplateSyntax(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#');
}

interface RenderState {
  options: EvalOptions;
  iterations: number;
  size: number;
}

function iterable(v: unknown): unknown[] {
  v = defined(v);
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return entries(v).map(([k]) => k);
  throw new ExprEvalError(`cannot loop over ${typeName(v)}`);
}

function assign(scope: Scope, targets: string[], value: unknown): void {
  if (targets.length === 1) {
    scope.set(targets[0]!, value);
    return;
  }
  const items = Array.isArray(value) || typeof value === 'string' ? [...value] : null;
  if (!items || items.length !== targets.length) {
    throw new ExprEvalError(`cannot unpack ${Array.isArray(value) ? `${items!.length} items` : typeName(value)} into ${targets.length} names (${targets.join(', ')})`);
  }
  targets.forEach((t, i) => scope.set(t, items[i]));
}

/** How a value is written into a template's text: none as '' (as Ansible), strings as they are, the rest as Python prints them. */
export function outputText(v: unknown): string {
  v = defined(v);
  if (v === null) return '';
  if (v === OMIT) throw new ExprEvalError('omit can only be the whole value of a parameter (e.g. "{{ x | default(omit) }}"), not part of a text');
  return pyStr(v);
}

function evalAt(expr: Expr, scope: Scope, st: RenderState, line: number): unknown {
  try {
    return evaluateLoose(expr, scope, st.options);
  } catch (e) {
    if (e instanceof Error) throw atTemplateLine(e, line);
    throw e;
  }
}

function renderNodes(nodes: TemplateNode[], scope: Scope, st: RenderState, out: string[]): void {
  const write = (s: string): void => {
    st.size += s.length;
    if (st.size > MAX_TEMPLATE_OUTPUT) throw new ExprEvalError(`the template renders to more than ${MAX_TEMPLATE_OUTPUT} characters`);
    out.push(s);
  };
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        write(n.text);
        break;
      case 'output': {
        const v = evalAt(n.expr, scope, st, n.line);
        try {
          write(outputText(v));
        } catch (e) {
          if (e instanceof Error) throw atTemplateLine(e, n.line);
          throw e;
        }
        break;
      }
      case 'if': {
        const hit = n.branches.find((b) => {
          const v = evalAt(b.test, scope, st, b.line);
          try {
            return truthy(v);
          } catch (e) {
            throw e instanceof Error ? atTemplateLine(e, b.line) : e;
          }
        });
        if (hit) renderNodes(hit.body, scope, st, out);
        else if (n.otherwise) renderNodes(n.otherwise, scope, st, out);
        break;
      }
      case 'for': {
        let items: unknown[];
        try {
          items = iterable(evalAt(n.iter, scope, st, n.line));
        } catch (e) {
          throw e instanceof Error ? atTemplateLine(e, n.line) : e;
        }
        if (n.filter) {
          items = items.filter((item) => {
            const s = scope.child();
            assign(s, n.targets, item);
            return truthy(evalAt(n.filter!, s, st, n.line));
          });
        }
        if (!items.length) {
          if (n.otherwise) renderNodes(n.otherwise, scope, st, out);
          break;
        }
        const length = items.length;
        items.forEach((item, i) => {
          if (++st.iterations > MAX_LOOP_ITERATIONS) throw atTemplateLine(new ExprEvalError(`the template runs more than ${MAX_LOOP_ITERATIONS} loop iterations`), n.line);
          const s = scope.child();
          // A literal with fixed keys: a plain mapping, cheaper than makeMapping in a hot loop.
          s.set('loop', {
            index: i + 1,
            index0: i,
            revindex: length - i,
            revindex0: length - i - 1,
            first: i === 0,
            last: i === length - 1,
            length,
            depth: 1,
            depth0: 0,
            previtem: i > 0 ? items[i - 1] : new Undefined('loop.previtem', 'this is the first item'),
            nextitem: i < length - 1 ? items[i + 1] : new Undefined('loop.nextitem', 'this is the last item'),
          });
          try {
            assign(s, n.targets, item);
          } catch (e) {
            throw e instanceof Error ? atTemplateLine(e, n.line) : e;
          }
          renderNodes(n.body, s, st, out);
        });
        break;
      }
      case 'set': {
        const v = evalAt(n.value, scope, st, n.line);
        try {
          assign(scope, n.targets, defined(v));
        } catch (e) {
          throw e instanceof Error ? atTemplateLine(e, n.line) : e;
        }
        break;
      }
      case 'setblock': {
        const inner: string[] = [];
        renderNodes(n.body, scope, st, inner);
        scope.set(n.name, inner.join(''));
        break;
      }
    }
  }
}

function newState(options: EvalOptions): RenderState {
  return { options, iterations: 0, size: 0 };
}

function withTrailing(text: string, t: Template): string {
  const have = /\n*$/.exec(text)![0].length;
  return t.trailingNewlines > have ? text + '\n'.repeat(t.trailingNewlines - have) : text;
}

/** Renders a parsed template to text. Evaluation errors keep their class and carry the template line (templateLineOf). */
export function renderTemplate(t: Template, vars: Vars | Scope, options: EvalOptions = {}): string {
  const scope = vars instanceof Scope ? vars.child() : new Scope(vars);
  const out: string[] = [];
  renderNodes(t.nodes, scope, newState(options), out);
  return withTrailing(out.join(''), t);
}

/**
 * Renders a value from a playbook, an inventory or -e: a value that is exactly one `{{ expression }}`
 * keeps the expression's type (a list stays a list, `omit` stays omit); anything else is text.
 */
export function renderValue(source: string, vars: Vars | Scope, options: EvalOptions = {}): unknown {
  if (!hasTemplateSyntax(source)) return source;
  const t = parseTemplate(source, ANSIBLE_VALUE_OPTIONS);
  const only = t.nodes.length === 1 && t.trailingNewlines === 0 ? t.nodes[0]! : null;
  if (only && only.kind === 'output') {
    const scope = vars instanceof Scope ? vars : new Scope(vars);
    const v = evalAt(only.expr, scope, newState(options), only.line);
    try {
      return defined(v);
    } catch (e) {
      throw e instanceof Error ? atTemplateLine(e, only.line) : e;
    }
  }
  return renderTemplate(t, vars, options);
}

/** The single expression a value consists of (`{{ expr }}` and nothing else), if it is one. */
export function singleExpression(source: string): Expr | null {
  const t = parseTemplate(source, ANSIBLE_VALUE_OPTIONS);
  const only = t.nodes.length === 1 && t.trailingNewlines === 0 ? t.nodes[0]! : null;
  return only && only.kind === 'output' ? only.expr : null;
}
