// Ansible Vault: the envelope and its crypto against vectors made by Ansible's own VaultLib and files
// made by Debian's ansible-vault (test/fixtures/vault/SOURCE.md), passwords from files and scripts,
// and vaulted YAML (whole files and `!vault` values) read with file:line errors and values marked secret.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../runner/errors.js';
import { loadInventory } from '../../runner/inventory/index.js';
import { SecretValues } from '../../runner/secrets.js';
import { encryptVault, parseEnvelope, decryptEnvelope, VaultFormatError } from '../../runner/vault/format.js';
import { VaultKeys, VaultOpenError, type VaultPassword } from '../../runner/vault/keys.js';
import { readPasswordSource, splitVaultId, vaultPasswords } from '../../runner/vault/passwords.js';
import { formatVaultString } from '../../runner/vault/cli.js';
import { parseYaml } from '../../runner/yaml-source.js';

const DIR = 'test/fixtures/vault';
const fixture = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const DEFAULT_PW: VaultPassword = { id: 'default', password: 'ferry-fixture-password', source: '--vault-password-file vault-pass.txt' };
const PROD_PW: VaultPassword = { id: 'prod', password: 'prod-fixture-password', source: '--vault-id prod@prod-pass.txt' };
const SALT = Buffer.from('ferry-test-salt-0123456789abcdef');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc ? `${p.loc.file}:${p.loc.line}` : ''}: ${p.message}`);
    throw e;
  }
  assert.fail('expected a ValidationError');
}

describe('vault format', () => {
  it('encrypts byte for byte as Ansible VaultLib does with the same salt (1.1, and 1.2 with a vault id)', () => {
    assert.equal(encryptVault('vector: plaintext 1.1\n', DEFAULT_PW.password, { salt: SALT }), fixture('vector-1.1.vault'));
    assert.equal(encryptVault('exactly sixteen!', PROD_PW.password, { salt: SALT, vaultId: 'prod' }), fixture('vector-1.2-prod.vault'));
    // The default id writes 1.1, as ansible-vault does.
    assert.match(encryptVault('x', 'pw', { vaultId: 'default' }), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
  });

  it('decrypts the vectors and files made by ansible-vault', () => {
    assert.equal(decryptEnvelope(parseEnvelope(fixture('vector-1.1.vault')), DEFAULT_PW.password)?.toString(), 'vector: plaintext 1.1\n');
    // A plaintext of a whole block gets a whole block of padding.
    const env = parseEnvelope(fixture('vector-1.2-prod.vault'));
    assert.equal(env.vaultId, 'prod');
    assert.equal(env.ciphertext.length, 32);
    assert.equal(decryptEnvelope(env, PROD_PW.password)?.toString(), 'exactly sixteen!');
    assert.equal(decryptEnvelope(parseEnvelope(fixture('vars-1.1.yml')), DEFAULT_PW.password)?.toString(), fixture('plain-vars.yml'));
    assert.equal(decryptEnvelope(parseEnvelope(fixture('vars-1.2-prod.yml')), PROD_PW.password)?.toString(), fixture('plain-prod.yml'));
  });

  it('a wrong password fails the HMAC check: nothing is decrypted', () => {
    assert.equal(decryptEnvelope(parseEnvelope(fixture('vector-1.1.vault')), 'wrong'), undefined);
  });

  it('round-trips text of every length around the block size, and UTF-8', () => {
    for (const text of ['', 'a', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(17), 'päss wörd ✓\n'.repeat(9)]) {
      assert.equal(decryptEnvelope(parseEnvelope(encryptVault(text, 'pw')), 'pw')?.toString(), text);
    }
  });

  it('writes the body in lines of 80 hex digits and a final newline', () => {
    const lines = encryptVault('y'.repeat(200), 'pw').split('\n');
    assert.equal(lines.at(-1), '');
    for (const l of lines.slice(1, -2)) assert.match(l, /^[0-9a-f]{80}$/);
  });

  const CORRUPT: [string, (v: string) => string, RegExp][] = [
    ['another version', (v) => v.replace(';1.1;', ';1.3;'), /version "1.3" is not supported/],
    ['another cipher', (v) => v.replace(';AES256', ';AES'), /cipher "AES" is not supported/],
    ['1.2 without an id', (v) => v.replace(';1.1;AES256', ';1.2;AES256'), /names a vault id/],
    ['no data', (v) => v.split('\n')[0]!, /no data/],
    ['not hex', (v) => v.replace(/\n3/, '\nz'), /not hexadecimal/],
    ['cut short', (v) => v.slice(0, 200), /parts|not hexadecimal|blocks/],
    ['an odd number of digits', (v) => v.trimEnd().slice(0, -1), /not hexadecimal/],
  ];
  for (const [what, spoil, message] of CORRUPT) {
    it(`refuses an envelope with ${what}`, () => {
      assert.throws(() => parseEnvelope(spoil(fixture('vector-1.1.vault'))), (e: unknown) => e instanceof VaultFormatError && message.test(e.message));
    });
  }

  it('a flipped ciphertext bit fails the HMAC check', () => {
    const env = parseEnvelope(fixture('vector-1.1.vault'));
    env.ciphertext[0] = env.ciphertext[0]! ^ 1;
    assert.equal(decryptEnvelope(env, DEFAULT_PW.password), undefined);
  });

  it('prints an inline value as encrypt_string does', () => {
    const s = formatVaultString(fixture('vector-1.1.vault'), 'db_password');
    assert.match(s, /^db_password: !vault \|\n {10}\$ANSIBLE_VAULT;1\.1;AES256\n( {10}[0-9a-f]{1,80}\n)+$/);
    assert.deepEqual(parseYaml(s, 'x.yml', { vault: new VaultKeys([DEFAULT_PW]) }), { db_password: 'vector: plaintext 1.1\n' });
  });
});

describe('vault passwords', () => {
  it('tries the passwords labelled with a 1.2 vault id first, then every other one', () => {
    const keys = new VaultKeys([DEFAULT_PW, PROD_PW]);
    assert.equal(keys.open(fixture('vars-1.2-prod.yml'), 'this file').vaultId, 'prod');
    // The label need not match: Ansible tries every password.
    const mislabelled = new VaultKeys([{ ...PROD_PW, id: 'staging' }]);
    assert.equal(mislabelled.open(fixture('vars-1.2-prod.yml'), 'this file').plaintext, fixture('plain-prod.yml'));
  });

  it('a wrong password names the vault id and the sources tried, never a password', () => {
    const keys = new VaultKeys([DEFAULT_PW]);
    assert.throws(
      () => keys.open(fixture('vars-1.2-prod.yml'), 'this file'),
      (e: unknown) =>
        e instanceof VaultOpenError &&
        /vault id 'prod'/.test(e.message) &&
        e.message.includes('--vault-password-file vault-pass.txt') &&
        !e.message.includes(DEFAULT_PW.password) &&
        /--vault-id prod@FILE/.test(e.hint),
    );
  });

  it('no password at all says which flags give one', () => {
    assert.throws(() => new VaultKeys([]).open(fixture('vars-1.1.yml'), 'this file'), (e: unknown) => e instanceof VaultOpenError && /--vault-password-file/.test(e.hint) && /--ask-vault-pass/.test(e.hint));
  });

  it('splits --vault-id as Ansible does', () => {
    assert.deepEqual(splitVaultId('prod@pw.txt'), { id: 'prod', source: 'pw.txt' });
    assert.deepEqual(splitVaultId('pw.txt'), { id: 'default', source: 'pw.txt' });
    assert.deepEqual(splitVaultId('dev@prompt'), { id: 'dev', source: 'prompt' });
  });

  describe('sources', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-vault-unit-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('a file gives its text without surrounding whitespace; an executable what it prints; a *-client script is asked for its id', () => {
      writeFileSync(join(dir, 'pw'), '  file-pass \n\n');
      assert.equal(readPasswordSource(join(dir, 'pw'), 'default', 'x'), 'file-pass');
      writeFileSync(join(dir, 'pw.sh'), '#!/bin/sh\necho script-pass\n');
      chmodSync(join(dir, 'pw.sh'), 0o700);
      assert.equal(readPasswordSource(join(dir, 'pw.sh'), 'default', 'x'), 'script-pass');
      writeFileSync(join(dir, 'keyring-client.sh'), '#!/bin/sh\n[ "$1" = --vault-id ] && echo "pass-for-$2"\n');
      chmodSync(join(dir, 'keyring-client.sh'), 0o700);
      assert.equal(readPasswordSource(join(dir, 'keyring-client.sh'), 'prod', 'x'), 'pass-for-prod');
    });

    it('an empty file, a failing script and a missing file are bad input naming the option', async () => {
      writeFileSync(join(dir, 'empty'), '\n');
      writeFileSync(join(dir, 'fail.sh'), '#!/bin/sh\nexit 3\n');
      chmodSync(join(dir, 'fail.sh'), 0o700);
      assert.deepEqual(problemsOf(() => readPasswordSource(join(dir, 'empty'), 'default', '--vault-password-file empty')), ['<command line>:1: --vault-password-file empty: the vault password file is empty']);
      assert.deepEqual(problemsOf(() => readPasswordSource(join(dir, 'fail.sh'), 'default', '--vault-id fail.sh')), ['<command line>:1: --vault-id fail.sh: the password script failed (exit 3)']);
      await assert.rejects(vaultPasswords({ vaultPasswordFile: [join(dir, 'none')] }, {}), /cannot read the vault password file/);
    });

    it('takes --vault-id, --vault-password-file and ANSIBLE_VAULT_PASSWORD_FILE in that order, each with its label', async () => {
      writeFileSync(join(dir, 'a'), 'pa\n');
      writeFileSync(join(dir, 'b'), 'pb\n');
      writeFileSync(join(dir, 'c'), 'pc\n');
      const got = await vaultPasswords({ vaultPasswordFile: [join(dir, 'b')], vaultId: [`prod@${join(dir, 'a')}`] }, { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, 'c') });
      assert.deepEqual(got.map((p) => [p.id, p.password]), [['prod', 'pa'], ['default', 'pb'], ['default', 'pc']]);
    });

    it("takes ansible.cfg's vault_password_file after the flags, and not when ANSIBLE_VAULT_PASSWORD_FILE is set (the environment wins)", async () => {
      writeFileSync(join(dir, 'b'), 'pb\n');
      writeFileSync(join(dir, 'c'), 'pc\n');
      writeFileSync(join(dir, 'cfg'), 'pcfg\n');
      const fromCfg = await vaultPasswords({ vaultPasswordFile: [join(dir, 'b')] }, {}, join(dir, 'cfg'));
      assert.deepEqual(fromCfg.map((p) => [p.password, p.source]), [['pb', `--vault-password-file ${join(dir, 'b')}`], ['pcfg', `vault_password_file ${join(dir, 'cfg')} (ansible.cfg)`]]);
      const fromEnv = await vaultPasswords({}, { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, 'c') }, join(dir, 'cfg'));
      assert.deepEqual(fromEnv.map((p) => p.password), ['pc']);
    });
  });
});

describe('vaulted YAML', () => {
  const keys = (): VaultKeys => new VaultKeys([DEFAULT_PW, PROD_PW], new SecretValues());

  it('reads a whole vault file as its plaintext and marks every value secret', () => {
    const k = keys();
    assert.deepEqual(parseYaml(fixture('vars-1.1.yml'), 'vars.yml', { vault: k }), { db_user: 'ferry', db_password: 's3cr3t-from-vault-1.1', api_tokens: ['tok-alpha-123', 'tok-beta-456'] });
    assert.equal(k.secrets.mask('user ferry, pw s3cr3t-from-vault-1.1, token tok-beta-456'), 'user ********, pw ********, token ********');
  });

  it('values under 3 characters are not masked (they would blank out unrelated text)', () => {
    const k = keys();
    parseYaml(encryptVault('port: 22\nflag: "no"\npin: 1234\n', DEFAULT_PW.password), 'v.yml', { vault: k });
    assert.equal(k.secrets.mask('port 22, no, pin 1234'), 'port 22, no, pin ********');
  });

  it('reads inline !vault values (1.1 and 1.2) as their plaintext, marked secret', () => {
    const k = keys();
    const text = `plain: visible\n${fixture('inline-1.1.yml')}\n${fixture('inline-1.2-prod.yml')}\n`;
    assert.deepEqual(parseYaml(text, 'v.yml', { vault: k }), { plain: 'visible', inline_secret: 'inline-s3cr3t-value', inline_prod: 'inline-prod-s3cr3t' });
    assert.equal(k.secrets.mask('visible inline-s3cr3t-value inline-prod-s3cr3t'), 'visible ******** ********');
  });

  it('without a password, an inline value and a vault file are errors at their file:line, not ciphertext', () => {
    const text = `plain: 1\nnested:\n  ${fixture('inline-1.1.yml').replace(/\n/g, '\n  ')}\n`;
    assert.deepEqual(problemsOf(() => parseYaml(text, 'vars.yml')), ['vars.yml:3: this !vault value is encrypted with Ansible Vault (vault format 1.1, no vault id) and no vault password was given']);
    assert.deepEqual(problemsOf(() => parseYaml(fixture('vars-1.2-prod.yml'), 'group_vars/all.yml')), [
      "group_vars/all.yml:1: this file is encrypted with Ansible Vault (vault id 'prod') and no vault password was given",
    ]);
  });

  it('a wrong password and a corrupt inline value are errors at their line; each one found', () => {
    const text = `a: 1\n${fixture('inline-1.2-prod.yml')}\nb: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  zz\nc: !vault {x: 1}\n`;
    assert.deepEqual(problemsOf(() => parseYaml(text, 'v.yml', { vault: new VaultKeys([DEFAULT_PW]) })), [
      "v.yml:2: wrong vault password: none of those given opens this !vault value (vault id 'prod'); tried --vault-password-file vault-pass.txt",
      'v.yml:9: this !vault value is not valid Ansible Vault data: the vault data is not hexadecimal',
      'v.yml:12: !vault tags a mapping; it holds one encrypted string',
    ]);
  });

  describe('in an inventory', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-vault-inv-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('opens group_vars and host_vars files and directories, an INI inventory and !vault values in a YAML one', () => {
      writeFileSync(join(dir, 'hosts'), encryptVault('[web]\nweb1 ansible_host=127.0.0.1 ini_token="ini s3cr3t"\n', DEFAULT_PW.password));
      writeFileSync(join(dir, 'more.yml'), `all:\n  hosts:\n    web2:\n      ${fixture('inline-1.1.yml').replace(/\n/g, '\n      ')}\n`);
      // group_vars/web.yml is a vault file; host_vars/web1/ a directory holding one.
      mkdirSync(join(dir, 'group_vars'), { recursive: true });
      mkdirSync(join(dir, 'host_vars', 'web1'), { recursive: true });
      writeFileSync(join(dir, 'group_vars', 'web.yml'), fixture('vars-1.1.yml'));
      writeFileSync(join(dir, 'host_vars', 'web1', 'vault.yml'), fixture('vars-1.2-prod.yml'));
      const k = keys();
      const inv = loadInventory(dir, k);
      assert.equal(inv.hostVars('web1').db_password, 's3cr3t-from-vault-1.1');
      assert.equal(inv.hostVars('web1').prod_password, 's3cr3t-prod-1.2');
      assert.equal(inv.hostVars('web1').ansible_host, '127.0.0.1');
      assert.equal(inv.hostVars('web2').inline_secret, 'inline-s3cr3t-value');
      assert.equal(inv.hostVars('web1').ini_token, 'ini s3cr3t');
      assert.equal(k.secrets.mask('s3cr3t-prod-1.2 web1 web ini s3cr3t'), '******** web1 web ********', 'values are masked, host and group names not');
      assert.match(problemsOf(() => loadInventory(dir)).join('\n'), /hosts:1: this file is encrypted/);
    });
  });
});
