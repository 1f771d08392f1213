// Python regular expressions (re) for the regex filters and tests, translated to JavaScript's.
// The common differences are translated; what cannot be translated is refused with a clear error,
// never silently read with another meaning.
import { ExprEvalError } from './errors.js';

/** Python's re flags that the filters take as keyword arguments. */
export interface PyRegexFlags {
  ignorecase?: boolean;
  multiline?: boolean;
  dotall?: boolean;
}

const cache = new Map<string, RegExp>();
const CACHE_MAX = 500;

function refuse(pattern: string, what: string): never {
  throw new ExprEvalError(`regular expression ${JSON.stringify(pattern)}: ${what} has no JavaScript equivalent; rewrite it without`);
}

// (?x): whitespace and #-comments outside character classes are not part of the pattern.
function stripVerbose(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** Compiles a Python regex (with `(?P<name>…)`, `(?P=name)`, `\A`, `\Z`, leading `(?i)`-style flags) to a RegExp with the `g` flag. */
export function pyRegex(pattern: string, flags: PyRegexFlags = {}): RegExp {
  const key = `${flags.ignorecase ? 'i' : ''}${flags.multiline ? 'm' : ''}${flags.dotall ? 's' : ''}/${pattern}`;
  const hit = cache.get(key);
  if (hit) {
    hit.lastIndex = 0;
    return hit;
  }
  const f = new Set<string>(['g']);
  if (flags.ignorecase) f.add('i');
  if (flags.multiline) f.add('m');
  if (flags.dotall) f.add('s');
  let src = pattern;
  // Global inline flags at the start: (?i), (?ms), (?aiLmsux) — only i, m, s translate.
  const inline = /^\(\?([aiLmsux]+)\)/.exec(src);
  let verbose = false;
  if (inline) {
    for (const c of inline[1]!) {
      if (c === 'i' || c === 'm' || c === 's') f.add(c);
      else if (c === 'x') verbose = true;
      else if (c === 'L') refuse(pattern, 'the locale flag (?L)');
      // a (ASCII) and u (Unicode) need nothing: JavaScript's \w is ASCII already.
    }
    src = src.slice(inline[0].length);
  }
  if (verbose) src = stripVerbose(src);
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) refuse(pattern, 'a trailing backslash');
      if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'Z') out += '(?![\\s\\S])';
      else if (n === 'z') refuse(pattern, '\\z');
      else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']' && !/\[\^?$/.test(out.slice(out.lastIndexOf('[')))) inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      const backref = /^P=(\w+)\)/.exec(rest);
      if (backref) {
        out += `\\k<${backref[1]}>`;
        i += 2 + backref[0].length - 1;
        continue;
      }
      const comment = /^#[^)]*\)/.exec(rest);
      if (comment) {
        i += 1 + comment[0].length;
        continue;
      }
      if (rest.startsWith('(')) refuse(pattern, 'a conditional group (?(…)…)');
      if (rest.startsWith('>')) refuse(pattern, 'an atomic group (?>…)');
      if (/^[aiLmsux-]+[):]/.test(rest)) refuse(pattern, 'an inline flag group that is not at the start');
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && src[i + 1] === '+') refuse(pattern, 'a possessive quantifier');
    out += c;
  }
  let re: RegExp;
  try {
    re = new RegExp(out, [...f].join(''));
  } catch (e) {
    throw new ExprEvalError(`bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, re);
  return re;
}

/** Expands a Python replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`) for one match. */
export function expandReplacement(template: string, m: RegExpExecArray | RegExpMatchArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '\\' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const n = template[i + 1]!;
    const g = /^g<([^>]+)>/.exec(template.slice(i + 1));
    if (g) {
      out += groupText(m, /^\d+$/.test(g[1]!) ? Number(g[1]) : g[1]!, template);
      i += g[0].length;
    } else if (/\d/.test(n)) {
      const d = /^\d{1,2}/.exec(template.slice(i + 1))![0];
      out += groupText(m, Number(d), template);
      i += d.length;
    } else {
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', f: '\f', v: '\v', a: '\x07', b: '\b' };
      if (Object.hasOwn(esc, n)) out += esc[n];
      else if (/[A-Za-z]/.test(n)) throw new ExprEvalError(`bad escape \\${n} in the replacement ${JSON.stringify(template)}`);
      else out += `\\${n}`;
      i++;
    }
  }
  return out;
}

/**
 * Python's re.subn: every match of `re` (a global RegExp from pyRegex) in `text` replaced by the
 * expanded `template` (`\1`, `\g<name>`); returns the new text and how many matches were replaced.
 */
export function pySub(re: RegExp, template: string, text: string): { text: string; count: number } {
  let count = 0;
  const out = text.replace(re, (...m: unknown[]) => {
    count++;
    // String.replace hands the match as arguments: the captures, then offset and input, then the named groups
    const groups = m.at(-1);
    const hasGroups = groups !== null && typeof groups === 'object';
    const caps = m.slice(0, hasGroups ? -3 : -2) as string[];
    const match = Object.assign(caps, { groups: hasGroups ? (groups as Record<string, string>) : undefined }) as unknown as RegExpMatchArray;
    return expandReplacement(template, match);
  });
  return { text: out, count };
}

/** The text of group `g` (number or name) of a match: '' for a group that did not take part, an error for one that does not exist. */
export function groupText(m: RegExpExecArray | RegExpMatchArray, g: number | string, where: string): string {
  if (typeof g === 'number') {
    if (g >= m.length) throw new ExprEvalError(`invalid group reference ${g} in ${JSON.stringify(where)}`);
    return m[g] ?? '';
  }
  if (!m.groups || !Object.hasOwn(m.groups, g)) throw new ExprEvalError(`unknown group name '${g}' in ${JSON.stringify(where)}`);
  return m.groups[g] ?? '';
}

const SPECIAL = new Set('()[]{}?*+-|^$\\.&~# \t\n\r\v\f');

/** Python's re.escape (3.7 and later: only characters special in a pattern). */
export function pyRegexEscape(s: string): string {
  return [...s].map((c) => (SPECIAL.has(c) ? `\\${c}` : c)).join('');
}
