// `ferry vault encrypt|decrypt|view|edit|create|rekey|encrypt_string`: the ansible-vault commands ferry users
// need, writing the same format (1.1 without a vault id, 1.2 with `--vault-id LABEL@...`). Files are
// written atomically (a temp file beside them, renamed over) and keep their mode; a new file is 0600.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command as Cli } from 'commander';
import { ValidationError } from '../errors.js';
import type { SecretValues } from '../secrets.js';
import { DEFAULT_VAULT_ID, encryptVault, isVaultText } from './format.js';
import { VaultKeys, VaultOpenError, type VaultPassword } from './keys.js';
import { addVaultOptions } from './options.js';
import { promptPassword, readPasswordSource, splitVaultId, vaultPasswords, type VaultFlags } from './passwords.js';

interface VaultCommandFlags extends VaultFlags {
  output?: string;
  encryptVaultId?: string;
  name?: string;
  newVaultPasswordFile?: string;
  newVaultId?: string;
}

/** Where `ferry vault` reads and writes: the process, or a test's streams. */
export interface VaultIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin: NodeJS.ReadableStream;
}

function bad(file: string, message: string, hint?: string): never {
  throw new ValidationError([{ loc: { file, line: 1 }, message, hint }]);
}

/** Writes a file atomically: a temp file in its directory, with `mode`, flushed, then renamed over it. */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.ferry-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, mode); // the umask may have taken bits off
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The mode a rewritten file keeps (a new one gets 0600: it holds or held a secret). */
function modeOf(path: string): number {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return 0o600;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The password to encrypt with: the one of `--encrypt-vault-id` (or the only one given); with none
 * given, asked twice on the terminal, as ansible-vault does.
 */
async function encryptPassword(passwords: VaultPassword[], f: VaultCommandFlags): Promise<VaultPassword> {
  if (f.encryptVaultId) {
    const p = passwords.find((x) => x.id === f.encryptVaultId);
    if (!p) bad('<command line>', `--encrypt-vault-id ${f.encryptVaultId}: no --vault-id ${f.encryptVaultId}@SOURCE was given`);
    return p;
  }
  if (passwords.length > 1) bad('<command line>', `${passwords.length} vault passwords were given; say which one encrypts`, 'add --encrypt-vault-id LABEL');
  if (passwords[0]) return passwords[0];
  return askNewPassword(DEFAULT_VAULT_ID);
}

/** A new password typed twice on the terminal (no echo); the two must match. */
async function askNewPassword(id: string): Promise<VaultPassword> {
  const label = id !== DEFAULT_VAULT_ID ? ` (${id})` : '';
  const pw = await promptPassword(`New vault password${label}: `, 'ferry vault');
  if (!pw) bad('<command line>', 'no vault password was typed');
  if ((await promptPassword(`Confirm new vault password${label}: `, 'ferry vault')) !== pw) bad('<command line>', 'the two passwords typed differ');
  return { id, password: pw, source: 'the prompt' };
}

/** rekey's new password: --new-vault-id [LABEL@]SOURCE, --new-vault-password-file FILE, or asked twice. */
async function newPassword(f: VaultCommandFlags): Promise<VaultPassword> {
  if (f.newVaultId !== undefined && f.newVaultPasswordFile !== undefined) bad('<command line>', '--new-vault-id and --new-vault-password-file cannot be given together', 'give the new password once');
  if (f.newVaultId !== undefined) {
    const { id, source } = splitVaultId(f.newVaultId);
    if (/[;\s]/.test(id)) bad('<command line>', `--new-vault-id ${f.newVaultId}: a vault id cannot hold ';' or spaces`, 'use a plain label: --new-vault-id prod@FILE');
    if (source === 'prompt') return askNewPassword(id);
    return { id, password: readPasswordSource(source, id, `--new-vault-id ${f.newVaultId}`), source: '--new-vault-id' };
  }
  if (f.newVaultPasswordFile !== undefined) {
    const file = f.newVaultPasswordFile;
    return { id: DEFAULT_VAULT_ID, password: readPasswordSource(file, DEFAULT_VAULT_ID, `--new-vault-password-file ${file}`), source: '--new-vault-password-file' };
  }
  return askNewPassword(DEFAULT_VAULT_ID);
}

/**
 * Lets the user write `plaintext` in $EDITOR: it lives only in a 0700 directory of its own, in a
 * 0600 file removed afterwards. Returns what was saved.
 */
function editPrivately(file: string, plaintext: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-vault-'));
  const tmp = join(dir, basename(file));
  try {
    writeFileAtomic(tmp, plaintext, 0o600);
    const editor = process.env.EDITOR || process.env.VISUAL || 'vi';
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', tmp], { stdio: 'inherit' });
    if (r.status !== 0) bad(file, `the editor (${editor}) exited with ${r.status ?? r.signal}; the file is unchanged`);
    return readFileSync(tmp, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The passwords to decrypt with; with none given, asked once on the terminal. */
async function decryptKeys(f: VaultCommandFlags, secrets: SecretValues): Promise<VaultKeys> {
  const passwords = await vaultPasswords(f);
  if (!passwords.length) passwords.push({ id: DEFAULT_VAULT_ID, password: await promptPassword('Vault password: ', 'ferry vault'), source: 'the prompt' });
  return new VaultKeys(passwords, secrets);
}

function open(keys: VaultKeys, text: string, file: string): string {
  try {
    return keys.open(text, 'this file').plaintext;
  } catch (e) {
    if (!(e instanceof VaultOpenError)) throw e;
    return bad(file, e.message, e.hint);
  }
}

/** The text of a file named on the command line (size-checked as every input file is). */
async function readFileArg(file: string): Promise<string> {
  // Loaded here, not at the top: defining the vault commands (for any ferry command) needs no YAML parser.
  const { readInputFile } = await import('../yaml-source.js');
  return readInputFile(file, file, 'file');
}

/** The text of a file named on the command line (`-` is standard input). */
async function input(file: string, io: VaultIo): Promise<string> {
  return file === '-' ? readAll(io.stdin) : readFileArg(file);
}

/** Writes the result for `file`: to --output (`-` is standard output), else over the file itself. */
function output(file: string, data: string, f: VaultCommandFlags, io: VaultIo): void {
  const dest = f.output ?? file;
  if (dest === '-') io.stdout.write(data);
  else writeFileAtomic(dest, data, modeOf(f.output === undefined ? file : dest));
}

/** `!vault |` and the envelope indented below it, as ansible-vault encrypt_string prints it. */
export function formatVaultString(envelope: string, name?: string): string {
  const body = envelope.trimEnd().split('\n').map((l) => `          ${l}`).join('\n');
  return `${name ? `${name}: ` : ''}!vault |\n${body}\n`;
}

/** Adds `ferry vault` and its subcommands. */
export function addVaultCommand(program: Cli, secrets: SecretValues, io: VaultIo = process): void {
  const vault = program.command('vault').description('encrypt and decrypt Ansible Vault files and strings (the format ansible-vault writes)');
  const checkCount = (files: string[], f: VaultCommandFlags): void => {
    if (f.output !== undefined && files.length !== 1) bad('<command line>', '--output needs exactly one input file');
  };

  addVaultOptions(vault.command('encrypt').description('encrypt files in place (or to --output)').argument('<files...>', 'files to encrypt (- for standard input)'))
    .option('--output <file>', 'write here instead of over the file (- for standard output)')
    .option('--encrypt-vault-id <label>', 'with several --vault-id: the one that encrypts')
    .action(async (files: string[], f: VaultCommandFlags) => {
      checkCount(files, f);
      const pw = await encryptPassword(await vaultPasswords(f), f);
      for (const file of files) {
        const text = await input(file, io);
        if (isVaultText(text)) bad(file, 'this file is already encrypted with Ansible Vault', 'ferry vault view shows it; ferry vault decrypt decrypts it');
        output(file, encryptVault(text, pw.password, { vaultId: pw.id }), f.output === undefined && file === '-' ? { ...f, output: '-' } : f, io);
      }
    });

  addVaultOptions(vault.command('decrypt').description('decrypt files in place (or to --output)').argument('<files...>', 'files to decrypt (- for standard input)'))
    .option('--output <file>', 'write here instead of over the file (- for standard output)')
    .action(async (files: string[], f: VaultCommandFlags) => {
      checkCount(files, f);
      const keys = await decryptKeys(f, secrets);
      for (const file of files) {
        const text = await input(file, io);
        if (!isVaultText(text)) bad(file, 'this file is not encrypted with Ansible Vault');
        output(file, open(keys, text, file), f.output === undefined && file === '-' ? { ...f, output: '-' } : f, io);
      }
    });

  addVaultOptions(vault.command('view').description('print the plaintext of vault files').argument('<files...>', 'files to show (- for standard input)')).action(
    async (files: string[], f: VaultCommandFlags) => {
      const keys = await decryptKeys(f, secrets);
      for (const file of files) {
        const text = await input(file, io);
        if (!isVaultText(text)) bad(file, 'this file is not encrypted with Ansible Vault');
        io.stdout.write(open(keys, text, file));
      }
    },
  );

  addVaultOptions(
    vault
      .command('encrypt_string')
      .alias('encrypt-string')
      .description('print a string as an inline `!vault` value for a YAML file')
      .argument('[string]', 'the string (read from standard input when not given)'),
  )
    .option('-n, --name <name>', 'print it as `NAME: !vault |`')
    .option('--encrypt-vault-id <label>', 'with several --vault-id: the one that encrypts')
    .action(async (value: string | undefined, f: VaultCommandFlags) => {
      const pw = await encryptPassword(await vaultPasswords(f), f);
      const text = value ?? (await readAll(io.stdin));
      if (text === '') bad('<command line>', 'the string to encrypt is empty');
      io.stdout.write(formatVaultString(encryptVault(text, pw.password, { vaultId: pw.id }), f.name));
    });

  addVaultOptions(vault.command('edit').description('decrypt a vault file into $EDITOR, then encrypt what was saved').argument('<file>', 'the vault file')).action(
    async (file: string, f: VaultCommandFlags) => {
      const keys = await decryptKeys(f, secrets);
      const text = await readFileArg(file);
      if (!isVaultText(text)) bad(file, 'this file is not encrypted with Ansible Vault', 'ferry vault encrypt encrypts it');
      const { plaintext, key } = (() => {
        try {
          return keys.open(text, 'this file');
        } catch (e) {
          if (!(e instanceof VaultOpenError)) throw e;
          return bad(file, e.message, e.hint);
        }
      })();
      const edited = editPrivately(file, plaintext);
      if (edited === plaintext) return;
      writeFileAtomic(file, encryptVault(edited, key.password, { vaultId: key.id }), modeOf(file));
    },
  );

  addVaultOptions(vault.command('create').description('open $EDITOR on a new file, then encrypt what was saved (0600)').argument('<file>', 'the vault file to create'))
    .option('--encrypt-vault-id <label>', 'with several --vault-id: the one that encrypts')
    .action(async (file: string, f: VaultCommandFlags) => {
      if (existsSync(file)) bad(file, 'the file already exists', 'ferry vault edit changes an encrypted file; ferry vault encrypt encrypts a plain one');
      const pw = await encryptPassword(await vaultPasswords(f), f);
      // As ansible-vault: what was saved is encrypted, even when empty.
      const text = editPrivately(file, '');
      writeFileAtomic(file, encryptVault(text, pw.password, { vaultId: pw.id }), 0o600);
    });

  addVaultOptions(vault.command('rekey').description('re-encrypt vault files with a new password (and vault id), keeping their mode').argument('<files...>', 'the vault files'))
    .option('--new-vault-password-file <file>', 'a file holding the new password, or an executable that prints it')
    .option('--new-vault-id <[label@]source>', 'the new password and its vault id: SOURCE is a file, an executable or `prompt`')
    .action(async (files: string[], f: VaultCommandFlags) => {
      const keys = await decryptKeys(f, secrets);
      const pw = await newPassword(f);
      // Every file is opened before any is written: a wrong password leaves all of them as they were.
      const plain: string[] = [];
      for (const file of files) {
        const text = await readFileArg(file);
        if (!isVaultText(text)) bad(file, 'this file is not encrypted with Ansible Vault', 'ferry vault encrypt encrypts it');
        plain.push(open(keys, text, file));
      }
      files.forEach((file, i) => writeFileAtomic(file, encryptVault(plain[i]!, pw.password, { vaultId: pw.id }), modeOf(file)));
      io.stderr.write('Rekey successful\n');
    });
}
