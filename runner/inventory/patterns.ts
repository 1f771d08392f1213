// Host patterns, evaluated as Ansible evaluates them (inventory/manager.py):
//   `web1`, `webservers`, `all` / `*`, globs (`web*`, `db[0-9]`), `~regex` (anchored at the start),
//   terms joined by `:` or `,` (union), `&term` (intersection), `!term` (exclusion), and a
//   `[i]` / `[i:j]` subscript on a term. Unions are applied first, then intersections, then
//   exclusions, whatever their written order. Pure: it only needs the inventory's names.
import { nearest } from '../suggest.js';
import { ValidationError, type Loc, type Problem } from '../errors.js';

/** What pattern matching needs to know about an inventory. */
export interface PatternInventory {
  /** Every host, in inventory order. */
  hostNames(): string[];
  /** Every group, including `all` and `ungrouped`. */
  groupNames(): string[];
  /** A group's hosts including those of its descendant groups. */
  hostsOfGroup(group: string): string[];
}

const LIST_HINT = 'run `ferry inventory -i INV --list` to see the hosts and groups';

/** Splits a pattern into terms at `,` and at `:` outside `[...]` (so `web[0:2]` stays one term). */
export function splitHostPattern(pattern: string | string[]): string[] {
  const parts = Array.isArray(pattern) ? pattern : [pattern];
  const out: string[] = [];
  for (const part of parts) {
    for (const raw of part.split(',')) {
      const piece = raw.trim();
      // A comma-separated `~regex` keeps its colons, as in Ansible; so does an IPv6 address.
      const whole = (piece[0] === '~' && part.includes(',')) ||
        (/^[0-9a-fA-F:]+$/.test(piece) && (piece.includes('::') || piece.split(':').length === 8));
      if (whole) out.push(piece);
      else out.push(...(piece.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []));
    }
  }
  return out.map((t) => t.trim()).filter(Boolean);
}

/** Reorders terms as Ansible applies them: plain terms, then `&` terms, then `!` terms (`all` if only modifiers). */
export function orderPatterns(terms: string[]): string[] {
  const regular = terms.filter((t) => t[0] !== '&' && t[0] !== '!');
  const and = terms.filter((t) => t[0] === '&');
  const not = terms.filter((t) => t[0] === '!');
  return [...(regular.length ? regular : ['all']), ...and, ...not];
}

/** A shell glob (`*`, `?`, `[seq]`, `[!seq]`) as an anchored regular expression, like Python's fnmatch.translate. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) re += '\\[';
      else {
        let body = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body[0] === '!') body = `^${body.slice(1)}`;
        else if (body[0] === '^') body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's');
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

function splitSubscript(term: string): { expr: string; sub?: [number, number | undefined] } {
  if (term[0] === '~') return { expr: term };
  const m = SUBSCRIPT.exec(term);
  if (!m) return { expr: term };
  if (m[2] !== undefined) return { expr: m[1], sub: [Number(m[2]), undefined] };
  return { expr: m[1], sub: [Number(m[3]), m[5] ? Number(m[5]) : -1] };
}

function matcher(expr: string, loc: Loc | undefined, problems: Problem[]): RegExp | undefined {
  if (expr[0] !== '~') return globToRegExp(expr);
  try {
    // Python's re.match: anchored at the start only.
    return new RegExp(`^(?:${expr.slice(1)})`);
  } catch (e) {
    problems.push({ loc, message: `invalid regular expression in host pattern '${expr}': ${(e as Error).message}`, hint: 'fix the regex after ~' });
    return undefined;
  }
}

/** The inventory's host names, listed once per pattern and looked up in constant time. */
interface Names {
  list: string[];
  has: Set<string>;
}

// One term without its &/! prefix; `undefined` when it names nothing at all.
function matchTerm(inv: PatternInventory, names: Names, term: string, loc: Loc | undefined, problems: Problem[]): string[] | undefined {
  if (names.has.has(term)) return [term];
  const { expr, sub } = splitSubscript(term);
  const re = matcher(expr, loc, problems);
  if (!re) return [];
  const groups = inv.groupNames().filter((g) => re.test(g));
  const byName = !groups.length || expr[0] === '~' || /[.?*[]/.test(expr);
  let results: string[];
  // One group and nothing else (the common case): its host list has no repeats already.
  if (groups.length === 1 && !byName) results = inv.hostsOfGroup(groups[0]!);
  else {
    const found = new Set<string>();
    for (const g of groups) for (const h of inv.hostsOfGroup(g)) found.add(h);
    if (byName) for (const h of names.list) if (re.test(h)) found.add(h);
    results = [...found];
  }
  if (!results.length && expr === 'localhost') results = ['localhost'];
  if (!results.length && !groups.length) return undefined;
  if (!sub) return results;
  const [start, end] = sub;
  if (end === undefined) {
    const h = results.at(start);
    if (h === undefined) {
      problems.push({ loc, message: `no host at index ${start} of '${expr}' (it has ${results.length})`, hint: LIST_HINT });
      return [];
    }
    return [h];
  }
  return results.slice(start, (end === -1 ? results.length - 1 : end) + 1);
}

/**
 * The hosts a pattern selects, in inventory order. A term that names no host or group is an error
 * (all such terms are reported together); an empty result from valid terms is not. Linear in the
 * number of hosts: sets, never a search of a list per host.
 */
export function matchHosts(inv: PatternInventory, pattern: string | string[], loc?: Loc): string[] {
  const problems: Problem[] = [];
  // The splitter drops a '[' or ']' that closes nothing (`~web[` would select like `~web`).
  for (const part of Array.isArray(pattern) ? pattern : [pattern]) {
    if (/[[\]]/.test(part.replace(/\[[^\]]*\]/g, ''))) {
      throw new ValidationError([{ loc, message: `host pattern '${part}' has a '[' or ']' that is not part of a [range]`, hint: 'close the bracket, or escape it in a ~regex as \\[' }]);
    }
  }
  const list = inv.hostNames();
  const names: Names = { list, has: new Set(list) };
  let hosts = new Set<string>();
  for (const t of orderPatterns(splitHostPattern(pattern))) {
    const op = t[0] === '&' || t[0] === '!' ? t[0] : '';
    const term = op ? t.slice(1) : t;
    const that = matchTerm(inv, names, term, loc, problems);
    if (that === undefined) {
      const candidates = [...inv.groupNames(), ...list];
      // Only suggest a name that looks like a typo of this one.
      const near = nearest(term, candidates);
      problems.push({
        loc,
        message: `host pattern '${term}' matches no host or group${near ? ` (did you mean '${near}'?)` : ''}`,
        hint: LIST_HINT,
      });
      continue;
    }
    if (op === '!') for (const h of that) hosts.delete(h);
    else if (op === '&') {
      const keep = new Set(that);
      hosts = new Set([...hosts].filter((h) => keep.has(h)));
    } else for (const h of that) hosts.add(h);
  }
  if (problems.length) throw new ValidationError(problems);
  const out = list.filter((h) => hosts.has(h));
  // The implicit localhost is not in the inventory: it comes last.
  for (const h of hosts) if (!names.has.has(h)) out.push(h);
  return out;
}

/**
 * `--limit`: the play's hosts that the limit pattern also selects. `@file` terms read host patterns
 * from a file, one per line (as Ansible's retry files); `readFile` is injected to keep this pure.
 */
export function limitHosts(
  inv: PatternInventory,
  hosts: string[],
  limit: string,
  readFile?: (path: string) => string,
  loc?: Loc,
): string[] {
  const terms: string[] = [];
  for (const t of splitHostPattern(limit)) {
    if (t[0] !== '@') {
      terms.push(t);
      continue;
    }
    if (!readFile) throw new ValidationError([{ loc, message: `cannot read limit file '${t.slice(1)}' here`, hint: 'pass the host names instead' }]);
    const lines = readFile(t.slice(1))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    terms.push(...lines);
  }
  const allowed = new Set(matchHosts(inv, terms, loc));
  return hosts.filter((h) => allowed.has(h));
}
