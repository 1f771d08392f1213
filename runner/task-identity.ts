// Task identities for --resume: a key that survives edits elsewhere in the playbook (the task's
// file, name, module and a hash of its arguments, plus an occurrence counter among equal ones), and
// the check that refuses to resume when the playbook changed in a way that makes the saved state
// ambiguous. Pure: the engine and the run state call it, the tests table-drive it.
import { createHash } from 'node:crypto';
import type { Problem } from './errors.js';
import type { IncludeNode, Node, Playbook, RoleNode, TaskNode } from './playbook/model.js';

/** One task (or include) of a playbook, as the run state records it. */
export interface TaskRecord {
  key: string;
  /** The task file, as errors show it (relative to the working directory). */
  file: string;
  line: number;
  name?: string;
  module: string;
  play: number;
  handler?: boolean;
  /** A command declared to change nothing (`changed_when: false`): --resume runs it again (see readsOnly). */
  reads?: true;
}

/** The keys of a playbook's tasks and includes, and their list in run order (handlers after each play's tasks). */
export interface TaskIdentities {
  keys: WeakMap<Node, string>;
  list: TaskRecord[];
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function hash(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(v)) ?? 'undefined').digest('hex').slice(0, 16);
}

/**
 * What a task is, whatever its position: where it is written, its name, its module and what it is
 * given (arguments, loop, delegate_to, chroot — what decides what it does).
 */
function identity(n: TaskNode | IncludeNode | RoleNode): { id: string; rec: Omit<TaskRecord, 'key' | 'play'> } {
  const file = n.loc.file;
  const module = n.kind === 'task' ? n.module : n.kind === 'role' ? (n.static ? 'import_role' : 'include_role') : n.static ? 'import_tasks' : 'include_tasks';
  const args = n.kind === 'task' ? n.args : n.kind === 'role' ? { role: n.role, from: n.from, vars: n.vars } : { file: n.file };
  const loop = n.loop ?? null;
  const id = hash([file, n.name ?? null, module, args, loop, n.delegateTo ?? null, n.chroot ?? null]);
  const reads = n.kind === 'task' && readsOnly(n) ? { reads: true as const } : {};
  return { id, rec: { file, line: n.loc.line, ...(n.name !== undefined ? { name: n.name } : {}), module, ...reads } };
}

/**
 * Whether a task declares that it only reads (`changed_when: false`, the idiom for a check such as
 * "has this guest been copied already?"). --resume runs such a command again rather than restore
 * the value it registered in the earlier run: what it read may have changed since (a later task
 * wrote a marker it tests for), and running a read again costs only the read.
 */
export function readsOnly(n: TaskNode): boolean {
  // the parsed condition, not its text: `false`, `False` and `"{{ false }}"` are the same literal
  return n.changedWhen.length > 0 && n.changedWhen.every((c) => c.expr.kind === 'literal' && c.expr.value === false);
}

/**
 * What --resume skips, in one place: a completed task of a module that runs every time (a command),
 * unless it only reads; it keeps the value it registered. Every other completed task runs again (a
 * read) or is planned again.
 */
export function skippedOnResume(t: { module: string; reads?: boolean }, runsEveryTime: (module: string) => boolean): boolean {
  return runsEveryTime(t.module) && !t.reads;
}

/** One pass over task lists: where keys go, and how many of each identity came before. */
interface Walk {
  seen: Map<string, number>;
  keys: WeakMap<Node, string>;
  out?: TaskRecord[];
  play: number;
  /** The key of the include that loaded these tasks at run time, and `>`. */
  prefix: string;
}

/** Assigns keys to nodes in run order. */
function walk(nodes: Node[], w: Walk, handler = false): void {
  for (const n of nodes) {
    if (n.kind === 'meta') continue;
    if (n.kind === 'block') {
      walk([...n.block, ...n.rescue, ...n.always], w);
      continue;
    }
    const { id, rec } = identity(n);
    const occurrence = w.seen.get(id) ?? 0;
    w.seen.set(id, occurrence + 1);
    const key = `${w.prefix}${id}.${occurrence}`;
    w.keys.set(n, key);
    w.out?.push({ key, ...rec, play: w.play, ...(handler ? { handler: true } : {}) });
    if ((n.kind === 'include' || n.kind === 'role') && n.tasks) walk(n.tasks, w);
  }
}

/** Keys every task and include of a loaded playbook (tasks of run-time includes are keyed when loaded). */
export function taskIdentities(pb: Playbook): TaskIdentities {
  const w: Walk = { seen: new Map(), keys: new WeakMap(), out: [], play: 0, prefix: '' };
  for (const play of pb.plays) {
    w.play = play.index;
    walk(play.tasks, w);
    walk(play.handlers, w, true);
  }
  return { keys: w.keys, list: w.out! };
}

/** Keys the tasks an include loaded at run time (a templated file name): below the include's own key. */
export function keyLoadedTasks(ids: TaskIdentities, include: Node, nodes: Node[]): void {
  walk(nodes, { seen: new Map(), keys: ids.keys, play: -1, prefix: `${ids.keys.get(include) ?? 'include'}>` });
}

/** The scope of one iteration of an include's loop, appended to the keys of the tasks it runs. */
export function loopScope(item: unknown, earlierEqual: number): string {
  return `@${hash(item ?? null)}.${earlierEqual}`;
}

/** The key of the playbook task a run-time key belongs to (loaded tasks and loop iterations count as their include). */
export function baseKey(key: string): string {
  return key.split(/[>@]/)[0]!;
}

/** What the previous run of a playbook left, for the resume check. */
export interface PreviousRun {
  tasks: TaskRecord[];
  /** Per host, the keys of the tasks that completed. */
  completed: Record<string, string[]>;
}

/** What the resume check needs to know about the run about to start. */
export interface ResumeContext {
  /** Whether the module's plan has steps every time (commands: TaskModule.runsEveryTime). */
  runsEveryTime(module: string): boolean;
  /** Whether a host is among a play's hosts (true when the play's hosts are known only at run time). */
  playHasHost(play: number, host: string): boolean;
}

function describe(r: TaskRecord): string {
  return `${r.name !== undefined ? `'${r.name}'` : 'unnamed task'} (${r.module})`;
}

/**
 * The changes that make a saved run state ambiguous to resume: a completed task that resume would
 * skip is gone or changed (its arguments, its module), or a task was added before one.
 * Tasks added after the last such task, and changes to tasks that would run anyway, are fine.
 */
export function resumeConflicts(prev: PreviousRun, now: TaskRecord[], ctx: ResumeContext): Problem[] {
  const hint = 'run without --resume to start over (tasks that completed are then run again)';
  const oldByKey = new Map(prev.tasks.map((r) => [r.key, r]));
  const nowIndex = new Map(now.map((r, i) => [r.key, i]));
  const oldKeys = new Set(prev.tasks.map((r) => r.key));
  const added = now.filter((r) => !oldKeys.has(r.key));
  const problems: Problem[] = [];
  const changedTo = new Set<string>();
  const gone = new Map<string, { rec: TaskRecord; hosts: string[] }>();
  // the last position, per host, of a task that resume will skip
  const lastSkipped = new Map<string, number>();
  for (const [host, keys] of Object.entries(prev.completed)) {
    // A task an include loaded at run time counts as its include (its module is not recorded: assume a command).
    const skipped = new Set(
      keys
        .filter((k) => {
          const rec = oldByKey.get(baseKey(k));
          return k.includes('>') || (rec !== undefined && skippedOnResume(rec, ctx.runsEveryTime));
        })
        .map(baseKey),
    );
    for (const key of skipped) {
      const rec = oldByKey.get(key);
      if (!rec) continue;
      const i = nowIndex.get(key);
      if (i === undefined) {
        const g = gone.get(key) ?? { rec, hosts: [] };
        g.hosts.push(host);
        gone.set(key, g);
      } else lastSkipped.set(host, Math.max(lastSkipped.get(host) ?? -1, i));
    }
  }
  for (const { rec, hosts } of gone.values()) {
    const on = `completed on ${hosts.join(', ')}`;
    const same = added.find((a) => !changedTo.has(a.key) && a.file === rec.file && a.play === rec.play && (a.name ?? null) === (rec.name ?? null) && (rec.name !== undefined || a.module === rec.module));
    if (same) {
      changedTo.add(same.key);
      const what = same.module !== rec.module ? `its module changed (${rec.module} → ${same.module})` : 'its arguments changed';
      problems.push({ loc: { file: same.file, line: same.line }, message: `task ${describe(rec)} ${on}, but ${what} since` });
    } else {
      problems.push({ loc: { file: rec.file, line: rec.line }, message: `task ${describe(rec)} ${on}, but is no longer in the playbook (removed, renamed or changed)` });
    }
  }
  for (const a of added) {
    // a read added before completed tasks runs on resume as every read does (handlers run when notified)
    if (changedTo.has(a.key) || a.handler || a.reads) continue;
    const i = nowIndex.get(a.key)!;
    const before = [...lastSkipped].filter(([host, last]) => i < last && ctx.playHasHost(a.play, host)).map(([host]) => host);
    if (before.length) problems.push({ loc: { file: a.file, line: a.line }, message: `task ${describe(a)} was added before tasks that completed on ${before.join(', ')}` });
  }
  return problems.map((p) => ({ ...p, hint }));
}
