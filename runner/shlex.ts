// Python's `shlex.split` (POSIX mode), the one splitter for everything Ansible splits with it: an INI
// inventory's host lines (`comments=True`: an unquoted `#` ends the line, even mid-word) and the
// `command` module's `cmd:` string (no comments). Quotes are removed, a backslash escapes outside
// quotes, inside double quotes only `\"` and `\\` are escapes. No operators, globbing or expansion.

/** Why a line could not be split: Python's message ("No closing quotation", "No escaped character"), and where. */
export class ShlexError extends Error {
  constructor(
    message: 'No closing quotation' | 'No escaped character',
    /** Where the problem starts, e.g. "double quote at character 6". */
    readonly where: string,
  ) {
    super(message);
  }
}

/** Splits one line the way `shlex.split(line, comments=...)` does. */
export function shlexSplit(line: string, opts: { comments?: boolean } = {}): string[] {
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  let state: ' ' | 'a' | "'" | '"' = ' ';
  let opened = 0;
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const noEscaped = (): ShlexError => new ShlexError('No escaped character', 'the final backslash');
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (state === "'") {
      if (c === "'") state = 'a';
      else token += c;
      continue;
    }
    if (state === '"') {
      if (c === '"') state = 'a';
      else if (c === '\\') {
        const n = line[i + 1];
        if (n === undefined) throw noEscaped();
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
    if (c === '#' && opts.comments) break;
    if (c === '\\') {
      const n = line[i + 1];
      if (n === undefined) throw noEscaped();
      token += n;
      i++;
      state = 'a';
      continue;
    }
    if (c === "'" || c === '"') {
      state = c;
      quoted = true;
      opened = i;
      continue;
    }
    token += c;
    state = 'a';
  }
  if (state === "'" || state === '"') throw new ShlexError('No closing quotation', `${state === "'" ? 'single' : 'double'} quote at character ${opened + 1}`);
  if (token || quoted) tokens.push(token);
  return tokens;
}
