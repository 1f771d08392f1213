// Where roles are found and which files of a role directory are read, as Ansible looks for them.
// Pure path logic: the loader reads the files.
import { statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { expandHome } from '../config.js';

/**
 * The folders a role name is looked up in, in order: roles/ beside the playbook, the playbook's
 * folder, the folder holding the role that names it (a dependency's siblings), then the roles path
 * (ANSIBLE_ROLES_PATH, the `rolesPath` option, ansible.cfg roles_path).
 */
export function roleSearchPath(playbookDir: string, rolesPath: readonly string[], callerRoleDir?: string): string[] {
  const dirs = [join(playbookDir, 'roles'), playbookDir, ...(callerRoleDir ? [dirname(callerRoleDir)] : []), ...rolesPath.map((d) => resolve(playbookDir, d))];
  return [...new Set(dirs)];
}

/** The roles path from ANSIBLE_ROLES_PATH (colon separated, `~` expanded), empty when unset. */
export function rolesPathFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? '';
  return (env.ANSIBLE_ROLES_PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((d) => expandHome(d, home));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether a path is a regular file (following links). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The role directory a name means, or the candidates that were tried. */
export function findRole(name: string, searchPath: readonly string[]): { path: string } | { tried: string[] } {
  const tried = isAbsolute(name) ? [name] : searchPath.map((d) => join(d, name));
  const path = tried.find(isDir);
  return path ? { path } : { tried };
}

/**
 * The file of a role sub-folder (`tasks`, `handlers`, `vars`, `defaults`, `meta`) for `base`
 * (main, or a tasks_from-style name): base.yml, base.yaml, base.json, then base as written.
 */
export function roleFile(roleDir: string, sub: string, base: string): { path: string } | { tried: string[] } {
  const dir = join(roleDir, sub);
  const tried = /\.(ya?ml|json)$/.test(base) ? [join(dir, base)] : [join(dir, `${base}.yml`), join(dir, `${base}.yaml`), join(dir, `${base}.json`), join(dir, base)];
  const path = tried.find(isFile);
  return path ? { path } : { tried };
}
