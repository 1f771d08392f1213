// Finds undefined template variables before any host is contacted: every variable a task's arguments
// read must be one some layer defines for every host the task runs on (inventory, play vars,
// vars_files, block/task vars, extra vars, magic, loop vars, register:, set:) — unless the read is
// guarded: `x | default(…)`, `x is defined`, or a `when: x is defined` on the task or an enclosing block.
// Also: a host named literally by `delegate_to` or by a module's host parameters (`src_host`,
// `dest_host`) must be in the inventory.
import { ValidationError, formatLoc, type Loc, type Problem } from '../errors.js';
import { ANSIBLE_VALUE_OPTIONS, definedWhenTrue, exprVariables, hasTemplateSyntax, parseTemplate, templateVariables, type VarUse } from '../expr/index.js';
import { isTemplated, singleVariable } from '../template.js';
import { didYouMean } from '../suggest.js';
import { FACT_VARIABLES } from '../facts/index.js';
import { MAGIC_VARS } from '../vars.js';
import { locOf } from '../yaml-source.js';
import type { Node, Play, Playbook, ResourceLimit } from './model.js';


/** The reads of variables a value makes without a guard (`{{ a.b }}` → a; not `{{ a | default(1) }}`), given names proven defined. */
function unguardedUses(value: string, proven: ReadonlySet<string>): VarUse[] {
  if (!hasTemplateSyntax(value)) return [];
  try {
    return templateVariables(parseTemplate(value, ANSIBLE_VALUE_OPTIONS), proven).filter((u) => !u.guarded);
  } catch {
    return []; // syntax is reported by the loader
  }
}

function walkStrings(v: unknown, loc: Loc, visit: (s: string, loc: Loc) => void): void {
  if (typeof v === 'string') visit(v, loc);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, locOf(v, i) ?? loc, visit));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walkStrings(x, locOf(v, k) ?? loc, visit);
}

/**
 * Names tasks set at run time (register:, set, include_vars); false when an include_vars whose file
 * is known only at run time may set any name.
 */
function producedNames(nodes: Node[], out: Set<string>): boolean {
  let known = true;
  for (const n of nodes) {
    if (n.kind === 'task') {
      if (n.register) out.add(n.register);
      if (n.module === 'set') for (const k of Object.keys(n.args)) out.add(k);
      if (n.module === 'setup') FACT_VARIABLES.forEach((k) => out.add(k));
      if (n.module === 'include_vars') {
        if (n.provides) n.provides.forEach((k) => out.add(k));
        else known = false;
      }
    } else if (n.kind === 'block') known = [n.block, n.rescue, n.always].map((l) => producedNames(l, out)).every(Boolean) && known;
    else if ((n.kind === 'include' || n.kind === 'role') && n.tasks) known = producedNames(n.tasks, out) && known;
    else if (n.kind === 'role') known = false;
  }
  return known;
}

const FACT_HINT = 'facts are set only when they are gathered: set gather_facts: true (or run setup), or guard it with \'is defined\'';

/**
 * A fact a `when:` reads in a play that does not gather facts (and no setup task sets them): the
 * condition fails on every host at run time. Other names in conditions are checked at run time.
 */
function factConditionProblems(n: Node, known: ReadonlySet<string>, guarded: ReadonlySet<string>, hosts: string[], hostVars: (host: string) => Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  const proven = new Set(guarded);
  for (const c of n.when) {
    for (const use of exprVariables(c.expr, proven)) {
      if (use.guarded || !FACT_VARIABLES.includes(use.name) || known.has(use.name) || hosts.every((h) => use.name in hostVars(h))) continue;
      out.push({ loc: c.loc, message: `when: undefined variable '${use.name}' (this play does not gather facts)`, hint: FACT_HINT });
    }
    definedWhenTrue(c.expr).forEach((v) => proven.add(v));
  }
  return out;
}

/** Variables known at load time, and where they were set (for messages). */
interface Layer {
  what: string;
  vars: Record<string, unknown>;
}

/** What decides whether a variable's value is known before the run: the layers above and below the task's own. */
interface VarSource {
  extra: Record<string, unknown>;
  /** Names a task may set at run time (register:, set): their value is not known now. */
  produced: ReadonlySet<string>;
  hosts: string[];
  hostVars: (host: string) => Record<string, unknown>;
}

/** What a value known now is, for a loop: undefined when it is a list or may render to one (a template). */
function notAList(v: unknown): string | undefined {
  if (Array.isArray(v) || v === undefined) return undefined;
  if (typeof v === 'string') return isTemplated(v) ? undefined : `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)}`;
  if (v === null) return 'empty';
  if (typeof v === 'object') return 'a mapping';
  return `the ${typeof v} ${String(v)}`;
}

/**
 * A loop over `{{ name }}` whose value is known now and is not a list (a string, a mapping, a
 * number) fails on every host: report it before any host is contacted, with where the value was set.
 */
function loopProblem(loop: unknown, loc: Loc, layers: Layer[], src: VarSource): Problem | undefined {
  if (typeof loop !== 'string') return undefined;
  const name = singleVariable(loop);
  if (!name) return undefined;
  let value: unknown;
  let from: string;
  if (Object.prototype.hasOwnProperty.call(src.extra, name)) {
    value = src.extra[name];
    from = `-e ${name}`;
  } else if (src.produced.has(name) || MAGIC_VARS.has(name)) return undefined;
  else {
    const layer = layers.find((l) => Object.prototype.hasOwnProperty.call(l.vars, name));
    if (layer) {
      value = layer.vars[name];
      const where = locOf(layer.vars, name);
      from = `${layer.what}${where ? ` at ${formatLoc(where)}` : ''}`;
    } else {
      // Only the inventory is left: known when no host of the play has a list (or a template) there.
      if (!src.hosts.length || src.hosts.some((h) => notAList(src.hostVars(h)[name]) === undefined)) return undefined;
      value = src.hostVars(src.hosts[0]!)[name];
      from = `the inventory${src.hosts.length > 1 ? ` (and on all ${src.hosts.length} hosts of the play)` : ''}`;
    }
  }
  const what = notAList(value);
  if (!what) return undefined;
  return {
    loc,
    message: `loop: ${loop} is ${what} (set in ${from}), not a list`,
    hint: `make ${name} a YAML list (one "- item" per line)`,
  };
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

/** A `delegate_to` and the node (task or enclosing block) that sets it. */
interface Delegate {
  name: string;
  loc: Loc;
}

/** Problems for hosts a task names literally (delegate_to, its own or its block's; a module's host parameters) that the inventory does not have. */
function unknownHostProblems(task: Node & { kind: 'task' }, delegate: Delegate | undefined, inventory: HostCheck): Problem[] {
  const named: { name: string; what: string; loc: Loc }[] = [];
  if (delegate !== undefined) named.push({ name: delegate.name, what: 'delegate_to', loc: delegate.loc });
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
  // An include_vars of a file named by a template, or a role named by one, may define anything: undefined names are then found at run time.
  let namesKnown = true;
  for (const play of pb.plays) namesKnown = producedNames([...play.tasks, ...play.handlers], produced) && namesKnown;
  for (const play of pb.plays) {
    let hosts: string[] = [];
    try {
      hosts = hostsOf(play);
    } catch (e) {
      // A pattern that matches nothing: reported at the play, with the other plays' problems.
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems.map((p) => ({ ...p, loc: p.loc ?? play.loc })));
    }
    const playKnown = new Set([
      ...(play.gatherFacts ? FACT_VARIABLES : []),
      ...Object.keys(play.vars), ...Object.keys(extraVars), ...produced, ...MAGIC_VARS, ...Object.keys(play.varsFromFiles),
      ...Object.keys(play.roleDefaults ?? {}), ...Object.keys(play.roleVars ?? {}), ...(play.varsPrompt ?? []).map((p) => p.name),
    ]);
    const seen = new Set<string>();
    const values: VarSource = { extra: extraVars, produced, hosts, hostVars };
    // `layers`: the variables a node sees that are known now, highest precedence first;
    // `guarded`: names a `when: x is defined` on this node or an enclosing block proves defined.
    const check = (nodes: Node[], scope: Set<string>, layers: Layer[], guarded: ReadonlySet<string>, outer?: Delegate, outerLimits: ResourceLimit[] = []): void => {
      for (const n of nodes) {
        // A role's tasks and handlers see its defaults and vars (and its dependencies').
        const role = n.kind === 'role' ? n.ref : n.kind === 'task' || n.kind === 'include' ? n.role : undefined;
        const here = new Set([...scope, ...Object.keys(n.vars), ...(role ? [...Object.keys(role.defaults), ...Object.keys(role.vars)] : [])]);
        const inner = [
          ...(Object.keys(n.vars).length ? [{ what: 'vars', vars: n.vars }] : []),
          ...(role ? [{ what: `role ${role.name} vars`, vars: role.vars }] : []),
          ...layers,
          ...(role ? [{ what: `role ${role.name} defaults`, vars: role.defaults }] : []),
        ];
        const delegate = n.delegateTo !== undefined ? { name: n.delegateTo, loc: n.loc } : outer;
        if (namesKnown) problems.push(...factConditionProblems(n, here, guarded, hosts, hostVars));
        const proven = new Set([...guarded, ...n.when.flatMap((c) => [...definedWhenTrue(c.expr)])]);
        const limits = [...outerLimits, ...(n.limits ?? [])];
        if (n.kind === 'block') {
          [n.block, n.rescue, n.always].forEach((l) => check(l, here, inner, proven, delegate, limits));
          continue;
        }
        if (n.kind === 'include') {
          const p = loopProblem(n.loop, n.loc, inner, values);
          if (p) problems.push(p);
          if (n.tasks) check(n.tasks, here, inner, proven, delegate, limits);
          continue;
        }
        if (n.kind === 'role') {
          const p = loopProblem(n.loop, n.loc, inner, values);
          if (p) problems.push(p);
          if (n.loopControl) here.add(n.loopControl.loopVar);
          if (n.tasks) check(n.tasks, here, inner, proven, delegate, limits);
          continue;
        }
        if (n.kind !== 'task') continue;
        const p = loopProblem(n.loop, n.loc, inner, values);
        if (p) problems.push(p);
        if (hostCheck) {
          // A block's delegate_to is reported once, at the block, however many tasks it holds.
          for (const q of unknownHostProblems(n, delegate, hostCheck)) {
            const key = `${formatLoc(q.loc)}:${q.message}`;
            if (!seen.has(key)) problems.push(q);
            seen.add(key);
          }
        }
        here.add(n.loopControl.loopVar);
        // Defined for the host before the task runs: a name it has, or one every host has that no task sets.
        const definedFor = (h: string, name: string): boolean => name in hostVars(h) || (here.has(name) && !produced.has(name));
        // its parameters, and the resource keys and numbers of its `limits` (a block's are checked at each of its tasks)
        const limitStrings = limits.flatMap((l) => [l.key, l.max].map((s) => ({ s, loc: l.loc ?? n.loc })));
        const visit = (s: string, loc: Loc): void => {
          for (const use of unguardedUses(s, proven)) {
            const head = use.name;
            if (here.has(head) || !namesKnown) continue;
            // a read in a branch the host never takes (`x if y is defined else z` where y is defined) is not one
            const missing = hosts.filter((h) => !(head in hostVars(h)) && !use.deadIf?.some((names) => names.every((v) => definedFor(h, v))));
            if (!missing.length) continue;
            const key = `${loc.file}:${loc.line}:${head}`;
            if (seen.has(key)) continue;
            seen.add(key);
            problems.push({
              loc,
              message: `undefined variable '${head}'${missing.length < hosts.length ? ` for host${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}` : ''}`,
              hint: head.startsWith('ansible_') && !play.gatherFacts
                ? `'${head}' looks like a fact, and this play does not gather facts: set gather_facts: true (or run setup), or define it yourself`
                : head.startsWith('ansible_') && !MAGIC_VARS.has(head)
                  ? `'${head}' is not one of the facts ferry gathers ('ferry doc setup' lists them): define it (inventory, play vars, -e ${head}=...) or give a default ({{ ${head} | default(...) }})`
                  : `define it (inventory, play vars, -e ${head}=...), give a default ({{ ${head} | default(...) }}) or guard the task with 'when: ${head} is defined'`,
            });
          }
        };
        walkStrings(n.args, locOf(n.args) ?? n.loc, visit);
        for (const { s, loc } of limitStrings) if (typeof s === 'string') visit(s, loc);
      }
    };
    const playLayers: Layer[] = [
      { what: 'role vars', vars: play.roleVars ?? {} },
      { what: 'vars_files', vars: play.varsFromFiles },
      { what: 'play vars', vars: play.vars },
      { what: 'role defaults', vars: play.roleDefaults ?? {} },
    ];
    check([...play.tasks, ...play.handlers], playKnown, playLayers, new Set());
  }
  if (problems.length) throw new ValidationError(problems);
}
