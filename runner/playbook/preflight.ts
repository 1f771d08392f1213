// Finds undefined template variables before any host is contacted: every variable a task's arguments
// read must be one some layer defines for every host the task runs on (inventory, play vars,
// vars_files, block/task vars, extra vars, magic, loop vars, register:, set:) — unless the read is
// guarded: `x | default(…)`, `x is defined`, or a `when: x is defined` on the task or an enclosing block.
// Also: a host named literally by `delegate_to` or by a module's host parameters (`src_host`,
// `dest_host`) must be in the inventory.
import { resolve } from 'node:path';
import { ValidationError, type Loc, type Problem } from '../errors.js';
import { ANSIBLE_VALUE_OPTIONS, definedWhenTrue, hasTemplateSyntax, parseTemplate, templateVariables } from '../expr/index.js';
import { didYouMean } from '../suggest.js';
import { loadYamlFile, locOf } from '../yaml-source.js';
import type { Node, Play, Playbook } from './model.js';

const MAGIC = new Set([
  'inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'hostvars', 'play_hosts', 'ansible_play_hosts',
  'ansible_check_mode', 'ferry_check_mode', 'ansible_facts', 'ferry_facts', 'ansible_loop', 'this', 'playbook_dir', 'omit',
]);

/** The variables a value reads without a guard (`{{ a.b }}` → a; not `{{ a | default(1) }}`), given names proven defined. */
export function unguardedReads(value: string, proven: ReadonlySet<string> = new Set()): string[] {
  if (!hasTemplateSyntax(value)) return [];
  try {
    return [...new Set(templateVariables(parseTemplate(value, ANSIBLE_VALUE_OPTIONS), proven).filter((u) => !u.guarded).map((u) => u.name))];
  } catch {
    return []; // syntax is reported by the loader
  }
}

function walkStrings(v: unknown, loc: Loc, visit: (s: string, loc: Loc) => void): void {
  if (typeof v === 'string') visit(v, loc);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, locOf(v, i) ?? loc, visit));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walkStrings(x, locOf(v, k) ?? loc, visit);
}

function producedNames(nodes: Node[], out: Set<string>): void {
  for (const n of nodes) {
    if (n.kind === 'task') {
      if (n.register) out.add(n.register);
      if (n.module === 'set') for (const k of Object.keys(n.args)) out.add(k);
    } else if (n.kind === 'block') [n.block, n.rescue, n.always].forEach((l) => producedNames(l, out));
    else if (n.kind === 'include' && n.tasks) producedNames(n.tasks, out);
  }
}

/** What checking the hosts a task names needs: the inventory, and which module parameters name hosts. */
export interface HostCheck {
  /** Whether the inventory has the host (the implicit localhost included). */
  has(name: string): boolean;
  /** The inventory's host names, for "did you mean". */
  names: readonly string[];
  /** The module's parameters that name another inventory host (TaskModule.hostParams). */
  hostParams(module: string): readonly string[];
}

/** Problems for hosts a task names literally (delegate_to, a module's host parameters) that the inventory does not have. */
function unknownHostProblems(task: Node & { kind: 'task' }, inventory: HostCheck): Problem[] {
  const named: { name: string; what: string; loc: Loc }[] = [];
  if (task.delegateTo !== undefined) named.push({ name: task.delegateTo, what: 'delegate_to', loc: task.loc });
  for (const k of inventory.hostParams(task.module)) {
    const v = task.args[k];
    if (typeof v === 'string') named.push({ name: v, what: k, loc: locOf(task.args, k) ?? task.loc });
  }
  return named
    .filter((n) => !n.name.includes('{{') && !inventory.has(n.name))
    .map((n) => ({
      loc: n.loc,
      message: `${n.what}: '${n.name}' is not a host of the inventory`,
      hint: didYouMean(n.name, inventory.names, 'add it to the inventory (ferry contacts only inventory hosts)'),
    }));
}

/** Checks every play for undefined variables and unknown hosts; throws one ValidationError listing them all. */
export function preflight(
  pb: Playbook,
  hostsOf: (play: Play) => string[],
  hostVars: (host: string) => Record<string, unknown>,
  extraVars: Record<string, unknown>,
  hostCheck?: HostCheck,
): void {
  const problems: Problem[] = [];
  const produced = new Set<string>();
  for (const play of pb.plays) producedNames([...play.tasks, ...play.handlers], produced);
  for (const play of pb.plays) {
    const hosts = hostsOf(play);
    const playKnown = new Set([...Object.keys(play.vars), ...Object.keys(extraVars), ...produced, ...MAGIC]);
    for (const f of play.varsFiles) {
      try {
        const d = loadYamlFile(resolve(play.baseDir, f), f);
        if (d && typeof d === 'object') for (const k of Object.keys(d)) playKnown.add(k);
      } catch (e) {
        if (e instanceof ValidationError) problems.push(...e.problems);
        else throw e;
      }
    }
    const seen = new Set<string>();
    const check = (nodes: Node[], scope: Set<string>, guarded: ReadonlySet<string>): void => {
      for (const n of nodes) {
        const here = new Set([...scope, ...Object.keys(n.vars)]);
        // `when: x is defined` on this node (or an enclosing block) guards its reads of x.
        const proven = new Set([...guarded, ...n.when.flatMap((c) => [...definedWhenTrue(c.expr)])]);
        if (n.kind === 'block') {
          [n.block, n.rescue, n.always].forEach((l) => check(l, here, proven));
          continue;
        }
        if (n.kind === 'include') {
          if (n.tasks) check(n.tasks, here, proven);
          continue;
        }
        if (n.kind !== 'task') continue;
        if (hostCheck) problems.push(...unknownHostProblems(n, hostCheck));
        here.add(n.loopControl.loopVar);
        walkStrings(n.args, locOf(n.args) ?? n.loc, (s, loc) => {
          for (const head of unguardedReads(s, proven)) {
            if (here.has(head)) continue;
            const missing = hosts.filter((h) => !(head in hostVars(h)));
            if (!missing.length) continue;
            const key = `${loc.file}:${loc.line}:${head}`;
            if (seen.has(key)) continue;
            seen.add(key);
            problems.push({
              loc,
              message: `undefined variable '${head}'${missing.length < hosts.length ? ` for host${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}` : ''}`,
              hint: `define it (inventory, play vars, -e ${head}=...), give a default ({{ ${head} | default(...) }}) or guard the task with 'when: ${head} is defined'`,
            });
          }
        });
      }
    };
    check([...play.tasks, ...play.handlers], playKnown, new Set());
  }
  if (problems.length) throw new ValidationError(problems);
}
