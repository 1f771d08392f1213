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
  action: 'flush_handlers' | 'end_play' | 'end_host' | 'noop' | 'clear_facts';
}

/** Anything in a task list. */
export type Node = TaskNode | BlockNode | IncludeNode | MetaNode;

/** One play. */
export interface Play {
  index: number;
  name: string;
  hosts: string;
  loc: Loc;
  vars: Record<string, unknown>;
  varsFiles: string[];
  /** The variables of every vars_files entry, read at load time (later files win). */
  varsFromFiles: Record<string, unknown>;
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
  /** The folder relative paths (src:, vars_files, include_tasks) are resolved against. */
  baseDir: string;
}

/** A loaded playbook. */
export interface Playbook {
  file: string;
  plays: Play[];
}
