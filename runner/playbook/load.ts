// Loads and validates a playbook: every problem is collected with its file:line before any host
// is contacted (unknown keywords, unknown modules, bad parameters, bad expressions, dangling notify).
import { basename, dirname, resolve } from 'node:path';
import { ValidationError, type Loc, type Problem } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { parseExprAt, RESERVED_NAMES } from '../expr/index.js';
import type { ModuleRegistry } from '../module.js';
import { checkTemplateSyntax, isTemplated, yieldsValue } from '../template.js';
import { varsFileSearchPath } from '../lookups.js';
import { MAGIC_VARS } from '../vars.js';
import { locOf, parseYaml, readInputFile, setLoc } from '../yaml-source.js';
import type { SourceCache } from '../source-cache.js';
import type { VaultKeys } from '../vault/keys.js';
import { parseArgString } from './free-form.js';
import { checkParams, schemaKeys } from './params.js';
import { findRole, isFile, roleFile, roleSearchPath, rolesPathFromEnv } from './roles.js';
import { sequenceItems } from './sequence.js';
import type { BlockNode, CommonKeywords, Condition, IncludeNode, MetaNode, ModuleDefaults, Node, Play, Playbook, RoleFrom, RoleNode, ResourceLimit, RoleRef, TaskNode, VarPrompt } from './model.js';

const COMMON_KEYS = [
  'name', 'when', 'become', 'become_user', 'tags', 'vars', 'ignore_errors', 'delegate_to', 'run_once',
  'chroot', 'check_mode', 'no_log', 'any_errors_fatal', 'environment', 'throttle', 'limits',
] as const;
const TASK_KEYS = [
  ...COMMON_KEYS, 'register', 'notify', 'listen', 'loop', 'with_items', 'with_list', 'with_sequence', 'loop_control', 'failed_when',
  'changed_when', 'until', 'retries', 'delay', 'timeout', 'args', 'module_defaults', 'local_action', 'action',
];
const BLOCK_KEYS = [...COMMON_KEYS, 'block', 'rescue', 'always', 'module_defaults'];
const INCLUDE_KEYS = [...COMMON_KEYS, 'include_tasks', 'import_tasks', 'loop', 'with_items', 'loop_control'];
const PLAY_KEYS = [
  'name', 'hosts', 'vars', 'vars_files', 'become', 'become_user', 'gather_facts', 'strategy', 'serial',
  'any_errors_fatal', 'max_fail_percentage', 'force_handlers', 'tags', 'tasks', 'pre_tasks', 'post_tasks',
  'handlers', 'environment', 'check_mode', 'remote_user', 'throttle', 'roles', 'vars_prompt', 'module_defaults',
];
/** The keys of a `vars_prompt` entry ferry takes (Ansible's `encrypt`, `salt` and `salt_size` are refused by name). */
const VAR_PROMPT_KEYS = ['name', 'prompt', 'private', 'default', 'confirm', 'unsafe'];
/** import_role / include_role options (Ansible's; `public` and `rolespec_validate` are accepted, roles' vars are visible to their tasks either way). */
const ROLE_OPTIONS = ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'allow_duplicates', 'public', 'rolespec_validate'];
const ROLE_TASKS = new Set(['import_role', 'include_role']);
const IMPORT_PLAYBOOK_KEYS = ['import_playbook', 'name', 'vars', 'when', 'tags'];
// Keywords that belong to a play, written on a task by mistake (and vice versa): a better hint.
const PLAY_ONLY = new Set(['hosts', 'gather_facts', 'strategy', 'serial', 'handlers', 'pre_tasks', 'post_tasks', 'vars_files', 'max_fail_percentage', 'roles']);

type Obj = Record<string, unknown>;

/** A number of hosts as `throttle` and `limits` take it: a whole number from 1, or its digits as text. */
export function hostCount(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Ansible's names for ferry modules that are called otherwise. */
const ANSIBLE_NAMES: Record<string, string> = { set_fact: 'set', systemd_service: 'systemd' };

/** A copy of `from`'s keys onto `to`, each keeping the file:line it was written at. */
function assignWithLocs(to: Obj, from: Obj): Obj {
  for (const [k, v] of Object.entries(from)) {
    to[k] = v;
    setLoc(to, locOf(from, k), k);
  }
  return to;
}

/** An object that knows the file:line it stands for. */
function located(o: Obj, loc: Loc | undefined): Obj {
  setLoc(o, loc);
  return o;
}

/** Options of playbook loading. */
export interface LoadOptions {
  /** Folders searched for roles after roles/ beside the playbook and the playbook's folder (default: ANSIBLE_ROLES_PATH). */
  rolesPath?: string[];
  /** Opens vault-encrypted files and `!vault` values (the passwords of --vault-id and friends). */
  vault?: VaultKeys;
  /** Whether a play without `gather_facts:` gathers (default true, Ansible's `gathering = implicit`; false for `explicit`). */
  gatherByDefault?: boolean;
  /** Files read and parsed by an earlier reading of the same playbook (withModulesLoaded's), reused rather than read again. */
  sources?: SourceCache;
}

function stripCollection(name: string): string {
  const short = name.replace(/^(ansible\.builtin|ansible\.legacy|ferry)\./, '');
  return ANSIBLE_NAMES[short] ?? short;
}

/**
 * The action groups ansible-core 2.14 defines itself (ansible_builtin_runtime.yml) and the collections
 * whose modules they gather; none of them holds a module ferry has.
 */
const BUILTIN_ACTION_GROUPS: Record<string, string> = {
  acme: 'community.crypto', aws: 'amazon.aws, community.aws', azure: 'azure.azcollection', cpm: 'wti.remote',
  docker: 'community.docker, community.general', gcp: 'google.cloud', os: 'openstack.cloud', ovirt: 'ovirt.ovirt, community.general',
  vmware: 'community.vmware', k8s: 'kubernetes.core, community.kubernetes, community.general, community.kubevirt, community.okd',
};

/** Why an action group gives ferry's modules nothing: what the group is in Ansible. */
function actionGroupNote(key: string): string {
  const name = key.slice('group/'.length);
  const builtin = /^ansible\.(builtin|legacy)\./.test(name) ? name.replace(/^ansible\.(builtin|legacy)\./, '') : name.includes('.') ? undefined : name;
  if (builtin === undefined) return `it is a group of the collection ${name.split('.').slice(0, 2).join('.')}, whose modules ferry does not have`;
  const from = BUILTIN_ACTION_GROUPS[builtin];
  if (from) return `ansible-core's group '${builtin}' gathers modules of ${from}, none of which ferry has`;
  return `ansible-core defines no group '${builtin}' (ansible-playbook fails with "could not resolve the module_defaults group")`;
}

/** Loads playbooks and task files, collecting problems. */
class Loader {
  readonly problems: Problem[] = [];
  private loading = new Set<string>();
  private readonly rolesPath: string[];
  /** Opens vault-encrypted files (vars_files, task files) and `!vault` values. */
  private readonly vault?: VaultKeys;
  /** What an earlier reading of the same playbook read and parsed (withModulesLoaded): taken from there, not read again. */
  private readonly sources?: SourceCache;
  /** gather_facts of a play that does not say (ansible.cfg gathering). */
  private readonly gatherByDefault: boolean;
  /** The folder of the playbook being loaded (roles/, vars/ and templates/ are looked up beside it). */
  playbookDir = process.cwd();
  /** The role whose files are being read (its tasks carry it). */
  private currentRole?: RoleRef;
  /** The roles being read, outermost first (a role that depends on itself is an error). */
  private roleStack: string[] = [];
  /** Per play: the role runs already in it (a role with the same parameters runs once, as in Ansible). */
  private rolesRun = new Map<string, RoleRef>();
  private allowDuplicates = new Map<string, boolean>();
  /** Loads what follows as part of a role (a file an include_tasks inside a role names at run time). */
  inRole(role: RoleRef | undefined): void {
    this.currentRole = role;
  }

  /** The module_defaults of the play and of the blocks being read, outermost first (inner ones win). */
  private defaultsStack: ModuleDefaults[] = [];
  /** Loads what follows under module_defaults already in effect (a file an include names at run time). */
  withDefaults(defaults: ModuleDefaults | undefined): void {
    this.defaultsStack = defaults ? [defaults] : [];
  }

  /**
   * The module_defaults in effect where the loader is. As in Ansible (a dict update of the levels, outer
   * first), an inner level's defaults of a module replace the outer ones of that module as a whole.
   */
  private defaultsInEffect(): ModuleDefaults {
    const out: ModuleDefaults = {};
    for (const layer of this.defaultsStack) Object.assign(out, layer);
    return out;
  }

  /**
   * A `module_defaults:` mapping (or list of mappings) of module names to default parameters, checked
   * now: a module ferry lacks, a parameter it does not take, or an action group is a load-time problem.
   */
  private moduleDefaults(o: Obj): ModuleDefaults | undefined {
    const v = o.module_defaults;
    if (v === undefined || v === null) return undefined;
    const at = locOf(o, 'module_defaults') ?? locOf(o)!;
    const hint = 'write e.g. module_defaults: { ansible.builtin.file: { owner: root, mode: "0644" } }';
    const entries: [Obj, string][] = [];
    if (isObj(v)) entries.push(...Object.keys(v).map((k): [Obj, string] => [v, k]));
    else if (Array.isArray(v) && v.every(isObj)) for (const m of v) entries.push(...Object.keys(m).map((k): [Obj, string] => [m, k]));
    else {
      this.problem(at, `'module_defaults' must be a mapping of module names to their default parameters`, hint);
      return undefined;
    }
    const out: ModuleDefaults = {};
    for (const [m, key] of entries) {
      const loc = locOf(m, key) ?? at;
      if (key.startsWith('group/')) {
        this.problem(loc, `module_defaults: action groups (${key}) are not supported by ferry: ${actionGroupNote(key)}`, `name each module instead, e.g. ansible.builtin.file: { owner: root }`);
        continue;
      }
      const name = stripCollection(key);
      const mod = this.modules.get(name);
      if (!mod) {
        this.problem(loc, `module_defaults: unknown module '${key}'`, this.unknownModuleHint(name));
        continue;
      }
      const args = m[key] ?? {};
      if (!isObj(args)) {
        this.problem(loc, `module_defaults: the defaults of '${key}' must be a mapping of its parameters`, hint);
        continue;
      }
      const known = schemaKeys(mod.params);
      for (const k of Object.keys(args)) {
        if (known.length && !known.includes(k)) this.problem(locOf(args, k) ?? loc, `module_defaults: module '${name}' has no parameter '${k}'`, didYouMean(k, known, `its parameters: ${known.join(', ')}`));
      }
      this.checkTemplates(args, loc);
      // `file`, `ansible.builtin.file` and `ansible.legacy.file` name one module: the last one written wins, as in Ansible
      out[name] = assignWithLocs(located({}, loc), args);
    }
    return out;
  }

  /** What to say of a module name ferry does not have: a near name (among `also` too), and where the list is. */
  private unknownModuleHint(name: string, also: readonly string[] = []): string {
    return `${didYouMean(name, [...this.modules.names(), ...also])} 'ferry doc' lists the modules`.trim();
  }

  /** Runs `read` with a level of module_defaults in effect (a play's, a block's, a task's). */
  private underDefaults<T>(defaults: ModuleDefaults | undefined, read: () => T): T {
    if (!defaults) return read();
    this.defaultsStack.push(defaults);
    try {
      return read();
    } finally {
      this.defaultsStack.pop();
    }
  }

  /** Per play: the handlers of its roles, and which handler files they came from. */
  roleHandlers: TaskNode[] = [];
  private handlerFiles = new Set<string>();

  constructor(
    private readonly modules: ModuleRegistry,
    private readonly displayRoot: string,
    options: LoadOptions = {},
  ) {
    this.rolesPath = options.rolesPath ?? rolesPathFromEnv();
    this.vault = options.vault;
    this.sources = options.sources;
    this.gatherByDefault = options.gatherByDefault ?? true;
  }

  private display(path: string): string {
    const rel = path.startsWith(this.displayRoot + '/') ? path.slice(this.displayRoot.length + 1) : path;
    return rel;
  }

  private problem(loc: Loc | undefined, message: string, hint?: string): void {
    this.problems.push({ loc, message, hint });
  }

  /**
   * Reads and parses a YAML file, adding its problems; `from` is the line that names it (a
   * vars_files or import_tasks entry), where a file that cannot be read is reported.
   */
  loadFile(path: string, from?: { loc: Loc | undefined; what: string }): unknown {
    let text: string;
    try {
      const read = (): string => readInputFile(path, this.display(path), from?.what);
      text = this.sources ? this.sources.text(path, read) : read();
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      if (!from?.loc) this.problems.push(...e.problems);
      else this.problems.push(...e.problems.map((p) => ({ ...p, loc: from.loc, message: `${p.message} (${this.display(path)})` })));
      return undefined;
    }
    try {
      return parseYaml(text, this.display(path), { vault: this.vault, sources: this.sources });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      this.problems.push(...e.problems);
      return undefined;
    }
  }

  private bool(o: Obj, key: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'yes' || v === 'true' || v === 'True') return true;
    if (v === 'no' || v === 'false' || v === 'False') return false;
    if (typeof v === 'string' && isTemplated(v)) {
      this.problem(locOf(o, key), `'${key}' must be a literal true or false here, not a template`);
      return undefined;
    }
    this.problem(locOf(o, key), `'${key}' must be true or false, got ${JSON.stringify(v)}`);
    return undefined;
  }

  private str(o: Obj, key: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.problem(locOf(o, key), `'${key}' must be a string, got ${Array.isArray(v) ? 'a list' : typeof v}`);
    return undefined;
  }

  private num(o: Obj, key: string): number | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
    this.problem(locOf(o, key), `'${key}' must be a non-negative number, got ${JSON.stringify(v)}`);
    return undefined;
  }

  private strList(o: Obj, key: string): string[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return key === 'tags' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
    this.problem(locOf(o, key), `'${key}' must be a string or a list of strings`);
    return [];
  }

  private vars(o: Obj, key: string): Obj {
    const v = o[key];
    if (v === undefined || v === null) return {};
    if (isObj(v)) {
      this.checkTemplates(v, locOf(o, key) ?? locOf(o)!);
      return v;
    }
    // Ansible also takes a list of mappings, later ones winning.
    if (Array.isArray(v) && v.length > 0 && v.every(isObj)) {
      const out: Obj = {};
      setLoc(out, locOf(o, key) ?? locOf(o)!);
      v.forEach((item, i) => {
        this.checkTemplates(item, locOf(v, i) ?? locOf(o, key) ?? locOf(o)!);
        for (const [k, x] of Object.entries(item)) {
          out[k] = x;
          setLoc(out, locOf(item, k) ?? locOf(v, i), k);
        }
      });
      return out;
    }
    this.problem(locOf(o, key), `'${key}' must be a mapping of variable names to values (or a list of such mappings)`);
    return {};
  }

  /** `environment:` — a mapping of variable names to (templated) values. */
  private environment(o: Obj): Obj | string | undefined {
    const v = o.environment;
    if (v === undefined || v === null) return undefined;
    // `environment: "{{ proxy_env }}"`: a mapping known once rendered.
    if (typeof v === 'string' && isTemplated(v)) {
      this.checkTemplates(v, locOf(o, 'environment') ?? locOf(o)!);
      return v;
    }
    if (!isObj(v)) {
      this.problem(locOf(o, 'environment'), `'environment' must be a mapping of environment variable names to values`, 'e.g. environment: { LANG: C, http_proxy: "{{ proxy }}" }');
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) this.problem(locOf(v, k) ?? locOf(o, 'environment'), `environment variable name ${JSON.stringify(k)} is not valid`, 'use letters, digits and _, not starting with a digit');
    }
    this.checkTemplates(v, locOf(o, 'environment') ?? locOf(o)!);
    return v;
  }

  private conditions(o: Obj, key: string): Condition[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    const out: Condition[] = [];
    list.forEach((item, i) => {
      const loc = (Array.isArray(v) ? locOf(v, i) : undefined) ?? locOf(o, key) ?? locOf(o)!;
      const source = typeof item === 'boolean' || typeof item === 'number' ? String(item) : item;
      if (typeof source !== 'string') {
        this.problem(loc, `'${key}' must be an expression string (or a list of them)`);
        return;
      }
      try {
        out.push({ source, expr: parseExprAt(source, loc), loc });
      } catch (e) {
        if (e instanceof ValidationError) this.problems.push(...e.problems);
        else throw e;
      }
    });
    return out;
  }

  private unknownKeys(o: Obj, allowed: readonly string[], what: string, extraOk: (k: string) => boolean = () => false): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k) || extraOk(k)) continue;
      const hint = PLAY_ONLY.has(k) && what !== 'play'
        ? `'${k}' is a play keyword: move it to the play`
        : didYouMean(k, allowed, `allowed here: ${allowed.join(', ')}`);
      this.problem(locOf(o, k), `unknown keyword '${k}' in ${what}`, hint);
    }
  }

  private common(o: Obj, inheritedTags: string[]): CommonKeywords {
    return {
      name: this.str(o, 'name'),
      loc: locOf(o)!,
      when: this.conditions(o, 'when'),
      become: this.bool(o, 'become'),
      becomeUser: this.str(o, 'become_user'),
      tags: [...inheritedTags, ...this.strList(o, 'tags')],
      vars: this.vars(o, 'vars'),
      environment: this.environment(o),
      ignoreErrors: this.bool(o, 'ignore_errors'),
      delegateTo: this.str(o, 'delegate_to'),
      runOnce: this.bool(o, 'run_once'),
      chroot: this.str(o, 'chroot'),
      checkMode: this.bool(o, 'check_mode'),
      noLog: this.bool(o, 'no_log'),
      anyErrorsFatal: this.bool(o, 'any_errors_fatal'),
      throttle: this.throttle(o),
      ...this.limits(o),
    };
  }

  /** `limits: {KEY: N}`: at most N hosts at once run tasks that name KEY; KEY and N may be templates. */
  private limits(o: Obj): { limits?: ResourceLimit[] } {
    const v = o.limits;
    if (v === undefined) return {};
    const hint = 'write a mapping of resource keys to a whole number of hosts, e.g. limits: {"{{ ferry_hypervisor }}/{{ vg }}": 1}';
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      this.problem(locOf(o, 'limits'), `'limits' must be a mapping, got ${JSON.stringify(v)}`, hint);
      return {};
    }
    const out: ResourceLimit[] = [];
    for (const [key, max] of Object.entries(v as Obj)) {
      const loc = locOf(v as Obj, key) ?? locOf(o, 'limits');
      const ok = hostCount(max) !== undefined || (typeof max === 'string' && isTemplated(max));
      if (!key.trim() || !ok) {
        this.problem(loc, `limits: '${key}' must map a resource key to a whole number of hosts from 1, got ${JSON.stringify(max)}`, hint);
        continue;
      }
      out.push({ key, max: max as number | string, ...(loc ? { loc } : {}) });
    }
    return { limits: out };
  }

  /** `throttle`: at most that many hosts run a task at once; a whole number from 1. */
  private throttle(o: Obj): number | undefined {
    const v = o.throttle;
    if (v === undefined) return undefined;
    const n = hostCount(v);
    if (n !== undefined) return n;
    this.problem(locOf(o, 'throttle'), `'throttle' must be a whole number of hosts from 1 (at most that many hosts run the task at once), got ${JSON.stringify(v)}`);
    return undefined;
  }

  taskList(v: unknown, container: Obj | undefined, key: string, baseDir: string, idPrefix: string): Node[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.problem(container ? locOf(container, key) : undefined, `'${key}' must be a list of tasks`);
      return [];
    }
    const out: Node[] = [];
    v.forEach((item, i) => {
      const node = this.node(item, locOf(v, i), baseDir, `${idPrefix}.${i}`);
      if (node) out.push(node);
    });
    return out;
  }

  private node(item: unknown, loc: Loc | undefined, baseDir: string, id: string): Node | undefined {
    if (!isObj(item)) {
      this.problem(loc, 'a task must be a mapping (name, one module and its keywords)');
      return undefined;
    }
    if ('block' in item) return this.block(item, baseDir, id);
    if ('include_tasks' in item || 'import_tasks' in item) return this.include(item, baseDir, id);
    const roleKey = Object.keys(item).find((k) => ROLE_TASKS.has(stripCollection(k)));
    if (roleKey) return this.roleTask(item, roleKey, id);
    if ('meta' in item) return this.meta(item, id);
    return this.task(item, id);
  }

  private block(o: Obj, baseDir: string, id: string): BlockNode {
    this.unknownKeys(o, BLOCK_KEYS, 'a block');
    const c = this.common(o, []);
    return this.underDefaults(this.moduleDefaults(o), () => ({
      ...c,
      kind: 'block',
      id,
      block: this.taskList(o.block, o, 'block', baseDir, `${id}.b`),
      rescue: this.taskList(o.rescue, o, 'rescue', baseDir, `${id}.r`),
      always: this.taskList(o.always, o, 'always', baseDir, `${id}.a`),
    }));
  }

  private meta(o: Obj, id: string): MetaNode | undefined {
    this.unknownKeys(o, [...COMMON_KEYS, 'meta'], 'a meta task');
    const action = o.meta;
    const actions = ['flush_handlers', 'end_play', 'end_batch', 'end_host', 'noop', 'clear_facts'] as const;
    if (typeof action !== 'string' || !(actions as readonly string[]).includes(action)) {
      this.problem(locOf(o, 'meta'), `unknown meta action ${JSON.stringify(action)}`, `use one of: ${actions.join(', ')}`);
      return undefined;
    }
    return { ...this.common(o, []), kind: 'meta', id, action: action as MetaNode['action'] };
  }

  private include(o: Obj, baseDir: string, id: string): IncludeNode | undefined {
    this.unknownKeys(o, INCLUDE_KEYS, 'an include');
    const isImport = 'import_tasks' in o;
    const key = isImport ? 'import_tasks' : 'include_tasks';
    const spec = o[key];
    const file = typeof spec === 'string' ? spec : isObj(spec) && typeof spec.file === 'string' ? spec.file : undefined;
    if (!file) {
      this.problem(locOf(o, key), `'${key}' needs a file name (a string, or a mapping with 'file')`);
      return undefined;
    }
    const c = this.common(o, []);
    const node: IncludeNode = {
      ...c,
      kind: 'include',
      id,
      file,
      static: isImport,
      loop: this.loop(o, ['loop', 'with_items']),
      loopControl: this.loopControl(o),
      baseDir,
      ...(this.currentRole ? { role: this.currentRole } : {}),
      ...this.defaultsOfDynamic(),
    };
    if (isImport || !isTemplated(file)) {
      // Load the file now either way: a broken task file is an error before any host is contacted.
      const path = resolve(baseDir, file);
      if (this.loading.has(path)) {
        this.problem(locOf(o, key), `task file ${file} includes itself`);
        return node;
      }
      this.loading.add(path);
      const data = this.loadFile(path, { loc: locOf(o, key), what: 'task file' });
      node.tasks = data === undefined ? [] : this.taskList(data ?? [], undefined, file, dirname(path), `${id}.i`);
      this.loading.delete(path);
    }
    return node;
  }

  /**
   * A task's or include's loop: a list, or a template that yields one. What is sure to be something
   * else (a mapping, a number, a plain string, a template that always renders to a string) is refused now.
   */
  private loop(o: Obj, keys: string[]): unknown {
    const key = keys.find((k) => o[k] !== undefined);
    if (key === undefined) return undefined;
    const v = o[key];
    const hint = 'write a YAML list (one "- item" per line), or "{{ name }}" naming a variable that holds a list';
    if (Array.isArray(v)) return v;
    if (typeof v === 'string' && isTemplated(v)) {
      if (!yieldsValue(v)) this.problem(locOf(o, key), `'${key}' is a template that always renders to a string, not a list: ${JSON.stringify(v)}`, hint);
      return v;
    }
    const what = typeof v === 'string' ? `the string ${JSON.stringify(v)}` : v === null ? 'nothing' : isObj(v) ? 'a mapping' : `the ${typeof v} ${String(v)}`;
    this.problem(locOf(o, key), `'${key}' must be a list or a "{{ variable }}" holding one, got ${what}`, hint);
    return v;
  }

  /** `with_sequence: start=0 end=6 format=%02x` (or `0-6:%02x`): its items, expanded now. */
  private sequence(o: Obj): string[] | undefined {
    const v = o.with_sequence;
    const at = locOf(o, 'with_sequence');
    const hint = 'write e.g. "with_sequence: start=1 end=5 format=disk%02d", or loop: "{{ range(1, 6) | list }}"';
    if (typeof v === 'string' && isTemplated(v)) {
      this.problem(at, `with_sequence: ferry expands the sequence when the playbook is loaded, so it cannot hold a template: ${JSON.stringify(v)}`, 'write loop: "{{ range(START, END + 1) | list }}" for numbers known at run time');
      return undefined;
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.problem(at, `with_sequence takes a string like "start=1 end=5", got ${v === null ? 'nothing' : isObj(v) ? 'a mapping' : typeof v}`, hint);
      return undefined;
    }
    const got = sequenceItems(String(v));
    if ('error' in got) {
      this.problem(at, `with_sequence: ${got.error}`, hint);
      return undefined;
    }
    return got.items;
  }

  /** A `register:` name: one that a condition or template can refer to, and that ferry does not set itself. */
  private register(o: Obj): string | undefined {
    const name = this.str(o, 'register');
    if (name === undefined) return undefined;
    if (!VARIABLE_NAME.test(name)) {
      this.problem(locOf(o, 'register'), `register: '${name}' is not a variable name`, 'use letters, digits and _, not starting with a digit (e.g. result_1)');
    } else if (MAGIC_VARS.has(name) || RESERVED_NAMES.has(name)) {
      const why = MAGIC_VARS.has(name) ? 'ferry sets it for every task, so the registered value would never be seen' : 'it is a word of the condition language';
      this.problem(locOf(o, 'register'), `register: '${name}' cannot be used: ${why}`, 'choose another name, e.g. ' + `${name}_result`);
    }
    return name;
  }

  /** vars_files, read now: a missing, broken or non-mapping file is a problem before any host is contacted. */
  private varsFromFiles(o: Obj, names: string[], baseDir: string): Obj {
    const out: Obj = {};
    const list = o.vars_files;
    names.forEach((f, i) => {
      const loc = (Array.isArray(list) ? locOf(list, i) : undefined) ?? locOf(o, 'vars_files');
      if (isTemplated(f)) {
        this.problem(loc, `vars_files: '${f}' is a template; ferry reads vars files when it loads the playbook`, 'name the file, or give it at run time with -e @FILE');
        return;
      }
      const path = resolve(baseDir, f);
      const data = this.loadFile(path, { loc, what: 'vars file' });
      if (data === undefined || data === null) return;
      if (!isObj(data)) {
        this.problem(
          loc,
          `vars_files: ${this.display(path)} must hold a mapping of variable names to values, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`,
          'write one `name: value` per line at the top level of the file',
        );
        return;
      }
      for (const [k, v] of Object.entries(data)) {
        out[k] = v;
        setLoc(out, locOf(data, k), k);
      }
    });
    return out;
  }

  private loopControl(o: Obj): TaskNode['loopControl'] {
    const lc = o.loop_control;
    if (lc === undefined) return { loopVar: 'item' };
    if (!isObj(lc)) {
      this.problem(locOf(o, 'loop_control'), `'loop_control' must be a mapping (label, loop_var, pause)`);
      return { loopVar: 'item' };
    }
    this.unknownKeys(lc, ['label', 'loop_var', 'pause', 'index_var'], 'loop_control');
    return { label: this.str(lc, 'label'), loopVar: this.str(lc, 'loop_var') ?? 'item', pause: this.num(lc, 'pause') };
  }

  /**
   * `action: copy src=a dest=b` or `action: { module: copy, src: a, dest: b }` (Ansible's older form of
   * a task), and `local_action:` the same run on localhost (as with `delegate_to: localhost`): the
   * module and its parameters as written.
   */
  private actionKey(o: Obj, key: 'action' | 'local_action'): { moduleName: string; raw: unknown; rawLoc: Loc } | undefined {
    const v = o[key];
    const at = locOf(o, key) ?? locOf(o)!;
    const hint = `write e.g. "${key}: command echo hi" or "${key}: { module: copy, src: a, dest: /tmp/a }"`;
    let name: string | undefined;
    let raw: unknown;
    if (typeof v === 'string') {
      const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(v);
      name = m?.[1];
      raw = m?.[2] ? m[2] : null;
    } else if (isObj(v)) {
      if (typeof v.module !== 'string') {
        this.problem(at, `'${key}' needs 'module:' naming the module to run`, hint);
        return undefined;
      }
      name = v.module;
      const args = located({}, at);
      for (const [k, x] of Object.entries(v)) {
        if (k === 'module') continue;
        args[k] = x;
        setLoc(args, locOf(v, k), k);
      }
      raw = args;
    }
    if (!name) {
      this.problem(at, `'${key}' must name a module and its parameters`, hint);
      return undefined;
    }
    const moduleName = stripCollection(name);
    if (!this.modules.has(moduleName)) {
      this.problem(at, `${key}: unknown module '${name}'`, this.unknownModuleHint(moduleName));
      return undefined;
    }
    if (key === 'local_action' && o.delegate_to !== undefined) this.problem(locOf(o, 'delegate_to'), `'delegate_to' cannot be used with 'local_action' (it runs on localhost)`, 'use the module as the task\'s key with delegate_to, or local_action alone');
    return { moduleName, raw, rawLoc: at };
  }

  /** The module a task calls and its parameters as written: its one module key, action or local_action. */
  private taskModule(o: Obj): { moduleName: string; raw: unknown; rawLoc: Loc } | undefined {
    const moduleKeys = Object.keys(o).filter((k) => !TASK_KEYS.includes(k));
    const known = moduleKeys.filter((k) => this.modules.has(stripCollection(k)));
    const loc = locOf(o)!;
    const actionKeys = (['action', 'local_action'] as const).filter((k) => o[k] !== undefined);
    if (actionKeys.length > 1) {
      this.problem(locOf(o, 'local_action') ?? loc, `a task can call only one module, this one has both action and local_action`, 'keep one of them');
      return undefined;
    }
    const actionKey = actionKeys[0];
    if (actionKey) {
      const named = this.actionKey(o, actionKey);
      for (const k of moduleKeys) {
        if (known.includes(k)) this.problem(locOf(o, k), `a task can call only one module, this one names ${stripCollection(k)} and ${actionKey}`, 'split it into two tasks');
        else this.problem(locOf(o, k), `unknown keyword '${k}' in a task`, didYouMean(k, TASK_KEYS, 'see the task keywords in README "Playbooks"'));
      }
      return moduleKeys.length ? undefined : named;
    }
    if (known.length === 0) {
      if (moduleKeys.length === 0) {
        this.problem(loc, 'this task names no module', `add one module key, e.g. 'command: uptime'; see 'ferry doc' for the list`);
      } else {
        for (const k of moduleKeys) {
          const hint = PLAY_ONLY.has(k)
            ? `'${k}' is a play keyword: move it to the play`
            : this.unknownModuleHint(stripCollection(k), TASK_KEYS);
          this.problem(locOf(o, k), `unknown module or keyword '${k}'`, hint);
        }
      }
      return undefined;
    }
    if (known.length > 1) {
      this.problem(loc, `a task can call only one module, this one names ${known.join(' and ')}`, 'split it into two tasks');
      return undefined;
    }
    for (const k of moduleKeys) {
      if (k === known[0]) continue;
      const hint = PLAY_ONLY.has(k) ? `'${k}' is a play keyword: move it to the play` : didYouMean(k, TASK_KEYS, 'see the task keywords in README "Playbooks"');
      this.problem(locOf(o, k), `unknown keyword '${k}' in a task`, hint);
    }
    const moduleKey = known[0]!;
    return { moduleName: stripCollection(moduleKey), raw: o[moduleKey], rawLoc: locOf(o, moduleKey) ?? loc };
  }

  private task(o: Obj, id: string): TaskNode | undefined {
    const called = this.taskModule(o);
    if (!called) return undefined;
    const { moduleName, raw, rawLoc } = called;
    const mod = this.modules.get(moduleName)!;
    let args: Obj;
    if (raw === null || raw === undefined) args = {};
    else if (typeof raw === 'string' || typeof raw === 'number') {
      const parsed = parseArgString(mod, String(raw));
      if ('error' in parsed) {
        this.problem(rawLoc, parsed.error, parsed.hint);
        return undefined;
      }
      args = parsed.args;
      setLoc(args, rawLoc);
      for (const k of Object.keys(args)) setLoc(args, rawLoc, k);
    } else if (isObj(raw)) args = raw;
    else {
      this.problem(rawLoc, `the parameters of '${moduleName}' must be a mapping`);
      return undefined;
    }
    if (isObj(o.args)) args = { ...o.args, ...args };
    // module_defaults of the play, blocks and task (inner winning) under what the task writes itself
    const defaults = this.underDefaults(this.moduleDefaults(o), () => this.defaultsInEffect())[moduleName];
    if (defaults) args = assignWithLocs(assignWithLocs(located({}, locOf(args) ?? rawLoc), defaults), args);
    const argsLoc = rawLoc;
    this.problems.push(...checkParams(mod, args, argsLoc));
    this.checkTemplates(args, argsLoc);
    const c = this.common(o, []);
    if (o.local_action !== undefined) c.delegateTo = 'localhost';
    return {
      ...c,
      kind: 'task',
      id,
      module: moduleName,
      args,
      register: this.register(o),
      notify: this.strList(o, 'notify'),
      listen: this.strList(o, 'listen'),
      loop: o.with_sequence !== undefined ? this.sequence(o) : this.loop(o, ['loop', 'with_items', 'with_list']),
      loopControl: this.loopControl(o),
      failedWhen: this.conditions(o, 'failed_when'),
      changedWhen: this.conditions(o, 'changed_when'),
      until: this.conditions(o, 'until')[0],
      retries: this.num(o, 'retries'),
      delay: this.num(o, 'delay'),
      timeout: this.num(o, 'timeout'),
      ...(this.currentRole ? { role: this.currentRole } : {}),
      ...(moduleName === 'include_vars' ? this.includeVarsNames(args, argsLoc) : {}),
    };
  }

  /**
   * include_vars with a file named literally: read now, so a missing or broken file is an error
   * before any host is contacted, and preflight knows the names it sets.
   */
  private includeVarsNames(args: Obj, loc: Loc): { provides?: string[] } {
    const file = typeof args.file === 'string' ? args.file : typeof args.free_form === 'string' ? args.free_form : undefined;
    const name = typeof args.name === 'string' && !isTemplated(args.name) ? args.name : undefined;
    if (file === undefined || isTemplated(file)) return name ? { provides: [name] } : {};
    const tried = varsFileSearchPath(file, this.playbookDir, this.currentRole?.path);
    const path = tried.find((p) => isFile(p));
    if (!path) {
      this.problem(loc, `include_vars: ${file} not found`, `looked for ${tried.map((t) => this.display(t)).join(', ')}`);
      return {};
    }
    const data = this.loadFile(path, { loc, what: 'vars file' });
    if (data === undefined || data === null) return { provides: name ? [name] : [] };
    if (!isObj(data)) {
      this.problem(loc, `include_vars: ${this.display(path)} must hold a mapping of variable names to values, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`, 'write one `name: value` per line at the top level of the file');
      return {};
    }
    this.checkTemplates(data, locOf(data) ?? loc);
    return { provides: name ? [name] : Object.keys(data) };
  }

  /** What an include or role read at run time keeps of the module_defaults in effect (nothing when none are). */
  private defaultsOfDynamic(): { moduleDefaults?: ModuleDefaults } {
    const d = this.defaultsInEffect();
    return Object.keys(d).length ? { moduleDefaults: d } : {};
  }

  /** A role's defaults/ or vars/ file as a mapping (empty when there is none and none was asked for). */
  private roleMapping(roleDir: string, sub: string, base: string, asked: boolean, loc: Loc | undefined): Obj {
    const f = roleFile(roleDir, sub, base);
    if (!('path' in f)) {
      if (asked) this.problem(loc, `${sub}_from: ${base}: the role has no such file`, `looked for ${f.tried.map((t) => this.display(t)).join(', ')}`);
      return {};
    }
    const data = this.loadFile(f.path, { loc, what: `role ${sub} file` });
    if (data === undefined || data === null) return {};
    if (!isObj(data)) {
      this.problem(locOf(data) ?? { file: this.display(f.path), line: 1 }, `${this.display(f.path)} must hold a mapping of variable names to values`, 'write one `name: value` per line at the top level of the file');
      return {};
    }
    if (sub !== 'meta') this.checkTemplates(data, locOf(data) ?? { file: this.display(f.path), line: 1 });
    return data;
  }

  /** `- import_role:` / `- include_role:` in a task list. */
  private roleTask(o: Obj, key: string, id: string): RoleNode | undefined {
    const isImport = stripCollection(key) === 'import_role';
    const loopKeys = ['loop', 'with_items', 'with_list', 'loop_control'];
    if (isImport) {
      // import_role is static: Ansible refuses a loop on it too.
      for (const k of loopKeys) if (o[k] !== undefined) this.problem(locOf(o, k), `'${k}' cannot be used on import_role (it is read once, at load time)`, 'use include_role to run a role once per item');
    }
    this.unknownKeys(o, [...COMMON_KEYS, key], `an ${stripCollection(key)}`, (k) => loopKeys.includes(k));
    const spec = o[key];
    if (!isObj(spec)) {
      this.problem(locOf(o, key) ?? locOf(o), `'${key}' needs a mapping with the role's name`, `write e.g. ${key}: { name: webserver }`);
      return undefined;
    }
    this.unknownKeys(spec, ROLE_OPTIONS, key);
    const name = this.str(spec, 'name');
    if (!name) {
      this.problem(locOf(spec) ?? locOf(o), `'${key}' needs the role's name`, `write e.g. ${key}: { name: webserver }`);
      return undefined;
    }
    if (isImport && isTemplated(name)) {
      this.problem(locOf(spec, 'name'), `import_role: the name ${JSON.stringify(name)} is a template; import_role reads the role when the playbook is loaded`, 'use include_role for a role named at run time');
      return undefined;
    }
    const from = this.roleFrom(spec);
    if (!from) return undefined;
    const c = this.common(o, []);
    const node = this.roleRun(name, locOf(spec, 'name') ?? locOf(o), c, { static: isImport, dedupe: false, id, from, asked: spec });
    if (node && !isImport) {
      const loop = this.loop(o, ['loop', 'with_items', 'with_list']);
      if (loop !== undefined) {
        node.loop = loop;
        node.loopControl = this.loopControl(o);
      }
    }
    return node;
  }

  /** tasks_from, vars_from, defaults_from, handlers_from (literal file names). */
  private roleFrom(spec: Obj): RoleFrom | undefined {
    const out: RoleFrom = { tasks: 'main', vars: 'main', defaults: 'main', handlers: 'main' };
    for (const k of ['tasks', 'vars', 'defaults', 'handlers'] as const) {
      const v = this.str(spec, `${k}_from`);
      if (v === undefined) continue;
      if (isTemplated(v)) {
        this.problem(locOf(spec, `${k}_from`), `'${k}_from' must name a file, not a template`, 'write the file name (without .yml)');
        return undefined;
      }
      out[k] = v;
    }
    return out;
  }

  /** An entry of a play's `roles:` or of a role's meta `dependencies:` (a name, or a mapping with role:). */
  private roleEntry(entry: unknown, loc: Loc | undefined, id: string): RoleNode | undefined {
    const spec: Obj | undefined = typeof entry === 'string' ? { role: entry } : isObj(entry) ? entry : undefined;
    const nameKey = spec && (spec.role !== undefined ? 'role' : spec.name !== undefined ? 'name' : undefined);
    if (!spec || !nameKey) {
      this.problem(loc, 'a role entry must be a role name, or a mapping with role: (and vars:, when:, tags:, become:…)', 'write e.g. "- webserver" or "- { role: webserver, vars: { port: 8080 } }"');
      return undefined;
    }
    const name = this.str(spec, nameKey);
    if (!name) return undefined;
    if (isTemplated(name)) {
      this.problem(locOf(spec, nameKey) ?? loc, `the role name ${JSON.stringify(name)} is a template; roles: are read when the playbook is loaded`, 'use an include_role task for a role named at run time');
      return undefined;
    }
    // Keys that are not keywords are role parameters, as Ansible takes them (`- { role: x, port: 80 }`).
    const keywords = new Set<string>([...COMMON_KEYS, 'role']);
    const params: Obj = {};
    setLoc(params, locOf(spec));
    for (const k of Object.keys(spec)) {
      if (keywords.has(k)) continue;
      params[k] = spec[k];
      setLoc(params, locOf(spec, k), k);
    }
    const c = this.common(spec, []);
    this.checkTemplates(params, c.loc);
    c.name = name;
    c.vars = assignWithLocs(assignWithLocs({}, params), c.vars);
    return this.roleRun(name, locOf(spec, nameKey) ?? loc, c, { static: true, dedupe: true, id, from: { tasks: 'main', vars: 'main', defaults: 'main', handlers: 'main' } });
  }

  /** Finds and reads a role for one run of it; undefined (with a problem) when it cannot be. */
  roleRun(
    name: string,
    loc: Loc | undefined,
    c: CommonKeywords,
    o: { static: boolean; dedupe: boolean; id: string; from: RoleFrom; asked?: Obj; searchPath?: string[] },
  ): RoleNode | undefined {
    const searchPath = o.searchPath ?? roleSearchPath(this.playbookDir, this.rolesPath, this.currentRole?.path);
    const node: RoleNode = { ...c, loc: c.loc ?? loc, kind: 'role', id: o.id, role: name, static: o.static, from: o.from, searchPath, ...this.defaultsOfDynamic() };
    if (isTemplated(name)) return node;
    const found = findRole(name, searchPath);
    if (!('path' in found)) {
      this.problem(loc, `role '${name}' not found`, `looked in ${found.tried.map((t) => this.display(t)).join(', ')}; put it in roles/ beside the playbook, or add its folder to ANSIBLE_ROLES_PATH`);
      return undefined;
    }
    const key = JSON.stringify([found.path, o.from, c.vars]);
    const earlier = this.rolesRun.get(key);
    if (o.dedupe && earlier && !this.allowDuplicates.get(found.path)) {
      // Ansible runs a role once per play unless its parameters differ: its variables stay visible.
      return { ...node, ref: earlier, tasks: [] };
    }
    if (this.roleStack.includes(found.path)) {
      this.problem(loc, `role '${name}' depends on itself (${[...this.roleStack, found.path].map((p) => basename(p)).join(' -> ')})`, 'remove the circular dependency from meta/main.yml');
      return undefined;
    }
    this.roleStack.push(found.path);
    const outer = this.currentRole;
    try {
      const read = this.readRole(name, found.path, o.from, loc, o.id, o.asked);
      node.ref = read.ref;
      node.tasks = read.tasks;
      if (o.dedupe) this.rolesRun.set(key, read.ref);
      return node;
    } finally {
      this.roleStack.pop();
      this.currentRole = outer;
    }
  }

  /** Reads a role directory: meta dependencies (their runs come first), defaults, vars, tasks and handlers. */
  private readRole(name: string, path: string, from: RoleFrom, loc: Loc | undefined, id: string, asked?: Obj): { ref: RoleRef; tasks: Node[] } {
    const display = name.includes('/') ? basename(name) : name;
    const meta = this.roleMapping(path, 'meta', 'main', false, loc);
    this.allowDuplicates.set(path, this.bool(meta, 'allow_duplicates') ?? false);
    // Dependencies are looked up beside this role too.
    this.currentRole = { name: display, path, defaults: {}, vars: {} };
    const deps = meta.dependencies;
    const depNodes: RoleNode[] = [];
    if (deps !== undefined && deps !== null && !Array.isArray(deps)) this.problem(locOf(meta, 'dependencies'), `meta dependencies must be a list of roles`);
    if (Array.isArray(deps)) {
      deps.forEach((d, i) => {
        const n = this.roleEntry(d, locOf(deps, i) ?? locOf(meta, 'dependencies'), `${id}.d${i}`);
        if (n) depNodes.push(n);
      });
    }
    // A role sees its dependencies' defaults and vars (as Ansible's public role variables), its own winning.
    const defaults: Obj = {};
    const vars: Obj = {};
    for (const n of depNodes) {
      assignWithLocs(defaults, n.ref?.defaults ?? {});
      assignWithLocs(vars, n.ref?.vars ?? {});
    }
    assignWithLocs(defaults, this.roleMapping(path, 'defaults', from.defaults, asked?.defaults_from !== undefined, loc));
    assignWithLocs(vars, this.roleMapping(path, 'vars', from.vars, asked?.vars_from !== undefined, loc));
    const ref: RoleRef = { name: display, path, defaults, vars };
    this.currentRole = ref;
    let tasks: Node[] = [];
    const tf = roleFile(path, 'tasks', from.tasks);
    if ('path' in tf) {
      const data = this.loadFile(tf.path, { loc, what: 'role task file' });
      tasks = data === undefined ? [] : this.taskList(data ?? [], undefined, tf.path, dirname(tf.path), `${id}.t`);
    } else if (asked?.tasks_from !== undefined) {
      this.problem(loc, `tasks_from: ${from.tasks}: role '${name}' has no such task file`, `looked for ${tf.tried.map((t) => this.display(t)).join(', ')}`);
    }
    // A role without tasks/main.yml is fine (only handlers, defaults or dependencies), as in Ansible.
    const hf = roleFile(path, 'handlers', from.handlers);
    if ('path' in hf && !this.handlerFiles.has(hf.path)) {
      this.handlerFiles.add(hf.path);
      const data = this.loadFile(hf.path, { loc, what: 'role handlers file' });
      const handlers = data === undefined ? [] : this.taskList(data ?? [], undefined, hf.path, dirname(hf.path), `${id}.h`);
      for (const h of handlers) {
        if (h.kind === 'task') this.roleHandlers.push(h);
        else this.problem(h.loc, 'handlers must be plain tasks (no blocks, includes or roles)');
      }
    } else if (!('path' in hf) && asked?.handlers_from !== undefined) {
      this.problem(loc, `handlers_from: ${from.handlers}: role '${name}' has no such handlers file`, `looked for ${hf.tried.map((t) => this.display(t)).join(', ')}`);
    }
    return { ref, tasks: [...depNodes, ...tasks] };
  }

  private checkTemplates(v: unknown, loc: Loc): void {
    if (typeof v === 'string') {
      const err = checkTemplateSyntax(v);
      if (err) this.problem(loc, `template syntax error: ${err}`, "values are Jinja2: {{ var }}, {{ a.b }}, {{ a[0] }}, {{ x | default('y') }}");
    } else if (Array.isArray(v)) v.forEach((x, i) => this.checkTemplates(x, locOf(v, i) ?? loc));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) this.checkTemplates(x, locOf(v, k) ?? loc);
  }

  play(o: unknown, index: number, loc: Loc | undefined, baseDir: string): Play | undefined {
    if (!isObj(o)) {
      this.problem(loc, 'a play must be a mapping with at least hosts and tasks');
      return undefined;
    }
    this.unknownKeys(o, PLAY_KEYS, 'a play');
    const hosts = this.str(o, 'hosts');
    if (!hosts) this.problem(locOf(o), `the play has no 'hosts'`, `add e.g. 'hosts: all' or a group name`);
    const strategy = this.str(o, 'strategy') ?? 'linear';
    if (strategy !== 'linear' && strategy !== 'free') this.problem(locOf(o, 'strategy'), `unknown strategy '${strategy}'`, 'use linear or free');
    let serial: (number | string)[] | undefined;
    if (o.serial !== undefined) {
      const list = Array.isArray(o.serial) ? o.serial : [o.serial];
      serial = [];
      for (const s of list) {
        if ((typeof s === 'number' && s > 0) || (typeof s === 'string' && /^(\d+%?)$/.test(s))) serial.push(s);
        else this.problem(locOf(o, 'serial'), `'serial' must be a number, a percentage or a list of them, got ${JSON.stringify(s)}`);
      }
    }
    this.playbookDir = baseDir;
    this.rolesRun = new Map();
    this.roleHandlers = [];
    this.handlerFiles = new Set();
    // the play's module_defaults hold for its tasks, roles and handlers
    this.withDefaults(this.moduleDefaults(o));
    const handlersRaw = o.handlers;
    const playHandlers = this.taskList(handlersRaw, o, 'handlers', baseDir, `${index}.h`).filter((n): n is TaskNode => {
      if (n.kind !== 'task') {
        this.problem(n.loc, 'handlers must be plain tasks (no blocks or includes)');
        return false;
      }
      return true;
    });
    // Roles run after pre_tasks and before tasks, as in Ansible.
    const tasks = [
      ...this.taskList(o.pre_tasks, o, 'pre_tasks', baseDir, `${index}.pre`),
      ...this.roles(o, `${index}.r`),
      ...this.taskList(o.tasks, o, 'tasks', baseDir, `${index}.t`),
      ...this.taskList(o.post_tasks, o, 'post_tasks', baseDir, `${index}.post`),
    ];
    this.withDefaults(undefined);
    const handlers = [...this.roleHandlers, ...playHandlers];
    const varsFiles = this.strList(o, 'vars_files');
    const varsPrompt = this.varsPrompt(o);
    const varsFromFiles = this.varsFromFiles(o, varsFiles, baseDir);
    const mfp = this.num(o, 'max_fail_percentage');
    const play: Play = {
      index,
      name: this.str(o, 'name') ?? hosts ?? `play ${index + 1}`,
      hosts: hosts ?? '',
      loc: locOf(o)!,
      vars: this.vars(o, 'vars'),
      varsFiles,
      varsFromFiles,
      ...(varsPrompt.length ? { varsPrompt } : {}),
      become: this.bool(o, 'become'),
      becomeUser: this.str(o, 'become_user'),
      gatherFacts: this.bool(o, 'gather_facts') ?? this.gatherByDefault,
      strategy: strategy === 'free' ? 'free' : 'linear',
      serial,
      anyErrorsFatal: this.bool(o, 'any_errors_fatal') ?? false,
      maxFailPercentage: mfp,
      forceHandlers: this.bool(o, 'force_handlers'),
      environment: this.environment(o),
      throttle: this.throttle(o),
      tags: this.strList(o, 'tags'),
      tasks,
      handlers,
      baseDir,
      ...this.publicRoleVars(tasks),
    };
    this.checkNotify(play);
    return play;
  }

  /** A play's `vars_prompt:` entries, checked now (a name, booleans, no hashing options). */
  private varsPrompt(o: Obj): VarPrompt[] {
    const v = o.vars_prompt;
    if (v === undefined || v === null) return [];
    const hint = 'write one "- name: VAR" entry per variable, with prompt:, and optionally private:, default:, confirm:, unsafe:';
    if (!Array.isArray(v)) {
      this.problem(locOf(o, 'vars_prompt'), `'vars_prompt' must be a list of variables to ask for`, hint);
      return [];
    }
    const out: VarPrompt[] = [];
    v.forEach((e, i) => {
      const loc = locOf(v, i) ?? locOf(o, 'vars_prompt')!;
      if (!isObj(e)) {
        this.problem(loc, 'a vars_prompt entry must be a mapping with name: and prompt:', hint);
        return;
      }
      for (const k of ['encrypt', 'salt', 'salt_size']) {
        if (e[k] !== undefined) this.problem(locOf(e, k), `vars_prompt: '${k}' is not supported by ferry (it does not hash answers)`, `remove '${k}'; the answer is kept as typed, and masked in all output while private: is true`);
      }
      this.unknownKeys(e, VAR_PROMPT_KEYS, 'a vars_prompt entry', (k) => ['encrypt', 'salt', 'salt_size'].includes(k));
      const name = this.str(e, 'name');
      if (name === undefined) {
        this.problem(loc, 'a vars_prompt entry needs the name: of the variable it sets', hint);
        return;
      }
      if (!VARIABLE_NAME.test(name) || MAGIC_VARS.has(name) || RESERVED_NAMES.has(name)) {
        this.problem(locOf(e, 'name') ?? loc, `vars_prompt: '${name}' cannot be a variable name`, 'use letters, digits and _, not starting with a digit, and not a name ferry sets itself');
        return;
      }
      const dflt = e.default;
      if (dflt !== undefined && dflt !== null && typeof dflt !== 'string' && typeof dflt !== 'number' && typeof dflt !== 'boolean') {
        this.problem(locOf(e, 'default'), `vars_prompt: the default of '${name}' must be a string or a number`);
      }
      out.push({
        name,
        prompt: this.str(e, 'prompt') ?? `input for ${name}`,
        private: this.bool(e, 'private') ?? true,
        ...(dflt !== undefined && dflt !== null ? { default: String(dflt) } : {}),
        confirm: this.bool(e, 'confirm') ?? false,
        unsafe: this.bool(e, 'unsafe') ?? false,
        loc: locOf(e) ?? loc,
      });
    });
    return out;
  }

  /** The defaults and vars of the roles a play reads at load time (not those of include_role), later roles winning. */
  private publicRoleVars(tasks: Node[]): Pick<Play, 'roleDefaults' | 'roleVars'> {
    const roleDefaults: Obj = {};
    const roleVars: Obj = {};
    const visit = (nodes: Node[]): void => {
      for (const n of nodes) {
        if (n.kind === 'role' && n.static && n.ref) {
          assignWithLocs(roleDefaults, n.ref.defaults);
          assignWithLocs(roleVars, n.ref.vars);
        } else if (n.kind === 'block') [n.block, n.rescue, n.always].forEach(visit);
        else if (n.kind === 'include' && n.static && n.tasks) visit(n.tasks);
      }
    };
    visit(tasks);
    return Object.keys(roleDefaults).length || Object.keys(roleVars).length ? { roleDefaults, roleVars } : {};
  }

  /** A play's `roles:`. */
  private roles(o: Obj, idPrefix: string): RoleNode[] {
    const v = o.roles;
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.problem(locOf(o, 'roles'), `'roles' must be a list of roles`, 'write one "- name" (or "- { role: name, vars: {...} }") per line');
      return [];
    }
    const out: RoleNode[] = [];
    v.forEach((entry, i) => {
      const n = this.roleEntry(entry, locOf(v, i) ?? locOf(o, 'roles'), `${idPrefix}${i}`);
      if (n) out.push(n);
    });
    return out;
  }

  private checkNotify(play: Play): void {
    const names = new Set<string>();
    for (const h of play.handlers) {
      if (h.name) names.add(h.name);
      // A role's handler may also be notified as `role : handler`, as in Ansible.
      if (h.name && h.role) names.add(`${h.role.name} : ${h.name}`);
      for (const l of h.listen) names.add(l);
    }
    const visit = (nodes: Node[]): void => {
      for (const n of nodes) {
        if (n.kind === 'task') {
          n.notify.forEach((name) => {
            if (!names.has(name)) {
              this.problem(n.loc, `notify: no handler named '${name}' in this play`, names.size ? `handlers: ${[...names].join(', ')}` : 'add it under the play\'s handlers:');
            }
          });
        } else if (n.kind === 'block') [n.block, n.rescue, n.always].forEach(visit);
        else if ((n.kind === 'include' || n.kind === 'role') && n.tasks) visit(n.tasks);
      }
    };
    visit(play.tasks);
  }

  /**
   * The plays of a playbook file, with those of the files it imports (import_playbook) in place;
   * `inherited` is what an import_playbook puts on every play it brings in.
   */
  playbookFile(abs: string, plays: Play[], inherited: { when: Condition[]; vars: Obj; tags: string[] }, from?: { loc: Loc | undefined }): void {
    if (this.loading.has(abs)) {
      this.problem(from?.loc, `import_playbook: ${this.display(abs)} imports itself`);
      return;
    }
    const data = this.loadFile(abs, from ? { loc: from.loc, what: 'playbook' } : undefined);
    if (data === undefined) return;
    if (!Array.isArray(data)) {
      this.problems.push({
        loc: { file: this.display(abs), line: 1 },
        message: 'a playbook must be a list of plays',
        hint: 'start each play with "- name: ..." / "  hosts: ..."',
      });
      return;
    }
    this.loading.add(abs);
    data.forEach((p, i) => {
      const key = isObj(p) ? Object.keys(p).find((k) => stripCollection(k) === 'import_playbook') : undefined;
      if (key && isObj(p)) {
        this.importPlaybook(p, key, abs, plays, inherited);
        return;
      }
      const play = this.play(p, plays.length, locOf(data, i), dirname(abs));
      if (!play) return;
      if (inherited.when.length) play.when = inherited.when;
      if (Object.keys(inherited.vars).length) play.vars = assignWithLocs(assignWithLocs({}, inherited.vars), play.vars);
      if (inherited.tags.length) play.tags = [...inherited.tags, ...play.tags];
      plays.push(play);
    });
    this.loading.delete(abs);
  }

  /** `- import_playbook: other.yml` (relative to the importing file), with its `when:`, `vars:` and `tags:` put on every play it brings in. */
  private importPlaybook(o: Obj, key: string, file: string, plays: Play[], inherited: { when: Condition[]; vars: Obj; tags: string[] }): void {
    this.unknownKeys(o, [...IMPORT_PLAYBOOK_KEYS, key], 'an import_playbook');
    const target = this.str(o, key);
    if (!target) {
      this.problem(locOf(o, key) ?? locOf(o), `'${key}' needs a playbook file name`, `write e.g. ${key}: webservers.yml`);
      return;
    }
    if (isTemplated(target)) {
      this.problem(locOf(o, key), `import_playbook: ${JSON.stringify(target)} is a template; playbooks are imported when the playbook is loaded`, 'name the file');
      return;
    }
    const vars = this.vars(o, 'vars');
    const next = {
      when: [...inherited.when, ...this.conditions(o, 'when')],
      vars: assignWithLocs(assignWithLocs({}, inherited.vars), vars),
      tags: [...inherited.tags, ...this.strList(o, 'tags')],
    };
    this.playbookFile(resolve(dirname(file), target), plays, next, { loc: locOf(o, key) });
  }
}

/** Loads a playbook file (and those it imports) and validates it against the module registry; throws ValidationError listing every problem. */
export function loadPlaybook(path: string, modules: ModuleRegistry, displayRoot = process.cwd(), options: LoadOptions = {}): Playbook {
  const abs = resolve(path);
  const loader = new Loader(modules, displayRoot, options);
  const plays: Play[] = [];
  loader.playbookFile(abs, plays, { when: [], vars: {}, tags: [] });
  if (loader.problems.length) throw new ValidationError(loader.problems);
  return { file: abs, plays };
}

/** Loads a task file for include_tasks at run time (its templated name is known only then); inside a role, its tasks belong to it. */
export function loadTaskFile(
  path: string,
  modules: ModuleRegistry,
  idPrefix: string,
  displayRoot = process.cwd(),
  at: { playbookDir?: string; role?: RoleRef; vault?: VaultKeys; moduleDefaults?: ModuleDefaults; sources?: SourceCache } = {},
): Node[] {
  const loader = new Loader(modules, displayRoot, { vault: at.vault, sources: at.sources });
  if (at.playbookDir) loader.playbookDir = at.playbookDir;
  loader.inRole(at.role);
  loader.withDefaults(at.moduleDefaults);
  const data = loader.loadFile(path);
  const nodes = data === undefined ? [] : loader.taskList(data ?? [], undefined, path, dirname(path), idPrefix);
  if (loader.problems.length) throw new ValidationError(loader.problems);
  return nodes;
}

/** Reads the role of an include_role whose name was a template, now that it is known: its run, and its handlers. */
export function loadRoleAtRunTime(
  node: RoleNode,
  name: string,
  modules: ModuleRegistry,
  playbookDir: string,
  displayRoot = process.cwd(),
  vault?: VaultKeys,
  sources?: SourceCache,
): { node: RoleNode; handlers: TaskNode[] } {
  const loader = new Loader(modules, displayRoot, { vault, sources });
  loader.playbookDir = playbookDir;
  loader.withDefaults(node.moduleDefaults);
  const run = loader.roleRun(name, node.loc, { ...node, name: node.name }, { static: true, dedupe: false, id: node.id, from: node.from, searchPath: node.searchPath });
  if (loader.problems.length || !run) throw new ValidationError(loader.problems);
  return { node: run, handlers: loader.roleHandlers };
}
