// Turns an inventory host's connection variables (ferry_* or ansible_*) into a Transport.
import { secret } from './command.js';
import { connectionOf } from './inventory/index.js';
import { LocalTransport } from './transport/local.js';
import { SshTransport } from './transport/ssh.js';
import type { Transport } from './transport/types.js';
import type { TransportFactory } from './engine.js';

/** Options that apply to every connection of a run. */
export interface ConnectionOptions {
  acceptNewHosts?: boolean;
  sshConfigFile?: string | false;
  connectTimeoutMs?: number;
}

/** The default transport factory: local for localhost / ferry_connection local, SSH otherwise. */
export function transportFactory(o: ConnectionOptions = {}): TransportFactory {
  return (host: string, vars: Record<string, unknown>): Transport => {
    const c = connectionOf(vars);
    if (c.connection === 'local') return new LocalTransport({ host });
    return new SshTransport({
      host,
      hostName: c.host,
      port: c.port,
      user: c.user,
      identityFiles: c.privateKeyFile ? [c.privateKeyFile] : undefined,
      password: c.password !== undefined ? secret(c.password) : undefined,
      knownHostsFile: c.knownHostsFile,
      acceptNewHosts: o.acceptNewHosts,
      sshConfigFile: o.sshConfigFile,
      connectTimeoutMs: o.connectTimeoutMs,
    });
  };
}
