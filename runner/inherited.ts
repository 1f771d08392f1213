// The keywords a task inherits from its play, blocks, includes and role (when, become, tags, vars,
// environment, throttle, limits, ...): what the engine carries down as it walks the nodes.
import type { CommonKeywords, Condition, ResourceLimit, RoleRef } from './playbook/model.js';

type Obj = Record<string, unknown>;

/** Keywords inherited from enclosing blocks and includes. */
export interface Inherited {
  when: Condition[];
  become?: boolean;
  becomeUser?: string;
  tags: string[];
  vars: Obj[];
  ignoreErrors?: boolean;
  delegateTo?: string;
  chroot?: string;
  anyErrorsFatal?: boolean;
  checkMode?: boolean;
  noLog?: boolean;
  /** Which iteration of an include's loop the tasks run in (part of their resume key). */
  scope?: string;
  /** Inside an always: section: it still runs after an interrupt, until the cleanup time is over. */
  cleanup?: boolean;
  /** `environment:` of the play, blocks and task, outermost first (later ones win). */
  environment?: (Obj | string)[];
  /** Aborts when the task's `timeout:` is over. */
  deadline?: AbortSignal;
  /** The smallest `throttle` of the play, blocks and task: at most that many hosts run the task at once. */
  throttle?: number;
  /** `limits` of the blocks and task, outermost first. */
  limits?: ResourceLimit[];
  /** The role the tasks belong to: its defaults and vars, its templates/ and files/. */
  role?: RoleRef;
}

/** The lower of two optional limits. */
export const lower = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** What the nodes inside `n` inherit: `n`'s keywords over (or added to) those of its enclosing nodes. */
export function inherit(inh: Inherited, n: CommonKeywords): Inherited {
  return {
    when: [...inh.when, ...n.when],
    become: n.become ?? inh.become,
    becomeUser: n.becomeUser ?? inh.becomeUser,
    tags: [...inh.tags, ...n.tags],
    vars: Object.keys(n.vars).length ? [...inh.vars, n.vars] : inh.vars,
    ignoreErrors: n.ignoreErrors ?? inh.ignoreErrors,
    delegateTo: n.delegateTo ?? inh.delegateTo,
    chroot: n.chroot ?? inh.chroot,
    anyErrorsFatal: n.anyErrorsFatal ?? inh.anyErrorsFatal,
    checkMode: n.checkMode ?? inh.checkMode,
    noLog: n.noLog ?? inh.noLog,
    scope: inh.scope,
    cleanup: inh.cleanup,
    environment: n.environment !== undefined ? [...(inh.environment ?? []), n.environment] : inh.environment,
    deadline: inh.deadline,
    throttle: lower(inh.throttle, n.throttle),
    limits: n.limits?.length ? [...(inh.limits ?? []), ...n.limits] : inh.limits,
    role: inh.role,
  };
}
