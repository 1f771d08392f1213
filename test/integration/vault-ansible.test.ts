// Ansible Vault both ways against Debian's ansible-vault (package ansible-core, which `npm test`
// installs: lab/system-packages.ts): what ansible-vault encrypts now (a fresh random salt, 1.1 and
// 1.2) ferry opens, and what `ferry vault` encrypts ansible-vault opens; files keep their mode.
// Also -J on a real terminal (no echo) and `ferry vault edit` with an $EDITOR script.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');
const FIXTURES = join(ROOT, 'test/fixtures/vault');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, input?: string, env: NodeJS.ProcessEnv = {}): Run {
  // HOME: ansible writes ~/.ansible; keep it in the test's directory.
  const r = spawnSync(cmd, args, { cwd, input, encoding: 'utf8', env: { ...process.env, HOME: cwd, NO_COLOR: '1', ANSIBLE_VAULT_PASSWORD_FILE: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ferry = (args: string[], cwd: string, input?: string, env?: NodeJS.ProcessEnv): Run => run(process.execPath, [CLI, ...args], cwd, input, env);
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

  it('rekey both ways: ferry re-encrypts what ansible-vault wrote (new password file, or new vault id) and the reverse; modes kept', () => {
    writeFileSync(join(dir, 'rk.yml'), PLAIN);
    assert.equal(ansibleVault(['encrypt', '--vault-password-file', 'vault-pass.txt', 'rk.yml'], dir).code, 0);
    chmodSync(join(dir, 'rk.yml'), 0o640); // (ansible-vault encrypt leaves it 0600)
    const r1 = ferry(['vault', 'rekey', '--vault-password-file', 'vault-pass.txt', '--new-vault-password-file', 'prod-pass.txt', 'rk.yml'], dir);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stderr, 'Rekey successful\n');
    assert.match(readFileSync(join(dir, 'rk.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.equal(statSync(join(dir, 'rk.yml')).mode & 0o777, 0o640, 'rekey keeps the mode');
    assert.notEqual(ansibleVault(['view', '--vault-password-file', 'vault-pass.txt', 'rk.yml'], dir).code, 0, 'the old password still opens it');
    assert.equal(ansibleVault(['view', '--vault-password-file', 'prod-pass.txt', 'rk.yml'], dir).stdout, PLAIN);
    // a new vault id: the 1.2 envelope with its label
    const r2 = ferry(['vault', 'rekey', '--vault-password-file', 'prod-pass.txt', '--new-vault-id', 'lab@vault-pass.txt', 'rk.yml'], dir);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(readFileSync(join(dir, 'rk.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;lab\n/);
    assert.equal(ansibleVault(['view', '--vault-id', 'lab@vault-pass.txt', 'rk.yml'], dir).stdout, PLAIN);
    // and ansible-vault rekeys what ferry wrote
    const r3 = ansibleVault(['rekey', '--vault-id', 'lab@vault-pass.txt', '--new-vault-id', 'prod@prod-pass.txt', 'rk.yml'], dir);
    assert.equal(r3.code, 0, r3.stderr);
    const view = ferry(['vault', 'view', '--vault-id', 'prod@prod-pass.txt', 'rk.yml'], dir);
    assert.equal(view.stdout, PLAIN, view.stderr);
  });

  it('rekey with a wrong password for one file changes none of them; both new-password options at once are refused', () => {
    writeFileSync(join(dir, 'rk-a.yml'), PLAIN);
    writeFileSync(join(dir, 'rk-b.yml'), PLAIN);
    assert.equal(ferry(['vault', 'encrypt', '--vault-password-file', 'vault-pass.txt', 'rk-a.yml'], dir).code, 0);
    assert.equal(ferry(['vault', 'encrypt', '--vault-id', 'prod@prod-pass.txt', 'rk-b.yml'], dir).code, 0);
    const a = readFileSync(join(dir, 'rk-a.yml'), 'utf8');
    const b = readFileSync(join(dir, 'rk-b.yml'), 'utf8');
    const r = ferry(['vault', 'rekey', '--vault-password-file', 'vault-pass.txt', '--new-vault-password-file', 'prod-pass.txt', 'rk-a.yml', 'rk-b.yml'], dir);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /rk-b\.yml:1: wrong vault password/);
    assert.equal(readFileSync(join(dir, 'rk-a.yml'), 'utf8'), a);
    assert.equal(readFileSync(join(dir, 'rk-b.yml'), 'utf8'), b);
    const both = ferry(['vault', 'rekey', '--vault-password-file', 'vault-pass.txt', '--new-vault-password-file', 'prod-pass.txt', '--new-vault-id', 'x@prod-pass.txt', 'rk-a.yml'], dir);
    assert.equal(both.code, 4);
    assert.match(both.stderr, /--new-vault-id and --new-vault-password-file cannot be given together/);
    assert.equal(readFileSync(join(dir, 'rk-a.yml'), 'utf8'), a);
  });

  it('create both ways: ferry vault create encrypts what $EDITOR saved (0600) for ansible-vault, and views what ansible-vault create made', () => {
    writeFileSync(join(dir, 'add.sh'), '#!/bin/sh\nstat -c %s "$1" > "$(dirname "$0")/seen-size"\nprintf \'api_token: created-s3cr3t\\n\' >> "$1"\n', { mode: 0o700 });
    const editor = { EDITOR: join(dir, 'add.sh') };
    const c = ferry(['vault', 'create', '--vault-id', 'prod@prod-pass.txt', 'made.yml'], dir, undefined, editor);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(readFileSync(join(dir, 'seen-size'), 'utf8').trim(), '0', 'the editor opens an empty file');
    assert.match(readFileSync(join(dir, 'made.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    assert.equal(statSync(join(dir, 'made.yml')).mode & 0o777, 0o600);
    const view = ansibleVault(['view', '--vault-id', 'prod@prod-pass.txt', 'made.yml'], dir);
    assert.equal(view.stdout, 'api_token: created-s3cr3t\n', view.stderr);
    // an existing file is not overwritten
    const again = ferry(['vault', 'create', '--vault-id', 'prod@prod-pass.txt', 'made.yml'], dir, undefined, editor);
    assert.equal(again.code, 4);
    assert.match(again.stderr, /made\.yml:1: the file already exists/);
    assert.equal(ansibleVault(['view', '--vault-id', 'prod@prod-pass.txt', 'made.yml'], dir).stdout, 'api_token: created-s3cr3t\n');
    // ansible-vault create, read by ferry
    const a = run('ansible-vault', ['create', '--vault-password-file', 'vault-pass.txt', 'theirs.yml'], dir, '', editor);
    assert.equal(a.code, 0, a.stderr);
    const fv = ferry(['vault', 'view', '--vault-password-file', 'vault-pass.txt', 'theirs.yml'], dir);
    assert.equal(fv.stdout, 'api_token: created-s3cr3t\n', fv.stderr);
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

describe('ferry vault on a terminal and in an editor @integration', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-vault-tty-'));
    copyFileSync(join(FIXTURES, 'vars-1.1.yml'), join(dir, 'v.yml'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('-J asks for the password on the terminal without echoing it', () => {
    // The password is typed after the prompt is up (ferry turns echo off as it prints the prompt).
    const cmd = `stty cols 100 rows 30; ${process.execPath} ${CLI} vault view -J v.yml; echo rc=$?`;
    const r = spawnSync('sh', ['-c', `(sleep 3; printf 'ferry-fixture-password\\r') | script -qec "$1" /dev/null`, 'sh', cmd], { cwd: dir, encoding: 'utf8', env: { ...process.env, ANSIBLE_VAULT_PASSWORD_FILE: '' } });
    const screen = r.stdout.replace(/\r/g, '');
    assert.match(screen, /^Vault password: \ndb_user: ferry\n/, screen);
    assert.match(screen, /rc=0/);
    assert.doesNotMatch(screen, /ferry-fixture-password/, 'the password is not echoed');
  });

  it('edit opens the plaintext in $EDITOR from a 0600 file, then encrypts what was saved (same vault id, mode kept)', () => {
    copyFileSync(join(FIXTURES, 'vars-1.2-prod.yml'), join(dir, 'p.yml'));
    chmodSync(join(dir, 'p.yml'), 0o640);
    writeFileSync(join(dir, 'editor.sh'), '#!/bin/sh\nstat -c %a "$1" > "$(dirname "$0")/seen-mode"\necho "added: edited-s3cr3t" >> "$1"\n', { mode: 0o700 });
    const r = ferry(['vault', 'edit', '--vault-id', 'prod@' + join(FIXTURES, 'prod-pass.txt'), 'p.yml'], dir, undefined, { EDITOR: join(dir, 'editor.sh') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'seen-mode'), 'utf8').trim(), '600');
    const text = readFileSync(join(dir, 'p.yml'), 'utf8');
    assert.match(text, /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    assert.equal(statSync(join(dir, 'p.yml')).mode & 0o777, 0o640);
    const view = ferry(['vault', 'view', '--vault-id', 'prod@' + join(FIXTURES, 'prod-pass.txt'), 'p.yml'], dir);
    assert.equal(view.stdout, readFileSync(join(FIXTURES, 'plain-prod.yml'), 'utf8') + 'added: edited-s3cr3t\n');
  });
});
