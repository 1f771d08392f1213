// Reading what ~/.ssh/config says about a host (HostName, User, Port, IdentityFile, ProxyJump),
// with the `ssh-config` package doing the matching; token and ~ expansion done here.
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import SSHConfig from 'ssh-config';
import { expandHome } from '../config.js';

/** The connection settings ssh_config gives for one host; absent when the file says nothing. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  /** Jump hosts, first hop first; undefined when none. */
  proxyJump?: string[];
}

/** One hop of a ProxyJump list: `[user@]host[:port]` (or an ssh:// URL). */
export interface JumpSpec {
  host: string;
  user?: string;
  port?: number;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Expands `~` and the %-tokens ssh_config allows in IdentityFile (%d %u %h %r %p %%). */
export function expandPathTokens(path: string, t: { host: string; user: string; port: number }): string {
  const home = homedir();
  const expanded = path.replace(/%([duhrp%])/g, (_m, c: string) => {
    switch (c) {
      case 'd':
        return home;
      case 'u':
        return userInfo().username;
      case 'h':
        return t.host;
      case 'r':
        return t.user;
      case 'p':
        return String(t.port);
      default:
        return '%';
    }
  });
  return expandHome(expanded, home);
}

/** Parses one ProxyJump hop. */
export function parseJump(spec: string): JumpSpec {
  let s = spec.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
  }
  let host = s;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const colon = /^([^:]+):(\d+)$/.exec(s);
  if (bracket) {
    host = bracket[1] ?? s;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (colon) {
    host = colon[1] ?? s;
    port = Number(colon[2]);
  }
  return { host, ...(user ? { user } : {}), ...(port ? { port } : {}) };
}

/** What the ssh_config text says for `host` (first value wins, as in ssh). */
export function resolveSshConfig(text: string, host: string): SshHostConfig {
  const computed = SSHConfig.parse(text).compute(host, { ignoreCase: true, matchExec: false });
  const out: SshHostConfig = {};
  const hostName = first(computed.hostname);
  if (hostName) out.hostName = hostName.replace(/%h/g, host);
  const user = first(computed.user);
  if (user) out.user = user;
  const port = first(computed.port);
  if (port && /^\d+$/.test(port)) out.port = Number(port);
  const ids = computed.identityfile;
  if (ids) out.identityFiles = Array.isArray(ids) ? ids : [ids];
  const jump = first(computed.proxyjump);
  if (jump && jump.toLowerCase() !== 'none') out.proxyJump = jump.split(',').map((s) => s.trim()).filter(Boolean);
  return out;
}

/** Reads an ssh_config file and resolves `host`; a missing file says nothing. */
export function loadSshConfig(path: string, host: string): SshHostConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  return resolveSshConfig(text, host);
}
