// The pure heart of lineinfile: given a file's text and the parameters, the new text.
// It follows Ansible's lineinfile.py present()/absent() line by line (last match wins,
// insertafter/insertbefore use the last matching line, backrefs with no match change nothing,
// an exact copy of `line` anywhere counts as present), so playbooks behave the same here.
import { pyRegex } from '../../runner/expr/pyregex.js';

/** The parameters that decide the edit. */
export interface LineEdit {
  state: 'present' | 'absent';
  regexp?: string;
  search_string?: string;
  line?: string;
  insertafter?: string;
  insertbefore?: string;
  backrefs?: boolean;
  firstmatch?: boolean;
}

/** The outcome: the new text, whether it differs, and Ansible's message. */
export interface LineEditResult {
  text: string;
  changed: boolean;
  msg: string;
  /** For state absent: how many lines were removed. */
  found?: number;
}

/** Compiles a Python-style regular expression (as playbooks carry them) to a JS RegExp; throws naming the parameter. */
export function compilePythonRegex(pattern: string, param: string): RegExp {
  // The project's one Python-regex translation (named groups, \A/\Z, leading (?ims) flags), without
  // its `g`, so that test() keeps no state between lines.
  try {
    const re = pyRegex(pattern);
    return new RegExp(re.source, re.flags.replace('g', ''));
  } catch (e) {
    throw new SyntaxError(`${param}: invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', f: '\f', v: '\v', b: '\b', '\\': '\\' };

/** Python's match.expand(template): \1, \g<1>, \g<name> and the usual escapes; unmatched groups are empty. */
export function expandBackrefs(template: string, m: RegExpExecArray): string {
  return template.replace(/\\(?:g<([^>]+)>|(\d{1,2})|(.))/gs, (all, g: string | undefined, num: string | undefined, ch: string | undefined) => {
    if (g !== undefined) {
      const v = /^\d+$/.test(g) ? m[Number(g)] : m.groups?.[g];
      return v ?? '';
    }
    if (num !== undefined) return m[Number(num)] ?? '';
    return ESCAPES[ch!] ?? all;
  });
}

/** Splits text into lines that keep their '\n' (Python's readlines on bytes). */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function body(l: string): string {
  return l.replace(/\r?\n$/, '');
}

/** Computes the new file text for one lineinfile task. */
export function editLines(text: string, p: LineEdit): LineEditResult {
  return p.state === 'absent' ? absent(text, p) : present(text, p);
}

function present(text: string, p: LineEdit): LineEditResult {
  const lines = splitLines(text);
  const line = p.line ?? '';
  const re = p.regexp !== undefined ? compilePythonRegex(p.regexp, 'regexp') : undefined;
  const insertAfter = p.insertafter;
  const insertBefore = p.insertbefore;
  const reIns =
    insertAfter !== undefined && insertAfter !== 'BOF' && insertAfter !== 'EOF'
      ? compilePythonRegex(insertAfter, 'insertafter')
      : insertBefore !== undefined && insertBefore !== 'BOF'
        ? compilePythonRegex(insertBefore, 'insertbefore')
        : undefined;

  let found = -1; // index[0]: the line regexp/search_string/exact line matched
  let insertAt = -1; // index[1]: where insertafter/insertbefore point
  let match: RegExpExecArray | null = null;

  if (re) {
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(body(lines[i]!));
      if (m) {
        found = i;
        match = m;
        if (p.firstmatch) break;
      }
    }
  } else if (p.search_string !== undefined) {
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.includes(p.search_string)) {
        found = i;
        if (p.firstmatch) break;
      }
    }
  }
  // Without a regexp/search_string hit, an exact copy of the line means "present"; else look for the anchor.
  if (found === -1) {
    for (let i = 0; i < lines.length; i++) {
      if (body(lines[i]!) === line) {
        found = i;
      } else if (reIns && reIns.test(body(lines[i]!))) {
        if (insertAfter !== undefined) {
          insertAt = i + 1;
          if (p.firstmatch) break;
        }
        if (insertBefore !== undefined) {
          insertAt = i;
          if (p.firstmatch) break;
        }
      }
    }
  }

  const add = (at: number): LineEditResult => {
    lines.splice(at, 0, line + '\n');
    return { text: lines.join(''), changed: true, msg: 'line added' };
  };
  const unchanged: LineEditResult = { text, changed: false, msg: '' };

  if (found !== -1) {
    let newLine = p.backrefs && match ? expandBackrefs(line, match) : line;
    if (!newLine.endsWith('\n')) newLine += '\n';
    if (lines[found] === newLine) return unchanged;
    lines[found] = newLine;
    return { text: lines.join(''), changed: true, msg: 'line replaced' };
  }
  // Without a match there is nothing to fill the backreferences with: leave the file alone.
  if (p.backrefs) return unchanged;
  if (insertBefore === 'BOF' || insertAfter === 'BOF') return add(0);
  if (insertAfter === 'EOF' || insertAt === -1) {
    if (lines.length && !lines[lines.length - 1]!.endsWith('\n')) lines[lines.length - 1] += '\n';
    return add(lines.length);
  }
  if (insertAfter !== undefined) {
    if (lines.length === insertAt) {
      if (body(lines[insertAt - 1]!) === line) return unchanged;
      if (!lines[insertAt - 1]!.endsWith('\n')) lines[insertAt - 1] += '\n';
      return add(insertAt);
    }
    if (body(lines[insertAt]!) === line) return unchanged;
    return add(insertAt);
  }
  return add(insertAt);
}

function absent(text: string, p: LineEdit): LineEditResult {
  const lines = splitLines(text);
  const re = p.regexp !== undefined ? compilePythonRegex(p.regexp, 'regexp') : undefined;
  const matches = (l: string): boolean =>
    re ? re.test(body(l)) : p.search_string !== undefined ? l.includes(p.search_string) : body(l) === p.line;
  const kept = lines.filter((l) => !matches(l));
  const found = lines.length - kept.length;
  if (found === 0) return { text, changed: false, msg: '', found: 0 };
  return { text: kept.join(''), changed: true, msg: `${found} line(s) removed`, found };
}
