// The library API that the CLI is a thin layer over: run a playbook, run one module ad hoc,
// gather facts. A TypeScript script can use these without YAML.
import { resolve } from 'node:path';
import { builtinModules } from '../tasks/index.js';
import { transportFactory } from './connections.js';
import { Engine, type RunSummary } from './engine.js';
import { ValidationError } from './errors.js';
import type { Reporter } from './events.js';
import { factsCommand, parseFacts } from './facts/index.js';
import { loadInventory } from './inventory/index.js';
import { inventoryView } from './inventory-view.js';
import type { ModuleRegistry } from './module.js';
import { parseKeyValueArgs, loadPlaybook } from './playbook/load.js';
import type { Play, Playbook, TaskNode } from './playbook/model.js';
import { checkParams } from './playbook/params.js';
import { preflight } from './playbook/preflight.js';
import type { SecretValues } from './secrets.js';
import { isTemplated } from './template.js';
import type { InFlight } from './transport/in-flight.js';
import { parseYaml } from './yaml-source.js';

/** Options shared by run, exec and facts. */
export interface CommonRunOptions {
  inventory: string[];
  check?: boolean;
  diff?: boolean;
  limit?: string;
  extraVars?: Record<string, unknown>;
  forks?: number;
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
  resume?: boolean;
  acceptNewHosts?: boolean;
  forceHandlers?: boolean;
  sshConfigFile?: string | false;
  reporter?: Reporter;
  modules?: ModuleRegistry;
  stateDir?: string;
  /** The run's secret values (masked in every output); add to it what else is secret (vault, prompts). */
  secrets?: SecretValues;
  /** Aborting it interrupts the run (see EngineOptions.signal): the CLI wires SIGINT and SIGTERM to it. */
  signal?: AbortSignal;
  /** Where the run records the commands it started and has not seen end (what may still run). */
  inFlight?: InFlight;
  /** After an interrupt: how long a running task may take to stop (default 10 s). */
  stopGraceMs?: number;
  /** After an interrupt: how long always: blocks may take in all (default 60 s). */
  cleanupTimeoutMs?: number;
}

function engineFor(o: CommonRunOptions, key: string): { engine: Engine; inv: ReturnType<typeof inventoryView> } {
  const inv = inventoryView(loadInventory(o.inventory));
  if (o.limit) inv.resolve(o.limit);
  const engine = new Engine({
    inventory: inv,
    modules: o.modules ?? builtinModules(),
    transports: transportFactory({ acceptNewHosts: o.acceptNewHosts, sshConfigFile: o.sshConfigFile }),
    check: o.check,
    diff: o.diff,
    forks: o.forks,
    limit: o.limit,
    extraVars: o.extraVars,
    tags: o.tags,
    skipTags: o.skipTags,
    startAtTask: o.startAtTask,
    forceHandlers: o.forceHandlers,
    reporter: o.reporter,
    resume: o.resume,
    stateDir: o.stateDir,
    runKey: key,
    secrets: o.secrets,
    signal: o.signal,
    inFlight: o.inFlight,
    stopGraceMs: o.stopGraceMs,
    cleanupTimeoutMs: o.cleanupTimeoutMs,
  });
  return { engine, inv };
}

/** Loads and runs a playbook file: all input is validated before any host is contacted. */
export async function runPlaybookFile(path: string, o: CommonRunOptions): Promise<RunSummary> {
  const modules = o.modules ?? builtinModules();
  const pb = loadPlaybook(path, modules);
  const { engine, inv } = engineFor({ ...o, modules }, `${resolve(path)}|${o.inventory.map((i) => resolve(i)).join(',')}`);
  const hostsOf = (play: Play): string[] => (isTemplated(play.hosts) ? [] : inv.resolve(play.hosts));
  preflight(pb, hostsOf, (h) => inv.hostVars(h), o.extraVars ?? {}, {
    has: (h) => inv.has(h),
    names: inv.hostNames(),
    hostParams: (m) => modules.get(m)?.hostParams ?? [],
  });
  return engine.run(pb);
}

/** Runs a loaded playbook (library use). */
export async function runPlaybook(pb: Playbook, o: CommonRunOptions): Promise<RunSummary> {
  const { engine } = engineFor(o, pb.file);
  return engine.run(pb);
}

/** Parses `-a` for a module: free form, key=value pairs, or a YAML/JSON mapping. */
export function parseAdhocArgs(moduleName: string, freeForm: string | undefined, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  const t = text.trim();
  if (t.startsWith('{')) {
    const v = parseYaml(t, '<-a>');
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  }
  const kv = parseKeyValueArgs(t);
  if (freeForm) {
    // Ansible's command/shell: key=value words that are module options are taken out, the rest is the command.
    if (kv && Object.keys(kv).every((k) => k !== freeForm && ['creates', 'removes', 'chdir'].includes(k))) return kv;
    return { [freeForm]: t };
  }
  if (kv) return kv;
  throw new ValidationError([{ message: `-a for module '${moduleName}' must be key=value pairs or a mapping`, hint: `e.g. -a 'path=/tmp/x state=directory'` }]);
}

/** Checks a module call given outside a playbook and wraps it as a one-task play (ad hoc, library use). */
export function singleModulePlay(
  modules: ModuleRegistry,
  pattern: string,
  moduleName: string,
  args: Record<string, unknown>,
  o: { become?: boolean; name?: string; register?: string },
): Playbook {
  const mod = modules.get(moduleName);
  if (!mod) throw new ValidationError([{ message: `unknown module '${moduleName}'`, hint: `'ferry doc' lists the modules` }]);
  const loc = { file: '<command line>', line: 1 };
  const problems = checkParams(mod, args, loc);
  if (problems.length) throw new ValidationError(problems);
  const task: TaskNode = {
    kind: 'task', id: 'adhoc', module: moduleName, args, loc, when: [], tags: [], vars: {}, notify: [], listen: [],
    loopControl: { loopVar: 'item' }, failedWhen: [], changedWhen: [], name: o.name ?? moduleName, register: o.register,
  };
  const play: Play = {
    index: 0, name: `ad hoc: ${moduleName}`, hosts: pattern, loc, vars: {}, varsFiles: [], become: o.become, gatherFacts: false,
    strategy: 'linear', anyErrorsFatal: false, tags: [], tasks: [task], handlers: [], baseDir: process.cwd(),
  };
  return { file: `<${moduleName}>`, plays: [play] };
}

/** Runs one module on the hosts matching a pattern (`ferry exec`). */
export async function runAdhoc(pattern: string, moduleName: string, argText: string | undefined, o: CommonRunOptions & { become?: boolean }): Promise<RunSummary> {
  const modules = o.modules ?? builtinModules();
  const freeForm = modules.get(moduleName)?.freeForm;
  const args = parseAdhocArgs(moduleName, freeForm, argText);
  const pb = singleModulePlay(modules, pattern, moduleName, args, { become: o.become, name: `${moduleName}${argText ? ` ${argText}` : ''}` });
  const { engine, inv } = engineFor({ ...o, modules, stateDir: o.stateDir ?? resolve('.ferry/adhoc') }, `adhoc|${pattern}|${moduleName}`);
  inv.resolve(pattern);
  return engine.run(pb);
}

/** Gathers facts on the hosts matching a pattern (`ferry facts`). */
export async function gatherFactsFor(pattern: string, o: CommonRunOptions): Promise<{ facts: Record<string, unknown>; exitCode: number }> {
  const inv = inventoryView(loadInventory(o.inventory));
  let hosts = inv.resolve(pattern);
  if (o.limit) {
    const allowed = new Set(inv.resolve(o.limit));
    hosts = hosts.filter((h) => allowed.has(h));
  }
  const factory = transportFactory({ acceptNewHosts: o.acceptNewHosts, sshConfigFile: o.sshConfigFile });
  const facts: Record<string, unknown> = {};
  let exitCode = 0;
  await Promise.all(
    hosts.map(async (h) => {
      const t = factory(h, inv.hostVars(h));
      try {
        await t.connect();
        const r = await t.run(factsCommand());
        facts[h] = parseFacts(r.stdout);
      } catch (e) {
        facts[h] = { unreachable: true, msg: (e as Error).message };
        exitCode = 3;
      } finally {
        await t.close();
      }
    }),
  );
  return { facts, exitCode };
}
