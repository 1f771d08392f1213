// Ansible Vault both ways against Debian's ansible-vault (package ansible-core, which `npm test`
// installs: lab/system-packages.ts): what ansible-vault encrypts now (a fresh random salt, 1.1 and
// 1.2) ferry opens, and what `ferry vault` encrypts ansible-vault opens; files keep their mode.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/runner/cli.js');
const FIXTURES = join(ROOT, 'test/fixtures/vault');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, input?: string): Run {
  // HOME: ansible writes ~/.ansible; keep it in the test's directory.
  const r = spawnSync(cmd, args, { cwd, input, encoding: 'utf8', env: { ...process.env, HOME: cwd, NO_COLOR: '1', ANSIBLE_VAULT_PASSWORD_FILE: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ferry = (args: string[], cwd: string, input?: string): Run => run(process.execPath, [CLI, ...args], cwd, input);
const ansibleVault = (args: string[], cwd: string, input?: string): Run => run('ansible-vault', args, cwd, input);

function hasAnsibleVault(): boolean {
  return spawnSync('ansible-vault', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** The envelope of an inline `!vault |` value, without its indentation (what ansible-vault reads from stdin). */
function envelopeOf(inline: string): string {
  return inline.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).join('\n') + '\n';
}

describe('ferry vault and Debian ansible-vault, both ways @integration', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    if (!hasAnsibleVault()) {
      console.warn('    ansible-vault is not installed (apt-get install ansible-core; `npm test` installs it): skipping');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'ferry-vault-live-'));
    for (const f of ['vault-pass.txt', 'prod-pass.txt']) copyFileSync(join(FIXTURES, f), join(dir, f));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const PLAIN = 'db_password: "live-s3cr3t"\nlist: [1, 2]\nunicode: "päss ✓"\n';

  it('files ansible-vault encrypts now (1.1 and 1.2 with a vault id) are viewed and decrypted by ferry', () => {
    writeFileSync(join(dir, 'a.yml'), PLAIN);
    writeFileSync(join(dir, 'b.yml'), PLAIN);
    assert.equal(ansibleVault(['encrypt', '--vault-password-file', 'vault-pass.txt', 'a.yml'], dir).code, 0);
    const enc = ansibleVault(['encrypt', '--vault-id', 'prod@prod-pass.txt', 'b.yml'], dir);
    assert.equal(enc.code, 0, enc.stderr);
    assert.match(readFileSync(join(dir, 'b.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    const view = ferry(['vault', 'view', '--vault-password-file', 'vault-pass.txt', 'a.yml'], dir);
    assert.equal(view.code, 0, view.stderr);
    assert.equal(view.stdout, PLAIN);
    // Two passwords: the one labelled prod opens the 1.2 file.
    const dec = ferry(['vault', 'decrypt', '--vault-password-file', 'vault-pass.txt', '--vault-id', 'prod@prod-pass.txt', 'b.yml'], dir);
    assert.equal(dec.code, 0, dec.stderr);
    assert.equal(readFileSync(join(dir, 'b.yml'), 'utf8'), PLAIN);
  });

  it('strings ansible-vault encrypt_string makes are read by ferry (from standard input, and as -e @file used by a task)', () => {
    const s = ansibleVault(['encrypt_string', '--vault-id', 'prod@prod-pass.txt', '--name', 'token', 'live-inline-s3cr3t'], dir);
    assert.equal(s.code, 0, s.stderr);
    const view = ferry(['vault', 'view', '--vault-id', 'prod@prod-pass.txt', '-'], dir, envelopeOf(s.stdout));
    assert.equal(view.code, 0, view.stderr);
    assert.equal(view.stdout, 'live-inline-s3cr3t');
    // The id's label need not match: every password is tried, as Ansible does.
    writeFileSync(join(dir, 'inline.yml'), s.stdout);
    const out = join(dir, 'inline-out.txt');
    const r = ferry(['exec', 'localhost', '-i', 'localhost,', '-e', '@inline.yml', '--vault-id', 'other@prod-pass.txt', '-m', 'copy', '-a', `content={{ token }} dest=${out}`, '--plain', '-v'], dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'live-inline-s3cr3t');
    assert.doesNotMatch(r.stdout + r.stderr, /live-inline-s3cr3t/);
  });

  it('files ferry encrypts (1.1, and 1.2 with --vault-id) are viewed and decrypted by ansible-vault; the mode is kept', () => {
    writeFileSync(join(dir, 'c.yml'), PLAIN);
    chmodSync(join(dir, 'c.yml'), 0o640);
    const enc = ferry(['vault', 'encrypt', '--vault-password-file', 'vault-pass.txt', 'c.yml'], dir);
    assert.equal(enc.code, 0, enc.stderr);
    assert.match(readFileSync(join(dir, 'c.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.equal(statSync(join(dir, 'c.yml')).mode & 0o777, 0o640, 'encrypt keeps the mode');
    const view = ansibleVault(['view', '--vault-password-file', 'vault-pass.txt', 'c.yml'], dir);
    assert.equal(view.code, 0, view.stderr);
    assert.equal(view.stdout, PLAIN);

    writeFileSync(join(dir, 'd.yml'), PLAIN);
    const enc2 = ferry(['vault', 'encrypt', '--vault-id', 'prod@prod-pass.txt', '--output', 'd.vault', 'd.yml'], dir);
    assert.equal(enc2.code, 0, enc2.stderr);
    assert.match(readFileSync(join(dir, 'd.vault'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    assert.equal(statSync(join(dir, 'd.vault')).mode & 0o777, 0o600, 'a new file is 0600');
    const dec = ansibleVault(['decrypt', '--vault-id', 'prod@prod-pass.txt', '--output', '-', 'd.vault'], dir);
    assert.equal(dec.code, 0, dec.stderr);
    assert.equal(dec.stdout, PLAIN);
  });

  it('strings ferry encrypt_string makes are decrypted by ansible-vault (1.1 and 1.2)', () => {
    for (const [flags, id] of [[['--vault-password-file', 'vault-pass.txt'], ''], [['--vault-id', 'prod@prod-pass.txt'], ';prod']] as const) {
      const s = ferry(['vault', 'encrypt_string', ...flags, '--name', 'token', 'ferry-inline-s3cr3t'], dir);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, new RegExp(`^token: !vault \\|\\n {10}\\$ANSIBLE_VAULT;1\\.\\d;AES256${id}\\n`));
      const dec = ansibleVault(['decrypt', ...flags, '--output', '-'], dir, envelopeOf(s.stdout));
      assert.equal(dec.code, 0, dec.stderr);
      assert.equal(dec.stdout, 'ferry-inline-s3cr3t');
    }
  });

  it('a wrong password is an error naming the file and the vault id, exit 4, the file unchanged', () => {
    copyFileSync(join(FIXTURES, 'vars-1.2-prod.yml'), join(dir, 'e.yml'));
    const before = readFileSync(join(dir, 'e.yml'), 'utf8');
    const r = ferry(['vault', 'decrypt', '--vault-password-file', 'vault-pass.txt', 'e.yml'], dir);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /e\.yml:1: wrong vault password: none of those given opens this file \(vault id 'prod'\)/);
    assert.doesNotMatch(r.stderr, /ferry-fixture-password|prod-fixture-password/);
    assert.equal(readFileSync(join(dir, 'e.yml'), 'utf8'), before);
  });
});
