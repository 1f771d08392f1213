// blockinfile, slurp, fetch and pause through a REAL sshd (test/harness/sshd.ts): effects checked on
// disk (sshd runs on this machine), check mode changes nothing, second runs report no change, and the
// same playbook run by ansible-playbook against the same sshd leaves the same files and registers the
// same values.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import type { BecomeOptions } from '../../runner/transport/types.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { blockinfileModule } from '../../tasks/blockinfile.js';
import { fetchModule } from '../../tasks/fetch.js';
import { slurpModule } from '../../tasks/slurp.js';
import { startSshd, NOPASSWD_USER, sshTransport, inventoryEntry, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { writeAnsibleInventory } from '../helpers/ansible.js';
import { assertNoChange as noChange, looseModule as mod, runModuleResult } from '../helpers/run-module.js';

const INITTAB = readFileSync(new URL('../fixtures/corpora/guest-files/console/debian-stock-inittab-before-xen', import.meta.url), 'utf8');
const SERIAL = 'T0:23:respawn:/sbin/getty -L ttyS0 115200 vt100\n';

describe('blockinfile, slurp, fetch, pause @integration', function () {
  this.timeout(120_000);
  let sshd: SshdHost;
  let transport: SshTransport;
  let work: string; // owned by the unprivileged login user
  let uid: number;
  let gid: number;

  async function run(mod: TaskModule<never>, raw: Record<string, unknown>, o: { check?: boolean; diff?: boolean; become?: BecomeOptions | false; baseDir?: string } = {}): Promise<{ plan: Plan; result: Record<string, unknown> }> {
    return runModuleResult(mod, raw, { host: sshd.name, transport, ...o });
  }

  before(async () => {
    sshd = await startSshd();
    transport = sshTransport(sshd, NOPASSWD_USER);
    uid = Number(execFileSync('id', ['-u', NOPASSWD_USER]).toString());
    gid = Number(execFileSync('id', ['-g', NOPASSWD_USER]).toString());
    work = mkdtempSync(join(tmpdir(), 'ferry-daily-'));
    chmodSync(work, 0o755);
    chownSync(work, uid, gid);
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('blockinfile', () => {
    it('check mode shows the diff and writes nothing; the run inserts after insertafter; a second run is no change; absent removes', async () => {
      const path = join(work, 'inittab');
      writeFileSync(path, INITTAB, { mode: 0o640 });
      chownSync(path, 0, 0);
      const p = { path, block: SERIAL, insertafter: '^#T1:' };
      const check = await run(mod(blockinfileModule), p, { check: true, diff: true, become: {} });
      assert.equal(check.plan.changed, true);
      const want = INITTAB.replace(/^(#T1:.*\n)/m, `$1# BEGIN ANSIBLE MANAGED BLOCK\n${SERIAL}# END ANSIBLE MANAGED BLOCK\n`);
      assert.notEqual(want, INITTAB);
      assert.deepEqual(check.plan.diff, [{ path, before: INITTAB, after: want }]);
      assert.equal(readFileSync(path, 'utf8'), INITTAB, 'check mode wrote the file');
      const real = await run(mod(blockinfileModule), p, { become: {} });
      assert.equal(real.result.msg, 'Block inserted');
      assert.equal(readFileSync(path, 'utf8'), want);
      assert.equal(statSync(path).mode & 0o7777, 0o640);
      noChange((await run(mod(blockinfileModule), p, { become: {} })).plan, /the block is already there/);
      const gone = await run(mod(blockinfileModule), { path, state: 'absent' }, { become: {} });
      assert.equal(gone.result.msg, 'Block removed');
      assert.equal(readFileSync(path, 'utf8'), INITTAB);
      noChange((await run(mod(blockinfileModule), { path, state: 'absent' }, { become: {} })).plan, /no block between the markers/);
    });

    it('a missing file fails with the hint; create makes the parent directories; backup keeps the old file; mode alone is Ansible\'s message', async () => {
      const path = join(work, 'new dir', "conf $(touch pwned); 'x'");
      await assert.rejects(run(mod(blockinfileModule), { path, block: 'a=1' }), /does not exist; set create: true to create it/);
      const created = await run(mod(blockinfileModule), { path, block: 'a=1', create: true, mode: '0600' });
      assert.equal(created.result.msg, 'File created');
      assert.equal(readFileSync(path, 'utf8'), '# BEGIN ANSIBLE MANAGED BLOCK\na=1\n# END ANSIBLE MANAGED BLOCK\n');
      assert.equal(statSync(path).mode & 0o7777, 0o600);
      const changed = await run(mod(blockinfileModule), { path, block: 'a=2', backup: true, marker: '// {mark}' });
      assert.equal(changed.result.msg, 'Block inserted');
      assert.match(String(changed.result.backup_file), /\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/);
      assert.equal(readFileSync(String(changed.result.backup_file), 'utf8'), '# BEGIN ANSIBLE MANAGED BLOCK\na=1\n# END ANSIBLE MANAGED BLOCK\n');
      assert.equal(readFileSync(path, 'utf8'), '# BEGIN ANSIBLE MANAGED BLOCK\na=1\n# END ANSIBLE MANAGED BLOCK\n// BEGIN\na=2\n// END\n');
      const modeOnly = await run(mod(blockinfileModule), { path, block: 'a=2', marker: '// {mark}', mode: '0644' });
      assert.equal(modeOnly.result.msg, 'ownership, perms or SE linux context changed');
      assert.equal(statSync(path).mode & 0o7777, 0o644);
      assert.equal(existsSync(join(work, 'new dir', 'pwned')), false);
    });

    it('follows a symlink and keeps it; a directory is refused', async () => {
      const real = join(work, 'real.conf');
      writeFileSync(real, 'x=1\n');
      chownSync(real, uid, gid);
      const link = join(work, 'link.conf');
      symlinkSync('real.conf', link);
      await run(mod(blockinfileModule), { path: link, block: 'y=2', insertbefore: 'BOF' });
      assert.equal(lstatSync(link).isSymbolicLink(), true);
      assert.equal(readFileSync(real, 'utf8'), '# BEGIN ANSIBLE MANAGED BLOCK\ny=2\n# END ANSIBLE MANAGED BLOCK\nx=1\n');
      await assert.rejects(run(mod(blockinfileModule), { path: work, block: 'x' }), /is a directory, not a text file/);
    });
  });

  describe('slurp', () => {
    it('reads a root-only file with become, base64; a missing file and a directory fail with Ansible\'s message', async () => {
      const path = join(work, "secret $(touch pwned).key");
      const bytes = Buffer.from([0, 1, 2, 255, 10, 65]);
      writeFileSync(path, bytes, { mode: 0o600 });
      chownSync(path, 0, 0);
      await assert.rejects(run(mod(slurpModule), { src: path }), /Permission denied|not readable/);
      const r = await run(mod(slurpModule), { src: path }, { become: {}, check: true });
      assert.equal(r.plan.changed, false);
      assert.deepEqual(r.result, { content: bytes.toString('base64'), encoding: 'base64', source: path });
      await assert.rejects(run(mod(slurpModule), { path: join(work, 'nope') }), new RegExp(`file not found: ${join(work, 'nope')}`));
      await assert.rejects(run(mod(slurpModule), { src: work }), /source is a directory and must be a file/);
      assert.equal(existsSync(join(work, 'pwned')), false);
    });
  });

  describe('fetch', () => {
    it('check mode writes nothing; copies to dest/<host>/<src>; a second run is no change; flat; missing fails unless fail_on_missing is false', async () => {
      const src = join(work, 'guest1.cfg');
      writeFileSync(src, 'name = "guest1"\nmemory = 1024\n');
      const local = mkdtempSync(join(tmpdir(), 'ferry-fetch-'));
      try {
        const want = join(local, 'saved', sshd.name, src);
        const check = await run(mod(fetchModule), { src, dest: 'saved' }, { check: true, baseDir: local });
        assert.equal(check.plan.changed, true);
        assert.deepEqual(readdirSync(local), [], 'check mode wrote on the controller');
        const r = await run(mod(fetchModule), { src, dest: 'saved' }, { baseDir: local });
        assert.equal(readFileSync(want, 'utf8'), 'name = "guest1"\nmemory = 1024\n');
        const sha1 = execFileSync('sha1sum', [src]).toString().slice(0, 40);
        assert.deepEqual(r.result, { dest: want, checksum: sha1, remote_checksum: sha1, remote_md5sum: null, md5sum: execFileSync('md5sum', [src]).toString().slice(0, 32) });
        noChange((await run(mod(fetchModule), { src, dest: 'saved' }, { baseDir: local })).plan, /already has/);
        writeFileSync(src, 'name = "guest1"\nmemory = 2048\n');
        assert.equal((await run(mod(fetchModule), { src, dest: 'saved' }, { baseDir: local })).plan.changed, true);
        assert.match(readFileSync(want, 'utf8'), /2048/);
        await run(mod(fetchModule), { src, dest: `${local}/flat/`, flat: true }, { baseDir: local }).catch((e: Error) => assert.fail(e));
        assert.match(readFileSync(join(local, 'flat', 'guest1.cfg'), 'utf8'), /2048/);
        await assert.rejects(run(mod(fetchModule), { src, dest: `${local}/flat`, flat: true }, { baseDir: local }), /is an existing directory, use a trailing slash/);
        await assert.rejects(run(mod(fetchModule), { src: join(work, 'nope'), dest: local }, { baseDir: local }), /does not exist, not transferring/);
        noChange((await run(mod(fetchModule), { src: join(work, 'nope'), dest: local, fail_on_missing: false }, { baseDir: local })).plan, /not transferring, ignored/);
      } finally {
        rmSync(local, { recursive: true, force: true });
      }
    });
  });

  describe('the same playbook through ansible-playbook and ferry', () => {
    let dir: string;
    let ferryInv: string;
    let ansibleInv: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-vs-ansible-'));
      chmodSync(dir, 0o755);
      ferryInv = await writeInventory([sshd], dir, NOPASSWD_USER);
      ansibleInv = writeAnsibleInventory(sshd, dir, NOPASSWD_USER);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs the playbook with ansible-playbook (json callback); returns each task's result on the host, by task name. */
    function ansiblePlaybook(pb: string, extraVars: Record<string, unknown>): Record<string, Record<string, unknown>> {
      const home = join(dir, 'ansible-home');
      mkdirSync(home, { recursive: true });
      const r = spawnSync('ansible-playbook', ['-i', ansibleInv, pb, '-e', JSON.stringify(extraVars)], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_RETRY_FILES_ENABLED: '0' },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as { plays: { tasks: { task: { name: string }; hosts: Record<string, Record<string, unknown>> }[] }[] };
      return Object.fromEntries(out.plays[0]!.tasks.map((t) => [t.task.name, t.hosts[sshd.name]!]));
    }

    /** Runs the playbook with ferry; returns the registered values on the host. */
    async function ferryPlaybook(pb: string, extraVars: Record<string, unknown>): Promise<Record<string, Record<string, unknown>>> {
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [ferryInv], reporter: rep, extraVars, stateDir: join(dir, 'state') });
      assert.equal(r.exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
      return r.hostValues[sshd.name] as Record<string, Record<string, unknown>>;
    }

    /** A work folder per tool, owned by the login user, holding the same inittab. */
    function workFor(tool: string): string {
      const w = join(work, `vs-${tool}`);
      mkdirSync(w);
      chownSync(w, uid, gid);
      writeFileSync(join(w, 'inittab'), INITTAB);
      chownSync(join(w, 'inittab'), uid, gid);
      return w;
    }

    it('blockinfile: the same files and the same changed/msg at every step', async () => {
      const tasks = [
        ['insert', { path: '{{ w }}/inittab', block: SERIAL, insertafter: '^#T1:' }],
        ['again', { path: '{{ w }}/inittab', block: SERIAL, insertafter: '^#T1:' }],
        ['other marker', { path: '{{ w }}/inittab', block: 'x\ny', marker: '# {mark} ferry', insertbefore: 'BOF' }],
        ['replace', { path: '{{ w }}/inittab', block: 'z' }],
        ['empty block', { path: '{{ w }}/inittab', block: '', marker: '# {mark} ferry' }],
        ['create', { path: '{{ w }}/sub/new.conf', block: 'k=v', create: true }],
        ['absent missing', { path: '{{ w }}/none', state: 'absent', create: true }],
        ['absent missing fails', { path: '{{ w }}/none', state: 'absent' }],
      ] as const;
      const pb = join(dir, 'blockinfile.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: tasks.map(([name, args]) => ({ name, blockinfile: args, register: name.replace(/ /g, '_'), ignore_errors: name.endsWith('fails') })) }]));
      const aw = workFor('ansible-bif');
      const fw = workFor('ferry-bif');
      const a = ansiblePlaybook(pb, { w: aw });
      const f = await ferryPlaybook(pb, { w: fw });
      for (const [name] of tasks) {
        const got = f[name.replace(/ /g, '_')]!;
        const want = a[name]!;
        assert.deepEqual({ changed: got.changed, failed: got.failed ?? false }, { changed: want.changed, failed: want.failed ?? false }, name);
        // Ansible's messages; a failure says what to write instead, and no change gives its reason (Ansible: '').
        if (!want.failed && want.changed) assert.equal(String(got.msg).replace(fw, 'W'), String(want.msg).replace(aw, 'W'), name);
      }
      assert.equal(readFileSync(join(fw, 'inittab'), 'utf8'), readFileSync(join(aw, 'inittab'), 'utf8'));
      assert.equal(readFileSync(join(fw, 'sub/new.conf'), 'utf8'), readFileSync(join(aw, 'sub/new.conf'), 'utf8'));
      assert.deepEqual(readdirSync(fw).sort(), readdirSync(aw).sort());
    });

    it('slurp and fetch: the same registered values (content, checksums, dest layout) and the same fetched files', async () => {
      const names = ['slurp', 'fetch', 'fetch again', 'fetch flat', 'fetch missing'];
      const pb = join(dir, 'slurp-fetch.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [
        { name: 'slurp', slurp: { src: '{{ w }}/inittab' }, register: 'slurp' },
        { name: 'fetch', fetch: { src: '{{ w }}/inittab', dest: '{{ d }}' }, register: 'fetch' },
        { name: 'fetch again', fetch: { src: '{{ w }}/inittab', dest: '{{ d }}' }, register: 'fetch_again' },
        { name: 'fetch flat', fetch: { src: '{{ w }}/inittab', dest: '{{ d }}/flat/', flat: true }, register: 'fetch_flat' },
        { name: 'fetch missing', fetch: { src: '{{ w }}/none', dest: '{{ d }}', fail_on_missing: false }, register: 'fetch_missing' },
      ] }]));
      const aw = workFor('ansible-sf');
      const fw = workFor('ferry-sf');
      const ad = join(dir, 'fetched-ansible');
      const fd = join(dir, 'fetched-ferry');
      const a = ansiblePlaybook(pb, { w: aw, d: ad });
      const f = await ferryPlaybook(pb, { w: fw, d: fd });
      const keys = ['changed', 'failed', 'content', 'encoding', 'source', 'dest', 'file', 'checksum', 'remote_checksum', 'md5sum', 'remote_md5sum'];
      const pick = (r: Record<string, unknown>, w: string, d: string) =>
        Object.fromEntries(keys.filter((k) => r[k] !== undefined && !(k === 'failed' && r[k] === false)).map((k) => [k, typeof r[k] === 'string' ? (r[k] as string).replace(w, 'W').replace(d, 'D') : r[k]]));
      assert.match(String(a.fetch!.checksum), /^[0-9a-f]{40}$/);
      assert.equal(a.slurp!.encoding, 'base64');
      for (const name of names) assert.deepEqual(pick(f[name.replace(/ /g, '_')]!, fw, fd), pick(a[name]!, aw, ad), name);
      assert.equal(Buffer.from(String(f.slurp!.content), 'base64').toString('utf8'), INITTAB);
      assert.equal(readFileSync(join(fd, sshd.name, fw, 'inittab'), 'utf8'), readFileSync(join(ad, sshd.name, aw, 'inittab'), 'utf8'));
      assert.equal(readFileSync(join(fd, 'flat', 'inittab'), 'utf8'), INITTAB);
    });

    it('slurp under no_log: the content is in the registered value but in no event', async () => {
      const w = workFor('ferry-nolog');
      const secretText = 'root-password-hash-$6$ferry-test\n';
      writeFileSync(join(w, 'shadow-line'), secretText);
      const pb = join(dir, 'nolog.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [
        { name: 'read it', slurp: { src: '{{ w }}/shadow-line' }, register: 'got', no_log: true },
        { name: 'show it', debug: { var: 'got.content' } },
      ] }]));
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [ferryInv], reporter: rep, extraVars: { w }, stateDir: join(dir, 'state') });
      assert.equal(r.exitCode, 0, JSON.stringify(rep.results()));
      assert.equal(Buffer.from(String((r.hostValues[sshd.name]!.got as Record<string, unknown>).content), 'base64').toString('utf8'), secretText);
      const events = JSON.stringify(rep.events);
      assert.ok(events.includes('read it'), 'the events are not this run\'s');
      assert.ok(!events.includes(Buffer.from(secretText).toString('base64')), 'the slurped content shows in an event');
    });
  });
  describe('pause', () => {
    let dir: string;
    let inv: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-pause-'));
      // two inventory hosts (the same sshd under two names): pause must run once for both
      inv = await writeInventory([sshd], dir, NOPASSWD_USER, { twin: inventoryEntry(sshd) });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('runs once for all hosts, every host registers the same result; a prompt without a terminal does not wait', async function () {
      if (process.stdin.isTTY) this.skip(); // the prompt case needs a stdin that is not a terminal
      const pb = join(dir, 'pause.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [
        { name: 'wait', pause: { seconds: 1 }, register: 'waited' },
        { name: 'ask', pause: { prompt: 'Continue?' }, register: 'asked' },
      ] }]));
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, stateDir: join(dir, 'state') });
      assert.equal(r.exitCode, 0, JSON.stringify(rep.results()));
      assert.equal(rep.results().filter((x) => x.task === 'wait').length, 1, 'pause ran more than once');
      const one = r.hostValues[sshd.name]!.waited as Record<string, unknown>;
      assert.deepEqual(r.hostValues.twin!.waited, one);
      assert.match(String(one.stdout), /^Paused for 1(\.\d+)? seconds$/);
      assert.equal(one.user_input, '');
      assert.equal(one.changed, false);
      assert.ok(Date.parse(String(one.stop)) - Date.parse(String(one.start)) >= 1000, 'pause did not wait its second');
      const asked = r.hostValues.twin!.asked as Record<string, unknown>;
      assert.match(String(asked.msg), /^Not waiting for response to prompt as stdin is not interactive/);
    });

    it('an interrupt stops a long pause at once (the task is reported interrupted)', async () => {
      const pb = join(dir, 'long.yml');
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [{ name: 'long wait', pause: { minutes: 10 } }, { name: 'after', debug: { msg: 'x' } }] }]));
      const ac = new AbortController();
      const rep = new CollectingReporter();
      // started only once the pause runs; a grace longer than this test's timeout: only the pause itself can stop in time
      const started = setInterval(() => rep.events.some((e) => e.type === 'task_start' && e.task === 'long wait') && ac.abort(), 100);
      try {
        const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, signal: ac.signal, stopGraceMs: 600_000, stateDir: join(dir, 'state2') });
        assert.equal(r.interrupted, true);
        assert.equal(rep.results().find((x) => x.task === 'long wait')?.status, 'interrupted');
        assert.equal(rep.results().some((x) => x.task === 'after'), false);
      } finally {
        clearInterval(started);
      }
    });
  });
});
