// The vault password options of the command line, apart from the vault code itself: defining a
// command (for --help) must not load the crypto and YAML code that reading vault data needs.
import type { Command as Cli } from 'commander';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** The options that give vault passwords (every command that reads playbooks, inventories or vars files). */
export function addVaultOptions(c: Cli): Cli {
  return c
    .option('--vault-password-file <file>', 'a file holding the vault password, or an executable that prints it (repeatable)', collect, [])
    .option('--vault-id <[label@]source>', 'a vault password: SOURCE is a file, an executable or `prompt` (repeatable)', collect, [])
    .option('-J, --ask-vault-pass', 'ask for the vault password (no echo)');
}
