// Ansible splits an INI host line with Python's `shlex.split(line, comments=True)` (POSIX mode).
// This reproduces that: quotes are removed, a backslash escapes outside quotes, inside double quotes
// only `\"` and `\\` are escapes, and an unquoted `#` ends the line (even in the middle of a word).

/** Why a line could not be split (an unclosed quote, a trailing backslash). */
export class ShlexError extends Error {}

/** Splits one line the way `shlex.split(line, comments=True)` does. */
export function shlexSplit(line: string): string[] {
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  let state: ' ' | 'a' | "'" | '"' = ' ';
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state === "'") {
      if (c === "'") state = 'a';
      else token += c;
      continue;
    }
    if (state === '"') {
      if (c === '"') state = 'a';
      else if (c === '\\') {
        const n = line[i + 1];
        if (n === undefined) throw new ShlexError('No escaped character');
        token += n === '"' || n === '\\' ? n : c + n;
        i++;
      } else token += c;
      continue;
    }
    if (isSpace(c)) {
      if (state === 'a') {
        if (token || quoted) tokens.push(token);
        token = '';
        quoted = false;
        state = ' ';
      }
      continue;
    }
    if (c === '#') break;
    if (c === '\\') {
      const n = line[i + 1];
      if (n === undefined) throw new ShlexError('No escaped character');
      token += n;
      i++;
      state = 'a';
      continue;
    }
    if (c === "'" || c === '"') {
      state = c;
      quoted = true;
      continue;
    }
    token += c;
    state = 'a';
  }
  if (state === "'" || state === '"') throw new ShlexError('No closing quotation');
  if (token || quoted) tokens.push(token);
  return tokens;
}
