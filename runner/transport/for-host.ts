// Picks and configures a host's transport from its inventory variables (Ansible's names where
// Ansible has one: ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file, ...).
import { secret } from '../command.js';
import { ValidationError, type Problem } from '../errors.js';
import { LocalTransport } from './local.js';
import { SshTransport, type SshTransportOptions } from './ssh.js';
import type { Transport } from './types.js';

/** Run-wide connection settings (from the command line). */
export interface ConnectionDefaults {
  acceptNewHosts?: boolean;
  /** ssh_config to honour instead of ~/.ssh/config (false: none). */
  sshConfigFile?: string | false;
  knownHostsFile?: string;
}

function str(vars: Record<string, unknown>, key: string, problems: Problem[]): string | undefined {
  const v = vars[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  problems.push({ message: `${key} must be a string, not ${Array.isArray(v) ? 'a list' : typeof v}` });
  return undefined;
}

/** True when the host runs on the controller itself (`localhost` or `ferry_connection: local`). */
export function isLocalHost(name: string, vars: Record<string, unknown>): boolean {
  const c = vars.ferry_connection ?? vars.ansible_connection;
  return c === 'local' || (c === undefined && name === 'localhost' && vars.ansible_host === undefined);
}

/** The SSH options a host's variables ask for; every bad value is reported at once. */
export function sshOptionsFromVars(name: string, vars: Record<string, unknown>, defaults: ConnectionDefaults = {}): SshTransportOptions {
  const problems: Problem[] = [];
  const opts: SshTransportOptions = { host: name };
  const hostName = str(vars, 'ansible_host', problems);
  if (hostName) opts.hostName = hostName;
  const port = str(vars, 'ansible_port', problems);
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      problems.push({ message: `ansible_port ${JSON.stringify(port)} is not a port number (1-65535)` });
    } else opts.port = Number(port);
  }
  const user = str(vars, 'ansible_user', problems);
  if (user) opts.user = user;
  const key = str(vars, 'ansible_ssh_private_key_file', problems);
  if (key) opts.identityFiles = [key];
  const passphrase = str(vars, 'ferry_ssh_passphrase', problems);
  if (passphrase) opts.passphrase = secret(passphrase);
  const password = str(vars, 'ansible_password', problems) ?? str(vars, 'ansible_ssh_pass', problems);
  if (password) opts.password = secret(password);
  const jump = str(vars, 'ferry_proxy_jump', problems);
  if (jump) opts.proxyJump = jump;
  const known = str(vars, 'ferry_known_hosts_file', problems) ?? defaults.knownHostsFile;
  if (known) opts.knownHostsFile = known;
  if (defaults.acceptNewHosts) opts.acceptNewHosts = true;
  if (defaults.sshConfigFile !== undefined) opts.sshConfigFile = defaults.sshConfigFile;
  if (problems.length > 0) {
    throw new ValidationError(problems.map((p) => ({ ...p, message: `host ${name}: ${p.message}` })));
  }
  return opts;
}

/** Makes the transport for one inventory host. */
export function transportForHost(name: string, vars: Record<string, unknown>, defaults: ConnectionDefaults = {}): Transport {
  if (isLocalHost(name, vars)) return new LocalTransport({ host: name });
  return new SshTransport(sshOptionsFromVars(name, vars, defaults));
}
