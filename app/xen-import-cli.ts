// `ferry xen-import`: the Xen guests of local config files, or of a hypervisor reached through
// the inventory, printed as an inventory fragment (YAML, or JSON with --json). The command is defined
// here; what it does is in xen-import-run.ts, loaded only when it runs.
import type { Command as Cli } from 'commander';
import { addVaultOptions } from '../runner/vault/options.js';
import type { XenImportFlags, XenImportIo } from './xen-import-run.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Adds the `xen-import` subcommand to the ferry program; `setExitCode` receives its exit code. */
export function addXenImportCommand(program: Cli, setExitCode: (code: number) => void, io: XenImportIo = process): void {
  const command = program
    .command('xen-import')
    .description('print the Xen guests of config files, or of a hypervisor (-i INV HOST), as an inventory fragment')
    .argument('<targets...>', 'xl.cfg / domain XML files on this machine; with -i, one host pattern')
    .option('-i, --inventory <path>', 'inventory file or folder (repeatable): read the configs on HOST through it', collect, [])
    .option('--json', 'print JSON instead of YAML')
    .option('--path <glob>', 'with -i: config files on the host, paths or globs (repeatable; default /etc/xen/*.cfg)', collect, [])
    .option('--libvirt', 'with -i: also read the libvirt domains (virsh list --all, virsh dumpxml)')
    .option('--libvirt-uri <uri>', 'with --libvirt: the libvirt connection URI', 'xen:///')
    .option('--include <glob>', 'only guests whose name matches (repeatable)', collect, [])
    .option('--exclude <glob>', 'leave out guests whose name matches (repeatable)', collect, [])
    .option('--hypervisor <name>', 'without -i: the inventory host to record as ferry_hypervisor')
    .option('-b, --become', 'with -i: read with sudo')
    .option('--accept-new-hosts', 'record the key of a host not yet in known_hosts (a changed key is still refused)')
    .option('--ssh-config <file>', 'ssh config file to honour (default ~/.ssh/config)')
    .action(async (targets: string[], f: XenImportFlags) => {
      setExitCode(await (await import('./xen-import-run.js')).xenImport(targets, f, io));
    });
  // With -i it reads the inventory, which may hold vault data.
  addVaultOptions(command);
}
