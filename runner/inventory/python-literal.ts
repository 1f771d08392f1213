// Ansible reads every INI inventory value through Python's `ast.literal_eval` and keeps the text
// when that fails. This is the subset of Python literal syntax literal_eval accepts, so that
// `2` is an int, `True` a bool, `"[{'a': 'b'}]"` a list, while `true` or `192.168.1.11` stay strings.

/** Thrown inside the parser when the text is not a Python literal; never escapes this module. */
class NotALiteral extends Error {}

const NAMES: Record<string, unknown> = { True: true, False: false, None: null };

class LiteralParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseAll(): unknown {
    const value = this.expression();
    this.skipSpace();
    if (this.pos !== this.src.length) throw new NotALiteral();
    return value;
  }

  // Python tokenizes comments away, so `1 # note` evaluates to 1.
  private skipSpace(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.pos++;
      else if (c === '\\' && this.src[this.pos + 1] === '\n') this.pos += 2;
      else if (c === '#') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private peek(): string | undefined {
    this.skipSpace();
    return this.src[this.pos];
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw new NotALiteral();
    this.pos++;
  }

  private expression(): unknown {
    const c = this.peek();
    if (c === '-' || c === '+') {
      // literal_eval allows one sign in front of a number literal, nothing else.
      this.pos++;
      this.skipSpace();
      const n = this.number();
      if (n === undefined) throw new NotALiteral();
      return c === '-' ? -n : n;
    }
    return this.atom();
  }

  private atom(): unknown {
    const c = this.peek();
    if (c === undefined) throw new NotALiteral();
    if (c === '[') return this.sequence('[', ']');
    if (c === '(') return this.paren();
    if (c === '{') return this.braces();
    const s = this.strings();
    if (s !== undefined) return s;
    const n = this.number();
    if (n !== undefined) return n;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
    if (m && Object.prototype.hasOwnProperty.call(NAMES, m[0])) {
      this.pos += m[0].length;
      return NAMES[m[0]];
    }
    throw new NotALiteral();
  }

  private sequence(open: string, close: string): unknown[] {
    this.expect(open);
    const out: unknown[] = [];
    while (this.peek() !== close) {
      out.push(this.expression());
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== close) throw new NotALiteral();
    }
    this.pos++;
    return out;
  }

  // `(1)` is 1, `(1,)` and `()` are tuples (lists once serialised, as Ansible's JSON shows them).
  private paren(): unknown {
    this.expect('(');
    if (this.peek() === ')') {
      this.pos++;
      return [];
    }
    const first = this.expression();
    if (this.peek() === ')') {
      this.pos++;
      return first;
    }
    const out = [first];
    while (this.peek() === ',') {
      this.pos++;
      if (this.peek() === ')') break;
      out.push(this.expression());
    }
    this.expect(')');
    return out;
  }

  // A dict, or a set (shown as a list: JSON has no sets).
  private braces(): unknown {
    this.expect('{');
    if (this.peek() === '}') {
      this.pos++;
      return {};
    }
    const firstKey = this.expression();
    if (this.peek() === ':') {
      const out: Record<string, unknown> = {};
      this.pos++;
      out[String(firstKey)] = this.expression();
      while (this.peek() === ',') {
        this.pos++;
        if (this.peek() === '}') break;
        const k = this.expression();
        this.expect(':');
        out[String(k)] = this.expression();
      }
      this.expect('}');
      return out;
    }
    const items = [firstKey];
    while (this.peek() === ',') {
      this.pos++;
      if (this.peek() === '}') break;
      items.push(this.expression());
    }
    this.expect('}');
    return items;
  }

  private number(): number | undefined {
    const rest = this.src.slice(this.pos);
    const m =
      /^0[xX](?:_?[0-9a-fA-F])+/.exec(rest) ??
      /^0[oO](?:_?[0-7])+/.exec(rest) ??
      /^0[bB](?:_?[01])+/.exec(rest) ??
      /^(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?/.exec(rest);
    if (!m) return undefined;
    const text = m[0];
    // A name or a complex number glued on (`1abc`, `2j`) is not a literal we can represent.
    if (/^[A-Za-z0-9_.]/.test(rest.slice(text.length))) throw new NotALiteral();
    const clean = text.replace(/_/g, '');
    let value: number;
    if (/^0[xXoObB]/.test(clean)) value = Number(clean);
    else if (/[.eE]/.test(clean)) value = Number.parseFloat(clean.startsWith('.') ? `0${clean}` : clean);
    else {
      // Python 3 rejects leading zeros in a decimal int (`08`), except for zero itself.
      if (/^0\d/.test(clean) && !/^0+$/.test(clean)) throw new NotALiteral();
      value = Number(clean);
    }
    this.pos += text.length;
    return value;
  }

  // One or more adjacent string literals (Python concatenates them).
  private strings(): string | undefined {
    let out: string | undefined;
    for (;;) {
      this.skipSpace();
      const m = /^([rRuUbB]|[rR][bB]|[bB][rR])?('''|"""|'|")/.exec(this.src.slice(this.pos));
      if (!m) return out;
      const prefix = (m[1] ?? '').toLowerCase();
      const quote = m[2];
      this.pos += m[0].length;
      out = (out ?? '') + this.stringBody(quote, prefix.includes('r'));
    }
  }

  private stringBody(quote: string, raw: boolean): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.src.length) throw new NotALiteral();
      if (this.src.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        return out;
      }
      const c = this.src[this.pos];
      if (c === '\n' && quote.length === 1) throw new NotALiteral();
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const n = this.src[this.pos + 1];
      if (n === undefined) throw new NotALiteral();
      if (raw) {
        out += c + n;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      out += this.escape(n);
    }
  }

  private escape(n: string): string {
    const simple: Record<string, string> = {
      '\n': '',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
    };
    if (Object.prototype.hasOwnProperty.call(simple, n)) return simple[n];
    const hex = (len: number): string => {
      const h = this.src.slice(this.pos, this.pos + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new NotALiteral();
      this.pos += len;
      return String.fromCodePoint(Number.parseInt(h, 16));
    };
    if (n === 'x') return hex(2);
    if (n === 'u') return hex(4);
    if (n === 'U') return hex(8);
    if (/[0-7]/.test(n)) {
      const m = /^[0-7]{0,2}/.exec(this.src.slice(this.pos)) as RegExpExecArray;
      this.pos += m[0].length;
      return String.fromCodePoint(Number.parseInt(n + m[0], 8));
    }
    // Python keeps unknown escapes as written.
    return `\\${n}`;
  }
}

/** Reads `text` as `ast.literal_eval` would; text that is not a Python literal comes back unchanged. */
export function parsePythonLiteral(text: string): unknown {
  // A bare name (a host, a rack, a domain) is never a literal: no parser and no exception for it,
  // which matter when an inventory has 100,000 host lines.
  if (/^[A-Za-z_][\w.-]*$/.test(text) && !(text in NAMES)) return text;
  try {
    // literal_eval strips leading spaces and tabs before parsing.
    return new LiteralParser(text.replace(/^[ \t]+/, '')).parseAll();
  } catch (e) {
    if (e instanceof NotALiteral) return text;
    throw e;
  }
}
