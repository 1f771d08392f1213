// Turns an inventory host's connection variables (ferry_* or ansible_*, mapped by the inventory's
// connectionOf) into a Transport: local for localhost / ferry_connection local, SSH otherwise.
import { secret } from './command.js';
import { connectionOf } from './inventory/index.js';
import { layerConnectionVars } from './inventory/connection.js';
import { UnreachableError } from './errors.js';
import { LocalTransport } from './transport/local.js';
import { SshTransport, type SshTransportOptions } from './transport/ssh.js';
import type { Transport } from './transport/types.js';
import type { TransportFactory } from './connection-pool.js';

/** Options that apply to every connection of a run (from the command line). */
export interface ConnectionOptions {
  acceptNewHosts?: boolean;
  /** ssh_config to honour instead of ~/.ssh/config (false: none). */
  sshConfigFile?: string | false;
  /** known_hosts for hosts whose variables name none. */
  knownHostsFile?: string;
  /** The connection timeout when the host's variables set none (ansible_timeout, -T). */
  connectTimeoutMs?: number;
  /** Connection variables below the inventory's (-u, --private-key, -k, ansible.cfg). */
  defaults?: Record<string, unknown>;
  /** Connection variables above everything (-e). */
  overrides?: Record<string, unknown>;
}

/** A host's connection variables with the command line's defaults under and `-e` over the inventory's. */
export function connectionVarsFor(vars: Record<string, unknown>, o: ConnectionOptions): Record<string, unknown> {
  return o.defaults || o.overrides ? layerConnectionVars([o.defaults ?? {}, vars, o.overrides ?? {}]) : vars;
}

/** The SSH options for one host from its variables (needs inventory_hostname); bad values throw ValidationError. */
export function sshOptionsFor(host: string, vars: Record<string, unknown>, o: ConnectionOptions = {}): SshTransportOptions {
  const c = connectionOf({ inventory_hostname: host, ...vars });
  // No port given: ssh_config's Port for the host applies, else 22 (the transport decides).
  const opts: SshTransportOptions = { host, hostName: c.host };
  if (c.port !== undefined) opts.port = c.port;
  if (c.user) opts.user = c.user;
  if (c.privateKeyFile) opts.identityFiles = [c.privateKeyFile];
  if (c.password !== undefined) opts.password = secret(c.password);
  if (c.keyPassphrase !== undefined) opts.passphrase = secret(c.keyPassphrase);
  if (c.proxyJump) opts.proxyJump = c.proxyJump;
  if (c.persistentShell !== undefined) opts.persistentShell = c.persistentShell;
  const known = c.knownHostsFile ?? o.knownHostsFile;
  if (known) opts.knownHostsFile = known;
  if (o.acceptNewHosts) opts.acceptNewHosts = true;
  if (o.sshConfigFile !== undefined) opts.sshConfigFile = o.sshConfigFile;
  const timeoutMs = c.timeout !== undefined ? Math.round(c.timeout * 1000) : o.connectTimeoutMs;
  if (timeoutMs !== undefined) opts.connectTimeoutMs = timeoutMs;
  return opts;
}

/** Makes the transport for one inventory host. */
export function transportForHost(host: string, vars: Record<string, unknown>, o: ConnectionOptions = {}): Transport {
  const kind = connectionOf({ inventory_hostname: host, ...vars }).connection;
  if (kind === 'local') return new LocalTransport({ host });
  if (kind === 'none') return new UnreachableTransport(host);
  return new SshTransport(sshOptionsFor(host, vars, o));
}

/** The default transport factory of the engine. */
export function transportFactory(o: ConnectionOptions = {}): TransportFactory {
  return (host, vars) => transportForHost(host, connectionVarsFor(vars, o), o);
}

/** The transport of a host with `ferry_connection: none` (a guest known only as a disk): every use says so. */
class UnreachableTransport implements Transport {
  constructor(readonly host: string) {}
  private refuse(): never {
    throw new UnreachableError(this.host, 'has ferry_connection: none (it is not a machine ferry can reach); run its tasks with delegate_to: its hypervisor');
  }
  async connect(): Promise<void> {
    this.refuse();
  }
  run(): never {
    this.refuse();
  }
  spawn(): never {
    this.refuse();
  }
  put(): never {
    this.refuse();
  }
  get(): never {
    this.refuse();
  }
  async close(): Promise<void> {}
}
