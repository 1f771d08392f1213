// Where vault passwords come from, as Ansible takes them: `--vault-password-file FILE` (the file's
// text without surrounding whitespace, or, when the file is executable, what it prints; a script
// named `*-client` is asked with `--vault-id LABEL`), `--vault-id [LABEL@]SOURCE` (SOURCE a file,
// a script or `prompt`), `--ask-vault-pass` (a prompt without echo on the terminal) and the
// environment variable ANSIBLE_VAULT_PASSWORD_FILE.
import { execFileSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ReadStream, WriteStream } from 'node:tty';
import { ValidationError } from '../errors.js';
import { PromptInterrupted, readTerminal } from '../prompt.js';
import { DEFAULT_VAULT_ID } from './format.js';
import type { VaultPassword } from './keys.js';

/** The vault options of a command line (and the environment). */
export interface VaultFlags {
  vaultPasswordFile?: string[];
  vaultId?: string[];
  askVaultPass?: boolean;
}

/** A password source that gives nothing usable: bad input naming the option and the source. */
function refuse(option: string, message: string, hint: string): never {
  throw new ValidationError([{ loc: { file: '<command line>', line: 1 }, message: `${option}: ${message}`, hint }]);
}

/** Splits `LABEL@SOURCE` (a source alone gets the default label), as Ansible does. */
export function splitVaultId(spec: string): { id: string; source: string } {
  const at = spec.indexOf('@');
  return at < 0 ? { id: DEFAULT_VAULT_ID, source: spec } : { id: spec.slice(0, at) || DEFAULT_VAULT_ID, source: spec.slice(at + 1) };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The password a file holds, or an executable prints; `option` names where it was given, for messages. */
export function readPasswordSource(path: string, id: string, option: string): string {
  if (isExecutableFile(path)) {
    // A client script (`NAME-client`, `NAME-client.py`) is told which vault id is wanted.
    const client = basename(path, extname(path)).endsWith('-client');
    let out: string;
    try {
      // A path without a slash names the file here, not a command on $PATH.
      out = execFileSync(resolve(path), client ? ['--vault-id', id] : [], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'], maxBuffer: 1024 * 1024 });
    } catch (e) {
      const st = (e as { status?: number | null }).status;
      return refuse(option, `the password script failed${st !== undefined && st !== null ? ` (exit ${st})` : `: ${(e as Error).message.split('\n')[0]}`}`, 'run it by hand to see why; it must print the password');
    }
    const pw = out.replace(/^[\r\n]+|[\r\n]+$/g, '');
    if (!pw) refuse(option, 'the password script printed nothing', 'it must print the vault password on its standard output');
    return pw;
  }
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new Error('it is a directory');
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return refuse(option, `cannot read the vault password file: ${(e as Error).message}`, 'give a file holding the password, or a script that prints it');
  }
  const pw = text.trim();
  if (!pw) refuse(option, 'the vault password file is empty', 'write the password in it (one line)');
  return pw;
}

/**
 * Asks for a password on the terminal without echoing it (from /dev/tty, as getpass does, so that
 * standard input stays free); without a terminal it is bad input saying what to use instead.
 */
export async function promptPassword(prompt: string, option: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return refuse(option, 'there is no terminal to ask the vault password on', 'give it with --vault-password-file FILE or --vault-id LABEL@FILE');
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  try {
    return await readTerminal(input, output, prompt, false);
  } catch (e) {
    if (e instanceof PromptInterrupted) throw new ValidationError([{ loc: { file: '<command line>', line: 1 }, message: `${option}: the vault password prompt was interrupted` }]);
    throw e;
  } finally {
    input.destroy();
    output.destroy();
    try {
      closeSync(fd);
    } catch {
      // the streams closed it
    }
  }
}

/**
 * The vault passwords the flags (and ANSIBLE_VAULT_PASSWORD_FILE) give, in the order Ansible tries
 * them: --vault-id, then --vault-password-file, then the environment's file (else ansible.cfg's
 * vault_password_file), then --ask-vault-pass.
 */
export async function vaultPasswords(f: VaultFlags, env: NodeJS.ProcessEnv = process.env, configFile?: string): Promise<VaultPassword[]> {
  const out: VaultPassword[] = [];
  // `prompt` asks on the terminal (a --vault-id source only: a password file of that name is a file).
  const fromSource = async (id: string, source: string | undefined, option: string): Promise<void> => {
    if (source === undefined) {
      const label = id !== DEFAULT_VAULT_ID ? ` (${id})` : '';
      const pw = await promptPassword(`Vault password${label}: `, option);
      if (!pw) refuse(option, 'no vault password was typed', 'type the password, or give it with --vault-password-file FILE');
      out.push({ id, password: pw, source: option });
      return;
    }
    if (!source) refuse(option, 'no password file given', 'write --vault-id LABEL@FILE, LABEL@prompt or FILE');
    out.push({ id, password: readPasswordSource(source, id, option), source: option });
  };
  for (const spec of f.vaultId ?? []) {
    const { id, source } = splitVaultId(spec);
    if (/[;\s]/.test(id)) refuse(`--vault-id ${spec}`, `a vault id cannot hold ';' or spaces`, 'use a plain label: --vault-id prod@FILE');
    await fromSource(id, source === 'prompt' ? undefined : source, `--vault-id ${spec}`);
  }
  for (const file of f.vaultPasswordFile ?? []) await fromSource(DEFAULT_VAULT_ID, file, `--vault-password-file ${file}`);
  const envFile = env.ANSIBLE_VAULT_PASSWORD_FILE;
  if (envFile) await fromSource(DEFAULT_VAULT_ID, envFile, `ANSIBLE_VAULT_PASSWORD_FILE=${envFile}`);
  // ansible.cfg's vault_password_file, below the environment's (as Ansible's config precedence has it)
  else if (configFile) await fromSource(DEFAULT_VAULT_ID, configFile, `vault_password_file ${configFile} (ansible.cfg)`);
  if (f.askVaultPass) await fromSource(DEFAULT_VAULT_ID, undefined, '--ask-vault-pass');
  return out;
}
