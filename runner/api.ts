// The library API that the CLI is a thin layer over: run a playbook, run one module ad hoc,
// gather facts. Every function is given the modules and the fact tools to work with (RunParts):
// runner/ knows no module; app/api.ts binds ferry's own, for the CLI and TypeScript scripts.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { makePrivateDir } from './state.js';
import type { FerryConfig } from './config.js';
import { connectionVarsFor, transportFactory, type ConnectionOptions } from './connections.js';
import { connectionVarsOf } from './inventory/connection.js';
import { Engine, type EngineOptions, type RunSummary } from './engine.js';
import { EXIT_UNREACHABLE, FerryError, RunStoppedError, ValidationError, type Problem } from './errors.js';
import type { Reporter } from './events.js';
import { COMMAND_LINE, knownModule, taskCallPlaybook, taskCallTask, type HostTaskOutcome, type TaskCall } from './execute-task.js';
import { connectionOf, loadInventory, type Inventory } from './inventory/index.js';
import { inventoryView } from './inventory-view.js';
import { ModuleRegistry, withModulesLoaded, type TaskModule } from './module.js';
import { parseArgString } from './playbook/free-form.js';
import { loadPlaybook } from './playbook/load.js';
import { formatListing } from './playbook/listing.js';
import { loadedTasks, taskDisplayName, type Node, type Play, type Playbook } from './playbook/model.js';
import { preflight } from './playbook/preflight.js';
import { answerVarsPrompts, type PromptIo } from './playbook/vars-prompt.js';
import type { SecretValues } from './secrets.js';
import { VaultKeys } from './vault/keys.js';
import { isTemplated, renderString } from './template.js';
import type { InFlight } from './transport/in-flight.js';
import { resolveVarTemplates } from './vars.js';
import { didYouMean } from './suggest.js';
import { parseYaml } from './yaml-source.js';

/** Options shared by run, exec and facts. */
export interface CommonRunOptions {
  inventory: string[];
  check?: boolean;
  diff?: boolean;
  limit?: string;
  /** How the command line gave the limit, for messages (default `--limit PATTERN`; `ferry migrate` names its guests). */
  limitLabel?: string;
  /** Inventory hosts the command line names besides the limit, by the option that named each (`ferry migrate --to`): each must be in the inventory, checked with it before any host is contacted. */
  namedHosts?: Record<string, string>;
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
  stateDir?: string;
  /** The run's secret values (masked in every output); add to it what else is secret (vault, prompts). */
  secrets?: SecretValues;
  /** The vault passwords that open vault-encrypted files and `!vault` values (what they decrypt is secret). */
  vault?: VaultKeys;
  /** Aborting it interrupts the run (see EngineOptions.signal): the CLI wires SIGINT and SIGTERM to it. */
  signal?: AbortSignal;
  /** Where the run records the commands it started and has not seen end (what may still run). */
  inFlight?: InFlight;
  /** After an interrupt: how long a running task may take to stop (default 10 s). */
  stopGraceMs?: number;
  /** After an interrupt: how long always: blocks may take in all (default 60 s). */
  cleanupTimeoutMs?: number;
  /** Folders searched for roles after roles/ beside the playbook and its folder (default: ANSIBLE_ROLES_PATH). */
  rolesPath?: string[];
  /**
   * Connection and become variables below the inventory's (`ferry_user`, `ferry_private_key_file`,
   * `ferry_password`, `ferry_become`, `ferry_become_user`, `ferry_become_password`): what -u,
   * --private-key, -k, -b, --become-user, -K and ansible.cfg give. `-e` connection variables win over all.
   */
  connectionDefaults?: Record<string, unknown>;
  /** The ansible.cfg that was read (its roles_path and vault_password_file, for what needs them). */
  config?: FerryConfig;
  /** --step: asked before each task (see EngineOptions.step). */
  step?: EngineOptions['step'];
  /** Report each command as it starts (-vvv). */
  commandEvents?: boolean;
  /** How many -v were given (debug's `verbosity`). */
  verbosity?: number;
  /**
   * How plays' vars_prompt questions are answered (the CLI's terminal). Without `ask` (no terminal,
   * library use) each prompt's default is taken, and one without a default is bad input.
   */
  varsPrompt?: PromptIo;
}

/** What a run works with, that runner/ does not choose: the modules its tasks may name, and the tools its facts look for. */
export interface RunParts {
  modules: ModuleRegistry;
  /** The tools whose presence gathered facts report (ferry_facts.tools). */
  factTools: readonly string[];
}

/** The options of a run with what it works with. */
export type RunnerOptions = CommonRunOptions & RunParts;

/** The connection options of a run: the command line's defaults under, and -e over, the inventory's variables. */
function connectionOptions(o: CommonRunOptions): ConnectionOptions {
  return {
    acceptNewHosts: o.acceptNewHosts,
    sshConfigFile: o.sshConfigFile,
    defaults: o.connectionDefaults,
    overrides: connectionVarsOf(o.extraVars ?? {}),
  };
}

/** An engine for a run, and whether it has made a transport yet (after that, a host may have been contacted). */
interface PreparedRun {
  engine: Engine;
  inv: ReturnType<typeof inventoryView>;
  contacted: () => boolean;
}

/**
 * The run's vault passwords, adding what they decrypt to the run's secrets (one set of secret values
 * for the loaders and the engine, whichever of the two options the caller gave).
 */
function vaultOf(o: CommonRunOptions): VaultKeys {
  if (o.vault && (!o.secrets || o.vault.secrets === o.secrets)) return o.vault;
  return new VaultKeys(o.vault?.passwords ?? [], o.secrets);
}

function engineFor(o: RunnerOptions, key: string): PreparedRun {
  const vault = vaultOf(o);
  const loaded = loadInventory(o.inventory, vault);
  const inv = inventoryView(loaded);
  if (o.limit) resolveOption(inv, limitLabel(o), o.limit);
  checkNamedHosts(inv.hostNames(), o.namedHosts ?? {});
  const conn = connectionOptions(o);
  checkConnections(loaded, inv, conn);
  const base = transportFactory(conn);
  let contacted = false;
  const engine = new Engine({
    inventory: inv,
    modules: o.modules,
    factTools: o.factTools,
    transports: (host, vars) => {
      contacted = true;
      return base(host, vars);
    },
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
    secrets: vault.secrets,
    vault,
    signal: o.signal,
    inFlight: o.inFlight,
    stopGraceMs: o.stopGraceMs,
    cleanupTimeoutMs: o.cleanupTimeoutMs,
    connectionDefaults: o.connectionDefaults,
    step: o.step,
    commandEvents: o.commandEvents,
    verbosity: o.verbosity,
  });
  return { engine, inv, contacted: () => contacted };
}

/** The hosts of a pattern given on the command line; a problem names the option it came from. */
function resolveOption(inv: ReturnType<typeof inventoryView>, label: string, pattern: string): string[] {
  try {
    return inv.resolve(pattern);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(e.problems.map((p) => ({ ...p, loc: p.loc ?? COMMAND_LINE, message: `${label}: ${p.message}` })));
  }
}

/** The limit as the command line gave it, for messages. */
const limitLabel = (o: CommonRunOptions): string => o.limitLabel ?? `--limit ${o.limit}`;

/** Every host the command line names (`--to HOST`) must be one of the inventory's. */
function checkNamedHosts(known: readonly string[], named: Record<string, string>): void {
  const problems: Problem[] = Object.entries(named).filter(([, host]) => !known.includes(host)).map(([option, host]) => ({
    loc: COMMAND_LINE,
    message: `${option} ${host}: the inventory has no host of that name`,
    hint: didYouMean(host, known, 'name the host as the inventory does (ferry inventory --list shows them)'),
  }));
  if (problems.length) throw new ValidationError(problems);
}

/**
 * Every inventory host's connection variables (port, connection, become, address) checked before
 * the first connection: a bad one is bad input naming the file:line that sets it, not an
 * unreachable host found in the middle of a run.
 */
function checkConnections(loaded: Inventory, inv: ReturnType<typeof inventoryView>, conn: ConnectionOptions): void {
  const problems: Problem[] = [];
  const fromCommandLine = new Set([...Object.keys(conn.defaults ?? {}), ...Object.keys(conn.overrides ?? {})]);
  for (const h of inv.hostNames()) {
    const vars = connectionVarsFor(inv.hostVars(h), conn);
    try {
      connectionOf(vars, (v) => (conn.overrides?.[v] !== undefined || (fromCommandLine.has(v) && vars[v] !== inv.hostVars(h)[v]) ? COMMAND_LINE : loaded.varLocOf(h, v)));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new ValidationError(problems);
}

/** The run state for --resume is written from the first task on: a directory it cannot be written to is found now. */
function checkStateDir(dir: string): void {
  try {
    makePrivateDir(dir); // as RunState makes it: the state names hosts and commands
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new ValidationError([
      { message: `cannot write the run state (kept for --resume) in ${dir}: ${(e as Error).message}`, hint: 'run ferry from a directory it can write to' },
    ]);
  }
}

/**
 * A play's `hosts` written as a template (`hosts: "{{ target }}"`) is rendered now, with the play's
 * vars and the extra vars, so that its hosts are known (and checked) before any host is contacted.
 */
function renderPlayHosts(pb: Playbook, extraVars: Record<string, unknown>): void {
  const problems: Problem[] = [];
  for (const play of pb.plays) {
    if (!isTemplated(play.hosts)) continue;
    try {
      const v = renderString(play.hosts, resolveVarTemplates({ ...play.vars, ...play.varsFromFiles, ...extraVars }));
      play.hosts = Array.isArray(v) ? v.join(',') : String(v ?? '');
    } catch (e) {
      if (!(e instanceof FerryError)) throw e;
      problems.push({ loc: play.loc, message: `hosts: ${e.message}`, hint: 'a play\'s hosts may use its vars and extra vars (-e name=value)' });
    }
  }
  if (problems.length) throw new ValidationError(problems);
}

/** Runs the engine; input it finds bad after a host was contacted is not "nothing was run" but a run that stopped. */
async function runPrepared<T>(run: PreparedRun, go: (engine: Engine) => Promise<T>): Promise<T> {
  try {
    return await go(run.engine);
  } catch (e) {
    if (e instanceof ValidationError && run.contacted()) throw new RunStoppedError(e);
    throw e;
  }
}

/** The names --start-at-task can match: every task of the plays, in blocks, imports and roles; undefined when an include is only known at run time. */
function taskNamesOf(nodes: Node[]): string[] | undefined {
  const names: string[] = [];
  for (const e of loadedTasks(nodes)) {
    if (e.kind === 'dynamic') return undefined;
    // a role's task may be named as written or as output shows it, `role : task`
    if (e.node.name !== undefined) names.push(...new Set([e.node.name, taskDisplayName(e.node)]));
  }
  return names;
}

/**
 * What the command line selects must select something, as ansible-playbook insists: a --limit or an
 * inventory that leaves no host, or a --start-at-task that names no task, is bad input.
 */
function checkSelection(pb: Playbook, hostsOf: (play: Play) => string[], o: CommonRunOptions): void {
  const problems: Problem[] = [];
  if (o.startAtTask !== undefined) {
    const names = pb.plays.map((p) => taskNamesOf(p.tasks));
    if (names.every((n) => n !== undefined)) {
      const all = names.flat() as string[];
      if (!all.includes(o.startAtTask)) {
        problems.push({
          loc: COMMAND_LINE,
          message: `--start-at-task ${JSON.stringify(o.startAtTask)}: no task of the playbook has that name`,
          hint: didYouMean(o.startAtTask, all, 'the name must match a task\'s name exactly; --list-tasks lists them'),
        });
      }
    }
  }
  if (!pb.plays.some((p) => hostsOf(p).length > 0)) {
    if (o.limit) {
      problems.push({ loc: COMMAND_LINE, message: `${limitLabel(o)}: leaves no host to run on (no host of the plays' patterns matches it)`, hint: '--list-hosts shows the hosts each play targets' });
    } else if (!o.inventory.length) {
      problems.push({ loc: COMMAND_LINE, message: 'no inventory was given and no host matched the plays', hint: 'give one with -i, ANSIBLE_INVENTORY or inventory = in ansible.cfg' });
    }
  }
  if (problems.length) throw new ValidationError(problems);
}

/**
 * A playbook loaded and checked against its inventory, every host it targets known: nothing contacted yet.
 * The modules it uses are loaded on the way (a lazy registry loads only those).
 */
async function preparePlaybook(
  path: string,
  o: RunnerOptions,
  syntaxOnly = false,
): Promise<{ pb: Playbook; run: PreparedRun; hostsOf: (play: Play) => string[]; stateDir: string; secrets: SecretValues }> {
  const { modules } = o;
  // roles_path from ansible.cfg or ANSIBLE_ROLES_PATH (the config reads both), unless the caller names one
  const rolesPath = o.rolesPath ?? o.config?.rolesPath;
  const vault = vaultOf(o);
  const gatherByDefault = o.config?.gathering !== 'explicit';
  const pb = await withModulesLoaded(modules, (m, sources) => loadPlaybook(path, m, undefined, { vault, gatherByDefault, sources, ...(rolesPath ? { rolesPath } : {}) }));
  const stateDir = o.stateDir ?? resolve('.ferry/runs');
  const run = engineFor({ ...o, stateDir, vault, secrets: vault.secrets }, `${resolve(path)}|${o.inventory.map((i) => resolve(i)).join(',')}`);
  const { inv } = run;
  renderPlayHosts(pb, o.extraVars ?? {});
  // --syntax-check needs no inventory: a pattern that matches nothing is not its business.
  const resolveHosts = (play: Play): string[] => (isTemplated(play.hosts) ? [] : inv.resolve(play.hosts));
  const hostsOf = syntaxOnly ? (play: Play): string[] => { try { return resolveHosts(play); } catch { return []; } } : resolveHosts;
  preflight(pb, hostsOf, (h) => inv.hostVars(h), o.extraVars ?? {}, {
    has: (h) => inv.has(h),
    names: inv.hostNames(),
    hostParams: (m) => modules.get(m)?.hostParams ?? [],
  });
  const limited = o.limit ? new Set(inv.resolve(o.limit)) : undefined;
  const targets = (play: Play): string[] => hostsOf(play).filter((h) => !limited || limited.has(h));
  if (!syntaxOnly) checkSelection(pb, targets, o);
  return { pb, run, hostsOf: targets, stateDir, secrets: vault.secrets };
}

/** Loads and runs a playbook file: all input is validated before any host is contacted. */
export async function runPlaybookFile(path: string, o: RunnerOptions): Promise<RunSummary> {
  const { pb, run, stateDir, secrets } = await preparePlaybook(path, o);
  if (!o.check) checkStateDir(stateDir);
  // asked once everything else is checked, before any host is contacted (check mode asks too, as Ansible)
  await answerVarsPrompts(pb, o.extraVars ?? {}, o.varsPrompt ?? { say: () => undefined }, secrets);
  return runPrepared(run, (e) => e.run(pb));
}

/**
 * What ansible-playbook prints for --list-hosts, --list-tasks, --list-tags (any of them together)
 * or --syntax-check (none of them): the playbook and inventory are loaded and checked, no host is contacted.
 */
export async function describePlaybookFile(path: string, o: RunnerOptions, what: { hosts?: boolean; tasks?: boolean; tags?: boolean }): Promise<string> {
  const { pb, hostsOf } = await preparePlaybook(path, o, !what.hosts && !what.tasks && !what.tags);
  return formatListing(pb, hostsOf, { ...what, onlyTags: o.tags, skipTags: o.skipTags }, path);
}

/** Runs a loaded playbook (library use). */
export async function runPlaybook(pb: Playbook, o: RunnerOptions): Promise<RunSummary> {
  return runPrepared(engineFor(o, pb.file), (e) => e.run(pb));
}

/** Parses `-a` for a module: free form, key=value pairs, or a YAML/JSON mapping. */
export function parseAdhocArgs(mod: TaskModule, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  const t = text.trim();
  if (t.startsWith('{')) {
    const v = parseYaml(t, '<-a>');
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  }
  const parsed = parseArgString(mod, t);
  if ('error' in parsed) throw new ValidationError([{ loc: COMMAND_LINE, message: `-a: ${parsed.error}`, hint: `e.g. -a 'path=/tmp/x state=directory' or -a '{path: /tmp/x}'` }]);
  return parsed.args;
}

/** Checks a module call given outside a playbook and wraps it as a one-task play (ad hoc, library use). */
export function singleModulePlay(
  modules: ModuleRegistry,
  pattern: string,
  moduleName: string,
  args: Record<string, unknown>,
  o: { become?: boolean; name?: string; register?: string },
): Playbook {
  return taskCallPlaybook(modules, pattern, { module: moduleName, args, ...o });
}

/** The one module call of `ferry exec`: the -a text parsed for the module, named as typed (`command uptime`). */
export function adhocCall(modules: ModuleRegistry, moduleName: string, argText: string | undefined, become?: boolean): TaskCall {
  const args = parseAdhocArgs(knownModule(modules, moduleName), argText);
  return { module: moduleName, args, become, name: `${moduleName}${argText ? ` ${argText}` : ''}` };
}

/** An engine for one task on the hosts of a pattern, its run state under .ferry/adhoc (unless the caller names a folder). */
function prepareTaskCall(pattern: string, call: TaskCall, o: RunnerOptions): { run: PreparedRun; stateDir: string } {
  const stateDir = o.stateDir ?? resolve('.ferry/adhoc');
  return { run: engineFor({ ...o, stateDir }, `adhoc|${pattern}|${call.module}`), stateDir };
}

/**
 * Runs one module on the hosts matching a pattern (`ferry exec`) through Engine.executeTask: the call
 * is checked before the inventory is read, a pattern that leaves no host is bad input. Hands back the
 * run's summary with each host's outcome.
 */
export async function runAdhoc(
  pattern: string,
  moduleName: string,
  argText: string | undefined,
  o: RunnerOptions & { become?: boolean },
): Promise<RunSummary & { outcomes: HostTaskOutcome[] }> {
  await o.modules.load([moduleName]);
  const call = adhocCall(o.modules, moduleName, argText, o.become);
  taskCallTask(o.modules, call);
  const { run, stateDir } = prepareTaskCall(pattern, call, o);
  const limited = o.limit ? new Set(run.inv.resolve(o.limit)) : undefined;
  const hosts = resolveOption(run.inv, `the pattern ${pattern}`, pattern).filter((h) => !limited || limited.has(h));
  if (!hosts.length) {
    const why = o.limit ? `the pattern ${pattern} with ${limitLabel(o)}: leaves no host to run on` : `the pattern ${pattern}: no host matched${o.inventory.length ? '' : ' (no inventory was given)'}`;
    throw new ValidationError([{ loc: COMMAND_LINE, message: why, hint: o.inventory.length ? '`ferry inventory --list` shows the hosts and groups' : 'give one with -i, ANSIBLE_INVENTORY or inventory = in ansible.cfg' }]);
  }
  if (!o.check) checkStateDir(stateDir);
  const { outcomes, summary } = await runPrepared(run, (e) => e.executeTask(pattern, call));
  return { ...summary, outcomes };
}

/** Runs one task on the hosts matching a pattern (--limit applied) and hands back each host's outcome (Engine.executeTask). */
export async function executeTaskOn(pattern: string, call: TaskCall, o: RunnerOptions): Promise<{ outcomes: HostTaskOutcome[]; summary: RunSummary }> {
  const { run } = prepareTaskCall(pattern, call, o);
  return runPrepared(run, (e) => e.executeTask(pattern, call));
}

/**
 * Gathers facts on the hosts matching a pattern (`ferry facts`), as a play's gather_facts does
 * (--limit applied, no become, no events: the facts are the output). A host without facts shows
 * `{ unreachable: true, msg }` and makes the exit code 3.
 */
export async function gatherFactsFor(pattern: string, o: CommonRunOptions & Pick<RunParts, 'factTools'>): Promise<{ facts: Record<string, unknown>; exitCode: number }> {
  // the modules are not needed to gather facts
  const run = engineFor({ ...o, modules: new ModuleRegistry(), reporter: undefined }, `facts|${pattern}`);
  resolveOption(run.inv, `the pattern ${pattern}`, pattern);
  const { outcomes } = await runPrepared(run, (e) => e.gatherFactsOn(pattern));
  const facts: Record<string, unknown> = {};
  for (const o of outcomes) facts[o.host] = o.facts ?? { unreachable: true, msg: o.msg };
  return { facts, exitCode: outcomes.every((o) => o.facts) ? 0 : EXIT_UNREACHABLE };
}
