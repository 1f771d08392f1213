// The YAML inventory form, read as Ansible's `yaml` inventory plugin reads it: top-level keys are
// groups (`all` or any other), each a mapping of `hosts` (host name -> vars), `children`
// (group name -> group) and `vars`. Where Ansible only warns (an unknown key under a group, a group
// that is not a mapping), ferry reports a problem: a typo there silently drops hosts or vars.
import { closest } from 'fastest-levenshtein';
import type { Loc, Problem } from '../errors.js';
import { keyWasString, locOf } from '../yaml-source.js';
import { expandHostEntry } from './host-range.js';
import type { Inventory } from './inventory.js';

const SECTIONS = ['hosts', 'children', 'vars'] as const;

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'nothing';
  return `a ${typeof v}`;
}

/** True when parsed YAML looks like an inventory (a mapping), so the file is read as YAML rather than INI. */
export function isYamlInventory(data: unknown): boolean {
  return isMapping(data) && Object.keys(data).length > 0;
}

/** Loads parsed YAML (from yaml-source, YAML 1.1) into `inv`. */
export function loadYamlInventory(inv: Inventory, data: unknown, file: string, problems: Problem[]): void {
  if (data === null || data === undefined) return;
  if (!isMapping(data)) {
    problems.push({
      loc: locOf(data) ?? { file, line: 1 },
      message: `a YAML inventory must be a mapping of group names, got ${describe(data)}`,
      hint: 'start with `all:` (or a group name) followed by hosts/children/vars',
    });
    return;
  }
  if ('plugin' in data) {
    problems.push({
      loc: locOf(data, 'plugin') ?? { file, line: 1 },
      message: 'inventory plugin configuration files are not supported',
      hint: 'write the hosts out as a static YAML or INI inventory',
    });
    return;
  }
  for (const [name, value] of Object.entries(data)) {
    parseGroup(inv, name, value, locOf(data, name) ?? { file, line: 1 }, { file, problems });
  }
}

interface Ctx {
  file: string;
  problems: Problem[];
}

function parseGroup(inv: Inventory, name: string, data: unknown, loc: Loc, ctx: Ctx): boolean {
  if (data !== null && !isMapping(data)) {
    ctx.problems.push({
      loc,
      message: `group '${name}' must be a mapping with hosts/children/vars, got ${describe(data)}`,
      hint: `write '${name}:' followed by an indented 'hosts:' mapping`,
    });
    return false;
  }
  inv.addGroup(name, loc);
  if (data === null) return true;
  for (const [key, rawValue] of Object.entries(data)) {
    const keyLoc = locOf(data, key) ?? loc;
    if (!(SECTIONS as readonly string[]).includes(key)) {
      ctx.problems.push({
        loc: keyLoc,
        message: `unknown key '${key}' under group '${name}'; only hosts, children and vars are allowed`,
        hint: `did you mean '${closest(key, [...SECTIONS])}'? A child group goes under 'children:', a variable under 'vars:'`,
      });
      continue;
    }
    // Ansible accepts a bare string as a one-entry mapping (`hosts: web1`).
    const value = typeof rawValue === 'string' ? { [rawValue]: null } : rawValue;
    if (value === null) continue;
    if (!isMapping(value)) {
      const example = key === 'vars' ? 'name: value' : `${key === 'hosts' ? 'host1' : 'group1'}:`;
      ctx.problems.push({
        loc: keyLoc,
        message: `'${key}' of group '${name}' must be a mapping, got ${describe(value)}`,
        hint: `write entries as '${example}' (a mapping), not as a '- item' list`,
      });
      continue;
    }
    if (key === 'vars') {
      for (const [k, v] of Object.entries(value)) inv.setGroupVar(name, k, v, locOf(value, k));
    } else if (key === 'children') {
      for (const [child, childData] of Object.entries(value)) {
        const childLoc = locOf(value, child) ?? keyLoc;
        if (parseGroup(inv, child, childData, childLoc, ctx)) inv.addChild(name, child, ctx.problems, childLoc);
      }
    } else {
      for (const [pattern, hostVars] of Object.entries(value)) parseHost(inv, name, value, pattern, hostVars, keyLoc, ctx);
    }
  }
  return true;
}

function parseHost(
  inv: Inventory,
  group: string,
  hosts: Record<string, unknown>,
  pattern: string,
  vars: unknown,
  fallback: Loc,
  ctx: Ctx,
): void {
  const loc = locOf(hosts, pattern) ?? fallback;
  // YAML turns an unquoted `1234:` key into a number; the loaded key is its text.
  if (!keyWasString(hosts, pattern)) {
    ctx.problems.push({
      loc,
      message: `host name ${pattern} must be a string`,
      hint: `enclose integers, floats and booleans in quotation marks: '${pattern}':`,
    });
    return;
  }
  if (vars !== null && !isMapping(vars)) {
    ctx.problems.push({
      loc,
      message: `variables of host '${pattern}' in group '${group}' must be a mapping, got ${describe(vars)}`,
      hint: `write '${pattern}:' followed by indented 'name: value' lines, or nothing`,
    });
    return;
  }
  const entry = expandHostEntry(pattern, inv.hosts.size);
  if ('message' in entry) {
    ctx.problems.push({ loc, ...entry });
    return;
  }
  const { names, port } = entry;
  for (const h of names) {
    inv.addHost(h, group, port, loc, ctx.file);
    for (const [k, v] of Object.entries(vars ?? {})) inv.setHostVar(h, k, v, locOf(vars, k));
  }
}
