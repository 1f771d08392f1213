// known_hosts as OpenSSH writes it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): pure parsing and
// lookup, so that host key checking is unit-tested without a network.
import { createHash, createHmac, randomBytes } from 'node:crypto';

/** One host pattern of a known_hosts line: plain (may hold wildcards or `!`) or hashed (`|1|salt|hash`). */
export type HostPattern =
  | { kind: 'plain'; pattern: string; negated: boolean }
  | { kind: 'hashed'; salt: Buffer; hash: Buffer };

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  hosts: HostPattern[];
  keyType: string;
  /** The key blob, decoded from base64. */
  key: Buffer;
}

/** What a known_hosts lookup found for a presented key. */
export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown' }
  | { status: 'changed'; entries: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/** The name a host is recorded under: `host` on port 22, `[host]:port` otherwise (as OpenSSH does). */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The OpenSSH SHA256 fingerprint of a key blob: `SHA256:` + base64 without padding. */
export function fingerprintSha256(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The key type written inside an SSH key blob (its first string), e.g. `ssh-ed25519`. */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  if (len <= 0 || 4 + len > key.length) return 'unknown';
  return key.subarray(4, 4 + len).toString('latin1');
}

function parseHostPattern(p: string): HostPattern | undefined {
  if (p.startsWith('|1|')) {
    const [, , salt, hash] = p.split('|');
    if (!salt || !hash) return undefined;
    return { kind: 'hashed', salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
  }
  if (p.startsWith('!')) return { kind: 'plain', pattern: p.slice(1), negated: true };
  return { kind: 'plain', pattern: p, negated: false };
}

/** Parses a known_hosts file's text; comments, blank and malformed lines are skipped (as ssh does). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // an unknown marker: ssh ignores the line, so do we
    }
    const [hostList, keyType, keyB64] = fields;
    if (!hostList || !keyType || !keyB64) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyB64)) return;
    const key = Buffer.from(keyB64, 'base64');
    // a key line names its type twice (field and blob): a mismatch is a damaged line, as ssh-keygen says
    if (keyTypeOfBlob(key) !== keyType) return;
    const hosts = hostList.split(',').map(parseHostPattern);
    if (hosts.some((h) => h === undefined)) return;
    entries.push({
      file,
      line: i + 1,
      ...(marker ? { marker } : {}),
      hosts: hosts as HostPattern[],
      keyType,
      key,
    });
  });
  return entries;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function patternMatches(p: HostPattern, token: string): boolean {
  if (p.kind === 'hashed') {
    const h = createHmac('sha1', p.salt).update(token).digest();
    return h.equals(p.hash);
  }
  return globToRegExp(p.pattern).test(token);
}

/** True when an entry's host list names `token` (a negated pattern that matches excludes the entry). */
export function entryMatchesHost(entry: KnownHostEntry, token: string): boolean {
  let matched = false;
  for (const p of entry.hosts) {
    if (!patternMatches(p, token)) continue;
    if (p.kind === 'plain' && p.negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * Checks a presented host key against known_hosts entries, the way OpenSSH decides:
 * a revoked key fails; a plain entry with the same key is known; entries for the host with
 * other keys mean the key changed; no entry means unknown. Certificate authorities are not
 * used to accept a plain host key (ferry does not do host certificates).
 */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const token = hostToken(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, token));
  const known = forHost.find((e) => e.key.equals(key));
  if (known) return { status: 'known', entry: known };
  if (forHost.length > 0) return { status: 'changed', entries: forHost };
  return { status: 'unknown' };
}

/** Key types already recorded for a host, to prefer them when negotiating (as ssh does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const token = hostToken(host, port);
  const types = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, token)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** One known_hosts line for a host key; hashed (`|1|salt|hash`) when asked, as `HashKnownHosts yes` does. */
export function formatKnownHostsLine(host: string, port: number, key: Buffer, opts: { hashed?: boolean } = {}): string {
  const token = hostToken(host, port);
  let name = token;
  if (opts.hashed) {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(token).digest();
    name = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
  }
  return `${name} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}
