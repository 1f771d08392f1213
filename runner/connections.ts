// Turns an inventory host's connection variables (ferry_* or ansible_*, mapped by the inventory's
// connectionOf) into a Transport: local for localhost / ferry_connection local, SSH otherwise.
import { secret } from './command.js';
import { connectionOf } from './inventory/index.js';
import { LocalTransport } from './transport/local.js';
import { SshTransport, type SshTransportOptions } from './transport/ssh.js';
import type { Transport } from './transport/types.js';
import type { TransportFactory } from './engine.js';

/** Options that apply to every connection of a run (from the command line). */
export interface ConnectionOptions {
  acceptNewHosts?: boolean;
  /** ssh_config to honour instead of ~/.ssh/config (false: none). */
  sshConfigFile?: string | false;
  /** known_hosts for hosts whose variables name none. */
  knownHostsFile?: string;
  connectTimeoutMs?: number;
}

/** The SSH options for one host from its variables (needs inventory_hostname); bad values throw ValidationError. */
export function sshOptionsFor(host: string, vars: Record<string, unknown>, o: ConnectionOptions = {}): SshTransportOptions {
  const c = connectionOf({ inventory_hostname: host, ...vars });
  const opts: SshTransportOptions = { host, hostName: c.host, port: c.port };
  if (c.user) opts.user = c.user;
  if (c.privateKeyFile) opts.identityFiles = [c.privateKeyFile];
  if (c.password !== undefined) opts.password = secret(c.password);
  if (c.keyPassphrase !== undefined) opts.passphrase = secret(c.keyPassphrase);
  if (c.proxyJump) opts.proxyJump = c.proxyJump;
  const known = c.knownHostsFile ?? o.knownHostsFile;
  if (known) opts.knownHostsFile = known;
  if (o.acceptNewHosts) opts.acceptNewHosts = true;
  if (o.sshConfigFile !== undefined) opts.sshConfigFile = o.sshConfigFile;
  if (o.connectTimeoutMs !== undefined) opts.connectTimeoutMs = o.connectTimeoutMs;
  return opts;
}

/** Makes the transport for one inventory host. */
export function transportForHost(host: string, vars: Record<string, unknown>, o: ConnectionOptions = {}): Transport {
  if (connectionOf({ inventory_hostname: host, ...vars }).connection === 'local') return new LocalTransport({ host });
  return new SshTransport(sshOptionsFor(host, vars, o));
}

/** The default transport factory of the engine. */
export function transportFactory(o: ConnectionOptions = {}): TransportFactory {
  return (host, vars) => transportForHost(host, vars, o);
}
