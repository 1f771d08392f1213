// Splits an expression into tokens. Anything outside the Jinja2 expression grammar is refused here,
// with the column, so that nothing else ever reaches the evaluator.
import { ExprSyntaxError } from './errors.js';

/** The kinds of token the parser sees. */
export type TokenType = 'name' | 'string' | 'number' | 'op' | 'eof';

/** One token; `col` is 1-based in the original source (before any `{{ }}` was stripped). */
export interface Token {
  type: TokenType;
  value: string;
  /** For numbers: the parsed value. */
  num?: number;
  col: number;
}

// Longest first, so that `//` is not read as two `/`.
const OPERATORS = ['==', '!=', '<=', '>=', '//', '**', '=', '<', '>', '(', ')', '[', ']', '{', '}', ',', '.', ':', '|', '+', '-', '*', '/', '%', '~'];

// Characters users bring from other languages: say what to write instead.
const MISTAKES: Record<string, string> = {
  '&&': "use 'and' instead of '&&'",
  '||': "use 'or' instead of '||'",
  '!': "use 'not' instead of '!'",
  '`': 'backquotes are not allowed; quote strings with \' or "',
  '$': "'$' is not allowed; write variables by name (e.g. 'result.rc')",
};

const ESCAPES: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '',
};
// Python's numeric escapes: \xHH, \uHHHH, \UHHHHHHHH and up to three octal digits.
const NUMERIC_ESCAPE = /^(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{1,3})/;

/** How string literals are read. */
export interface LexOptions {
  /**
   * Backslashes in string literals are kept as written (`'\\1'` is backslash-1): Ansible doubles them in
   * `{{ }}` of playbook values before Jinja reads them, so regexes need no second escaping there.
   */
  rawStrings?: boolean;
}

/** Turns expression text into tokens; `offset` is added to every column (for a stripped `{{` prefix). */
export function tokenize(src: string, offset = 0, fullSource = src, opts: LexOptions = {}): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (reason: string, at: number): never => {
    throw new ExprSyntaxError(reason, fullSource, at + offset + 1);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= src.length) fail(`unterminated string: add the closing ${c}`, start);
        const d = src[i]!;
        if (d === c) break;
        if (d === '\\' && i + 1 < src.length && opts.rawStrings) {
          out += src[i + 1] === c ? c : `\\${src[i + 1]}`;
          i += 2;
          continue;
        }
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          const num = NUMERIC_ESCAPE.exec(src.slice(i + 1, i + 10));
          if (num) {
            const digits = /^[0-7]/.test(num[0]) ? num[0] : num[0].slice(1);
            const code = parseInt(digits, /^[0-7]/.test(num[0]) ? 8 : 16);
            if (code > 0x10ffff) fail('bad \\U escape: beyond the last Unicode character', i);
            out += String.fromCodePoint(code);
            i += 1 + num[0].length;
            continue;
          }
          // Python keeps an unknown escape as written (backslash included); so do we.
          out += ESCAPES[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      i++;
      tokens.push({ type: 'string', value: out, col: start + offset + 1 });
      continue;
    }
    if (c >= '0' && c <= '9') {
      // After a dot only an integer is read, so that `a.0.1` is item 0 then item 1 (as Jinja does).
      const afterDot = tokens.at(-1)?.type === 'op' && tokens.at(-1)?.value === '.';
      const rest = src.slice(i);
      const radix = afterDot ? null : /^0([xX][0-9A-Fa-f_]+|[oO][0-7_]+|[bB][01_]+)/.exec(rest);
      const m = radix ?? (afterDot ? /^\d+/ : /^\d(_?\d)*(\.\d(_?\d)*)?([eE][+-]?\d+)?/).exec(rest)!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) fail(`a number cannot be followed by '${src[i]}'`, i);
      const text = m[0].replace(/_/g, '');
      const num = radix ? parseInt(text.slice(2), { x: 16, o: 8, b: 2 }[text[1]!.toLowerCase() as 'x' | 'o' | 'b']) : Number(text);
      tokens.push({ type: 'number', value: m[0], num, col: start + offset + 1 });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      tokens.push({ type: 'name', value: m[0], col: start + offset + 1 });
      continue;
    }
    for (const [bad, hint] of Object.entries(MISTAKES)) {
      if (src.startsWith(bad, i) && !OPERATORS.some((op) => op.length > 1 && src.startsWith(op, i))) {
        fail(hint, i);
      }
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) fail(`unexpected character '${c}'`, i);
    tokens.push({ type: 'op', value: op!, col: start + offset + 1 });
    i += op!.length;
  }
  tokens.push({ type: 'eof', value: '', col: src.length + offset + 1 });
  return tokens;
}
