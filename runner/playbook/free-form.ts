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

/** The escapes Ansible's key=value parsing decodes (ansible/parsing/splitter.py _ESCAPE_SEQUENCE_RE, less \N{NAME}). */
const ESCAPE = /\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[\\'"abfnrtv]/g;
const SINGLE: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * A key=value word as Ansible's parse_kv reads it: Python escapes decoded (`\b` is a backspace, `\\` one
 * backslash, `\x41` an A) before the word is split at `=`; `\d`, `\1` and the like stay as written.
 */
export function decodeEscapes(word: string): string {
  return word.replace(ESCAPE, (m) => {
    const c = m[1]!;
    if (c === 'U' || c === 'u' || c === 'x') return String.fromCodePoint(parseInt(m.slice(2), 16));
    return SINGLE[c] ?? c;
  });
}

/** A decoded key=value word's key and value (the value stripped and unquoted), or undefined when it is no such word. */
function keyValue(word: string, key: RegExp): [string, string] | undefined {
  const m = new RegExp(`^(${key.source})=(.*)$`, 's').exec(decodeEscapes(word));
  return m ? [m[1]!, unquote(m[2]!.trim())] : undefined;
}

/** The module options of a command-like free-form line, and the command left when they are taken out. */
function splitCommandLine(mod: TaskModule, text: string): ParsedArgs {
  const accepted = new Set(schemaKeys(mod.params));
  const args: Record<string, unknown> = {};
  let rest = '';
  let from = 0;
  for (const w of words(text)) {
    const kv = keyValue(text.slice(w.start, w.end), /[A-Za-z_]+/);
    if (!kv || !COMMAND_OPTIONS.has(kv[0])) continue;
    if (!accepted.has(kv[0])) {
      return { error: `'${kv[0]}=' in the command line of '${mod.name}' is an Ansible option ferry's ${mod.name} does not take`, hint: `accepted options: ${[...accepted].filter((k) => COMMAND_OPTIONS.has(k)).join(', ') || 'none'}; quote the word if it belongs to the command` };
    }
    args[kv[0]] = kv[1];
    rest += text.slice(from, w.start);
    from = w.end;
  }
  rest = (rest + text.slice(from)).trim();
  if (rest !== '') args[mod.freeForm!] = rest;
  return { args };
}

/**
 * Parses `key=value` pairs (values may be quoted with " or '); undefined unless the whole text is
 * such pairs.
 */
export function parseKeyValueArgs(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const t = text.trim();
  let any = false;
  for (const w of words(t)) {
    const kv = keyValue(t.slice(w.start, w.end), /[A-Za-z_]\w*/);
    if (!kv) return undefined;
    out[kv[0]] = kv[1];
    any = true;
  }
  return any ? out : undefined;
}

/** A module's arguments given as one string, read as Ansible reads them. */
export function parseArgString(mod: TaskModule, text: string): ParsedArgs {
  const t = text.trim();
  if (t === '') return { args: {} };
  // command, shell, chroot_exec: the free form is a command line that may carry options.
  if (mod.freeForm === 'cmd') return splitCommandLine(mod, t);
  const kv = parseKeyValueArgs(t);
  const accepted = new Set(schemaKeys(mod.params));
  if (mod.freeForm) {
    // debug, fail: `var=x` / `msg="..."` are options when every word is one; anything else is the message.
    return { args: kv && Object.keys(kv).every((k) => accepted.has(k)) ? kv : { [mod.freeForm]: t } };
  }
  if (kv) return { args: kv };
  return { error: `module '${mod.name}' takes parameters as a mapping or key=value pairs`, hint: `write e.g.\n      ${mod.name}:\n        key: value` };
}
