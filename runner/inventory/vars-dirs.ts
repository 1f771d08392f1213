// `group_vars/` and `host_vars/` beside an inventory source, found as Ansible's host_group_vars
// plugin finds them: for NAME, the files `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` and every
// file of a directory `NAME/` (recursively, sorted; hidden files, backups and other extensions
// skipped), all loaded and combined in that order. Names that match no group or host are ignored.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ValidationError, type Problem } from '../errors.js';
import { locOf, parseYaml, readInputFile, setLoc } from '../yaml-source.js';
import { PYYAML } from './pyyaml-schema.js';
import type { VarsLayer } from './inventory.js';
import type { VaultKeys } from '../vault/keys.js';

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

function dirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const full = join(dir, entry);
    const ext = extname(entry);
    const st = statSync(full);
    if (st.isDirectory() && !ext) out.push(...dirFiles(full));
    else if (st.isFile() && EXTENSIONS.includes(ext)) out.push(full);
  }
  return out;
}

/**
 * The vars files for one group or host name under `dir` (a group_vars/ or host_vars/ directory), in
 * load order; `entries` is the directory's listing, read once for all names (not 4 lookups per host).
 */
export function findVarsFiles(dir: string, name: string, entries: ReadonlySet<string>): string[] {
  // A name with a path separator would reach outside the directory.
  if (name.includes('/') || name === '.' || name === '..') return [];
  const found: string[] = [];
  for (const ext of EXTENSIONS) {
    if (!entries.has(name + ext)) continue;
    const path = join(dir, name + ext);
    if (statSync(path).isDirectory()) found.push(...dirFiles(path));
    else found.push(path);
  }
  return found;
}

/** Reads one vars file (vault-encrypted or not): a YAML 1.1 (or JSON) mapping, or empty; anything else is a problem. */
export function loadVarsFile(path: string, problems: Problem[], vault?: VaultKeys): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readInputFile(path, path, 'vars file');
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
  let data: unknown;
  try {
    data = parseYaml(text, path, { ...PYYAML, vault });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
  if (data === null || data === undefined) return undefined;
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push({
      loc: locOf(data) ?? { file: path, line: 1 },
      message: `a vars file must be a mapping of variable names to values, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`,
      hint: 'write one `name: value` per line at the top level',
    });
    return undefined;
  }
  return data as Record<string, unknown>;
}

/** Loads `base/group_vars/*` and `base/host_vars/*` for the given group and host names. */
export function loadVarsLayer(base: string, groups: string[], hosts: string[], problems: Problem[], vault?: VaultKeys): VarsLayer {
  const layer: VarsLayer = { base, groupVars: new Map(), hostVars: new Map() };
  const fill = (sub: string, names: string[], into: Map<string, Record<string, unknown>>): void => {
    const dir = join(base, sub);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
    const entries = new Set(readdirSync(dir));
    for (const name of names) {
      const files = findVarsFiles(dir, name, entries);
      if (!files.length) continue;
      const merged: Record<string, unknown> = {};
      for (const f of files) {
        const vars = loadVarsFile(f, problems, vault) ?? {};
        for (const [k, v] of Object.entries(vars)) {
          merged[k] = v;
          setLoc(merged, locOf(vars, k), k);
        }
      }
      into.set(name, merged);
    }
  };
  fill('group_vars', groups, layer.groupVars);
  fill('host_vars', hosts, layer.hostVars);
  return layer;
}
