// The INI inventory form, read as Ansible's `ini` inventory plugin reads it:
//   host lines (optionally before any section: they go to `ungrouped`), `[group]`,
//   `[group:vars]` (key=value), `[group:children]` (group names), comments with `#` or `;`.
// Host-line values are shell-split then read as Python literals; `[g:vars]` values are the text
// after the first `=` (trimmed), then read as Python literals.
import type { Loc, Problem } from '../errors.js';
import { expandHostEntry } from './host-range.js';
import type { Inventory } from './inventory.js';
import { parsePythonLiteral } from './python-literal.js';
import { shlexSplit, ShlexError } from '../shlex.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  loc: Loc;
  kind: 'vars' | 'children';
  parents: string[];
}

/** Loads INI inventory text into `inv`, adding every problem found (with file:line) to `problems`. */
export function loadIniInventory(inv: Inventory, text: string, file: string, problems: Problem[]): void {
  // A group may be referenced as a child (or given vars) before its own section: Ansible waits
  // for the declaration until the end of the file.
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  let skipSection = false;

  const addPendingChildren = (child: string): void => {
    const p = pending.get(child);
    if (!p) return;
    pending.delete(child);
    for (const parent of p.parents) {
      inv.addChild(parent, child, problems, p.loc);
      if (pending.get(parent)?.kind === 'children') addPendingChildren(parent);
    }
  };

  const lines = text.split(/\r?\n|\r/);
  lines.forEach((raw, i) => {
    const loc: Loc = { file, line: i + 1 };
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') return;

    const section = SECTION.exec(line);
    if (section) {
      const [, name, kind = 'hosts'] = section;
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        problems.push({
          loc,
          message: `section [${name}:${kind}] has an unknown type '${kind}'`,
          hint: 'use [group], [group:vars] or [group:children]',
        });
        skipSection = true;
        return;
      }
      skipSection = false;
      group = name;
      state = kind;
      if (!inv.groups.has(name)) {
        // `[g:vars]` alone does not declare a group: it must be declared elsewhere in the file.
        if (kind === 'vars' && !pending.has(name)) pending.set(name, { loc, kind: 'vars', parents: [] });
        inv.addGroup(name, loc);
      }
      if (kind !== 'vars' && pending.has(name)) {
        if (pending.get(name)?.kind === 'children') addPendingChildren(name);
        else pending.delete(name);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      problems.push({
        loc,
        message: `invalid section header '${line}'`,
        hint: 'write [group], [group:vars] or [group:children] with no spaces inside the brackets',
      });
      skipSection = true;
      return;
    }
    if (skipSection) return;

    if (state === 'hosts') parseHostLine(inv, line, group, loc, file, problems);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        problems.push({
          loc,
          message: `expected key=value in [${group}:vars], got '${line}'`,
          hint: 'write one variable per line as name=value',
        });
        return;
      }
      const key = line.slice(0, eq).trim();
      if (!key) {
        problems.push({ loc, message: `missing variable name before '=' in '${line}'`, hint: 'write name=value' });
        return;
      }
      inv.setGroupVar(group, key, parsePythonLiteral(line.slice(eq + 1).trim()), loc);
    } else {
      const m = GROUP_NAME.exec(line);
      if (!m) {
        problems.push({
          loc,
          message: `expected a group name in [${group}:children], got '${line}'`,
          hint: 'list one child group name per line (no spaces, no ":" or "]")',
        });
        return;
      }
      const child = m[1];
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (p) p.parents.push(group);
        else pending.set(child, { loc, kind: 'children', parents: [group] });
      } else inv.addChild(group, child, problems, loc);
    }
  });

  for (const [name, p] of pending) {
    if (p.kind === 'vars') {
      problems.push({
        loc: p.loc,
        message: `section [${name}:vars] is for a group that is not declared in this file`,
        hint: `declare it with a [${name}] or [${name}:children] section, or fix the group name`,
      });
    } else {
      problems.push({
        loc: p.loc,
        message: `[${p.parents[p.parents.length - 1]}:children] names group '${name}', which is not declared`,
        hint: `add a [${name}] section (it may be empty) or fix the name`,
      });
    }
  }
}

function parseHostLine(inv: Inventory, line: string, group: string, loc: Loc, file: string, problems: Problem[]): void {
  let tokens: string[];
  try {
    tokens = shlexSplit(line, { comments: true });
  } catch (e) {
    if (!(e instanceof ShlexError)) throw e;
    problems.push({ loc, message: `cannot split host line: ${e.message}`, hint: 'close the quote or remove the stray backslash' });
    return;
  }
  if (tokens.length === 0) return;
  const entry = expandHostEntry(tokens[0], inv.hosts.size);
  if ('message' in entry) {
    problems.push({ loc, ...entry });
    return;
  }
  const { names: hosts, port } = entry;
  const vars: Record<string, unknown> = {};
  let ok = true;
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=');
    if (eq <= 0) {
      problems.push({
        loc,
        message: `expected key=value after host '${tokens[0]}', got '${t}'`,
        hint: 'host variables are written name=value; quote values that contain spaces',
      });
      ok = false;
      continue;
    }
    vars[t.slice(0, eq)] = parsePythonLiteral(t.slice(eq + 1));
  }
  if (!ok) return;
  for (const h of hosts) {
    inv.addHost(h, group, port, loc, file);
    for (const [k, v] of Object.entries(vars)) inv.setHostVar(h, k, v, loc);
  }
}
