// YAML loading that remembers where every node came from, so that any later error
// (a bad parameter, an undefined variable) can name file:line. Input is bounded: a file over
// MAX_INPUT_BYTES, aliases that expand past MAX_ALIAS_VALUES ("billion laughs"), an alias inside
// its own anchor, nesting deeper than MAX_NESTING and a second document are refused as bad input.
// Ansible Vault data is opened here, for every reader: a whole encrypted file and `!vault` values.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  isMap,
  isScalar,
  isSeq,
  isAlias,
  isPair,
  LineCounter,
  parseAllDocuments,
  visit,
  type Alias,
  type Document,
  type Node,
  type DocumentOptions,
  type SchemaOptions,
} from 'yaml';
import { ValidationError, type Loc, type Problem } from './errors.js';
import type { SourceCache } from './source-cache.js';
import { VaultKeys, VaultOpenError } from './vault/keys.js';
import { VAULT_HEADER } from './vault/format.js';

const nodeLocs = new WeakMap<object, Loc>();
const keyLocs = new WeakMap<object, Map<string | number, Loc>>();

/** The location of a loaded object or array, or of one of its keys / items when `key` is given. */
export function locOf(value: unknown, key?: string | number): Loc | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (key !== undefined) return keyLocs.get(value)?.get(key) ?? nodeLocs.get(value);
  return nodeLocs.get(value);
}

// Mapping keys that were not strings in the source (`1234:`, `yes:`): JavaScript keys are strings.
const nonStringKeys = new WeakMap<object, Set<string>>();

/** Whether a key of a loaded mapping was written as a string (not a number, boolean or null that became one). */
export function keyWasString(value: object, key: string): boolean {
  return !nonStringKeys.get(value)?.has(key);
}

/** Records a location for a value built by code rather than loaded (e.g. a task expanded from a shorthand). */
export function setLoc(value: object, loc: Loc | undefined, key?: string | number): void {
  if (!loc) return;
  if (key === undefined) {
    nodeLocs.set(value, loc);
    return;
  }
  let m = keyLocs.get(value);
  if (!m) keyLocs.set(value, (m = new Map()));
  m.set(key, loc);
}

/** Copies the recorded locations of `from` onto `to` (used when an object is cloned). */
export function copyLocs(from: object, to: object): void {
  const l = nodeLocs.get(from);
  if (l) nodeLocs.set(to, l);
  const k = keyLocs.get(from);
  if (k) keyLocs.set(to, new Map(k));
}

/** A deep clone that keeps recorded locations (structuredClone would drop them). */
export function cloneWithLocs<T>(value: T): T {
  if (Array.isArray(value)) {
    const out = value.map((v) => cloneWithLocs(v));
    copyLocs(value, out);
    return out as T;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cloneWithLocs(v);
    copyLocs(value, out);
    return out as T;
  }
  return value;
}

/** The largest input file (playbook, task file, inventory, vars file) ferry reads: 10 MiB. */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;
/** How many values the aliases of one file may add to it (YAML's "billion laughs" is refused). */
export const MAX_ALIAS_VALUES = 1_000_000;
/** How many YAML syntax errors of one file are reported (the rest are counted). */
const MAX_SYNTAX_ERRORS = 5;
/** How deeply mappings and lists may nest (deeper input would exhaust the stack of every reader). */
export const MAX_NESTING = 200;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Reads an input file as UTF-8, at most MAX_INPUT_BYTES of it (also from a pipe or a device, which
 * have no size); an unreadable or larger file is a ValidationError naming it.
 */
export function readInputFile(path: string, displayPath = path, what = 'file'): string {
  const refuse = (message: string, hint: string): never => {
    throw new ValidationError([{ loc: { file: displayPath, line: 1 }, message, hint }]);
  };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return refuse(`cannot read ${what}: ${(e as Error).message}`, 'check the path');
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return refuse(`cannot read ${what}: it is a directory`, 'give the path of a file');
    if (st.isFile() && st.size > MAX_INPUT_BYTES) {
      return refuse(
        `the ${what} is ${mib(st.size)}, over the ${mib(MAX_INPUT_BYTES)} ferry reads`,
        'split it (more task files, group_vars/ and host_vars/, several -i), or check that this is the file you meant',
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, MAX_INPUT_BYTES + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        return refuse(`cannot read ${what}: ${(e as Error).message}`, 'check the path');
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > MAX_INPUT_BYTES) {
        return refuse(`the ${what} is over the ${mib(MAX_INPUT_BYTES)} ferry reads`, 'split it, or check that this is the file you meant');
      }
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function locAt(file: string, lc: LineCounter, offset: number | undefined): Loc {
  const pos = lc.linePos(offset ?? 0);
  return { file, line: pos.line, col: pos.col };
}

function offsetOf(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** What toJs needs besides the node: where aliases point, and how to name places. */
interface Conversion {
  file: string;
  lc: LineCounter;
  /** Each alias to the node its anchor names (the last one before it, as YAML says). */
  targets: Map<Alias, Node>;
  problems: Problem[];
  /** The passwords that open `!vault` values (none: such a value is a problem naming the flags). */
  vault: VaultKeys;
}

/**
 * Links every alias to its anchor in one pass over the document (the library's Alias.resolve
 * walks the whole document for each alias: quadratic in a file full of `<<: *defaults`).
 */
function aliasTargets(doc: Parameters<typeof visit>[0], c: Omit<Conversion, 'targets'>): Map<Alias, Node> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target) targets.set(node, target);
        else {
          c.problems.push({
            loc: locAt(c.file, c.lc, offsetOf(node)),
            message: `alias '*${node.source}' names no anchor before it`,
            hint: `define '&${node.source}' on a value above this line, or fix the name`,
          });
        }
      } else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/** A node's size (values, counting what aliases repeat) and height, for the bounds checked before converting. */
interface Measure {
  size: number;
  height: number;
}

/**
 * Checks the bounds toJs relies on, without expanding anything: no alias inside its own anchor,
 * nesting within MAX_NESTING (through aliases too), and aliases adding at most MAX_ALIAS_VALUES values.
 */
function checkBounds(root: unknown, c: Conversion): void {
  const memo = new Map<Node, Measure>();
  const open = new Set<Node>();
  let own = 0;
  let biggest: { alias: Alias; size: number } | undefined;
  let tooDeep = false;
  const measure = (node: unknown, depth: number): Measure => {
    if (node === null || node === undefined || tooDeep) return { size: 1, height: 0 };
    if (isAlias(node)) {
      const target = c.targets.get(node);
      if (!target) return { size: 1, height: 0 };
      if (open.has(target)) {
        c.problems.push({
          loc: locAt(c.file, c.lc, offsetOf(node)),
          message: `alias '*${node.source}' is inside the value its anchor '&${node.source}' names (a recursive alias)`,
          hint: 'a value cannot contain itself: write it out, or anchor a smaller part',
        });
        return { size: 1, height: 0 };
      }
      // Anchors come before their aliases, so the target was measured already (from the memo).
      const m = measure(target, depth);
      if (depth + m.height > MAX_NESTING) deep(node);
      if (!biggest || m.size > biggest.size) biggest = { alias: node, size: m.size };
      return m;
    }
    const known = memo.get(node as Node);
    if (known) return known;
    if (depth > MAX_NESTING) {
      deep(node);
      return { size: 1, height: 0 };
    }
    own++;
    const m: Measure = { size: 1, height: 0 };
    const add = (child: unknown): void => {
      const cm = measure(child, depth + 1);
      m.size += cm.size;
      m.height = Math.max(m.height, cm.height + 1);
    };
    if (isMap(node) || isSeq(node)) {
      open.add(node);
      for (const item of node.items) {
        if (isPair(item)) {
          add(item.key);
          add(item.value);
        } else add(item);
      }
      open.delete(node);
    }
    memo.set(node as Node, m);
    return m;
  };
  const deep = (node: unknown): void => {
    if (tooDeep) return;
    tooDeep = true;
    c.problems.push({
      loc: locAt(c.file, c.lc, offsetOf(node)),
      message: `mappings and lists nest more than ${MAX_NESTING} levels deep here`,
      hint: 'flatten the data; no playbook, inventory or vars file needs this depth',
    });
  };
  const total = measure(root, 0).size;
  if (total - own > MAX_ALIAS_VALUES && biggest) {
    c.problems.push({
      loc: locAt(c.file, c.lc, offsetOf(biggest.alias)),
      message: `aliases would add ${total - own > 1e15 ? 'more than 10^15' : (total - own).toLocaleString('en')} values to this file (the limit is ${MAX_ALIAS_VALUES.toLocaleString('en')}); '*${biggest.alias.source}' here alone repeats ${biggest.size > 1e15 ? 'more than 10^15' : biggest.size.toLocaleString('en')}`,
      hint: 'aliases that repeat aliases grow exponentially (a "billion laughs"): write the values out, or use fewer nested aliases',
    });
  }
}

/** The YAML tag of an inline vault value (`password: !vault |` and the envelope below it). */
const VAULT_TAG = '!vault';

/** The plaintext of an inline `!vault` value, marked secret; a problem at its line when it cannot be opened. */
function openInlineVault(value: unknown, loc: Loc, c: Conversion): unknown {
  if (typeof value !== 'string') {
    c.problems.push({ loc, message: `${VAULT_TAG} tags a ${value === null ? 'null' : typeof value}; it holds one encrypted string`, hint: 'make it with `ferry vault encrypt_string`' });
    return null;
  }
  try {
    const { plaintext } = c.vault.open(value, `this ${VAULT_TAG} value`);
    c.vault.secrets.addDecrypted(plaintext);
    return plaintext;
  } catch (e) {
    if (!(e instanceof VaultOpenError)) throw e;
    c.problems.push({ loc, message: e.message, hint: e.hint });
    return null;
  }
}

function toJs(node: unknown, c: Conversion): unknown {
  const { file, lc, problems } = c;
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toJs(c.targets.get(node), c);
  if (isScalar(node)) return node.tag === VAULT_TAG ? openInlineVault(node.value, locAt(file, lc, offsetOf(node)), c) : node.value;
  if ((isMap(node) || isSeq(node)) && node.tag === VAULT_TAG) {
    problems.push({ loc: locAt(file, lc, offsetOf(node)), message: `${VAULT_TAG} tags a ${isMap(node) ? 'mapping' : 'list'}; it holds one encrypted string`, hint: 'make it with `ferry vault encrypt_string` (or ansible-vault encrypt_string)' });
    return null;
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    setLoc(out, locAt(file, lc, offsetOf(node)));
    // keys a merge key brought in: a key written in the mapping itself overrides them (YAML's merge
    // semantics, which Ansible's `<<: *defaults` then `state: started` relies on), once
    const merged = new Set<string>();
    for (const pair of node.items) {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      const keyLoc = locAt(file, lc, offsetOf(keyNode) ?? offsetOf(node));
      // In YAML 1.1 mode the `yaml` library hands merge keys over as Symbol('<<').
      if (key === '<<' || (typeof key === 'symbol' && key.description === '<<')) {
        // YAML merge key: fold the referenced mapping(s) in, without overriding explicit keys.
        const value = toJs(pair.value, c);
        for (const src of Array.isArray(value) ? value : [value]) {
          if (src && typeof src === 'object') {
            for (const [k, v] of Object.entries(src)) {
              if (k in out) continue;
              out[k] = v;
              merged.add(k);
            }
          }
        }
        continue;
      }
      const k = typeof key === 'string' ? key : String(key);
      if (typeof key !== 'string') {
        let set = nonStringKeys.get(out);
        if (!set) nonStringKeys.set(out, (set = new Set()));
        set.add(k);
      }
      if (merged.has(k)) merged.delete(k);
      else if (Object.prototype.hasOwnProperty.call(out, k)) {
        problems.push({ loc: keyLoc, message: `duplicate key '${k}'`, hint: 'remove one of the two entries' });
      }
      out[k] = toJs(pair.value, c);
      setLoc(out, keyLoc, k);
    }
    return out;
  }
  if (isSeq(node)) {
    const out: unknown[] = [];
    setLoc(out, locAt(file, lc, offsetOf(node)));
    node.items.forEach((item, i) => {
      out.push(toJs(item, c));
      setLoc(out, locAt(file, lc, offsetOf(item) ?? offsetOf(node)), i);
    });
    return out;
  }
  return node;
}

/** The text is not YAML at all (as opposed to YAML that breaks a rule): an inventory reader then tries INI. */
export class YamlSyntaxError extends ValidationError {}

/**
 * YAML dialect: `version` '1.2' (the library default) or '1.1'; `customTags` adjusts the scalars (e.g.
 * to PyYAML's); `vault` opens a vault-encrypted file and `!vault` values (without it they are problems);
 * `sources` keeps what the library parsed, for another reading of the same text (the default dialect only).
 */
export type YamlOptions = Pick<DocumentOptions & SchemaOptions, 'version' | 'customTags'> & { vault?: VaultKeys; sources?: SourceCache };

// A document after the first that holds nothing (a trailing `---`, only comments) is harmless.
function isEmptyDocument(contents: unknown): boolean {
  return contents === null || contents === undefined || (isScalar(contents) && contents.value === null && !contents.source);
}

/** Whether a file's text is encrypted with Ansible Vault (it starts with `$ANSIBLE_VAULT;`, as Ansible checks). */
export function isVaultFile(text: string): boolean {
  return text.startsWith(VAULT_HEADER + ';');
}

/** The plaintext of a vault-encrypted file; a ValidationError at its first line when it cannot be opened. */
export function openVaultFile(text: string, file: string, vault: VaultKeys | undefined): string {
  try {
    return (vault ?? new VaultKeys([])).open(text, 'this file').plaintext;
  } catch (e) {
    if (!(e instanceof VaultOpenError)) throw e;
    throw new ValidationError([{ loc: { file, line: 1 }, message: e.message, hint: e.hint }]);
  }
}

/**
 * Parses YAML text holding one document (a second one is an error, as in PyYAML's safe_load),
 * recording the file:line of every mapping key and sequence item.
 */
export function parseYaml(text: string, file: string, options: YamlOptions = {}): unknown {
  const { vault = new VaultKeys([]), sources, ...dialect } = options;
  // A whole file encrypted with Ansible Vault: its plaintext is read as the file, every value secret.
  if (isVaultFile(text)) {
    const value = parseYaml(openVaultFile(text, file, vault), file, { ...dialect, vault, sources });
    vault.secrets.addDecrypted(value);
    return value;
  }
  const parse = (): { lc: LineCounter; list: Document.Parsed[] } => {
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, {
      lineCounter: lc,
      uniqueKeys: false,
      prettyErrors: false,
      ...dialect,
    });
    return { lc, list: Array.isArray(docs) ? docs : [docs] };
  };
  // the library's documents are only read below (toJs makes new values), so a second reading may share them
  const { lc, list } = sources && dialect.version === undefined && dialect.customTags === undefined ? sources.parsed(text, parse) : parse();
  const problems: Problem[] = [];
  const errors = list.flatMap((d) => d.errors);
  const lastContent = Math.max(0, text.trimEnd().length - 1);
  const seen = new Set<string>();
  for (const e of errors) {
    // Without prettyErrors the library leaves linePos unset: the line comes from the offset. What
    // is never closed is reported at the end of the text: the last line that holds something.
    const loc = locAt(file, lc, Math.min(e.pos[0], lastContent));
    // The parser reports its own stack overflow on input nested thousands of levels deep.
    const p = /call stack/i.test(e.message)
      ? { loc, message: 'mappings and lists nest too deeply to parse', hint: 'flatten the data' }
      : { loc, message: `YAML syntax error: ${e.message.split('\n')[0]}`, hint: 'fix the YAML syntax (indentation, quoting, a missing colon)' };
    // One broken construct can make thousands of errors: each once (the parser's overflow once
    // per file), and the first few only.
    const key = p.message.startsWith('YAML') ? `${loc.line}:${loc.col}:${p.message}` : p.message;
    if (seen.has(key)) continue;
    seen.add(key);
    if (problems.length < MAX_SYNTAX_ERRORS) problems.push(p);
  }
  if (seen.size > MAX_SYNTAX_ERRORS) {
    problems.push({ loc: { file, line: problems.at(-1)!.loc!.line }, message: `and ${seen.size - MAX_SYNTAX_ERRORS} more YAML errors after these` });
  }
  if (problems.length) throw new YamlSyntaxError(problems);
  const second = list.slice(1).find((d) => !isEmptyDocument(d.contents));
  if (second) {
    problems.push({
      loc: locAt(file, lc, second.range[0]),
      message: `a second YAML document starts here; ferry reads one document per file (${list.length} found)`,
      hint: 'remove the "---" line to make one document, or move what follows into a file of its own',
    });
    throw new ValidationError(problems);
  }
  const first = list[0];
  if (!first) return null;
  const c: Conversion = { file, lc, problems, targets: new Map(), vault };
  try {
    c.targets = aliasTargets(first, c);
    // An alias to nothing makes the text not YAML at all (PyYAML: "found undefined alias").
    if (problems.length) throw new YamlSyntaxError(problems);
    checkBounds(first.contents, c);
  } catch (e) {
    // The library's own walk can exhaust the stack on input nested thousands of levels deep.
    if (!(e instanceof RangeError)) throw e;
    problems.push({ loc: { file, line: 1 }, message: `mappings and lists nest too deeply (${e.message})`, hint: 'flatten the data' });
  }
  if (problems.length) throw new ValidationError(problems);
  const value = toJs(first.contents, c);
  if (problems.length) throw new ValidationError(problems);
  return value;
}

/** Reads (at most MAX_INPUT_BYTES) and parses a YAML file; a missing, unreadable or oversized file is a ValidationError naming it. */
export function loadYamlFile(path: string, displayPath = path, options: YamlOptions = {}): unknown {
  return parseYaml(readInputFile(path, displayPath), displayPath, options);
}
