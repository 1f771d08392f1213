// The xl.cfg syntax (xl.cfg(5), libxlu's cfg lexer): `key = value` statements ended by a newline
// or `;`, values that are strings ('…' or "…", C-style escapes), numbers, or lists `[ … ]` that
// may span lines, nest, and end with a trailing comma; `key += value` appends; `#` starts a
// comment. Old xm configs were Python and could hold any code: such files are reported as
// syntax errors, never run.
import { ValidationError, type Problem } from '../../runner/errors.js';

/** A value in an xl.cfg. */
export type XlValue = string | number | XlValue[];

/** One `key = value` (or `key += value`) statement and the line it starts on. */
export interface XlStatement {
  key: string;
  op: '=' | '+=';
  value: XlValue;
  line: number;
}

type TokKind = 'ident' | 'string' | 'number' | '=' | '+=' | '[' | ']' | ',' | 'eol' | 'eof';

interface Token {
  kind: TokKind;
  text: string;
  value?: string | number;
  line: number;
  col: number;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

function tokenize(text: string, file: string, problems: Problem[]): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const at = (start: number) => ({ line, col: start - lineStart + 1 });
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      tokens.push({ kind: 'eol', text: '\n', ...at(i) });
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === ';') {
      tokens.push({ kind: 'eol', text: ';', ...at(i) });
      i++;
    } else if (c === '"' || c === "'") {
      const start = i;
      let value = '';
      i++;
      let closed = false;
      while (i < text.length && text[i] !== '\n') {
        const d = text[i];
        if (d === c) {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < text.length && text[i + 1] !== '\n') {
          const e = text[i + 1];
          const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
          const hex = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(i + 1, i + 4));
          if (hex) {
            value += String.fromCharCode(parseInt(hex[1], 16));
            i += 1 + hex[0].length;
          } else if (oct) {
            value += String.fromCharCode(parseInt(oct[0], 8));
            i += 1 + oct[0].length;
          } else {
            // An unknown escape keeps its backslash, as libxlu does: `\:` in an rbd target stays `\:`.
            value += ESCAPES[e] ?? `\\${e}`;
            i += 2;
          }
          continue;
        }
        value += d;
        i++;
      }
      if (!closed) {
        problems.push({
          loc: { file, ...at(start) },
          message: `unterminated string: the ${c} opened here is not closed on this line`,
          hint: `close the string with ${c} (xl strings cannot span lines)`,
        });
        tokens.push({ kind: 'string', text: text.slice(start, i), value, ...at(start) });
        continue;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), value, ...at(start) });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], ...at(i) });
      i += m[0].length;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?(0x[0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i));
      if (!m) {
        problems.push({ loc: { file, ...at(i) }, message: `unexpected character ${JSON.stringify(c)}` });
        i++;
        continue;
      }
      const n = m[1].startsWith('0x') ? Number.parseInt(m[0].replace('0x', ''), 16) : Number.parseInt(m[0], 10);
      tokens.push({ kind: 'number', text: m[0], value: n, ...at(i) });
      i += m[0].length;
    } else if (c === '+' && text[i + 1] === '=') {
      tokens.push({ kind: '+=', text: '+=', ...at(i) });
      i += 2;
    } else if (c === '=' || c === '[' || c === ']' || c === ',') {
      tokens.push({ kind: c, text: c, ...at(i) });
      i++;
    } else {
      problems.push({
        loc: { file, ...at(i) },
        message: `unexpected character ${JSON.stringify(c)}`,
        hint: 'xl.cfg allows only `key = value` with strings, numbers and [lists]',
      });
      // Skip the rest of the line: one message per bad line is enough.
      while (i < text.length && text[i] !== '\n') i++;
    }
  }
  tokens.push({ kind: 'eof', text: '', line, col: i - lineStart + 1 });
  return tokens;
}

class Parser {
  private pos = 0;
  /** Set when an unclosed list was detected at the next statement: resume there, skip nothing. */
  private resync = false;
  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
    private readonly problems: Problem[],
  ) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private fail(t: Token, message: string, hint?: string): void {
    this.problems.push({ loc: { file: this.file, line: t.line, col: t.col }, message, ...(hint ? { hint } : {}) });
  }

  private skipLine(): void {
    while (this.peek().kind !== 'eol' && this.peek().kind !== 'eof') this.next();
  }

  parse(): XlStatement[] {
    const out: XlStatement[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') return out;
      if (t.kind === 'eol') continue;
      if (t.kind !== 'ident') {
        this.fail(t, `expected a setting name, found ${JSON.stringify(t.text)}`);
        this.skipLine();
        continue;
      }
      const op = this.next();
      if (op.kind !== '=' && op.kind !== '+=') {
        this.fail(op, `expected = after ${t.text}, found ${op.kind === 'eol' ? 'end of line' : JSON.stringify(op.text)}`);
        if (op.kind !== 'eol') this.skipLine();
        continue;
      }
      const value = this.value();
      if (value === undefined) {
        if (!this.resync) this.skipLine();
        this.resync = false;
        continue;
      }
      const end = this.peek();
      if (end.kind !== 'eol' && end.kind !== 'eof') {
        this.fail(end, `unexpected ${JSON.stringify(end.text)} after the value of ${t.text}`, 'one setting per line (or separate them with ;)');
        this.skipLine();
        continue;
      }
      out.push({ key: t.text, op: op.kind, value, line: t.line });
    }
  }

  private skipEols(): void {
    while (this.peek().kind === 'eol' && this.peek().text === '\n') this.next();
  }

  private value(): XlValue | undefined {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number') return t.value!;
    if (t.kind === '[') return this.list(t);
    this.fail(t, `expected a value (string, number or [list]), found ${t.kind === 'eol' || t.kind === 'eof' ? 'end of line' : JSON.stringify(t.text)}`);
    if (t.kind === 'eol') this.pos--;
    return undefined;
  }

  private list(open: Token): XlValue[] | undefined {
    const items: XlValue[] = [];
    const unclosed = () => {
      this.fail(open, 'unterminated list: the [ opened here is not closed', 'add the missing ]');
      this.resync = true;
      return undefined;
    };
    for (;;) {
      this.skipEols();
      const t = this.peek();
      if (t.kind === ']') {
        this.next();
        return items;
      }
      // A setting name at the start of a line inside a list means the list was never closed.
      if (t.kind === 'eof' || (t.kind === 'ident' && this.tokens[this.pos + 1]?.kind.endsWith('='))) return unclosed();
      const v = this.value();
      if (v === undefined) return undefined;
      items.push(v);
      this.skipEols();
      const sep = this.peek();
      if (sep.kind === ',') this.next();
      else if (sep.kind !== ']') {
        if (sep.kind === 'eof' || sep.kind === 'ident') return unclosed();
        this.fail(sep, `expected , or ] in the list, found ${JSON.stringify(sep.text)}`);
        return undefined;
      }
    }
  }
}

/** Parses xl.cfg text into its statements; throws ValidationError listing every syntax error with file:line. */
export function parseXlStatements(text: string, file: string): XlStatement[] {
  const problems: Problem[] = [];
  const tokens = tokenize(text, file, problems);
  const statements = new Parser(tokens, file, problems).parse();
  if (problems.length) {
    // A line reported by the lexer may be reported again by the parser; keep the first.
    const seen = new Set<number>();
    throw new ValidationError(
      problems
        .sort((a, b) => a.loc!.line - b.loc!.line)
        .filter((p) => (seen.has(p.loc!.line) ? false : (seen.add(p.loc!.line), true))),
    );
  }
  return statements;
}

/** The settings in effect after all statements: last `=` wins, `+=` appends (lists concatenate, strings join). */
export function resolveXlSettings(statements: readonly XlStatement[]): Map<string, { value: XlValue; line: number }> {
  const out = new Map<string, { value: XlValue; line: number }>();
  for (const s of statements) {
    const prev = out.get(s.key);
    if (s.op === '+=' && prev) {
      const value: XlValue =
        Array.isArray(prev.value) && Array.isArray(s.value)
          ? [...prev.value, ...s.value]
          : Array.isArray(prev.value)
            ? [...prev.value, s.value]
            : `${String(prev.value)}${String(s.value)}`;
      out.set(s.key, { value, line: prev.line });
    } else out.set(s.key, { value: s.value, line: s.line });
  }
  return out;
}
