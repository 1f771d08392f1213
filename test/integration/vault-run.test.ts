// A playbook whose secrets are all vaulted — vars_files, a group_vars directory (1.2, vault id prod),
// an inline !vault value in play vars and -e @file — run through the built CLI against a real sshd:
// the host gets the plaintext, and no output, NDJSON event or run state shows it. Without a
// password, or with a wrong one, it stops before any host is contacted, naming file:line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { encryptVault } from '../../runner/vault/format.js';
import { startSshdHosts, writeInventory, type SshdHost } from '../harness/sshd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/app/cli.js');
const FIXTURES = join(ROOT, 'test/fixtures/vault');
// The plaintexts of the vaulted values (test/fixtures/vault/SOURCE.md) and of the -e file.
const SECRETS = ['s3cr3t-from-vault-1.1', 'tok-alpha-123', 'tok-beta-456', 's3cr3t-prod-1.2', 'inline-s3cr3t-value', 'extra-s3cr3t-vault'];
const LEAK = new RegExp(SECRETS.join('|'));

function ferry(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ANSIBLE_VAULT_PASSWORD_FILE: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function filesText(d: string): Promise<string> {
  const files = await readdir(d);
  assert.ok(files.length > 0, `nothing in ${d}`);
  return (await Promise.all(files.map((f) => readFile(join(d, f), 'utf8')))).join('\n');
}

describe('a playbook with vaulted vars_files, group_vars, !vault values and -e @file, against real sshd @integration', function () {
  this.timeout(180_000);
  let hosts: SshdHost[];
  let dir: string;
  let work: string;
  let pb: string;
  let inv: string;

  before(async () => {
    hosts = await startSshdHosts(2);
    dir = await mkdtemp(join(tmpdir(), 'ferry-vault-run-'));
    await chmod(dir, 0o755);
    work = join(dir, 'work');
    await mkdir(work);
    await chmod(work, 0o777);
    inv = await writeInventory(hosts, dir);
    await mkdir(join(dir, 'group_vars', 'all'), { recursive: true });
    await copyFile(join(FIXTURES, 'vars-1.2-prod.yml'), join(dir, 'group_vars', 'all', 'vault.yml'));
    await writeFile(join(dir, 'group_vars', 'all', 'plain.yml'), 'app_user: deploy\n');
    await copyFile(join(FIXTURES, 'vars-1.1.yml'), join(dir, 'vault-vars.yml'));
    await writeFile(join(dir, 'extra.yml'), encryptVault('extra_secret: extra-s3cr3t-vault\n', 'ferry-fixture-password'));
    for (const f of ['vault-pass.txt', 'prod-pass.txt']) await copyFile(join(FIXTURES, f), join(dir, f));
    // A password script, as Ansible runs one: what it prints is the password.
    await writeFile(join(dir, 'prod-pass.sh'), '#!/bin/sh\necho prod-fixture-password\n', { mode: 0o700 });
    const inline = (await readFile(join(FIXTURES, 'inline-1.1.yml'), 'utf8')).split('\n').slice(1).join('\n');
    pb = join(dir, 'site.yml');
    const body = stringify([
      {
        name: 'vaulted',
        hosts: 'all',
        vars_files: ['vault-vars.yml'],
        vars: { work, inline_secret: 'PLACEHOLDER' },
        tasks: [
          {
            name: 'write the secrets',
            copy: {
              dest: '{{ work }}/secrets-{{ inventory_hostname }}',
              content: '{{ db_password }} {{ prod_password }} {{ inline_secret }} {{ extra_secret }} {{ api_tokens | join(",") }} {{ app_user }}\n',
            },
          },
          { name: 'read them back', command: 'cat {{ work }}/secrets-{{ inventory_hostname }}', register: 'back' },
          { name: 'same on the host', assert: { that: ['back.stdout == db_password ~ " " ~ prod_password ~ " " ~ inline_secret ~ " " ~ extra_secret ~ " tok-alpha-123,tok-beta-456 deploy"'] } },
          { name: 'show one', debug: { var: 'db_password' } },
          { name: 'echo one', shell: 'echo {{ inline_secret }}; echo {{ prod_password }} >&2' },
        ],
      },
    ]);
    // The inline value is written as Ansible users write it: `!vault |` and the indented envelope.
    await writeFile(pb, body.replace('inline_secret: PLACEHOLDER', `inline_secret: !vault |\n${inline.replace(/^ {10}/gm, '        ')}`));
  });
  after(async () => {
    await Promise.all((hosts ?? []).map((h) => h.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uses every vaulted value on the hosts and shows none in plain -v --diff output, NDJSON or the run state', async () => {
    const json = join(dir, 'events.ndjson');
    const r = ferry(
      ['run', pb, '-i', inv, '-e', '@extra.yml', '--vault-password-file', 'vault-pass.txt', '--vault-id', 'prod@prod-pass.sh', '--diff', '--plain', '-v', `--json=${json}`],
      dir,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of hosts) {
      assert.equal(await readFile(join(work, `secrets-${h.name}`), 'utf8'), 's3cr3t-from-vault-1.1 s3cr3t-prod-1.2 inline-s3cr3t-value extra-s3cr3t-vault tok-alpha-123,tok-beta-456 deploy\n');
    }
    assert.doesNotMatch(r.stdout + r.stderr, LEAK);
    assert.doesNotMatch(await readFile(json, 'utf8'), LEAK);
    assert.doesNotMatch(await filesText(join(dir, '.ferry/runs')), LEAK);
    // What shows instead: the mask, and what is not secret.
    assert.match(r.stdout, /db_password = "?\*{8}"?/);
    assert.match(r.stdout, /\+\*{8} \*{8} \*{8} \*{8} \*{8},\*{8} deploy/, 'the diff is masked value by value');
    assert.match(r.stdout, /TASK \[same on the host\][^\n]*\nok: /);
  });

  it('NDJSON on stdout and ferry inventory show no vaulted value either (ANSIBLE_VAULT_PASSWORD_FILE gives the password)', () => {
    const r = ferry(['run', pb, '-i', inv, '-e', '@extra.yml', '--vault-id', 'prod@prod-pass.txt', '--json'], dir, { ANSIBLE_VAULT_PASSWORD_FILE: 'vault-pass.txt' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, LEAK);
    assert.match(r.stdout, /"type":"recap"/);
    assert.match(r.stdout, /"task":"same on the host"[^\n]*"status":"ok"|"status":"ok"[^\n]*"task":"same on the host"/);
    const i = ferry(['inventory', '-i', inv, '--host', hosts[0]!.name, '--vault-id', 'prod@prod-pass.txt'], dir);
    assert.equal(i.code, 0, i.stderr);
    assert.equal((JSON.parse(i.stdout) as Record<string, unknown>).prod_password, '********');
  });

  it('without a vault password: exit 4 naming each encrypted input at its file:line, nothing run', async () => {
    await rm(join(work, `secrets-${hosts[0]!.name}`), { force: true });
    const r = ferry(['run', pb, '-i', inv, '-e', '@extra.yml'], dir);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stderr, /nothing was run/);
    assert.match(r.stderr, /extra\.yml:1: this file is encrypted with Ansible Vault .* no vault password was given/);
    assert.match(r.stderr, /--vault-password-file FILE, --vault-id/);
    const none = ferry(['run', pb, '-i', inv], dir);
    assert.equal(none.code, 4);
    assert.match(none.stderr, /site\.yml:7:\d+: this !vault value is encrypted with Ansible Vault \(vault format 1\.1, no vault id\) and no vault password was given/);
    // The playbook opens with the default password; the group_vars file needs the one of id prod.
    const noProd = ferry(['run', pb, '-i', inv, '--vault-password-file', 'vault-pass.txt'], dir);
    assert.equal(noProd.code, 4);
    assert.match(noProd.stderr, /group_vars\/all\/vault\.yml:1: wrong vault password: none of those given opens this file \(vault id 'prod'\); tried --vault-password-file vault-pass\.txt/);
    assert.match(noProd.stderr, /hint: give the password of vault id 'prod': --vault-id prod@FILE/);
    const plays = ferry(['run', pb, '-i', inv, '--vault-id', 'prod@prod-pass.txt'], dir);
    assert.equal(plays.code, 4);
    assert.match(plays.stderr, /site\.yml:\d+:\d+: wrong vault password: none of those given opens this !vault value \(vault format 1\.1, no vault id\); tried --vault-id prod@prod-pass\.txt \(id 'prod'\)/);
    await assert.rejects(readFile(join(work, `secrets-${hosts[0]!.name}`)), 'no host was changed');
    for (const x of [r, none, noProd, plays]) assert.doesNotMatch(x.stderr, /fixture-password/, 'no password in a message');
  });

  it("lookup('file') of a vault-encrypted file gives the host the plaintext, shown masked; without the password the task fails saying so", async () => {
    const lk = join(dir, 'lookup');
    await mkdir(join(lk, 'files'), { recursive: true });
    await writeFile(join(lk, 'files', 'token.txt'), encryptVault('looked-up-s3cr3t-token\n', 'ferry-fixture-password'));
    const book = join(lk, 'lookup.yml');
    await writeFile(book, stringify([
      {
        hosts: hosts[0]!.name,
        tasks: [
          { name: 'write it', copy: { dest: `${work}/looked-up`, content: "{{ lookup('file', 'token.txt') }}\n" } },
          { name: 'show it', debug: { msg: "token={{ lookup('file', 'token.txt') }}" } },
        ],
      },
    ]));
    // an inventory of its own, without the vaulted group_vars beside the other one
    const lkInv = await writeInventory(hosts, lk);
    const r = ferry(['run', book, '-i', lkInv, '--plain', '-v', '--diff', '--vault-password-file', join(dir, 'vault-pass.txt')], lk);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await readFile(join(work, 'looked-up'), 'utf8'), 'looked-up-s3cr3t-token\n');
    assert.match(r.stdout, /token=\*+/);
    assert.doesNotMatch(r.stdout + r.stderr, /looked-up-s3cr3t-token/);
    const none = ferry(['run', book, '-i', lkInv, '--plain'], lk);
    assert.equal(none.code, 2, none.stdout + none.stderr);
    assert.match(none.stdout + none.stderr, /lookup\('file', "token\.txt"\): the file token\.txt is encrypted with Ansible Vault .*and no vault password was given/);
  });
});
