// The lookups a playbook may use (`lookup('env', 'HOME')`, `lookup('file', 'motd.txt')`), done on
// the controller as Ansible's lookup plugins do them. Lookups that run commands (pipe, …) are not
// offered at all: the parser refuses them by name.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ExprEvalError, pyStr, type LookupFn } from './expr/index.js';

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
export function controllerLookups(baseDirs: readonly string[], env: NodeJS.ProcessEnv = process.env): LookupFn {
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
