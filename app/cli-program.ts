// The ferry program as commander sees it: every command with its options and help. Loaded by
// cli.ts for any command but a bare --version; each command loads what it runs only when it runs.
import { Command as Cli, Option } from 'commander';
import type { MigrateFlags, RunFlags } from './cli-run.js';
import { secrets } from './cli-session.js';
import { builtinModuleDocs } from './doc-index.js';
import { formatModuleList } from '../runner/doc-list.js';
import { ValidationError } from '../runner/errors.js';
import { addVaultCommand } from '../runner/vault/cli.js';
import { addVaultOptions } from '../runner/vault/options.js';
import type { VaultFlags } from '../runner/vault/passwords.js';
import { addXenImportCommand } from './xen-import-cli.js';

export { CommanderError } from 'commander';

// The commands that run things, loaded when one of them is the command: --help and doc start
// without the engine, ssh2, listr2 or the task modules (bench/startup.ts measures it).
const commands = () => import('./cli-run.js');

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
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
    .option('-T, --timeout <seconds>', 'how long to wait for a connection and its SSH handshake (default: timeout in ansible.cfg, else 10)')
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

/**
 * Parses the command line and runs the command; resolves with its exit code. Errors are thrown
 * for cli.ts to report: CommanderError (bad command line), ValidationError, FerryError.
 */
export async function runProgram(argv: string[], version: string): Promise<number> {
  const program = new Cli('ferry')
    .description('agentless task runner over SSH; moves Xen guests to KVM')
    .version(version)
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
    exitCode = await (await commands()).runCommand(playbook, f);
  });

  addRunOptions(
    program
      .command('exec')
      .description('run one module ad hoc on the hosts matching a pattern (like `ansible -m`)')
      .argument('<pattern>', 'host pattern')
      .requiredOption('-m, --module <name>', 'module name (see ferry doc)')
      .option('-a, --args <args>', 'module arguments: free form (command), key=value pairs, or a YAML/JSON mapping'),
  ).action(async (pattern: string, f: RunFlags & { module: string; args?: string }) => {
    exitCode = await (await commands()).execCommand(pattern, f);
  });

  addRunOptions(
    program
      .command('migrate')
      .description('move Xen PV guests to KVM: runs playbooks/xen-to-kvm.yaml (or xen-rollback.yaml, xen-cleanup.yaml) for the guests named')
      .argument('[guests...]', 'inventory guests or patterns (default: every host of the group xen_guests)')
      .addOption(new Option('--method <method>', 'how the data is copied: rsync (mkfs + rsync -aAXH) or dd (snapshot, shrink, dd)').choices(['rsync', 'dd']))
      .option('--shutdown', 'shut down a guest still running under Xen once its preflight passed (xl shutdown, or virsh -c xen:///; waits shutdown_timeout, default 300 s; never destroys it)')
      .option('--precopy', 'copy a guest still running under Xen first, from an LVM snapshot of its LV (rsync), then shut it down as --shutdown does and copy only what changed: a shorter downtime (precopy=true)')
      .option('--to <host>', 'the KVM host the guests move to, when it is not their Xen host (an inventory host; kvm_host=HOST, or ferry_kvm_host per guest in the inventory): the new LV is made there (in ferry_kvm_vg, default the same VG name) and filled through this machine; the Xen host\'s source LV is only read')
      .option('--direct', 'a move\'s copy (rsync, or blockcopy for a disk partitioned already) goes straight from the Xen host to the KVM host, not through this machine: the KVM host connects to the Xen host itself with its own ssh keys and known_hosts, at the Xen host\'s ansible_host, ansible_port and ansible_user, or as an inventory ferry_move_direct of {host, port, user, ssh_options} says (direct_copy=true)')
      .option('--boot', 'after the define, start each guest on kvm_host and watch its serial console for GRUB and a login prompt (boot_check; within boot_timeout, default 600 s), record the boot and leave the guest running (verify_boot=true; -e boot_keep_running=false shuts it down again)')
      .option('--parallel <n>', 'how many guests at once (the same as --forks; per-VG and per-host copy limits still hold)')
      .option('--resume', 'continue the last failed migration from the first task not completed on each guest')
      .option('--rollback', 'undo the conversion of the guests named instead (playbooks/xen-rollback.yaml)')
      .option('--cleanup', 'after checking the KVM guests: remove their Xen source LVs (LV-old; a moved guest\'s LV on its Xen host), with -e force=true; no rollback after it (playbooks/xen-cleanup.yaml)')
      .option('--list-hosts', 'list the guests it would migrate, and exit (no host is contacted)')
      .option('-t, --tags <tags>', 'only these phases (comma separated): preflight and shutdown run always; copy (with precopy), convert, define, boot')
      .option('--skip-tags <tags>', 'skip these phases')
      .option('--list-tags', 'list the phases (tags) of the tasks, and exit')
      .option('--list-tasks', 'list the tasks it would run, and exit'),
  ).action(async (guests: string[], f: MigrateFlags) => {
    exitCode = await (await commands()).migrateCommand(guests, f);
  });

  addVaultOptions(
    program
      .command('inventory')
      .description('show an inventory as `ansible-inventory` does (vault-decrypted values masked)')
      .option('-i, --inventory <path>', 'inventory file or folder (repeatable)', collect, [])
      .option('--list', 'groups, members and each host\'s variables as JSON (the default)')
      .option('--host <name>', 'one host\'s variables as JSON'),
  ).action(async (f: VaultFlags & { inventory: string[]; host?: string }) => {
    exitCode = await (await commands()).inventoryCommand(f);
  });

  addRunOptions(
    program.command('facts').description('gather facts from the hosts matching a pattern and print them as JSON').argument('<pattern>', 'host pattern'),
  ).action(async (pattern: string, f: RunFlags) => {
    exitCode = await (await commands()).factsCommand(pattern, f);
  });

  program
    .command('doc')
    .description('list the modules, or show one module\'s parameters, result and example')
    .argument('[module]', 'module name')
    .action(async (name?: string) => {
      const docs = await builtinModuleDocs();
      if (!name) {
        process.stdout.write(formatModuleList(docs) + '\n');
        return;
      }
      const m = docs.find((d) => d.name === name);
      if (!m) throw new ValidationError([{ message: `no module named '${name}'`, hint: `'ferry doc' lists them: ${docs.map((d) => d.name).join(', ')}` }]);
      process.stdout.write(m.text + '\n');
    });

  addXenImportCommand(program, (code) => (exitCode = code));
  addVaultCommand(program, secrets);

  await program.parseAsync(argv, { from: 'user' });
  return exitCode;
}
