// The commands that run things (run, exec, inventory, facts): loaded by cli.ts only when one of
// them is the command, so that --version, --help and doc start without the engine, ssh2 and listr2.
import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { describePlaybookFile, runAdhoc, runPlaybookFile, gatherFactsFor, type RunnerOptions } from '../runner/api.js';
import { withCliParts } from './cli-parts.js';
import { current, exitCodeFor, secrets } from './cli-session.js';
import { loadConfig, type FerryConfig } from '../runner/config.js';
import { EXIT_USAGE, ValidationError } from '../runner/errors.js';
import type { Reporter } from '../runner/events.js';
import { loadInventory, inventoryToAnsibleList } from '../runner/inventory/index.js';
import { NOT_SECONDS, parseSeconds } from '../runner/inventory/connection.js';
import { ask } from '../runner/prompt.js';
import { JsonReporter, TeeReporter } from '../runner/reporter/json.js';
import { formatLiveCommand } from '../runner/reporter/format.js';
import { PlainReporter } from '../runner/reporter/plain.js';
import { AdhocReporter } from '../runner/reporter/adhoc.js';
import { InFlight } from '../runner/transport/in-flight.js';
import { VaultKeys } from '../runner/vault/keys.js';
import { vaultPasswords, type VaultFlags } from '../runner/vault/passwords.js';
import { parseExtraVarArg } from '../runner/vars.js';
import { loadYamlFile } from '../runner/yaml-source.js';
import { formatMigrationRecap, migrationRecap, MigrationEvents, PHASES } from './migration-recap.js';

/** Options that let a signal stop the run, and tell what runs (for `run` and `exec`). */
function stoppable(): { signal: AbortSignal; inFlight: InFlight } {
  const inFlight = new InFlight();
  current.stop = new AbortController();
  current.live = () => inFlight.list().map(formatLiveCommand);
  return { signal: current.stop.signal, inFlight };
}

/** The exit code of a finished run: a stopped run exits as the signal that stopped it. */
function runExitCode(summary: { exitCode: number; interrupted: boolean }): number {
  return summary.interrupted && current.signal ? exitCodeFor(current.signal) : summary.exitCode;
}

export interface RunFlags extends VaultFlags {
  inventory: string[];
  /** Not a flag: how a front end (ferry migrate) gave the limit, for messages. */
  limitLabel?: string;
  /** Not a flag: inventory hosts a front end names besides the limit (ferry migrate --to), by option. */
  namedHosts?: Record<string, string>;
  /** Not a flag: the tags a front end (ferry migrate) shows as each host's phase in the live view. */
  phases?: readonly string[];
  user?: string;
  privateKey?: string;
  /** -T: seconds to wait for a connection. */
  timeout?: string;
  askPass?: boolean;
  becomeUser?: string;
  askBecomePass?: boolean;
  listHosts?: boolean;
  listTasks?: boolean;
  listTags?: boolean;
  syntaxCheck?: boolean;
  step?: boolean;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  extraVars: string[];
  forks?: string;
  tags?: string;
  skipTags?: string;
  startAtTask?: string;
  resume?: boolean;
  json?: string | boolean;
  acceptNewHosts?: boolean;
  forceHandlers?: boolean;
  verbose: number;
  become?: boolean;
  sshConfig?: string;
  plain?: boolean;
}

async function makeReporter(f: RunFlags, adhoc = false): Promise<Reporter> {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const human = async (): Promise<Reporter> =>
    // ferry exec prints each host as `ansible` does, on a terminal too.
    adhoc ? new AdhocReporter({ color, diff: f.diff, verbosity: f.verbose })
    // A terminal too narrow to draw in (a pty without a size reports 0 columns) gets plain lines;
    // --step asks on the terminal between tasks: plain lines do not fight the prompt.
    // listr2 is loaded only for the terminal view (plain lines, --json and scripts go without it).
    : process.stdout.isTTY && (process.stdout.columns ?? 0) >= 40 && !f.plain && !f.verbose && !f.step
      ? new (await import('../runner/reporter/listr.js')).ListrReporter({ diff: f.diff, phases: f.phases })
      : new PlainReporter({ color, diff: f.diff, verbosity: f.verbose, phases: f.phases });
  if (f.json === true) return new JsonReporter(process.stdout);
  if (typeof f.json === 'string') {
    let file: JsonReporter;
    try {
      file = new JsonReporter(f.json);
    } catch (e) {
      throw new CommanderError(EXIT_USAGE, 'ferry.json', `--json=${f.json}: cannot write there: ${(e as Error).message}`);
    }
    return new TeeReporter([await human(), file]);
  }
  return human();
}

// An explicit --ssh-config that cannot be read would be ignored (as a missing ~/.ssh/config is).
function checkSshConfig(path: string | undefined): void {
  if (path === undefined) return;
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a directory');
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw new CommanderError(EXIT_USAGE, 'ferry.ssh-config', `--ssh-config ${path}: cannot read it: ${(e as Error).message}`);
  }
}

/** The vault passwords the command line gives; what they decrypt is masked as the run's other secrets. */
async function vaultKeys(f: VaultFlags, cfg?: FerryConfig): Promise<VaultKeys> {
  return new VaultKeys(await vaultPasswords(f, process.env, cfg?.vaultPasswordFile), secrets);
}

function extraVars(f: RunFlags, vault: VaultKeys): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of f.extraVars) {
    try {
      Object.assign(out, parseExtraVarArg(e, (p) => loadYamlFile(resolve(p), p, { vault })));
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      // The file of `-e @FILE`, or the command line itself, is where the problem is.
      const file = e.startsWith('@') ? e.slice(1) : '<command line>';
      const message = err instanceof SyntaxError ? `-e ${e}: not valid JSON: ${err.message}` : (err as Error).message;
      throw new ValidationError([{ loc: { file, line: 1 }, message, hint: 'use -e key=value, -e @vars.yaml or -e \'{"k": "v"}\'' }]);
    }
  }
  return out;
}

/** The ansible.cfg (or ferry.cfg) and ANSIBLE_* settings; its warnings go to stderr. */
function config(): FerryConfig {
  const cfg = loadConfig();
  for (const w of cfg.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
  return cfg;
}

/**
 * The connection and become settings of the command line over ansible.cfg (and its ANSIBLE_*
 * variables), as variables below the inventory's; -k / -K ask their passwords now.
 */
async function connectionDefaults(f: RunFlags, cfg: FerryConfig): Promise<Record<string, unknown>> {
  const d: Record<string, unknown> = {};
  const user = f.user ?? cfg.remoteUser;
  if (user) d.ferry_user = user;
  const key = f.privateKey ?? cfg.privateKeyFile;
  if (key) d.ferry_private_key_file = key;
  if (f.timeout !== undefined && parseSeconds(f.timeout) === undefined) {
    throw new ValidationError([{ loc: { file: '<command line>', line: 1 }, message: `-T/--timeout '${f.timeout}' ${NOT_SECONDS}`, hint: 'e.g. -T 30' }]);
  }
  const timeout = f.timeout ?? cfg.timeout;
  if (timeout !== undefined) d.ferry_timeout = timeout;
  if (f.become ?? cfg.become) d.ferry_become = true;
  const becomeUser = f.becomeUser ?? cfg.becomeUser;
  if (becomeUser) d.ferry_become_user = becomeUser;
  let sshPassword: string | undefined;
  if (f.askPass) {
    sshPassword = await ask('SSH password: ', { secret: true });
    secrets.add(sshPassword);
    d.ferry_password = sshPassword;
  }
  if (f.askBecomePass) {
    // As Ansible: an empty answer after -k means "the SSH password".
    const answer = await ask(sshPassword !== undefined ? 'BECOME password[defaults to SSH password]: ' : 'BECOME password: ', { secret: true });
    const pw = answer === '' && sshPassword !== undefined ? sshPassword : answer;
    secrets.add(pw);
    d.ferry_become_password = pw;
  }
  return d;
}

/** vars_prompt: asked on the terminal only (off one, defaults are taken or the run is refused). */
const varsPrompt = {
  ask: process.stdin.isTTY ? (question: string, secret: boolean) => ask(question, { secret }) : undefined,
  say: (line: string) => process.stderr.write(line + '\n'),
};

/** --step: Ansible's question before each task; no answer (or anything else) is no. */
async function stepQuestion(task: string): Promise<'yes' | 'no' | 'continue'> {
  const a = (await ask(`Perform task: TASK: ${task} (N)o/(y)es/(c)ontinue: `)).trim().toLowerCase();
  return a === 'y' || a === 'yes' ? 'yes' : a === 'c' || a === 'continue' ? 'continue' : 'no';
}

async function common(f: RunFlags, adhoc = false): Promise<RunnerOptions> {
  const cfg = config();
  const forks = f.forks !== undefined ? Number(f.forks) : (cfg.forks ?? 10);
  if (!Number.isInteger(forks) || forks < 1) throw new CommanderError(EXIT_USAGE, 'ferry.forks', `--forks must be a positive whole number, got ${f.forks}`);
  checkSshConfig(f.sshConfig);
  const inventory = f.inventory.length ? f.inventory : (cfg.inventory ?? []);
  if (!inventory.length) process.stderr.write('[WARNING]: no inventory was given (-i, ANSIBLE_INVENTORY or inventory = in ansible.cfg): only the implicit localhost is known\n');
  const listing = f.listHosts || f.listTasks || f.listTags || f.syntaxCheck;
  const vault = await vaultKeys(f, cfg);
  return withCliParts({
    inventory,
    check: f.check,
    diff: f.diff,
    limit: f.limit,
    ...(f.limitLabel !== undefined ? { limitLabel: f.limitLabel } : {}),
    ...(f.namedHosts !== undefined ? { namedHosts: f.namedHosts } : {}),
    extraVars: extraVars(f, vault),
    forks,
    tags: f.tags?.split(',').map((s) => s.trim()).filter(Boolean),
    skipTags: f.skipTags?.split(',').map((s) => s.trim()).filter(Boolean),
    startAtTask: f.startAtTask,
    resume: f.resume,
    // host_key_checking = False: an unknown key is recorded as with --accept-new-hosts; a changed key is still refused.
    acceptNewHosts: f.acceptNewHosts || cfg.hostKeyChecking === false,
    forceHandlers: f.forceHandlers,
    sshConfigFile: f.sshConfig,
    // Listing contacts no host: it asks no password and reports no run.
    connectionDefaults: listing ? {} : await connectionDefaults(f, cfg),
    config: cfg,
    reporter: listing ? undefined : await makeReporter(f, adhoc),
    commandEvents: f.verbose >= 3,
    verbosity: f.verbose,
    step: f.step ? stepQuestion : undefined,
    secrets,
    vault,
  });
}

/** What a front end built on `ferry run` adds: a reporter that sees every event, and a summary after the recap. */
interface RunExtras {
  observe: Reporter;
  after: (reporter: Reporter) => void;
}

/** `ferry run PLAYBOOK`: runs it (or lists its hosts, tasks, tags); returns the exit code. */
export async function runCommand(playbook: string, f: RunFlags, extras?: RunExtras): Promise<number> {
  if (f.listHosts || f.listTasks || f.listTags || f.syntaxCheck) {
    process.stdout.write(await describePlaybookFile(playbook, await common(f), { hosts: f.listHosts, tasks: f.listTasks, tags: f.listTags }));
    return 0;
  }
  const o = { ...(await common(f)), ...stoppable(), varsPrompt };
  const shown = o.reporter;
  if (extras && shown) o.reporter = new TeeReporter([shown, extras.observe]);
  try {
    const code = runExitCode(await runPlaybookFile(playbook, o));
    if (extras && shown) extras.after(shown);
    return code;
  } finally {
    await o.reporter?.close();
  }
}

/** The playbooks that ship with ferry (beside dist/ in the package, and in the repository). */
const PLAYBOOKS = fileURLToPath(new URL('../../playbooks/', import.meta.url));

/** `ferry migrate`'s own flags, beside those of `ferry run`. */
export type MigrateFlags = RunFlags & { method?: string; shutdown?: boolean; precopy?: boolean; boot?: boolean; parallel?: string; rollback?: boolean; cleanup?: boolean; to?: string; direct?: boolean };

/** Every problem with a combination of `ferry migrate`'s flags, found before any host is contacted. */
function migrateFlagProblems(guests: string[], f: MigrateFlags): { message: string; hint: string }[] {
  const problems: { message: string; hint: string }[] = [];
  if (guests.length && f.limit !== undefined) problems.push({ message: 'give the guests as arguments or with --limit, not both', hint: 'e.g. ferry migrate -i inventory.yaml web1 web2' });
  if (f.parallel !== undefined && f.forks !== undefined) problems.push({ message: '--parallel and --forks say the same thing', hint: 'give one of them' });
  if (f.rollback && f.cleanup) problems.push({ message: '--rollback and --cleanup undo each other', hint: 'give one of them' });
  const other = f.rollback ? '--rollback' : f.cleanup ? '--cleanup' : undefined;
  if (f.precopy && f.method === 'dd') problems.push({ message: '--precopy copies a running guest\'s files with rsync; --method dd copies blocks, which only a stopped guest keeps still', hint: 'drop --method dd (or --precopy, and stop the guest with --shutdown)' });
  const given = [['--method', f.method !== undefined], ['--shutdown', f.shutdown], ['--precopy', f.precopy], ['--boot', f.boot], ['--direct', f.direct]] as const;
  for (const [flag, on] of given) if (other && on) problems.push({ message: `${flag} has no meaning with ${other}`, hint: `drop ${flag}` });
  return problems;
}

/** The playbook variables migrate's flags stand for, before the user's own -e (which win). */
export function migrateExtraVars(f: MigrateFlags): string[] {
  return [
    ...(f.method ? [`copy_method=${f.method}`] : []),
    ...(f.shutdown ? ['shutdown_guest=true'] : []),
    ...(f.precopy ? ['precopy=true'] : []),
    ...(f.boot ? ['verify_boot=true'] : []),
    ...(f.to !== undefined ? [`kvm_host=${f.to}`] : []),
    ...(f.direct ? ['direct_copy=true'] : []),
    ...f.extraVars,
  ];
}

/**
 * `ferry migrate [GUEST...]`: the shipped migration playbook (or its rollback) with the guests as the
 * limit and --method/--shutdown/--precopy/--to/--direct/--boot/--parallel as its variables and forks — nothing the playbook does not say
 * itself, so the same run is `ferry run playbooks/xen-to-kvm.yaml --limit GUESTS -e copy_method=... -e shutdown_guest=true -e precopy=true -e kvm_host=HOST -e direct_copy=true -e verify_boot=true`.
 */
export async function migrateCommand(guests: string[], f: MigrateFlags): Promise<number> {
  const problems = migrateFlagProblems(guests, f);
  if (problems.length) throw new ValidationError(problems);
  const playbook = join(PLAYBOOKS, f.rollback ? 'xen-rollback.yaml' : f.cleanup ? 'xen-cleanup.yaml' : 'xen-to-kvm.yaml');
  const flags: RunFlags = {
    ...f,
    ...(guests.length ? { limit: guests.join(','), limitLabel: `${guests.length > 1 ? 'guests' : 'guest'} ${guests.join(' ')}` } : {}),
    ...(f.parallel !== undefined ? { forks: f.parallel } : {}),
    // the KVM host must be an inventory host (checked with the inventory, before any host is contacted)
    ...(f.to !== undefined ? { namedHosts: { '--to': f.to } } : {}),
    // the live view shows each guest's phase: the tags the migration playbooks put on their tasks
    phases: PHASES,
    extraVars: migrateExtraVars(f),
  };
  // the clean-up copies and converts nothing: the play recap says what it removed
  if (f.cleanup || f.listHosts || f.listTasks || f.listTags || f.syntaxCheck) return runCommand(playbook, flags);
  // The run as `ferry run` makes it, plus the recap per guest after the play recap.
  const seen = new MigrationEvents();
  return runCommand(playbook, flags, {
    observe: seen,
    after: (reporter) => {
      const guests = migrationRecap(seen.events);
      const title = `MIGRATION RECAP${f.rollback ? ' (rollback)' : ''}`;
      reporter.emit({ type: 'summary', title, lines: formatMigrationRecap(guests, { rollback: f.rollback }), data: { guests } });
    },
  });
}

/** `ferry exec PATTERN -m MODULE`: one module ad hoc; returns the exit code. */
export async function execCommand(pattern: string, f: RunFlags & { module: string; args?: string }): Promise<number> {
  const o = { ...(await common(f, true)), ...stoppable() };
  try {
    return runExitCode(await runAdhoc(pattern, f.module, f.args, o));
  } finally {
    await o.reporter?.close();
  }
}

/** `ferry inventory`: the inventory as `ansible-inventory --list` (or `--host`) prints it. */
export async function inventoryCommand(f: VaultFlags & { inventory: string[]; host?: string }): Promise<number> {
  const inv = loadInventory(f.inventory, await vaultKeys(f));
  const list = inventoryToAnsibleList(inv) as { _meta: { hostvars: Record<string, unknown> } };
  const out = f.host ? list._meta.hostvars[f.host] ?? {} : list;
  process.stdout.write(JSON.stringify(secrets.maskDeep(out), null, 4) + '\n');
  return 0;
}

/** `ferry facts PATTERN`: the gathered facts as JSON; returns the exit code. */
export async function factsCommand(pattern: string, f: RunFlags): Promise<number> {
  const r = await gatherFactsFor(pattern, await common(f));
  process.stdout.write(JSON.stringify(r.facts, null, 2) + '\n');
  return r.exitCode;
}
