import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkHostKey,
  entryMatchesHost,
  fingerprintSha256,
  formatKnownHostsLine,
  hostToken,
  keyTypeOfBlob,
  knownKeyTypes,
  parseKnownHosts,
} from '../../runner/transport/known-hosts.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'known-hosts');
const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
/** The key blob of a fixture .pub file. */
const blob = (name: string): Buffer => Buffer.from(read(`${name}.pub`).trim().split(/\s+/)[1] ?? '', 'base64');
const fingerprints = new Map(
  read('fingerprints.txt')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' ') as [string, string]),
);

describe('known_hosts', () => {
  const plain = parseKnownHosts(read('known_hosts'), 'known_hosts');
  const hashed = parseKnownHosts(read('known_hosts.hashed'), 'known_hosts.hashed');

  it('parses key lines with their line numbers, markers and types; skips comments, blanks and malformed lines', () => {
    assert.deepEqual(
      plain.map((e) => [e.line, e.marker ?? '', e.keyType]),
      [
        [3, '', 'ssh-ed25519'],
        [4, '', 'ssh-rsa'],
        [5, '', 'ecdsa-sha2-nistp256'],
        [6, '', 'ssh-ed25519'],
        [7, '', 'ecdsa-sha2-nistp256'],
        [8, 'revoked', 'ssh-rsa'],
        [9, 'cert-authority', 'ssh-ed25519'],
      ],
    );
    assert.deepEqual(plain[3]?.hosts, [
      { kind: 'plain', pattern: 'beta', negated: false },
      { kind: 'plain', pattern: '192.0.2.7', negated: false },
    ]);
  });

  it('computes SHA256 fingerprints exactly as ssh-keygen -lf prints them', () => {
    for (const k of ['k1', 'k2', 'k3', 'k4']) assert.equal(fingerprintSha256(blob(k)), fingerprints.get(k), k);
  });

  it('reads the key type from the key blob', () => {
    assert.equal(keyTypeOfBlob(blob('k1')), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(blob('k2')), 'ssh-rsa');
    assert.equal(keyTypeOfBlob(blob('k3')), 'ecdsa-sha2-nistp256');
    assert.equal(keyTypeOfBlob(Buffer.from([0, 0])), 'unknown');
  });

  it('names non-22 ports as [host]:port', () => {
    assert.equal(hostToken('alpha.example.org', 22), 'alpha.example.org');
    assert.equal(hostToken('alpha.example.org', 2222), '[alpha.example.org]:2222');
  });

  // [host, port, key, expected status, line of the matching/old entry]
  const cases: Array<[string, number, string, string, number[]]> = [
    ['alpha.example.org', 22, 'k1', 'known', [3]],
    ['alpha.example.org', 22, 'k4', 'changed', [3, 4]],
    ['ALPHA.example.org', 22, 'k1', 'known', [3]], // host names are case-insensitive
    ['alpha.example.org', 2222, 'k3', 'known', [5]],
    ['alpha.example.org', 2222, 'k1', 'changed', [5]], // the port-22 entries do not count for 2222
    ['beta', 22, 'k4', 'known', [6]],
    ['192.0.2.7', 22, 'k4', 'known', [6]],
    ['192.0.2.7', 2200, 'k4', 'unknown', []],
    ['gamma.example.org', 22, 'k1', 'unknown', []],
    ['web.lab.example.org', 22, 'k3', 'known', [7]],
    ['secret.lab.example.org', 22, 'k3', 'unknown', []], // the negated pattern excludes it
    ['alpha.example.org', 22, 'k2', 'revoked', [8]], // revoked wins over the plain entry on line 4
    ['host.ca.example.org', 22, 'k1', 'unknown', []], // a CA key is not a plain host key
  ];
  for (const [host, port, key, status, lines] of cases) {
    it(`plain file: ${hostToken(host, port)} presenting ${key} is ${status}`, () => {
      const v = checkHostKey(plain, host, port, blob(key));
      assert.equal(v.status, status);
      if (v.status === 'known' || v.status === 'revoked') assert.deepEqual([v.entry.line], lines);
      if (v.status === 'changed') assert.deepEqual(v.entries.map((e) => e.line), lines);
    });
  }

  // the same questions against the file ssh-keygen -H hashed (beta,192.0.2.7 became two lines)
  const hashedCases: Array<[string, number, string, string, number[]]> = [
    ['alpha.example.org', 22, 'k1', 'known', [3]],
    ['alpha.example.org', 22, 'k4', 'changed', [3, 4]],
    ['alpha.example.org', 2222, 'k3', 'known', [5]],
    ['alpha.example.org', 2222, 'k2', 'changed', [5]],
    ['beta', 22, 'k4', 'known', [6]],
    ['192.0.2.7', 22, 'k4', 'known', [7]],
    ['192.0.2.8', 22, 'k4', 'unknown', []],
  ];
  for (const [host, port, key, status, lines] of hashedCases) {
    it(`hashed file: ${hostToken(host, port)} presenting ${key} is ${status}`, () => {
      const v = checkHostKey(hashed, host, port, blob(key));
      assert.equal(v.status, status);
      if (v.status === 'known') assert.deepEqual([v.entry.line], lines);
      if (v.status === 'changed') assert.deepEqual(v.entries.map((e) => e.line), lines);
    });
  }

  it('hashed entries are HMAC-SHA1 of the host token, salted', () => {
    const e = hashed.find((x) => x.line === 5);
    assert.ok(e);
    assert.equal(e.hosts[0]?.kind, 'hashed');
    assert.ok(entryMatchesHost(e, '[alpha.example.org]:2222'));
    assert.ok(!entryMatchesHost(e, 'alpha.example.org'));
  });

  it('lists the key types known for a host (to prefer them in negotiation)', () => {
    assert.deepEqual(knownKeyTypes(plain, 'alpha.example.org', 22), ['ssh-ed25519', 'ssh-rsa']);
    assert.deepEqual(knownKeyTypes(hashed, 'alpha.example.org', 2222), ['ecdsa-sha2-nistp256']);
    assert.deepEqual(knownKeyTypes(plain, 'nowhere', 22), []);
  });

  it('writes lines that it reads back, plain and hashed', () => {
    for (const hashedLine of [false, true]) {
      const line = formatKnownHostsLine('10.0.0.5', 2022, blob('k1'), { hashed: hashedLine });
      assert.equal(line.startsWith('|1|'), hashedLine);
      const entries = parseKnownHosts(line + '\n', 'new');
      assert.equal(checkHostKey(entries, '10.0.0.5', 2022, blob('k1')).status, 'known');
      assert.equal(checkHostKey(entries, '10.0.0.5', 22, blob('k1')).status, 'unknown');
      assert.equal(checkHostKey(entries, '10.0.0.5', 2022, blob('k4')).status, 'changed');
    }
  });

  it('ignores lines with an unknown @marker rather than misreading the marker as a host', () => {
    const entries = parseKnownHosts(`@bogus alpha ${read('k1.pub').trim()}\n`, 'x');
    assert.deepEqual(entries, []);
  });
});
