// The lookups a playbook may use (`lookup('env', 'HOME')`, `lookup('file', 'motd.txt')`), done on
// the controller as Ansible's lookup plugins do them. Lookups that run commands (pipe, …) are not
// offered at all: the parser refuses them by name. A vault-encrypted file is decrypted, as Ansible
// does, and what it holds is a secret.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ExprEvalError, pyStr, type LookupFn } from './expr/index.js';
import { isVaultText } from './vault/format.js';
import { VaultKeys, VaultOpenError } from './vault/keys.js';

/**
 * The key under which a task's variables carry the run's vault passwords for lookups: a symbol, so
 * it is copied with the variables (spread, Object.assign) yet never listed, printed or templated.
 */
export const LOOKUP_VAULT: unique symbol = Symbol('ferry vault keys for lookups');

/** The vault passwords a task's variables carry for lookups (see LOOKUP_VAULT). */
export function lookupVault(vars: object): VaultKeys | undefined {
  const v = (vars as Record<symbol, unknown>)[LOOKUP_VAULT];
  return v instanceof VaultKeys ? v : undefined;
}

/** A file's text for lookup('file'): decrypted when it is vault-encrypted, its plaintext marked secret. */
function fileText(text: string, name: string, vault: VaultKeys | undefined): string {
  if (!isVaultText(text)) return text;
  const keys = vault ?? new VaultKeys([]);
  try {
    const plain = keys.open(text, `the file ${name}`).plaintext;
    keys.secrets.addDecrypted(plain);
    return plain;
  } catch (e) {
    if (!(e instanceof VaultOpenError)) throw e;
    throw new ExprEvalError(`lookup('file', ${JSON.stringify(name)}): ${e.message} (${e.hint})`);
  }
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'string') return ['yes', 'on', '1', 'true'].includes(v.toLowerCase());
  return v === true || v === 1;
}

/** Where lookup('file', name) looks for a relative name: files/ beside the playbook (or role), then the directory itself. */
export function fileSearchPath(name: string, baseDirs: readonly string[]): string[] {
  if (isAbsolute(name)) return [name];
  return baseDirs.flatMap((d) => [join(d, 'files', name), join(d, name)]);
}

/**
 * Where include_vars looks for a relative file or folder: the role's vars/ and the role's folder
 * (inside a role), then vars/ beside the playbook and the playbook's folder.
 */
export function varsFileSearchPath(name: string, playbookDir: string, roleDir?: string): string[] {
  if (isAbsolute(name)) return [name];
  return [...(roleDir ? [roleDir] : []), playbookDir].flatMap((d) => [join(d, 'vars', name), join(d, name)]);
}

/** The lookups of a play whose files are in `baseDirs` (the role's directory first, then the playbook's). */
export function controllerLookups(baseDirs: readonly string[], env: NodeJS.ProcessEnv = process.env, vault?: VaultKeys): LookupFn {
  return (name, terms, kw) => {
    switch (name) {
      case 'env':
        return terms.map((t) => {
          const v = env[pyStr(t)];
          return v !== undefined ? v : kw.default !== undefined ? kw.default : '';
        });
      case 'file':
        return terms.map((t) => {
          const paths = fileSearchPath(pyStr(t), baseDirs);
          for (const p of paths) {
            let text: string;
            try {
              text = readFileSync(p, 'utf8');
            } catch {
              continue;
            }
            text = fileText(text, pyStr(t), vault);
            if (bool(kw.rstrip, true)) text = text.trimEnd();
            if (bool(kw.lstrip, false)) text = text.trimStart();
            return text;
          }
          throw new ExprEvalError(`lookup('file', ${JSON.stringify(pyStr(t))}): no such file (looked for ${paths.join(', ')})`);
        });
    }
    throw new ExprEvalError(`the lookup '${name}' is not supported`);
  };
}
