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

/** A `key=value` word's value without its quotes (Ansible unquotes a value quoted as a whole). */
function unquote(v: string): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/s.exec(v);
  if (m) return m[1]!.replace(/\\(["\\])/g, '$1');
  const s = /^'([^']*)'$/s.exec(v);
  return s ? s[1]! : v;
}

/** The module options of a command-like free-form line, and the command left when they are taken out. */
function splitCommandLine(mod: TaskModule, text: string): ParsedArgs {
  const accepted = new Set(schemaKeys(mod.params));
  const args: Record<string, unknown> = {};
  let rest = '';
  let from = 0;
  for (const w of words(text)) {
    const m = /^([A-Za-z_]+)=(.*)$/s.exec(text.slice(w.start, w.end));
    if (!m || !COMMAND_OPTIONS.has(m[1]!)) continue;
    if (!accepted.has(m[1]!)) {
      return { error: `'${m[1]}=' in the command line of '${mod.name}' is an Ansible option ferry's ${mod.name} does not take`, hint: `accepted options: ${[...accepted].filter((k) => COMMAND_OPTIONS.has(k)).join(', ') || 'none'}; quote the word if it belongs to the command` };
    }
    args[m[1]!] = unquote(m[2]!);
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
    const m = /^([A-Za-z_]\w*)=(.*)$/s.exec(t.slice(w.start, w.end));
    if (!m) return undefined;
    out[m[1]!] = unquote(m[2]!);
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
