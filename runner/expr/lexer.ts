// Splits a condition into tokens. Anything outside the small Jinja-like grammar is refused here,
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
const OPERATORS = ['==', '!=', '<=', '>=', '//', '=', '<', '>', '(', ')', '[', ']', '{', '}', ',', '.', ':', '|', '+', '-', '*', '/', '%', '~'];

// Characters users bring from other languages: say what to write instead.
const MISTAKES: Record<string, string> = {
  '&&': "use 'and' instead of '&&'",
  '||': "use 'or' instead of '||'",
  '!': "use 'not' instead of '!'",
  '**': "'**' (power) is not supported",
  '`': 'backquotes are not allowed; quote strings with \' or "',
  '$': "'$' is not allowed; write variables by name (e.g. 'result.rc')",
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

/** Turns expression text into tokens; `offset` is added to every column (for a stripped `{{` prefix). */
export function tokenize(src: string, offset = 0, fullSource = src): Token[] {
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
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
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
      const m = (afterDot ? /^\d+/ : /^\d+(\.\d+)?([eE][+-]?\d+)?/).exec(src.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) fail(`a number cannot be followed by '${src[i]}'`, i);
      tokens.push({ type: 'number', value: m[0], num: Number(m[0]), col: start + offset + 1 });
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
