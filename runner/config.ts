// ansible.cfg (or ferry.cfg): found where Ansible looks for it, read as Python's configparser reads
// INI, and merged with the ANSIBLE_* environment variables. Precedence, as in Ansible: command line
// > environment > cfg file > defaults (the command line is applied by the CLI over what this returns).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ansibleBoolean } from './boolean.js';
import { ValidationError, type Loc, type Problem } from './errors.js';

/** The settings ferry takes from ansible.cfg and the environment; unset: not given anywhere. */
export interface FerryConfig {
  /** The cfg file that was read, if any. */
  file?: string;
  inventory?: string[];
  forks?: number;
  remoteUser?: string;
  privateKeyFile?: string;
  /** Seconds to wait for a connection (`timeout`). */
  timeout?: number;
  hostKeyChecking?: boolean;
  /** Where roles are looked up (`roles_path`, colon-separated), for the roles loader. */
  rolesPath?: string[];
  /** A vault password file (or an executable that prints the password), passed on as a path. */
  vaultPasswordFile?: string;
  become?: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  /**
   * Whether plays gather facts when they do not say (`gathering`): implicit (yes), explicit (no),
   * smart (yes, but not again for a host that has facts; ferry never gathers twice in a run anyway).
   */
  gathering?: 'implicit' | 'explicit' | 'smart';
  /** What the user should know (a cfg file skipped, as Ansible skips it). */
  warnings: string[];
}

/** One `key = value` of an INI file, with the line it starts on. */
export interface IniValue {
  value: string;
  line: number;
}

/** An INI file as configparser reads it: section → (lower-cased) key → value. */
export type IniFile = Map<string, Map<string, IniValue>>;

/**
 * Parses INI text as Python's configparser does with Ansible's settings: `[section]`, `key = value`
 * or `key: value`, `#`/`;` comment lines, `;` inline comments after a blank, indented continuation
 * lines, keys case-insensitive. Duplicate sections or keys and stray lines are problems at file:line.
 */
export function parseIni(text: string, file: string): IniFile {
  const out: IniFile = new Map();
  const problems: Problem[] = [];
  let section: Map<string, IniValue> | undefined;
  let last: IniValue | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const loc: Loc = { file, line };
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      if (trimmed === '') last = undefined;
      return;
    }
    if (/^\s/.test(raw) && last) {
      last.value += '\n' + stripInlineComment(trimmed);
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(trimmed);
    if (header) {
      const name = header[1]!.trim();
      if (out.has(name)) problems.push({ loc, message: `section [${name}] appears twice`, hint: 'merge the two sections' });
      section = out.get(name) ?? new Map();
      out.set(name, section);
      last = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!kv) {
      problems.push({ loc, message: `cannot read ${JSON.stringify(trimmed)}: not a [section], a key = value or a comment` });
      return;
    }
    if (!section) {
      problems.push({ loc, message: `${kv[1]} is set before any [section]`, hint: 'put it under [defaults]' });
      return;
    }
    const key = kv[1]!.toLowerCase();
    if (section.has(key)) problems.push({ loc, message: `${key} is set twice in its section (first at line ${section.get(key)!.line})` });
    last = { value: stripInlineComment(kv[2]!), line };
    section.set(key, last);
  });
  if (problems.length) throw new ValidationError(problems);
  return out;
}

// configparser(inline_comment_prefixes=(';',)): a ';' after a blank starts a comment.
function stripInlineComment(s: string): string {
  const m = /\s;/.exec(s);
  return (m ? s.slice(0, m.index) : s).trim();
}


/**
 * The cfg file Ansible would read: $ANSIBLE_CONFIG (a file, or a directory holding ansible.cfg),
 * else ./ansible.cfg or ./ferry.cfg (not in a world-writable directory, as Ansible refuses it),
 * else ~/.ansible.cfg.
 */
export function findConfigFile(env: NodeJS.ProcessEnv, cwd: string, home: string, warnings: string[] = []): string | undefined {
  const fromEnv = env.ANSIBLE_CONFIG;
  if (fromEnv) {
    const p = resolve(cwd, expandHome(fromEnv, home));
    if (existsSync(p) && statSync(p).isDirectory()) return existsSync(join(p, 'ansible.cfg')) ? join(p, 'ansible.cfg') : undefined;
    if (existsSync(p)) return p;
    // Ansible ignores a missing ANSIBLE_CONFIG silently; a typo there is worth a word.
    warnings.push(`ANSIBLE_CONFIG=${fromEnv}: no such file; looking in the usual places`);
  }
  for (const name of ['ansible.cfg', 'ferry.cfg']) {
    const p = join(cwd, name);
    if (!existsSync(p)) continue;
    if (statSync(cwd).mode & 0o002) {
      warnings.push(`${p} is ignored: ${cwd} is world writable (anyone could put a cfg there), as Ansible does`);
      continue;
    }
    return p;
  }
  const user = join(home, '.ansible.cfg');
  return existsSync(user) ? user : undefined;
}

/** `~` and `~/…` as the user's home (what a shell, ssh_config and Ansible's paths expand). */
export function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** A path as messages show it: relative when it is under the current directory (as ferry shows the files it was given). */
function shown(file: string, cwd: string): string {
  const r = relative(cwd, file);
  return r.startsWith('..') || isAbsolute(r) ? file : r;
}

/** A setting: where it is read from in the cfg file and the environment, and how its text becomes a value. */
interface Setting {
  key: keyof Omit<FerryConfig, 'file' | 'warnings'>;
  section: string;
  name: string;
  env: string;
  kind: 'string' | 'path' | 'pathlist' | 'pathspec' | 'int' | 'bool' | 'become_method' | 'gathering';
}

const SETTINGS: Setting[] = [
  { key: 'inventory', section: 'defaults', name: 'inventory', env: 'ANSIBLE_INVENTORY', kind: 'pathlist' },
  { key: 'forks', section: 'defaults', name: 'forks', env: 'ANSIBLE_FORKS', kind: 'int' },
  { key: 'remoteUser', section: 'defaults', name: 'remote_user', env: 'ANSIBLE_REMOTE_USER', kind: 'string' },
  { key: 'privateKeyFile', section: 'defaults', name: 'private_key_file', env: 'ANSIBLE_PRIVATE_KEY_FILE', kind: 'path' },
  { key: 'timeout', section: 'defaults', name: 'timeout', env: 'ANSIBLE_TIMEOUT', kind: 'int' },
  { key: 'hostKeyChecking', section: 'defaults', name: 'host_key_checking', env: 'ANSIBLE_HOST_KEY_CHECKING', kind: 'bool' },
  { key: 'rolesPath', section: 'defaults', name: 'roles_path', env: 'ANSIBLE_ROLES_PATH', kind: 'pathspec' },
  { key: 'vaultPasswordFile', section: 'defaults', name: 'vault_password_file', env: 'ANSIBLE_VAULT_PASSWORD_FILE', kind: 'path' },
  { key: 'gathering', section: 'defaults', name: 'gathering', env: 'ANSIBLE_GATHERING', kind: 'gathering' },
  { key: 'become', section: 'privilege_escalation', name: 'become', env: 'ANSIBLE_BECOME', kind: 'bool' },
  { key: 'becomeUser', section: 'privilege_escalation', name: 'become_user', env: 'ANSIBLE_BECOME_USER', kind: 'string' },
  { key: 'becomeMethod', section: 'privilege_escalation', name: 'become_method', env: 'ANSIBLE_BECOME_METHOD', kind: 'become_method' },
];

/** A setting's text as its value; relative paths are taken from `base` (the cfg file's folder, or the cwd). */
function convert(s: Setting, text: string, base: string, home: string): { value: unknown } | { error: string; hint?: string } {
  const path = (p: string): string => {
    const e = expandHome(p.trim(), home);
    return isAbsolute(e) ? e : resolve(base, e);
  };
  switch (s.kind) {
    case 'string':
      return { value: text };
    case 'path':
      return text === '' ? { value: undefined } : { value: path(text) };
    case 'pathlist':
      return { value: text.split(',').map((p) => p.trim()).filter(Boolean).map(path) };
    case 'pathspec':
      return { value: text.split(':').map((p) => p.trim()).filter(Boolean).map(path) };
    case 'int': {
      const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
      return Number.isInteger(n) && n >= 1 ? { value: n } : { error: `${s.name} must be a positive whole number, got '${text}'` };
    }
    case 'bool': {
      const b = ansibleBoolean(text);
      return b === undefined ? { error: `${s.name} must be a boolean (true/false, yes/no, on/off, 1/0), got '${text}'` } : { value: b };
    }
    case 'gathering': {
      const g = text.trim().toLowerCase();
      return g === 'implicit' || g === 'explicit' || g === 'smart'
        ? { value: g }
        : { error: `gathering must be implicit, explicit or smart, got '${text}'`, hint: 'explicit: plays gather facts only with gather_facts: true' };
    }
    case 'become_method':
      return text.trim().toLowerCase() === 'sudo' ? { value: 'sudo' } : { error: `become_method '${text}' is not supported`, hint: 'ferry becomes another user with sudo only (become_method = sudo)' };
  }
}

/**
 * The settings from the cfg file (when there is one) with the ANSIBLE_* environment over them.
 * A value that cannot be used is a problem at its file:line (or naming the variable); all are
 * collected. Unknown sections and keys are ignored, as Ansible ignores them.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), home = homedir()): FerryConfig {
  const warnings: string[] = [];
  const file = findConfigFile(env, cwd, home, warnings);
  const cfg: FerryConfig = { warnings, ...(file ? { file } : {}) };
  const problems: Problem[] = [];
  let ini: IniFile = new Map();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ValidationError([{ loc: { file: shown(file, cwd), line: 1 }, message: `cannot read the config file: ${(e as Error).message}` }]);
    }
    ini = parseIni(text, shown(file, cwd));
  }
  const set = (s: Setting, r: ReturnType<typeof convert>, loc: Loc | undefined, where: string): void => {
    if ('error' in r) problems.push({ loc, message: `${where}${r.error}`, hint: r.hint });
    else if (r.value !== undefined) (cfg as unknown as Record<string, unknown>)[s.key] = r.value;
    else delete (cfg as unknown as Record<string, unknown>)[s.key];
  };
  for (const s of SETTINGS) {
    const v = ini.get(s.section)?.get(s.name);
    if (v) set(s, convert(s, v.value, dirname(file!), home), { file: shown(file!, cwd), line: v.line }, '');
    const e = env[s.env];
    if (e !== undefined && e !== '') set(s, convert(s, e, cwd, home), undefined, `${s.env}=${e}: `);
  }
  if (problems.length) throw new ValidationError(problems);
  return cfg;
}
