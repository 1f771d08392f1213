// The runner core end to end against real OpenSSH sshd hosts on loopback (test/harness/sshd.ts).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { runPlaybookFile } from '../../app/api.js';
import { sh } from '../../runner/command.js';
import { defineModule, type TaskModule } from '../../runner/module.js';
import { builtinModules } from '../../tasks/index.js';
import { startSshdHosts, writeInventory, type SshdHost, PASSWORD_USER } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';

async function writePlaybook(dir: string, name: string, plays: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, stringify(plays));
  return p;
}

describe('engine over real sshd @integration', function () {
  this.timeout(120_000);
  let hosts: SshdHost[];
  let dir: string;
  let inv: string;

  before(async () => {
    hosts = await startSshdHosts(2);
    dir = await mkdtemp(join(tmpdir(), 'ferry-engine-'));
    await chmod(dir, 0o777);
    inv = await writeInventory(hosts, dir);
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  function play(work: string): unknown {
    return [
      {
        name: 'hello',
        hosts: 'all',
        vars: { work, greeting: "it's {{ inventory_hostname }}" },
        tasks: [
          { name: 'make dir', command: { cmd: 'mkdir -p {{ work }}/{{ inventory_hostname }}', creates: '{{ work }}/{{ inventory_hostname }}' } },
          { name: 'write file', copy: { dest: '{{ work }}/{{ inventory_hostname }}/greeting.txt', content: '{{ greeting }}\n', mode: '0640' } },
          { name: 'compute', set: { path: '{{ work }}/{{ inventory_hostname }}/greeting.txt' } },
          { name: 'read back', command: 'cat {{ path }}', register: 'out', changed_when: 'false' },
          { name: 'check', assert: { that: ["out.stdout == \"it's \" + inventory_hostname"] } },
        ],
      },
    ];
  }

  it('runs a playbook on two hosts, then reports every task ok on a second run', async () => {
    const work = join(dir, 'run1');
    const pb = await writePlaybook(dir, 'hello.yaml', play(work));
    const rep = new CollectingReporter();
    const r1 = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: join(dir, 'state') });
    assert.equal(r1.exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    for (const h of hosts) {
      assert.equal(await readFile(join(work, h.name, 'greeting.txt'), 'utf8'), `it's ${h.name}\n`);
      assert.equal((await stat(join(work, h.name, 'greeting.txt'))).mode & 0o777, 0o640);
      assert.equal(rep.result('make dir', h.name)?.status, 'changed');
      assert.equal(rep.result('write file', h.name)?.status, 'changed');
      assert.equal(rep.result('read back', h.name)?.status, 'ok');
      // ok counts Gathering Facts, as Ansible's recap does
      assert.equal(rep.result('Gathering Facts', h.name)?.status, 'ok');
      assert.deepEqual(r1.recap[h.name], { ok: 6, changed: 2, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0, interrupted: 0 });
    }
    const rep2 = new CollectingReporter();
    const r2 = await runPlaybookFile(pb, { inventory: [inv], reporter: rep2, stateDir: join(dir, 'state') });
    assert.equal(r2.exitCode, 0);
    for (const h of hosts) assert.equal(r2.recap[h.name]!.changed, 0, `second run changed something on ${h.name}`);
    assert.match(rep2.result('make dir', hosts[0]!.name)!.msg ?? '', /exists/);
  });

  it('--check changes nothing and predicts exactly what the real run then does', async () => {
    const work = join(dir, 'run-check');
    const pb = await writePlaybook(dir, 'check.yaml', [
      {
        hosts: 'all',
        vars: { work },
        tasks: [
          { name: 'dir', command: { cmd: 'mkdir -p {{ work }}/{{ inventory_hostname }}', creates: '{{ work }}/{{ inventory_hostname }}' } },
          { name: 'file', copy: { dest: '{{ work }}/{{ inventory_hostname }}/f', content: 'x' } },
          { name: 'again', copy: { dest: '{{ work }}/{{ inventory_hostname }}/f', content: 'x' } },
        ],
      },
    ]);
    const check = new CollectingReporter();
    const rc = await runPlaybookFile(pb, { inventory: [inv], reporter: check, check: true });
    assert.equal(rc.exitCode, 0);
    assert.equal(existsSync(work), false, 'check mode created the work dir');
    const real = new CollectingReporter();
    await runPlaybookFile(pb, { inventory: [inv], reporter: real, stateDir: join(dir, 'state') });
    const predicted = check.statuses();
    const actual = real.statuses();
    // 'again' cannot be planned exactly in check mode (its directory does not exist yet): it is
    // reported as a dependent change rather than silently skipped.
    assert.equal(predicted[`dir/${hosts[0]!.name}`], actual[`dir/${hosts[0]!.name}`]);
    assert.equal(predicted[`file/${hosts[0]!.name}`], actual[`file/${hosts[0]!.name}`]);
    assert.equal(actual[`again/${hosts[0]!.name}`], 'ok');
    assert.ok(['changed', 'ok'].includes(predicted[`again/${hosts[0]!.name}`]!));
  });

  it('reports an unreachable host while the others finish', async () => {
    const work = join(dir, 'run-unreach');
    const text = await readFile(inv, 'utf8');
    const inv2 = join(dir, 'inv-unreach.yml');
    // port 1 on loopback: nothing listens there
    await writeFile(inv2, text.replace(/all:\n {2}hosts:\n/, 'all:\n  hosts:\n    deadhost:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n'));
    const pb = await writePlaybook(dir, 'unreach.yaml', play(work));
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inv2], reporter: rep, stateDir: join(dir, 'state') });
    assert.equal(r.exitCode, 3);
    assert.equal(r.recap.deadhost!.unreachable, 1);
    // the first contact is the play's fact gathering: the host is unreachable there and runs no task
    assert.match(rep.result('Gathering Facts', 'deadhost')!.msg!, /refused|unreachable/i);
    assert.equal(rep.result('make dir', 'deadhost'), undefined);
    for (const h of hosts) assert.ok(existsSync(join(work, h.name, 'greeting.txt')));
  });

  it('refuses an unknown host key with its fingerprint, and records it with acceptNewHosts', async () => {
    const kh = join(dir, 'empty_known_hosts');
    await writeFile(kh, '');
    const inv3 = join(dir, 'inv-unknown.yml');
    await writeFile(inv3, (await readFile(inv, 'utf8')).replaceAll(hosts[0]!.knownHostsFile, kh).replaceAll(hosts[1]!.knownHostsFile, kh));
    const pb = await writePlaybook(dir, 'ping.yaml', [{ hosts: hosts[0]!.name, gather_facts: false, tasks: [{ name: 'p', ping: {} }] }]);
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inv3], reporter: rep });
    assert.equal(r.exitCode, 3);
    const msg = rep.result('p', hosts[0]!.name)!.msg!;
    assert.match(msg, /SHA256:[A-Za-z0-9+/]{43}/);
    assert.match(msg, /--accept-new-hosts/);
    const r2 = await runPlaybookFile(pb, { inventory: [inv3], reporter: new CollectingReporter(), acceptNewHosts: true });
    assert.equal(r2.exitCode, 0);
    assert.match(await readFile(kh, 'utf8'), new RegExp(`\\[127\\.0\\.0\\.1\\]:${hosts[0]!.port} `));
    const r3 = await runPlaybookFile(pb, { inventory: [inv3], reporter: new CollectingReporter() });
    assert.equal(r3.exitCode, 0, 'the recorded key is trusted on the next run');
  });

  it('refuses a changed host key even with acceptNewHosts', async () => {
    const kh = join(dir, 'wrong_known_hosts');
    // host 0's port, host 1's key: what a re-installed or impostor host looks like
    await writeFile(kh, `[127.0.0.1]:${hosts[0]!.port} ${hosts[1]!.hostKeys.ed25519}\n[127.0.0.1]:${hosts[0]!.port} ${hosts[1]!.hostKeys.rsa}\n`);
    const inv4 = join(dir, 'inv-changed.yml');
    await writeFile(inv4, (await readFile(inv, 'utf8')).replaceAll(hosts[0]!.knownHostsFile, kh));
    const pb = await writePlaybook(dir, 'ping2.yaml', [{ hosts: hosts[0]!.name, gather_facts: false, tasks: [{ name: 'p', ping: {} }] }]);
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inv4], reporter: rep, acceptNewHosts: true });
    assert.equal(r.exitCode, 3);
    assert.match(rep.result('p', hosts[0]!.name)!.msg!, /changed|does not match|MISMATCH/i);
  });

  it('a guest with ferry_connection: none is reached only through delegate_to its hypervisor', async () => {
    const invG = join(dir, 'inv-guest.yml');
    await writeFile(invG, (await readFile(inv, 'utf8')) + `    xr1:\n      ferry_connection: none\n      ferry_hypervisor: ${hosts[0]!.name}\n      lv: xr1-disk\n`);
    const out = join(dir, 'guest-out');
    const pb = await writePlaybook(dir, 'guest.yaml', [
      { hosts: 'xr1', tasks: [{ name: 'on hv', copy: { dest: out, content: '{{ inventory_hostname }} {{ lv }}' }, delegate_to: '{{ ferry_hypervisor }}' }, { name: 'direct', ping: {} }] },
    ]);
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [invG], reporter: rep });
    assert.equal(await readFile(out, 'utf8'), 'xr1 xr1-disk');
    assert.equal(rep.result('on hv', 'xr1')!.status, 'changed');
    // it has no facts of its own to gather: skipped, saying why, and the play goes on
    assert.equal(rep.result('Gathering Facts', 'xr1')!.status, 'skipped');
    assert.match(rep.result('Gathering Facts', 'xr1')!.msg!, /ferry_connection: none/);
    assert.equal(rep.result('direct', 'xr1')!.status, 'unreachable');
    assert.match(rep.result('direct', 'xr1')!.msg!, /ferry_connection: none.*delegate_to/);
    assert.equal(r.exitCode, 3);
  });

  it('no_log hides a task\'s output from events and the run state', async () => {
    const pb = await writePlaybook(dir, 'nolog.yaml', [
      { hosts: hosts[0]!.name, tasks: [{ name: 'secret', command: 'echo s3cr3t-value', register: 'sec', no_log: true }, { name: 'fails', command: 'sh -c "echo s3cr3t-value >&2; false"', no_log: true, ignore_errors: true }] },
    ]);
    const rep = new CollectingReporter();
    const state = join(dir, 'nolog-state');
    await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: state });
    assert.doesNotMatch(JSON.stringify(rep.events), /s3cr3t/);
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync(state)) assert.doesNotMatch(await readFile(join(state, f), 'utf8'), /s3cr3t/);
  });

  it('becomes root with sudo, without and with a password', async () => {
    const pb = await writePlaybook(dir, 'become.yaml', [
      { hosts: 'all', become: true, tasks: [{ name: 'whoami', command: 'id -u', register: 'who', changed_when: false }, { name: 'is root', assert: { that: ['who.stdout == "0"'] } }] },
    ]);
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep });
    assert.equal(r.exitCode, 0, JSON.stringify(rep.results()));
    const invPw = join(dir, 'inv-pw.yml');
    const pwInv = (await readFile(await writeInventory(hosts, join(dir), PASSWORD_USER), 'utf8'));
    await writeFile(invPw, pwInv.replace(/(ansible_user: ferrypw\n)/g, `$1      ansible_become_password: ${JSON.stringify(hosts[0]!.users.password)}\n`));
    const rep2 = new CollectingReporter();
    const r2 = await runPlaybookFile(pb, { inventory: [invPw], reporter: rep2 });
    assert.equal(r2.exitCode, 0, JSON.stringify(rep2.results()));
    await writeInventory(hosts, dir); // restore inventory.yml for the other tests
  });

  it('reads become variables as preflight does: `on` is true, whatever the layer that sets it', async () => {
    const pb = await writePlaybook(dir, 'become-on.yaml', [
      {
        hosts: hosts[0]!.name,
        vars: { ferry_become: 'on', ferry_become_user: 'nobody' },
        tasks: [{ name: 'who', command: 'id -un', register: 'who', changed_when: false }, { name: 'is nobody', assert: { that: ['who.stdout == "nobody"'] } }],
      },
    ]);
    const rep = new CollectingReporter();
    assert.equal((await runPlaybookFile(pb, { inventory: [inv], reporter: rep })).exitCode, 0, JSON.stringify(rep.results()));
    const off = new CollectingReporter();
    await runPlaybookFile(pb, { inventory: [inv], reporter: off, extraVars: { ansible_become: 'off' } });
    assert.notEqual(rep.result('who', hosts[0]!.name)?.result?.stdout, off.result('who', hosts[0]!.name)?.result?.stdout);
    assert.equal(off.result('is nobody', hosts[0]!.name)?.status, 'failed', '-e ansible_become=off wins over the play');
  });

  it('--check shows what a partial check mode left out, in the message and the result; a real run does not', async () => {
    // a module whose read leaves something out in check mode (as grub leaves grub.cfg uncompared rather than mount)
    const peek = defineModule({
      name: 'peek',
      params: z.strictObject({ path: z.string() }),
      doc: { summary: 'test module', checkMode: 'partial', checkModeNote: 'the count is not read in check mode', example: '' },
      read: async (ctx, p) => ({ check: ctx.check, text: (await ctx.runOk(sh`cat -- ${p.path}`)).stdout }),
      decide: (_p, f: { check: boolean; text: string }) => ({
        changed: false,
        reason: `read ${f.text.trim()}`,
        ...(f.check ? { partial: 'the count was not read' } : {}),
      }),
    });
    const path = join(dir, 'peek.txt');
    await writeFile(path, 'hello\n');
    await chmod(path, 0o644);
    const pb = await writePlaybook(dir, 'peek.yaml', [{ hosts: hosts[0]!.name, gather_facts: false, tasks: [{ name: 'peek', peek: { path }, register: 'r' }] }]);
    const modules = builtinModules().register(peek as unknown as TaskModule<never>);
    const checked = new CollectingReporter();
    assert.equal((await runPlaybookFile(pb, { inventory: [inv], reporter: checked, check: true, modules })).exitCode, 0);
    const c = checked.result('peek', hosts[0]!.name)!;
    assert.equal(c.status, 'ok');
    assert.equal(c.msg, 'read hello (check mode is partial: the count was not read)');
    assert.equal((c.result as Record<string, unknown>).check_mode_partial, 'the count was not read');
    const real = new CollectingReporter();
    assert.equal((await runPlaybookFile(pb, { inventory: [inv], reporter: real, modules })).exitCode, 0);
    const r = real.result('peek', hosts[0]!.name)!;
    assert.equal(r.msg, 'read hello');
    assert.equal((r.result as Record<string, unknown>).check_mode_partial, undefined);
  });
});
