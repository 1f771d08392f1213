// A module's arguments written as one string, parsed as Ansible does: `command: ls -d . chdir=/tmp`
// takes chdir out and runs `ls -d .`; `debug: var=x` and `debug: msg="text {{ v }}"` are options;
// `file: path=/x state=directory` is key=value pairs. One parser for playbooks and `ferry run -a`.
import type { TaskModule } from '../module.js';
import { schemaKeys } from './params.js';

/**
 * The options Ansible takes out of a command-like module's free-form line (its splitter's list);
 * every other word, `k=v` or not, stays part of the command.
 */
const COMMAND_OPTIONS = new Set(['creates', 'removes', 'chdir', 'executable', 'warn', 'stdin', 'stdin_add_newline', 'strip_empty_ends']);

/** What a string of arguments means for a module, or why it means nothing. */
export type ParsedArgs = { args: Record<string, unknown> } | { error: string; hint: string };

interface Word {
  start: number;
  end: number;
}

/** Splits on blanks outside quotes and outside `{{ }}`/`{% %}`, keeping each word's span. */
function words(text: string): Word[] {
  const out: Word[] = [];
  let start = -1;
  let quote = '';
  let jinja = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (start < 0) {
      if (/\s/.test(c)) continue;
      start = i;
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if ((c === '{' && (text[i + 1] === '{' || text[i + 1] === '%')) || (jinja && c === '{' && text[i + 1] === '#')) {
      jinja++;
      i++;
    } else if (jinja && (c === '}' || c === '%') && text[i + 1] === '}') {
      jinja--;
      i++;
    } else if (!jinja && (c === '"' || c === "'")) quote = c;
    else if (!jinja && /\s/.test(c)) {
      out.push({ start, end: i });
      start = -1;
    }
  }
  if (start >= 0) out.push({ start, end: text.length });
  return out;
}

/** A `key=value` word's value without its quotes: Ansible's unquote, the outer quotes of a value quoted as a whole. */
function unquote(v: string): string {
  const q = v[0];
  return v.length > 1 && (q === '"' || q === "'") && v.at(-1) === q && v.at(-2) !== '\\' ? v.slice(1, -1) : v;
}

/**
 * The escapes Ansible's key=value parsing decodes (ansible/parsing/splitter.py _ESCAPE_SEQUENCE_RE).
 * `\N{NAME}` is found but not decoded: Python looks NAME up in its Unicode database, which Node lacks.
 */
const ESCAPE = /\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'"abfnrtv]/g;
const SINGLE: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * A key=value word as Ansible's parse_kv reads it: Python escapes decoded (`\b` is a backspace, `\\` one
 * backslash, `\x41` an A) before the word is split at `=`; `\d`, `\1` and the like stay as written, and so
 * does `\N{NAME}` (see namedEscapes).
 */
export function decodeEscapes(word: string): string {
  return word.replace(ESCAPE, (m) => {
    const c = m[1]!;
    if (c === 'U' || c === 'u' || c === 'x') return String.fromCodePoint(parseInt(m.slice(2), 16));
    if (c === 'N') return m;
    return SINGLE[c] ?? c;
  });
}

/** The `\N{NAME}` escapes Ansible would decode in a word (not `\\N{...}`, an escaped backslash). */
function namedEscapes(word: string): string[] {
  return [...word.matchAll(ESCAPE)].map((m) => m[0]).filter((m) => m[1] === 'N');
}

/** A key=value word: its key, its decoded value (stripped and unquoted), and the \N{NAME} escapes it holds. */
interface KeyValue {
  key: string;
  value: string;
  named: string[];
}

/** A key=value word's key and decoded value, or undefined when it is no such word. */
function keyValue(word: string, key: RegExp): KeyValue | undefined {
  const m = new RegExp(`^(${key.source})=(.*)$`, 's').exec(decodeEscapes(word));
  return m ? { key: m[1]!, value: unquote(m[2]!.trim()), named: namedEscapes(word) } : undefined;
}

/** The refusal of a `\N{NAME}` escape in an option's value: ferry cannot name characters, so the text says what to write. */
function namedEscapeRefusal(kv: KeyValue): ParsedArgs {
  return {
    error: `${kv.named[0]} in '${kv.key}=': ferry does not decode Python's \\N{NAME} escapes (it has no Unicode name table)`,
    hint: 'write the character itself, or its code point as \\uXXXX or \\UXXXXXXXX (e.g. \\u2022 for \\N{BULLET})',
  };
}

/** The module options of a command-like free-form line, and the command left when they are taken out. */
function splitCommandLine(mod: TaskModule, text: string): ParsedArgs {
  const accepted = new Set(schemaKeys(mod.params));
  const args: Record<string, unknown> = {};
  let rest = '';
  let from = 0;
  for (const w of words(text)) {
    const kv = keyValue(text.slice(w.start, w.end), /[A-Za-z_]+/);
    // the words of the command itself keep their escapes as written, as Ansible keeps them
    if (!kv || !COMMAND_OPTIONS.has(kv.key)) continue;
    if (!accepted.has(kv.key)) {
      return { error: `'${kv.key}=' in the command line of '${mod.name}' is an Ansible option ferry's ${mod.name} does not take`, hint: `accepted options: ${[...accepted].filter((k) => COMMAND_OPTIONS.has(k)).join(', ') || 'none'}; quote the word if it belongs to the command` };
    }
    if (kv.named.length) return namedEscapeRefusal(kv);
    args[kv.key] = kv.value;
    rest += text.slice(from, w.start);
    from = w.end;
  }
  rest = (rest + text.slice(from)).trim();
  if (rest !== '') args[mod.freeForm!] = rest;
  return { args };
}

/** The key=value words of a text, or undefined unless the whole text is such words. */
function keyValueWords(text: string): KeyValue[] | undefined {
  const t = text.trim();
  const out: KeyValue[] = [];
  for (const w of words(t)) {
    const kv = keyValue(t.slice(w.start, w.end), /[A-Za-z_]\w*/);
    if (!kv) return undefined;
    out.push(kv);
  }
  return out.length ? out : undefined;
}

/**
 * Parses `key=value` pairs (values may be quoted with " or '); undefined unless the whole text is
 * such pairs.
 */
export function parseKeyValueArgs(text: string): Record<string, unknown> | undefined {
  const kvs = keyValueWords(text);
  return kvs && Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));
}

/** The options key=value words give, or the refusal of a \N{NAME} escape in one of them. */
function optionsOf(kvs: KeyValue[]): ParsedArgs {
  const named = kvs.find((kv) => kv.named.length);
  return named ? namedEscapeRefusal(named) : { args: Object.fromEntries(kvs.map((kv) => [kv.key, kv.value])) };
}

/** A module's arguments given as one string, read as Ansible reads them. */
export function parseArgString(mod: TaskModule, text: string): ParsedArgs {
  const t = text.trim();
  if (t === '') return { args: {} };
  // command, shell, chroot_exec: the free form is a command line that may carry options.
  if (mod.freeForm === 'cmd') return splitCommandLine(mod, t);
  const kvs = keyValueWords(t);
  const accepted = new Set(schemaKeys(mod.params));
  if (mod.freeForm) {
    // debug, fail: `var=x` / `msg="..."` are options when every word is one; anything else is the message.
    return kvs && kvs.every((kv) => accepted.has(kv.key)) ? optionsOf(kvs) : { args: { [mod.freeForm]: t } };
  }
  if (kvs) return optionsOf(kvs);
  return { error: `module '${mod.name}' takes parameters as a mapping or key=value pairs`, hint: `write e.g.\n      ${mod.name}:\n        key: value` };
}
