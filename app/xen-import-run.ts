// What `ferry xen-import` does (app/xen-import-cli.ts defines the command and loads this when it
// runs): the Xen guests of local config files, or of a hypervisor reached through the inventory,
// printed as an inventory fragment (YAML, or JSON with --json).
import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { stringify } from 'yaml';
import { xenImportModule } from '../tasks/xen-import.js';
import { buildXenImport, mergeXenImports, type XenImportData, type XenSource } from '../tasks/xen/import-data.js';
import { originOfPath } from '../tasks/xen/import.js';
import { runModuleOnHosts } from '../runner/api-module.js';
import { withCliParts } from './cli-parts.js';
import { EXIT_BAD_INPUT, EXIT_HOST_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, formatProblem, type Problem } from '../runner/errors.js';
import { VaultKeys } from '../runner/vault/keys.js';
import { vaultPasswords, type VaultFlags } from '../runner/vault/passwords.js';

/** Where the command writes (the real streams, or a test's buffers). */
export interface XenImportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The options of `ferry xen-import` as commander parses them. */
export interface XenImportFlags extends VaultFlags {
  inventory: string[];
  json?: boolean;
  hypervisor?: string;
  path: string[];
  libvirt?: boolean;
  libvirtUri?: string;
  include: string[];
  exclude: string[];
  become?: boolean;
  acceptNewHosts?: boolean;
  sshConfig?: string;
}

/** Reads controller files (`ferry xen-import FILE...`); a file that cannot be read is a problem, not a stop. */
export async function importLocalXenFiles(files: string[], o: { include?: string[]; exclude?: string[]; hypervisor?: string }): Promise<XenImportData> {
  const sources: XenSource[] = [];
  const problems: Problem[] = [];
  for (const path of files) {
    try {
      const text = await readFile(path, 'utf8');
      sources.push({ path, text, origin: originOfPath(path) });
    } catch (e) {
      problems.push({ loc: { file: path, line: 1 }, message: `cannot read: ${(e as Error).message}` });
    }
  }
  return buildXenImport(sources, o, problems);
}

/** The fragment as the user reads it: YAML with a comment saying where it came from, or JSON. */
export function formatXenFragment(d: XenImportData, json: boolean, from: string): string {
  if (json) return JSON.stringify(d.inventory, null, 2) + '\n';
  const n = d.guests.length;
  return `# ferry xen-import: ${n} guest${n === 1 ? '' : 's'} from ${from}\n` + stringify(d.inventory);
}

function reportProblems(d: XenImportData, io: XenImportIo): void {
  for (const w of d.warnings) io.stderr.write(`ferry: warning: ${w}\n`);
  if (!d.problems.length) return;
  io.stderr.write(
    `ferry: xen-import: ${d.problems.length} problem${d.problems.length === 1 ? '' : 's'}; the other guests were imported:\n` +
      d.problems.map((p) => '  ' + formatProblem(p).replace(/\n/g, '\n  ')).join('\n') +
      '\n',
  );
}

/** Runs `ferry xen-import TARGETS...` with its flags; returns the exit code. */
export async function xenImport(targets: string[], f: XenImportFlags, io: XenImportIo): Promise<number> {
  if (f.inventory.length === 0) {
    const d = await importLocalXenFiles(targets, { include: f.include, exclude: f.exclude, hypervisor: f.hypervisor });
    io.stdout.write(formatXenFragment(d, f.json ?? false, targets.length === 1 ? targets[0] : `${targets.length} files`));
    reportProblems(d, io);
    return d.problems.length ? EXIT_BAD_INPUT : 0;
  }
  if (targets.length !== 1) throw new CommanderError(EXIT_USAGE, 'ferry.usage', `with -i, give one host pattern (got ${targets.length} arguments)`);
  const args: Record<string, unknown> = { include: f.include, exclude: f.exclude };
  if (f.path.length) args.paths = f.path;
  if (f.libvirt) Object.assign(args, { libvirt: true, libvirt_uri: f.libvirtUri });
  const { outcomes } = await runModuleOnHosts(targets[0], xenImportModule.name, args, withCliParts({
    inventory: f.inventory,
    // xen_import only reads: check mode runs its plan alone and keeps no run state.
    check: true,
    become: f.become,
    acceptNewHosts: f.acceptNewHosts,
    sshConfigFile: f.sshConfig,
    vault: new VaultKeys(await vaultPasswords(f)),
  }));
  const parts: { host: string; data: XenImportData }[] = [];
  for (const o of outcomes) {
    if (o.status === 'ok' || o.status === 'changed') parts.push({ host: o.host, data: o.result as unknown as XenImportData });
    else io.stderr.write(`ferry: ${o.host}: ${o.status}: ${o.msg ?? ''}\n`);
  }
  const d = mergeXenImports(parts);
  io.stdout.write(formatXenFragment(d, f.json ?? false, parts.map((p) => p.host).join(', ') || 'no host'));
  reportProblems(d, io);
  const failed = outcomes.some((o) => o.status === 'failed');
  const unreachable = outcomes.some((o) => o.status === 'unreachable');
  return failed ? EXIT_HOST_FAILED : unreachable ? EXIT_UNREACHABLE : d.problems.length ? EXIT_BAD_INPUT : 0;
}
