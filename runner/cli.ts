#!/usr/bin/env node
// The command line: a thin layer over the library. The only place that prints final errors
// and calls process.exit. Exit codes (README "Exit codes"):
//   0 all ok · 1 internal error · 2 a host failed · 3 a host was unreachable (none failed)
//   4 bad input (inventory, playbook, vars: nothing was contacted) · 5 bad command line
//   130 interrupted by SIGINT (Ctrl-C) · 143 by SIGTERM
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command as Cli, CommanderError, Option } from 'commander';
import { FerryError, InterruptedError, RunStoppedError, ValidationError, formatProblem } from './errors.js';
import type { Reporter } from './events.js';
import { builtinModules } from '../tasks/index.js';
import { moduleDoc, moduleList } from './doc.js';
import { describePlaybookFile, runAdhoc, runPlaybookFile, gatherFactsFor, type CommonRunOptions } from './api.js';
import { loadConfig, type FerryConfig } from './config.js';
import { ask } from './prompt.js';
import { EXIT_INTERRUPTED } from './engine.js';
import { loadInventory, inventoryToAnsibleList } from './inventory/index.js';
import { JsonReporter, TeeReporter } from './reporter/json.js';
import { formatLiveCommand } from './reporter/format.js';
import { ListrReporter } from './reporter/listr.js';
import { PlainReporter } from './reporter/plain.js';
import { AdhocReporter } from './reporter/adhoc.js';
import { SecretValues } from './secrets.js';
import { addVaultCommand, addVaultOptions } from './vault/cli.js';
import { VaultKeys } from './vault/keys.js';
import { vaultPasswords, type VaultFlags } from './vault/passwords.js';
import { parseExtraVarArg } from './vars.js';
import { InFlight } from './transport/in-flight.js';
import { loadYamlFile } from './yaml-source.js';
import { addXenImportCommand } from './xen-import-cli.js';

const EXIT_TASK_FAILED = 2;
const EXIT_BAD_INPUT = 4;
const EXIT_USAGE = 5;

// The secret values the run marks (password variables, no_log results): final errors are masked too.
const secrets = new SecretValues();
/** The exit code of a run stopped by a signal: 128 + its number, as shells report it. */
function exitCodeFor(sig: NodeJS.Signals): number {
  return sig === 'SIGTERM' ? 143 : EXIT_INTERRUPTED;
}

/** The run in progress (run, exec): what the first SIGINT or SIGTERM stops, and what may still run. */
const current: { stop?: AbortController; inFlight?: InFlight; signal?: NodeJS.Signals } = {};

/** Options that let a signal stop the run, and tell what runs (for `run` and `exec`). */
function stoppable(): { signal: AbortSignal; inFlight: InFlight } {
  current.stop = new AbortController();
  current.inFlight = new InFlight();
  return { signal: current.stop.signal, inFlight: current.inFlight };
}

/**
 * The first SIGINT/SIGTERM stops the run (commands stopped, always: blocks run, state and recap
 * written); a second one exits at once, naming what may still run. With no run in progress
 * there is nothing to stop: exit at once.
 */
function onSignal(sig: NodeJS.Signals): void {
  if (!current.stop) process.exit(exitCodeFor(sig));
  if (!current.signal) {
    current.signal = sig;
    const again = sig === 'SIGINT' ? 'Ctrl-C' : sig;
    process.stderr.write(`\nferry: ${sig}: stopping the commands that run, starting no other task; always: blocks still run (${again} again exits at once)\n`);
    current.stop.abort(new InterruptedError(sig));
    return;
  }
  const live = current.inFlight?.list() ?? [];
  process.stderr.write(
    `\nferry: ${sig} again: exiting at once; ` +
      (live.length ? `these commands may still run:\n${live.map(formatLiveCommand).join('\n')}\n` : 'no command was running\n'),
  );
  process.exit(exitCodeFor(current.signal));
}

/** The exit code of a finished run: a stopped run exits as the signal that stopped it. */
function runExitCode(summary: { exitCode: number; interrupted: boolean }): number {
  return summary.interrupted && current.signal ? exitCodeFor(current.signal) : summary.exitCode;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'dev';
  }
}

interface RunFlags extends VaultFlags {
  inventory: string[];
  user?: string;
  privateKey?: string;
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

function makeReporter(f: RunFlags, adhoc = false): Reporter {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const human = (): Reporter =>
    // ferry exec prints each host as `ansible` does, on a terminal too.
    adhoc ? new AdhocReporter({ color, diff: f.diff, verbosity: f.verbose })
    // A terminal too narrow to draw in (a pty without a size reports 0 columns) gets plain lines;
    // --step asks on the terminal between tasks: plain lines do not fight the prompt.
    : process.stdout.isTTY && (process.stdout.columns ?? 0) >= 40 && !f.plain && !f.verbose && !f.step
      ? new ListrReporter({ diff: f.diff })
      : new PlainReporter({ color, diff: f.diff, verbosity: f.verbose });
  if (f.json === true) return new JsonReporter(process.stdout);
  if (typeof f.json === 'string') {
    let file: JsonReporter;
    try {
      file = new JsonReporter(f.json);
    } catch (e) {
      throw new CommanderError(EXIT_USAGE, 'ferry.json', `--json=${f.json}: cannot write there: ${(e as Error).message}`);
    }
    return new TeeReporter([human(), file]);
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

async function common(f: RunFlags, adhoc = false): Promise<CommonRunOptions> {
  const cfg = config();
  const forks = f.forks !== undefined ? Number(f.forks) : (cfg.forks ?? 10);
  if (!Number.isInteger(forks) || forks < 1) throw new CommanderError(EXIT_USAGE, 'ferry.forks', `--forks must be a positive whole number, got ${f.forks}`);
  checkSshConfig(f.sshConfig);
  const inventory = f.inventory.length ? f.inventory : (cfg.inventory ?? []);
  if (!inventory.length) process.stderr.write('[WARNING]: no inventory was given (-i, ANSIBLE_INVENTORY or inventory = in ansible.cfg): only the implicit localhost is known\n');
  const listing = f.listHosts || f.listTasks || f.listTags || f.syntaxCheck;
  const vault = await vaultKeys(f, cfg);
  return {
    inventory,
    check: f.check,
    diff: f.diff,
    limit: f.limit,
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
    reporter: listing ? undefined : makeReporter(f, adhoc),
    commandEvents: f.verbose >= 3,
    step: f.step ? stepQuestion : undefined,
    secrets,
    vault,
  };
}

function addRunOptions(c: Cli): Cli {
  return addVaultOptions(c)
    .option('-i, --inventory <path>', 'inventory file or folder (repeatable)', collect, [])
    .option('-C, --check', 'plan only: report what would change, change nothing')
    .option('-D, --diff', 'show the before/after of files a task changes')
    .option('-l, --limit <pattern>', 'further limit the hosts (patterns as in Ansible)')
    .option('-e, --extra-vars <vars>', 'key=value, @file.yaml or a JSON mapping; highest precedence (repeatable)', collect, [])
    .option('-f, --forks <n>', 'how many hosts at once (default: forks in ansible.cfg, else 10)')
    .option('-u, --user <name>', 'connect as this user (the inventory\'s ansible_user wins, as in Ansible)')
    .option('--private-key <file>', 'private key file to authenticate with')
    .option('-k, --ask-pass', 'ask for the SSH password')
    .option('-b, --become', 'run the tasks with sudo')
    .option('--become-user <name>', 'the user to become (default root)')
    .option('-K, --ask-become-pass', 'ask for the sudo (become) password')
    .option('--accept-new-hosts', 'record the key of a host not yet in known_hosts (a changed key is still refused)')
    .addOption(new Option('--json [file]', 'NDJSON events to stdout, or to FILE alongside the normal output'))
    .option('--plain', 'plain lines even on a TTY')
    .option('-v, --verbose', 'more output: -v each step and result, -vvv also each command run, masked (repeatable)', (_v: string, n: number) => n + 1, 0)
    .option('--ssh-config <file>', 'ssh config file to honour (default ~/.ssh/config)');
}

function formatProblems(e: ValidationError): string {
  return e.problems.map((p) => '  ' + formatProblem(p).replace(/\n/g, '\n  ')).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const program = new Cli('ferry')
    .description('agentless task runner over SSH; moves Xen guests to KVM')
    .version(version())
    .exitOverride()
    .showHelpAfterError();
  let exitCode = 0;

  addRunOptions(
    program
      .command('run')
      .description('run a playbook')
      .argument('<playbook>', 'playbook YAML file')
      .option('-t, --tags <tags>', 'only tasks with these tags (comma separated)')
      .option('--skip-tags <tags>', 'skip tasks with these tags')
      .option('--start-at-task <name>', 'start at the first task with this name')
      .option('--resume', 'continue the last failed run of this playbook from the first task not completed on each host')
      .option('--force-handlers', 'run notified handlers also on hosts that failed')
      .option('--list-hosts', 'list the hosts each play would run on, and exit (no host is contacted)')
      .option('--list-tasks', 'list the tasks each play would run, and exit')
      .option('--list-tags', 'list the tags of each play\'s tasks, and exit')
      .option('--syntax-check', 'check the playbook and exit')
      .option('--step', 'ask before each task: (N)o/(y)es/(c)ontinue'),
  ).action(async (playbook: string, f: RunFlags) => {
    if (f.listHosts || f.listTasks || f.listTags || f.syntaxCheck) {
      process.stdout.write(describePlaybookFile(playbook, await common(f), { hosts: f.listHosts, tasks: f.listTasks, tags: f.listTags }));
      return;
    }
    const o = { ...(await common(f)), ...stoppable(), varsPrompt };
    try {
      exitCode = runExitCode(await runPlaybookFile(playbook, o));
    } finally {
      await o.reporter?.close();
    }
  });

  addRunOptions(
    program
      .command('exec')
      .description('run one module ad hoc on the hosts matching a pattern (like `ansible -m`)')
      .argument('<pattern>', 'host pattern')
      .requiredOption('-m, --module <name>', 'module name (see ferry doc)')
      .option('-a, --args <args>', 'module arguments: free form (command), key=value pairs, or a YAML/JSON mapping'),
  ).action(async (pattern: string, f: RunFlags & { module: string; args?: string }) => {
    const o = { ...(await common(f, true)), ...stoppable() };
    try {
      exitCode = runExitCode(await runAdhoc(pattern, f.module, f.args, o));
    } finally {
      await o.reporter?.close();
    }
  });

  addVaultOptions(
    program
      .command('inventory')
      .description('show an inventory as `ansible-inventory` does (vault-decrypted values masked)')
      .option('-i, --inventory <path>', 'inventory file or folder (repeatable)', collect, [])
      .option('--list', 'groups, members and each host\'s variables as JSON (the default)')
      .option('--host <name>', 'one host\'s variables as JSON'),
  ).action(async (f: VaultFlags & { inventory: string[]; host?: string }) => {
    const inv = loadInventory(f.inventory, await vaultKeys(f));
    const list = inventoryToAnsibleList(inv) as { _meta: { hostvars: Record<string, unknown> } };
    const out = f.host ? list._meta.hostvars[f.host] ?? {} : list;
    process.stdout.write(JSON.stringify(secrets.maskDeep(out), null, 4) + '\n');
  });

  addRunOptions(
    program.command('facts').description('gather facts from the hosts matching a pattern and print them as JSON').argument('<pattern>', 'host pattern'),
  ).action(async (pattern: string, f: RunFlags) => {
    const o = await common(f);
    const r = await gatherFactsFor(pattern, o);
    process.stdout.write(JSON.stringify(r.facts, null, 2) + '\n');
    exitCode = r.exitCode;
  });

  program
    .command('doc')
    .description('list the modules, or show one module\'s parameters, result and example')
    .argument('[module]', 'module name')
    .action((name?: string) => {
      const mods = builtinModules();
      if (!name) {
        process.stdout.write(moduleList(mods) + '\n');
        return;
      }
      const m = mods.get(name);
      if (!m) throw new ValidationError([{ message: `no module named '${name}'`, hint: `'ferry doc' lists them: ${mods.names().join(', ')}` }]);
      process.stdout.write(moduleDoc(m) + '\n');
    });

  addXenImportCommand(program, (code) => (exitCode = code));
  addVaultCommand(program, secrets);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code !== 'commander.executeSubCommandAsync') process.stderr.write(e.code.startsWith('ferry.') ? `ferry: ${e.message}\n` : '');
      return EXIT_USAGE;
    }
    if (e instanceof ValidationError) {
      process.stderr.write(secrets.mask(`ferry: bad input, nothing was run:\n${formatProblems(e)}\n`));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof RunStoppedError) {
      process.stderr.write(secrets.mask(`ferry: ${e.message.split("\n")[0]}\n${formatProblems(e.problem)}\n`));
      return EXIT_TASK_FAILED;
    }
    if (e instanceof FerryError) {
      process.stderr.write(secrets.mask(`ferry: ${e.message}\n`));
      return 1;
    }
    process.stderr.write(secrets.mask(`ferry: internal error: ${(e as Error).stack ?? String(e)}\n`));
    return 1;
  }
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(secrets.mask(`ferry: internal error: ${String(e)}\n`));
    process.exit(1);
  },
);
