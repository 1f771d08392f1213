// The validated playbook model: plays, tasks and blocks, each keeping the file:line it came from.
import type { Loc } from '../errors.js';
import type { Expr } from '../expr/index.js';

/** A condition parsed at load time, with its source text for messages. */
export interface Condition {
  source: string;
  expr: Expr;
  loc: Loc;
}

/** Keywords a task and a block share (a block's are inherited by the tasks inside). */
export interface CommonKeywords {
  name?: string;
  loc: Loc;
  when: Condition[];
  become?: boolean;
  becomeUser?: string;
  tags: string[];
  vars: Record<string, unknown>;
  ignoreErrors?: boolean;
  delegateTo?: string;
  runOnce?: boolean;
  chroot?: string;
  checkMode?: boolean;
  noLog?: boolean;
  anyErrorsFatal?: boolean;
  /** Environment variables for the commands (Ansible's `environment`); values are templated. */
  environment?: Record<string, unknown> | string;
  /** Ansible's `throttle`: at most this many hosts run the task at once (a block's applies to each of its tasks). */
  throttle?: number;
  /**
   * ferry's `limits`: resource key → at most that many hosts at once, across every task that names
   * the key (e.g. one copy per volume group). Keys and numbers may be templates, rendered per host.
   */
  limits?: ResourceLimit[];
}

/** One entry of `limits:` as written. */
export interface ResourceLimit {
  key: string;
  max: number | string;
  loc?: Loc;
}

/** `module_defaults` in effect: module name (short, as ferry names it) → its default parameters. */
export type ModuleDefaults = Record<string, Record<string, unknown>>;

/** One `vars_prompt` entry of a play: a variable asked on the terminal before the run. */
export interface VarPrompt {
  name: string;
  /** The question, as written (Ansible's `prompt`; `input for NAME` when none). */
  prompt: string;
  /** The answer is not echoed, and is a secret (masked in all output). Default true, as in Ansible. */
  private: boolean;
  /** The answer when the user just presses Enter (and off a terminal). */
  default?: string;
  /** Asked twice; the two answers must match. */
  confirm: boolean;
  /** The answer is never rendered as a template. */
  unsafe: boolean;
  loc: Loc;
}

/**
 * A role as one invocation uses it: its directory, and the defaults and vars of it and of the roles
 * it depends on (dependencies first, so the role's own values win).
 */
export interface RoleRef {
  name: string;
  /** The role's directory (templates/, files/, vars/ are looked up there first). */
  path: string;
  /** defaults/ of the role (lowest precedence of all). */
  defaults: Record<string, unknown>;
  /** vars/ of the role (above play vars and vars_files). */
  vars: Record<string, unknown>;
}

/** A single module call. */
export interface TaskNode extends CommonKeywords {
  kind: 'task';
  /** Stable id within the playbook (used by resume): play index + path of indexes. */
  id: string;
  module: string;
  args: Record<string, unknown>;
  register?: string;
  notify: string[];
  listen: string[];
  loop?: unknown;
  loopControl: { label?: string; loopVar: string; pause?: number };
  failedWhen: Condition[];
  changedWhen: Condition[];
  until?: Condition;
  retries?: number;
  delay?: number;
  timeout?: number;
  /** The role whose tasks/ or handlers/ this task comes from (names show as `role : task`). */
  role?: RoleRef;
  /** include_vars: the variable names it sets, when known at load time (a file named literally). */
  provides?: string[];
}

/** include_tasks / import_tasks: a task file loaded (import: at load time; include: at run time). */
export interface IncludeNode extends CommonKeywords {
  kind: 'include';
  id: string;
  file: string;
  /** import_tasks is expanded at load time into `tasks`. */
  static: boolean;
  tasks?: Node[];
  loop?: unknown;
  loopControl: { label?: string; loopVar: string };
  /** The folder the file name is relative to (a role's tasks/ inside a role). */
  baseDir: string;
  /** The role this include is written in: the tasks it loads at run time belong to it. */
  role?: RoleRef;
  /** The module_defaults in effect here: the tasks it loads at run time get them too. */
  moduleDefaults?: ModuleDefaults;
}

/**
 * A role run: play `roles:`, `import_role` (loaded at load time) or `include_role` (loaded at run
 * time when its name is a template). Its `vars` are the role parameters.
 */
export interface RoleNode extends CommonKeywords {
  kind: 'role';
  id: string;
  /** The role's name as written (a template for a dynamic include_role). */
  role: string;
  static: boolean;
  /** Known at load time: the role, its dependencies' runs (first), then its tasks. */
  ref?: RoleRef;
  tasks?: Node[];
  /** include_role/import_role options: which files of tasks/, vars/, defaults/, handlers/ to read. */
  from: RoleFrom;
  /** Where the name is looked up (for an include_role whose name is known only at run time). */
  searchPath: string[];
  /** include_role's `loop:` (the role runs once per item, the item in `loopControl.loopVar`). */
  loop?: unknown;
  loopControl?: { label?: string; loopVar: string };
  /** The module_defaults in effect here: a role read at run time gets them too. */
  moduleDefaults?: ModuleDefaults;
}

/** tasks_from, vars_from, defaults_from, handlers_from (file names without .yml, as Ansible takes them). */
export interface RoleFrom {
  tasks: string;
  vars: string;
  defaults: string;
  handlers: string;
}

/** A block with rescue and always sections. */
export interface BlockNode extends CommonKeywords {
  kind: 'block';
  id: string;
  block: Node[];
  rescue: Node[];
  always: Node[];
}

/** `meta: flush_handlers` and friends. */
export interface MetaNode extends CommonKeywords {
  kind: 'meta';
  id: string;
  action: 'flush_handlers' | 'end_play' | 'end_batch' | 'end_host' | 'noop' | 'clear_facts';
}

/** Anything in a task list. */
export type Node = TaskNode | BlockNode | IncludeNode | MetaNode | RoleNode;

/** One play. */
export interface Play {
  index: number;
  /** `when:` of the import_playbook that brought this play in: every task of the play is conditioned on it. */
  when?: Condition[];
  name: string;
  hosts: string;
  loc: Loc;
  vars: Record<string, unknown>;
  varsFiles: string[];
  /** The variables of every vars_files entry, read at load time (later files win). */
  varsFromFiles: Record<string, unknown>;
  /** `vars_prompt`: asked before the run (a name given with -e is not asked); the answers become play vars. */
  varsPrompt?: VarPrompt[];
  become?: boolean;
  becomeUser?: string;
  gatherFacts: boolean;
  strategy: 'linear' | 'free';
  serial?: (number | string)[];
  anyErrorsFatal: boolean;
  maxFailPercentage?: number;
  forceHandlers?: boolean;
  /** Environment variables for every task's commands (task and block values win). */
  environment?: Record<string, unknown> | string;
  /** `throttle` on the play: a limit for each of its tasks. */
  throttle?: number;
  tags: string[];
  tasks: Node[];
  handlers: TaskNode[];
  /**
   * The defaults and vars of the roles the play reads at load time (roles:, import_role), visible to
   * all its tasks as Ansible's public role variables; a role's own tasks see its values above these.
   */
  roleDefaults?: Record<string, unknown>;
  roleVars?: Record<string, unknown>;
  /** The folder relative paths (src:, vars_files, include_tasks) are resolved against. */
  baseDir: string;
}

/** A loaded playbook. */
export interface Playbook {
  file: string;
  plays: Play[];
}

/** A task's name as output shows it: `role : task` for a role's task, as ansible-playbook does. */
export function taskDisplayName(t: TaskNode): string {
  const name = t.name ?? t.module;
  return t.role ? `${t.role.name} : ${name}` : name;
}

/** What a node list holds at load time, in order: its tasks, and the includes and roles known only at run time. */
export type LoadedEntry = { kind: 'task'; node: TaskNode; tags: string[] } | { kind: 'dynamic'; node: IncludeNode | RoleNode; tags: string[] };

/** The node list flattened (blocks, imports and roles read at load time opened), each entry with its tags, inherited ones first. */
export function* loadedTasks(nodes: Node[], inherited: string[] = []): Generator<LoadedEntry> {
  for (const n of nodes) {
    const tags = [...inherited, ...n.tags];
    if (n.kind === 'task') yield { kind: 'task', node: n, tags };
    else if (n.kind === 'block') yield* loadedTasks([...n.block, ...n.rescue, ...n.always], tags);
    else if (n.kind === 'include' || n.kind === 'role') {
      if (n.static && n.tasks) yield* loadedTasks(n.tasks, tags);
      else yield { kind: 'dynamic', node: n, tags };
    }
  }
}
