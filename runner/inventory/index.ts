// Loading an inventory: one or more sources (a file, a directory of files, or `host1,host2,`),
// each file read as YAML or INI by its content, then `group_vars/` and `host_vars/` beside each
// source. Every problem in every file is collected and raised as one ValidationError.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { ValidationError, type Problem } from '../errors.js';
import { isVaultFile, openVaultFile, parseYaml, readInputFile, YamlSyntaxError } from '../yaml-source.js';
import type { VaultKeys } from '../vault/keys.js';
import { PYYAML } from './pyyaml-schema.js';
import { loadIniInventory } from './ini-inventory.js';
import { Inventory } from './inventory.js';
import { loadVarsLayer } from './vars-dirs.js';
import { isYamlInventory, loadYamlInventory } from './yaml-inventory.js';

export { Inventory, groupsMap, hostvarsMap } from './inventory.js';
export type { InventoryGroup, InventoryHost, VarsLayer, MagicVars } from './inventory.js';
export { inventoryToAnsibleList } from './ansible-list.js';
export type { AnsibleList, AnsibleListGroup } from './ansible-list.js';
export { connectionOf } from './connection.js';
export type { ConnectionInfo } from './connection.js';
export { matchHosts, limitHosts, splitHostPattern, orderPatterns } from './patterns.js';
export type { PatternInventory } from './patterns.js';

const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];
// Ansible's defaults: hidden files, vars directories, and INVENTORY_IGNORE_EXTS are skipped in a directory.
const IGNORED_NAMES = /^\.|^host_vars$|^group_vars$|^vars_plugins$/;
const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];

/** The values an INI inventory sets (`key=value`, quotes removed), not its host and group names. */
function iniValues(text: string): string[] {
  return [...text.matchAll(/[\w.-]+=("[^"]*"|'[^']*'|\S+)/g)].map((m) => m[1]!.replace(/^(["'])(.*)\1$/, '$2'));
}

/** Reads one inventory file (YAML or INI, decided by content) into `inv`. */
export function loadInventoryFile(inv: Inventory, path: string, problems: Problem[], vault?: VaultKeys): void {
  let text: string;
  try {
    text = readInputFile(path, path, 'inventory');
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems);
    return;
  }
  // A vault-encrypted inventory (YAML or INI) is read as its plaintext; its values are secret (not
  // the names of its hosts and groups).
  const vaulted = isVaultFile(text);
  if (vaulted) {
    try {
      text = openVaultFile(text, path, vault);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
      return;
    }
  }
  if (text.startsWith('#!')) {
    problems.push({
      loc: { file: path, line: 1 },
      message: 'dynamic inventory scripts are not supported',
      hint: 'save its output (`./script --list`) as a static YAML inventory',
    });
    return;
  }
  const yamlByName = YAML_EXTENSIONS.includes(extname(path));
  let data: unknown;
  try {
    data = parseYaml(text, path, { ...PYYAML, vault });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // A .yml file must be YAML; any other file that is not YAML is INI, as Ansible tries them.
    // YAML that breaks one of ferry's rules (aliases, depth, documents) is reported as such.
    if (yamlByName || !(e instanceof YamlSyntaxError)) {
      problems.push(...e.problems);
      return;
    }
    if (vaulted) vault?.secrets.addDecrypted(iniValues(text));
    loadIniInventory(inv, text, path, problems);
    return;
  }
  if (yamlByName || isYamlInventory(data)) {
    if (vaulted) vault?.secrets.addDecrypted(data);
    loadYamlInventory(inv, data, path, problems);
  } else {
    if (vaulted) vault?.secrets.addDecrypted(iniValues(text));
    loadIniInventory(inv, text, path, problems);
  }
}

function loadDirectory(inv: Inventory, dir: string, problems: Problem[], vault?: VaultKeys): void {
  for (const entry of readdirSync(dir).sort()) {
    if (IGNORED_NAMES.test(entry) || IGNORED_EXTS.some((ext) => entry.endsWith(ext))) continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) loadDirectory(inv, full, problems, vault);
    else loadInventoryFile(inv, full, problems, vault);
  }
}

// Report in reading order: by file (as first met), then line. Loaders may find problems out of order
// (JavaScript objects enumerate integer-like keys first).
function sortProblems(problems: Problem[]): Problem[] {
  const files = [...new Set(problems.map((p) => p.loc?.file ?? ''))];
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        files.indexOf(a.p.loc?.file ?? '') - files.indexOf(b.p.loc?.file ?? '') ||
        (a.p.loc?.line ?? 0) - (b.p.loc?.line ?? 0) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

/**
 * Loads an inventory from files, directories or `host1,host2,` lists, with group_vars/ and host_vars/
 * beside each; `vault` opens what is vault-encrypted (whole files and `!vault` values).
 */
export function loadInventory(paths: string | string[], vault?: VaultKeys): Inventory {
  const inv = new Inventory();
  const problems: Problem[] = [];
  const bases: string[] = [];
  for (const source of Array.isArray(paths) ? paths : [paths]) {
    inv.sources.push(source);
    if (!existsSync(source)) {
      if (source.includes(',')) {
        for (const h of source.split(',').map((s) => s.trim()).filter(Boolean)) inv.addHost(h);
        continue;
      }
      problems.push({
        loc: { file: source, line: 1 },
        message: 'inventory not found',
        hint: 'give a file, a directory, or a comma-separated host list ending with "," (-i host1,)',
      });
      continue;
    }
    if (statSync(source).isDirectory()) {
      loadDirectory(inv, source, problems, vault);
      bases.push(source);
    } else {
      loadInventoryFile(inv, source, problems, vault);
      bases.push(dirname(source));
    }
  }
  inv.reconcile();
  for (const base of bases) {
    inv.varsLayers.push(loadVarsLayer(base, inv.groupNames(), inv.hostNames(), problems, vault));
  }
  if (problems.length) throw new ValidationError(sortProblems(problems));
  return inv;
}
