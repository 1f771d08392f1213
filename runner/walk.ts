// Walking a play's nodes on its hosts: tasks, blocks (rescue, always), meta actions, import_tasks
// and include_tasks (a file, when and loop per host), roles (loaded, or read at run time per host),
// each node's keywords handed down, and only the hosts still active at each node.
import { resolve } from 'node:path';
import type { HostState } from './host-state.js';
import { includeItems, earlierEqual } from './include-items.js';
import { inherit, type Inherited } from './inherited.js';
import { withModulesLoaded, type ModuleRegistry } from './module.js';
import { loadRoleAtRunTime, loadTaskFile } from './playbook/load.js';
import type { BlockNode, IncludeNode, Node, RoleNode, RoleRef, TaskNode } from './playbook/model.js';
import type { PlayScope } from './scope.js';
import { keyLoadedTasks, loopScope, type TaskIdentities } from './task-identity.js';
import { evaluateCondition, renderString } from './template.js';
import type { VaultKeys } from './vault/keys.js';

type Obj = Record<string, unknown>;

/** One batch of a play as it runs. */
export interface PlayRun extends PlayScope {
  /** end_play, any_errors_fatal or max_fail_percentage stopped the play. */
  aborted: boolean;
  /** The play's handlers, and those of roles included at run time. */
  handlers: TaskNode[];
}

/** What walking the nodes needs of the engine. */
export interface NodeWalk {
  modules: ModuleRegistry;
  /** The vault passwords, for task files and roles read at run time. */
  vault?: VaultKeys;
  /** The run's task identities: tasks read at run time are keyed in them (--resume). */
  ids?: TaskIdentities;
  host(name: string): HostState;
  /** After an interrupt nothing starts, except inside always: sections for a while. */
  stopped(inh: Inherited): boolean;
  /** Whether --tags / --skip-tags select these tags. */
  tagged(tags: string[]): boolean;
  /** A task's variables on a host (runner/scope.ts). */
  vars(ctx: PlayRun, host: string, inh: Inherited, task: Obj): Obj;
  /** Whether the inherited `when` holds on a host. */
  whenTrue(ctx: PlayRun, host: string, inh: Inherited, extra: Obj): boolean;
  /** Runs a task on the hosts (--start-at-task, tags, --step, run_once, the play's abort rules). */
  runTask(ctx: PlayRun, task: TaskNode, hosts: string[], inh: Inherited): Promise<void>;
  runHandlers(ctx: PlayRun, hosts: string[]): Promise<void>;
  /** Reports that an include or role could not be read or resolved on a host: a failed result. */
  failed(ctx: PlayRun, host: string, task: string, module: string, e: unknown): void;
  /** A host's failure was handled by a rescue: it no longer counts against the host. */
  rescued(host: string): void;
}

/** The hosts of a list that have not failed, become unreachable or ended. */
export function activeHosts(hosts: string[], host: (name: string) => HostState): string[] {
  return hosts.filter((h) => {
    const s = host(h);
    return !s.failed && !s.unreachable && !s.ended;
  });
}

/** Runs nodes in order, each on the hosts still active when it comes. */
export async function walkNodes(w: NodeWalk, ctx: PlayRun, nodes: Node[], hosts: string[], inh: Inherited): Promise<void> {
  for (const node of nodes) {
    if (ctx.aborted || w.stopped(inh)) return;
    const active = activeHosts(hosts, w.host);
    if (!active.length) return;
    if (node.kind === 'task') await w.runTask(ctx, node, active, inherit(inh, node));
    else if (node.kind === 'block') await walkBlock(w, ctx, node, active, inh);
    else if (node.kind === 'include') await walkInclude(w, ctx, node, active, inh);
    else if (node.kind === 'role') await walkRole(w, ctx, node, active, inh);
    else if (node.kind === 'meta') {
      const ninh = inherit(inh, node);
      if (node.action === 'flush_handlers') await w.runHandlers(ctx, active);
      else if (node.action === 'end_play' || node.action === 'end_batch') {
        // As in Ansible: true for any host ends it for every host of the batch; end_play also skips
        // the batches still to come (without `serial` the two are the same).
        if (active.some((h) => w.whenTrue(ctx, h, ninh, {}))) {
          for (const h of ctx.batch) w.host(h).ended = true;
          if (node.action === 'end_play') ctx.aborted = true;
        }
      } else if (node.action === 'end_host') {
        for (const h of active) if (w.whenTrue(ctx, h, ninh, {})) w.host(h).ended = true;
      } else if (node.action === 'clear_facts') {
        for (const h of active) w.host(h).facts = undefined;
      }
    }
  }
}

/** A block: its tasks, then rescue on the hosts that failed in them, then always on every host that entered. */
async function walkBlock(w: NodeWalk, ctx: PlayRun, node: BlockNode, hosts: string[], inh: Inherited): Promise<void> {
  const binh = inherit(inh, node);
  const entered = hosts;
  await walkNodes(w, ctx, node.block, entered, binh);
  const failedIn = entered.filter((h) => w.host(h).failed && !w.host(h).unreachable);
  if (node.rescue.length && failedIn.length && !w.stopped(binh)) {
    for (const h of failedIn) {
      w.host(h).failed = false;
      // The failure was handled: it no longer counts against the host.
      w.rescued(h);
    }
    await walkNodes(w, ctx, node.rescue, failedIn, binh);
  }
  if (node.always.length) {
    const wasFailed = entered.filter((h) => w.host(h).failed && !w.host(h).unreachable);
    for (const h of wasFailed) w.host(h).failed = false;
    // An always: section cleans up (unmount, unmap): it still runs after an interrupt, for a while.
    await walkNodes(w, ctx, node.always, entered.filter((h) => !w.host(h).unreachable), { ...binh, cleanup: true });
    for (const h of wasFailed) w.host(h).failed = true;
  }
}

/** import_tasks (loaded already) or include_tasks (its file, when and loop per host). */
async function walkInclude(w: NodeWalk, ctx: PlayRun, node: IncludeNode, hosts: string[], inh: Inherited): Promise<void> {
  const iinh = inherit(inh, node);
  if (node.static) {
    await walkNodes(w, ctx, node.tasks ?? [], hosts, iinh);
    return;
  }
  if (!w.tagged(iinh.tags)) return;
  const name = node.name ?? `include_tasks ${node.file}`;
  // include_tasks: the file name, `when` and `loop` are evaluated per host; hosts that include
  // the same file (with the same item) run it together.
  const runs = new Map<string, { hosts: string[]; nodes: Node[]; item?: { key: string; value: unknown; scope: string } }>();
  for (const h of hosts) {
    try {
      const vars = w.vars(ctx, h, iinh, {});
      const items = includeItems(node.loop, vars, node.loc);
      // a loop rather than forEach: a file's modules may have to be loaded (awaited) before it is read
      for (const [i, item] of items.entries()) {
        const ivars = node.loop !== undefined ? w.vars(ctx, h, { ...iinh, vars: [...iinh.vars, { [node.loopControl.loopVar]: item }] }, {}) : vars;
        if (!iinh.when.every((c) => evaluateCondition(c.expr, ivars))) continue;
        const file = String(renderString(node.file, ivars, node.loc));
        const key = `${i}\u0000${file}\u0000${JSON.stringify(item)}`;
        let g = runs.get(key);
        if (!g) {
          let nodes = node.tasks;
          if (!nodes || file !== node.file) {
            nodes = await withModulesLoaded(w.modules, (m, sources) => loadTaskFile(resolve(node.baseDir, file), m, `${node.id}.i`, undefined, { playbookDir: ctx.play.baseDir, role: node.role, vault: w.vault, moduleDefaults: node.moduleDefaults, sources }));
            if (w.ids) keyLoadedTasks(w.ids, node, nodes);
          }
          const earlier = earlierEqual(items, i);
          g = { hosts: [], nodes, ...(node.loop !== undefined ? { item: { key: node.loopControl.loopVar, value: item, scope: loopScope(item, earlier) } } : {}) };
          runs.set(key, g);
        }
        g.hosts.push(h);
      }
    } catch (e) {
      w.failed(ctx, h, name, 'include_tasks', e);
    }
  }
  for (const g of runs.values()) {
    const ginh = g.item ? { ...iinh, vars: [...iinh.vars, { [g.item.key]: g.item.value }], scope: `${iinh.scope ?? ''}${g.item.scope}` } : iinh;
    await walkNodes(w, ctx, g.nodes, g.hosts, ginh);
  }
}

/**
 * A role run: its tasks (its dependencies' runs first) with its variables. An include_role named
 * by a template reads the role now, per host; hosts that name the same role run it together.
 */
async function walkRole(w: NodeWalk, ctx: PlayRun, node: RoleNode, hosts: string[], inh: Inherited): Promise<void> {
  if (node.tasks && node.loop === undefined) {
    await walkNodes(w, ctx, node.tasks, hosts, { ...inherit(inh, node), role: node.ref });
    return;
  }
  const rinh = inherit(inh, node);
  if (!w.tagged(rinh.tags)) return;
  // Hosts that run the same role (with the same item of a loop) run it together.
  const runs = new Map<string, { name: string; hosts: string[]; item?: { key: string; value: unknown; scope: string } }>();
  for (const h of hosts) {
    try {
      const items = node.loop !== undefined ? includeItems(node.loop, w.vars(ctx, h, rinh, {}), node.loc) : [undefined];
      const loopVar = node.loopControl?.loopVar ?? 'item';
      items.forEach((item, i) => {
        const ivars = w.vars(ctx, h, node.loop !== undefined ? { ...rinh, vars: [...rinh.vars, { [loopVar]: item }] } : rinh, {});
        if (!rinh.when.every((c) => evaluateCondition(c.expr, ivars))) return;
        const name = String(renderString(node.role, ivars, node.loc));
        const key = `${i}\u0000${name}`;
        const earlier = earlierEqual(items, i);
        const g = runs.get(key) ?? { name, hosts: [], ...(node.loop !== undefined ? { item: { key: loopVar, value: item, scope: loopScope(item, earlier) } } : {}) };
        g.hosts.push(h);
        runs.set(key, g);
      });
    } catch (e) {
      w.failed(ctx, h, node.name ?? `include_role ${node.role}`, 'include_role', e);
    }
  }
  for (const g of runs.values()) {
    let run: { tasks: Node[]; ref?: RoleRef } = { tasks: node.tasks ?? [], ref: node.ref };
    if (!node.tasks) {
      try {
        const loaded = await withModulesLoaded(w.modules, (m, sources) => loadRoleAtRunTime(node, g.name, m, ctx.play.baseDir, undefined, w.vault, sources));
        for (const hd of loaded.handlers) if (!ctx.handlers.some((x) => x.loc.file === hd.loc.file && x.loc.line === hd.loc.line)) ctx.handlers.push(hd);
        if (w.ids) keyLoadedTasks(w.ids, node, loaded.node.tasks ?? []);
        run = { tasks: loaded.node.tasks ?? [], ref: loaded.node.ref };
      } catch (e) {
        for (const h of g.hosts) w.failed(ctx, h, node.name ?? `include_role ${g.name}`, 'include_role', e);
        continue;
      }
    }
    const ginh = g.item ? { ...rinh, vars: [...rinh.vars, { [g.item.key]: g.item.value }], scope: `${rinh.scope ?? ''}${g.item.scope}` } : rinh;
    await walkNodes(w, ctx, run.tasks, g.hosts, { ...ginh, role: run.ref });
  }
}
