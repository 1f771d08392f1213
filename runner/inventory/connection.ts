// How to reach a host, from its (already templated) variables. ferry's own names win over the
// Ansible names so an inventory shared with Ansible can be tuned for ferry without breaking Ansible.
import { ansibleBoolean } from '../boolean.js';
import { ValidationError, type Loc, type Problem } from '../errors.js';

/** Where and how to connect to one host. `user` / `privateKeyFile` unset: the transport's defaults apply (ssh config, current user). */
export interface ConnectionInfo {
  host: string;
  /** Unset: ssh_config's Port for the host, else 22. */
  port?: number;
  user?: string;
  privateKeyFile?: string;
  /** none: the host is not reachable itself (a guest disk): tasks for it must use delegate_to. */
  connection: 'ssh' | 'local' | 'none';
  becomePassword?: string;
  password?: string;
  knownHostsFile?: string;
  become?: boolean;
  becomeUser?: string;
  /** Jump hosts, `[user@]host[:port]`, comma-separated (ssh's ProxyJump). */
  proxyJump?: string;
  /** Passphrase of an encrypted private key. */
  keyPassphrase?: string;
  /** Run commands in a persistent shell per connection (ferry_persistent_shell). */
  persistentShell?: boolean;
  /** Seconds to wait for the TCP connection and the SSH handshake (Ansible's `timeout`). */
  timeout?: number;
}

// Most specific name first: the first one that is set wins.
const NAMES = {
  host: ['ferry_host', 'ansible_host', 'ansible_ssh_host'],
  port: ['ferry_port', 'ansible_port', 'ansible_ssh_port'],
  user: ['ferry_user', 'ansible_user', 'ansible_ssh_user'],
  privateKeyFile: ['ferry_private_key_file', 'ansible_ssh_private_key_file', 'ansible_private_key_file'],
  connection: ['ferry_connection', 'ansible_connection'],
  becomePassword: ['ferry_become_password', 'ansible_become_password', 'ansible_become_pass'],
  password: ['ferry_password', 'ansible_password', 'ansible_ssh_pass'],
  knownHostsFile: ['ferry_known_hosts_file'],
  become: ['ferry_become', 'ansible_become'],
  becomeUser: ['ferry_become_user', 'ansible_become_user'],
  proxyJump: ['ferry_proxy_jump'],
  keyPassphrase: ['ferry_ssh_passphrase'],
  persistentShell: ['ferry_persistent_shell'],
  timeout: ['ferry_timeout', 'ansible_timeout', 'ansible_ssh_timeout'],
} as const;

/** A timeout as written (`30`, `2.5`): seconds greater than 0, else undefined. */
export function parseSeconds(text: string): number | undefined {
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  return n > 0 ? n : undefined;
}

/** What a value parseSeconds refuses is not. */
export const NOT_SECONDS = 'is not a number of seconds greater than 0';

/** Every connection variable name ferry reads (ferry_* and ansible_*). */
export const CONNECTION_VARS: ReadonlySet<string> = new Set(Object.values(NAMES).flat());

/** The connection variables among `vars`. */
export function connectionVarsOf(vars: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(vars).filter(([k, v]) => CONNECTION_VARS.has(k) && v !== undefined && v !== null && v !== ''));
}

/** The names becomeOf reads. */
const BECOME_VARS: readonly string[] = [...NAMES.become, ...NAMES.becomeUser, ...NAMES.becomePassword];

/**
 * The become variables among `vars` (set and not empty), as connectionVarsOf would keep them: all
 * that becomeOf reads, found by name rather than by going over every variable (once per host-task).
 */
export function becomeVarsOf(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of BECOME_VARS) {
    const v = Object.hasOwn(vars, k) ? vars[k] : undefined;
    if (v !== undefined && v !== null && v !== '') out[k] = v;
  }
  return out;
}

/**
 * Layers of variables (lowest first) merged so that, for each connection setting, the highest layer
 * that sets it under any of its names wins: `-e ansible_user=x` beats the inventory's `ferry_user`,
 * which beats `-u`. Within a layer the most specific name wins, as in connectionOf.
 */
export function layerConnectionVars(layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = Object.assign({}, ...layers) as Record<string, unknown>;
  for (const names of Object.values(NAMES)) {
    let winner: { name: string; value: unknown } | undefined;
    for (const layer of layers) winner = pick(layer, names) ?? winner;
    for (const n of names) delete out[n];
    if (winner) out[winner.name] = winner.value;
  }
  return out;
}

function pick(vars: Record<string, unknown>, names: readonly string[]): { name: string; value: unknown } | undefined {
  for (const name of names) {
    const value = vars[name];
    if (value !== undefined && value !== null && value !== '') return { name, value };
  }
  return undefined;
}


/**
 * The become settings of a host's variables: `become` and `become_user` read and checked by
 * connectionOf (one truthiness rule, one message for a bad value), and the password under the same
 * names connectionOf reads, kept as given (a vaulted or prompted one is a Secret).
 */
export function becomeOf(host: string, vars: Record<string, unknown>): Pick<ConnectionInfo, 'become' | 'becomeUser'> & { password?: unknown } {
  const only = Object.fromEntries([...NAMES.become, ...NAMES.becomeUser].filter((k) => k in vars).map((k) => [k, vars[k]]));
  const { become, becomeUser } = connectionOf({ inventory_hostname: host, ...only });
  const password = pick(vars, NAMES.becomePassword)?.value;
  return { become, becomeUser, ...(password !== undefined ? { password } : {}) };
}

/** Where a host variable is written, for messages (Inventory.varLocOf). */
export type VarLocator = (variable: string) => Loc | undefined;

/**
 * Maps a host's variables (needs `inventory_hostname`) to connection settings; bad values throw a
 * ValidationError naming the variable and, with `locate`, the file:line that sets it.
 */
export function connectionOf(vars: Record<string, unknown>, locate?: VarLocator): ConnectionInfo {
  const name = String(vars.inventory_hostname ?? '');
  const problems: Problem[] = [];
  const bad = (variable: string, message: string, hint = 'fix the variable in the inventory, group_vars/ or host_vars/'): void => {
    problems.push({ loc: locate?.(variable), message: `host '${name}': ${message}`, hint });
  };
  const str = (key: keyof typeof NAMES): { name: string; value: string } | undefined => {
    const p = pick(vars, NAMES[key]);
    if (!p) return undefined;
    if (typeof p.value === 'object') {
      bad(p.name, `${p.name} must be a single value, got ${Array.isArray(p.value) ? 'a list' : 'a mapping'}`);
      return undefined;
    }
    return { name: p.name, value: String(p.value) };
  };

  const hostVar = str('host');
  const host = hostVar?.value ?? name;
  // ssh2 takes it as an address: a blank, a control character or a leading '-' is a typo or worse.
  if (hostVar && (/[\s\x00-\x1f\x7f]/.test(host) || host.startsWith('-'))) {
    bad(hostVar.name, `${hostVar.name} ${JSON.stringify(host)} is not a host name or address`);
  }
  const portVar = str('port');
  let port: number | undefined;
  if (portVar !== undefined) {
    const n = /^\s*\d+\s*$/.test(portVar.value) ? Number(portVar.value) : NaN;
    if (Number.isInteger(n) && n > 0 && n < 65536) port = n;
    else bad(portVar.name, `${portVar.name} '${portVar.value}' is not a TCP port number (1-65535)`);
  }

  const timeoutVar = str('timeout');
  const timeout = timeoutVar && parseSeconds(timeoutVar.value);
  if (timeoutVar && timeout === undefined) bad(timeoutVar.name, `${timeoutVar.name} '${timeoutVar.value}' ${NOT_SECONDS}`);

  const connVar = str('connection');
  let connection: 'ssh' | 'local' | 'none';
  if (connVar === undefined) connection = name === 'localhost' ? 'local' : 'ssh';
  // Ansible's ssh-based plugins all mean "over SSH" for ferry.
  else if (['ssh', 'paramiko', 'paramiko_ssh', 'smart'].includes(connVar.value)) connection = 'ssh';
  else if (connVar.value === 'local') connection = 'local';
  else if (connVar.value === 'none') connection = 'none';
  else {
    bad(connVar.name, `${connVar.name} '${connVar.value}' is not supported (use ssh, local or none)`);
    connection = 'ssh';
  }

  const flag = (key: 'become' | 'persistentShell'): boolean | undefined => {
    const v = pick(vars, NAMES[key]);
    if (!v) return undefined;
    const b = ansibleBoolean(v.value);
    if (b === undefined) bad(v.name, `${v.name} must be a boolean, got '${String(v.value)}'`);
    return b;
  };
  const become = flag('become');
  const persistentShell = flag('persistentShell');

  const info: ConnectionInfo = { host, connection };
  if (port !== undefined) info.port = port;
  const optional = ['user', 'privateKeyFile', 'becomePassword', 'password', 'knownHostsFile', 'becomeUser', 'proxyJump', 'keyPassphrase'] as const;
  for (const key of optional) {
    const v = str(key);
    if (v !== undefined) info[key] = v.value;
  }
  if (become !== undefined) info.become = become;
  if (persistentShell !== undefined) info.persistentShell = persistentShell;
  if (timeout !== undefined) info.timeout = timeout;
  if (problems.length) throw new ValidationError(problems);
  return info;
}
