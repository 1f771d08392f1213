// Variable precedence, low to high (documented in README "Variables"):
//   role defaults < inventory (group vars all < parent < child < host vars) < gathered facts (ansible_*)
//   < play vars < vars_files < role vars < block vars (outer < inner; role parameters) < include vars
//   < task vars < registered / set / include_vars values < extra vars — Ansible's order.
// Magic variables (inventory_hostname, groups, hostvars, play_hosts, ansible_check_mode, ansible_facts,
// ferry_facts) are set last.
import { ANSIBLE_VALUE_OPTIONS, Undefined, parseTemplate, templateVariables } from './expr/index.js';
import { renderString, isTemplated } from './template.js';
import type { Loc } from './errors.js';

type Obj = Record<string, unknown>;

/** Variables ferry sets itself for every task (they win over every layer, so a task cannot set them). */
export const MAGIC_VARS: ReadonlySet<string> = new Set([
  'inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'hostvars', 'play_hosts', 'ansible_play_hosts',
  'ansible_check_mode', 'ferry_check_mode', 'ansible_facts', 'ferry_facts', 'ansible_loop', 'this', 'playbook_dir', 'omit',
  'role_name', 'role_path',
]);

/** The layers of variables a task sees, in increasing precedence. */
export interface VarLayers {
  /** defaults/ of the role the task belongs to: below everything else. */
  roleDefaults?: Obj;
  inventory: Obj;
  /** The host's gathered facts as top-level variables (ansible_hostname, …): above the inventory, below the play. */
  facts?: Obj;
  play: Obj;
  varsFiles: Obj;
  /** vars/ of the role the task belongs to: above play vars and vars_files. */
  roleVars?: Obj;
  blocks: Obj[];
  task: Obj;
  registered: Obj;
  extra: Obj;
  magic: Obj;
}

/** Merges the layers (later wins, shallow as Ansible's default hash_behaviour=replace). */
export function mergeVars(l: VarLayers): Obj {
  return Object.assign({}, l.roleDefaults, l.inventory, l.facts, l.play, l.varsFiles, l.roleVars, ...l.blocks, l.task, l.registered, l.extra, l.magic);
}


/**
 * Merges the layers and renders the variables whose values are templates. Only what the user wrote
 * is templated (inventory, play, vars_files, block/task vars, -e): registered results and facts
 * come from hosts and are data, never templates — a command's output holding `{{ lookup('file', …) }}`
 * stays text, as Ansible marks such values unsafe.
 */
export function resolveLayers(l: VarLayers): Obj {
  const above = [l.play, l.varsFiles, l.roleVars ?? {}, ...l.blocks, l.task, l.registered, l.extra];
  const facts = Object.keys(l.facts ?? {}).filter((k) => !above.some((layer) => Object.hasOwn(layer, k)));
  // The magic variables are never rendered here: hostvars renders each host's templates itself,
  // with that host's variables, when they are read (RunScope.hostvars); groups holds host names.
  const fromHosts = new Set([...facts, ...Object.keys(l.registered).filter((k) => !Object.hasOwn(l.extra, k)), ...Object.keys(l.magic)]);
  return resolveVarTemplates(mergeVars(l), undefined, fromHosts);
}

// The variables a value's templates read, to render those first.
function referenced(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') {
    if (!isTemplated(v)) return;
    try {
      for (const u of templateVariables(parseTemplate(v, ANSIBLE_VALUE_OPTIONS))) out.add(u.name);
    } catch {
      // a syntax error is reported when the value is rendered
    }
  } else if (Array.isArray(v)) v.forEach((x) => referenced(x, out));
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => referenced(x, out));
}

/**
 * Resolves variables whose values are themselves templates (`b: "{{ a }}-x"`), lazily and with a
 * cycle guard, so a variable may refer to others of any layer, as in Ansible. `skip` names variables
 * that are data, never rendered.
 */
export function resolveVarTemplates(vars: Obj, loc?: Loc, skip: ReadonlySet<string> = new Set()): Obj {
  const out: Obj = { ...vars };
  const resolving = new Set<string>();
  const done = new Set<string>();
  const resolveKey = (k: string, depth: number): void => {
    const v = out[k];
    if (done.has(k) || skip.has(k) || !containsTemplate(v) || resolving.has(k) || depth > 20) return;
    resolving.add(k);
    try {
      const refs = new Set<string>();
      referenced(v, refs);
      for (const r of refs) if (Object.hasOwn(out, r)) resolveKey(r, depth + 1);
      out[k] = renderValue(v, out, loc);
    } catch (e) {
      // As in Ansible, a variable that cannot be rendered is undefined: an error only where it is used, naming why.
      out[k] = new Undefined(k, `its value cannot be rendered: ${(e as Error).message}`);
    }
    resolving.delete(k);
    done.add(k);
  };
  const renderValue = (v: unknown, scope: Obj, l: Loc | undefined): unknown => {
    if (typeof v === 'string') return isTemplated(v) ? renderString(v, scope, l) : v;
    if (Array.isArray(v)) return v.map((x) => renderValue(x, scope, l));
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const o: Obj = {};
      for (const [kk, x] of Object.entries(v)) o[kk] = renderValue(x, scope, l);
      return o;
    }
    return v;
  };
  for (const k of Object.keys(out)) resolveKey(k, 0);
  return out;
}

function containsTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplated(v);
  if (Array.isArray(v)) return v.some(containsTemplate);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).some(containsTemplate);
  return false;
}

/** Parses `-e` values: `k=v` (several, space separated, quotes allowed), a YAML/JSON mapping, or `@file`. */
export function parseExtraVarArg(arg: string, loadFile: (path: string) => unknown): Obj {
  if (arg.startsWith('@')) {
    const data = loadFile(arg.slice(1));
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error(`${arg.slice(1)}: extra vars file must hold a mapping`);
    return data as Obj;
  }
  const t = arg.trim();
  if (t.startsWith('{')) {
    const v = JSON.parse(t) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`-e ${arg}: must be a mapping`);
    return v as Obj;
  }
  const out: Obj = {};
  const re = /([A-Za-z_][\w]*)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))\s*/y;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) throw new Error(`-e ${JSON.stringify(arg)}: expected key=value (or @file.yaml, or a JSON mapping)`);
    out[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] ?? m[5] ?? '';
    pos = re.lastIndex;
  }
  return out;
}
