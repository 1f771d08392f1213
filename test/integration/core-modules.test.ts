// The core task modules through a REAL sshd (test/harness/sshd.ts): effects checked on disk
// (sshd runs on this machine, so the test reads the files directly), second runs report no change
// with a reason, check mode changes nothing and predicts the real run, become, hostile names.
import { createHash } from 'node:crypto';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskFailedError, TemplateError } from '../../runner/errors.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import type { BecomeOptions } from '../../runner/transport/types.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { commandModule } from '../../tasks/command.js';
import { copyModule } from '../../tasks/copy.js';
import { fileModule } from '../../tasks/file.js';
import { lineinfileModule } from '../../tasks/lineinfile.js';
import { pingModule } from '../../tasks/ping.js';
import { replaceModule } from '../../tasks/replace.js';
import { shellModule } from '../../tasks/shell.js';
import { templateModule } from '../../tasks/template.js';
import { waitForModule } from '../../tasks/wait-for.js';
import { bootCheckModule } from '../../tasks/boot-check.js';
import { startSshd, NOPASSWD_USER, sshTransport, type SshdHost } from '../harness/sshd.js';
import { assertNoChange as noChange, looseModule as mod, runModule } from '../helpers/run-module.js';
import { RoundTripCounter } from '../helpers/round-trips.js';

// Names a playbook might carry that must stay names: spaces, quotes, $(), ;, a newline.
// Were one ever run by a shell, it would leave ferry-pwned in the login user's home (the commands' cwd).
const HOSTILE = `it's a "$(touch ferry-pwned)"; \`touch ferry-pwned\` & rm -rf x\nline2`;

interface RunOpts {
  check?: boolean;
  become?: BecomeOptions | false;
  diff?: boolean;
  vars?: Record<string, unknown>;
  baseDir?: string;
}

describe('core modules @integration', function () {
  this.timeout(60_000);
  let sshd: SshdHost;
  let transport: SshTransport;
  let work: string; // owned by the unprivileged login user
  let rootOnly: string; // 0700 root: only become reaches it
  let uid: number;
  let gid: number;

  /** Validates raw params like the engine would, plans, and (unless check) runs the steps. */
  async function run(mod: TaskModule<never>, raw: Record<string, unknown>, o: RunOpts = {}): Promise<{ plan: Plan; result: Record<string, unknown> }> {
    const { plan, data } = await runModule(mod, raw, { host: sshd.name, transport, ...o });
    return { plan, result: data };
  }
  const modeOf = (p: string) => statSync(p).mode & 0o7777;

  before(async () => {
    sshd = await startSshd();
    transport = sshTransport(sshd, NOPASSWD_USER);
    uid = Number(execFileSync('id', ['-u', NOPASSWD_USER]).toString());
    gid = Number(execFileSync('id', ['-g', NOPASSWD_USER]).toString());
    work = mkdtempSync(join(tmpdir(), 'ferry-core-'));
    chmodSync(work, 0o755);
    chownSync(work, uid, gid);
    rootOnly = join(work, 'root only');
    mkdirSync(rootOnly, { mode: 0o700 });
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    const home = execFileSync('sh', ['-c', `getent passwd ${NOPASSWD_USER} | cut -d: -f6`]).toString().trim();
    assert.equal(existsSync(join(home, 'ferry-pwned')), false, 'a hostile name was run as a command');
  });

  describe('ping', () => {
    it('answers pong without a change, as the login user and with become', async () => {
      const { plan } = await run(mod(pingModule), {});
      noChange(plan, /pong/);
      assert.deepEqual(plan.data, { ping: 'pong' });
      const b = await run(mod(pingModule), {}, { become: {} });
      assert.deepEqual(b.plan.data, { ping: 'pong' });
    });
  });

  describe('command and shell', () => {
    it('passes argv words through unchanged, whatever they hold', async () => {
      const words = ['a b', "it's", '$(id)', '; rm -rf x', '`id`', 'line\nbreak', '*', ''];
      const { plan, result } = await run(mod(commandModule), { argv: ['printf', '[%s]', ...words] });
      assert.equal(plan.changed, true);
      assert.equal(result.stdout, words.map((w) => `[${w}]`).join(''));
      assert.equal(result.rc, 0);
      assert.equal(result.exitCode, 0);
      assert.match(String(result.delta), /^\d+\.\d{3}s$/);
    });

    it('splits cmd like shlex and never runs a shell', async () => {
      const { result } = await run(mod(commandModule), { cmd: `printf '%s|' "a  b" 'x;y' $HOME '|' "q\\"q"` });
      assert.equal(result.stdout, 'a  b|x;y|$HOME|||q"q|');
      // FOO=bar is a program name here, as in Ansible, not an assignment
      await assert.rejects(run(mod(commandModule), { cmd: 'FOO=bar true' }), (e: unknown) => e instanceof TaskFailedError && e.data.rc === 127);
    });

    it('creates/removes decide in plan, with the reason; check mode predicts and runs nothing', async () => {
      const marker = join(work, `made by ${HOSTILE}`);
      const params = { argv: ['touch', marker], creates: marker };
      const check = await run(mod(commandModule), params, { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(existsSync(marker), false, 'check mode ran the command');
      const real = await run(mod(commandModule), params);
      assert.equal(real.plan.changed, true);
      assert.equal(existsSync(marker), true);
      const again = await run(mod(commandModule), params);
      noChange(again.plan, /exists \(creates\)/);
      noChange((await run(mod(commandModule), { cmd: 'false', removes: join(work, 'nope') })).plan, /does not exist \(removes\)/);
    });

    it('a non-zero exit fails the task with rc, stdout and stderr', async () => {
      await assert.rejects(run(mod(commandModule), { argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }), (e: unknown) => {
        assert.ok(e instanceof TaskFailedError);
        assert.equal(e.data.rc, 3);
        assert.equal(e.data.stdout, 'out');
        assert.equal(e.data.stderr, 'err');
        return true;
      });
    });

    it('chdir with an odd name, stdin, and become', async () => {
      const dir = join(work, HOSTILE);
      mkdirSync(dir);
      const { result } = await run(mod(commandModule), { argv: ['pwd'], chdir: dir });
      assert.equal(result.stdout, dir);
      const cat = await run(mod(commandModule), { cmd: 'cat', stdin: 'fed in' });
      assert.equal(cat.result.stdout, 'fed in');
      assert.equal((await run(mod(commandModule), { cmd: 'id -u' })).result.stdout, String(uid));
      assert.equal((await run(mod(commandModule), { cmd: 'id -u' }, { become: {} })).result.stdout, '0');
    });

    it('shell runs pipes and variables, with the chosen executable', async () => {
      const { result } = await run(mod(shellModule), { cmd: 'echo hello | tr a-z A-Z; echo "$0"' });
      assert.equal(result.stdout, 'HELLO\n/bin/sh');
      const bash = await run(mod(shellModule), { cmd: 'echo ${BASH_VERSION:+bash}', executable: '/bin/bash' });
      assert.equal(bash.result.stdout, 'bash');
      const marker = join(work, 'shell-made');
      noChange((await run(mod(shellModule), { cmd: `touch '${marker}'`, creates: work })).plan, /exists \(creates\)/);
      assert.equal(existsSync(marker), false);
    });
  });

  describe('copy', () => {
    it('creates, then reports no change by checksum; check mode predicts a content change exactly', async () => {
      const dest = join(work, `copy ${HOSTILE}.conf`);
      const first = await run(mod(copyModule), { content: 'one\n', dest, mode: '0640' });
      assert.equal(first.plan.changed, true);
      assert.equal(readFileSync(dest, 'utf8'), 'one\n');
      assert.equal(modeOf(dest), 0o640);
      // Ansible's copy registers the sha1 of the content
      assert.equal(first.result.checksum, createHash('sha1').update('one\n').digest('hex'));
      noChange((await run(mod(copyModule), { content: 'one\n', dest, mode: '0640' })).plan, /already has this content/);

      const check = await run(mod(copyModule), { content: 'two\n', dest, mode: '0640' }, { check: true, diff: true });
      assert.equal(check.plan.changed, true);
      assert.deepEqual(check.plan.diff, [{ path: dest, before: 'one\n', after: 'two\n' }]);
      assert.equal(readFileSync(dest, 'utf8'), 'one\n', 'check mode wrote the file');
      await run(mod(copyModule), { content: 'two\n', dest, mode: '0640' });
      assert.equal(readFileSync(dest, 'utf8'), 'two\n');
      assert.equal(modeOf(dest), 0o640, 'mode kept through the atomic replace');
      assert.deepEqual(readdirSync(work).filter((f) => f.includes('.ferry-')), [], 'no temp file left');
    });

    it('changes only the mode when the content matches; keeps the mode when none is given', async () => {
      const dest = join(work, 'mode-only');
      await run(mod(copyModule), { content: 'x', dest, mode: 600 }); // YAML's reading of an unquoted 0600
      assert.equal(modeOf(dest), 0o600);
      const { plan } = await run(mod(copyModule), { content: 'x', dest, mode: 'g+r' });
      assert.equal(plan.changed, true);
      assert.deepEqual(plan.changed && plan.steps.map((s) => s.title), [`chmod 0640 ${dest}`]);
      assert.equal(modeOf(dest), 0o640);
      await run(mod(copyModule), { content: 'y', dest });
      assert.equal(modeOf(dest), 0o640);
    });

    it('copies src from the playbook dir into a directory dest, with a backup of what it replaces', async () => {
      const base = mkdtempSync(join(tmpdir(), 'ferry-base-'));
      writeFileSync(join(base, 'grub.cfg'), 'new\n');
      const dir = join(work, 'etc');
      mkdirSync(dir);
      chownSync(dir, uid, gid);
      writeFileSync(join(dir, 'grub.cfg'), 'old\n');
      chownSync(join(dir, 'grub.cfg'), uid, gid);
      const { result } = await run(mod(copyModule), { src: 'grub.cfg', dest: dir + '/', backup: true }, { baseDir: base });
      assert.equal(result.dest, join(dir, 'grub.cfg'));
      assert.equal(readFileSync(join(dir, 'grub.cfg'), 'utf8'), 'new\n');
      const backup = String(result.backup_file);
      // Ansible's name: the PID and local time of the process on the host that made it
      assert.match(backup, /grub\.cfg\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/);
      assert.equal(readFileSync(backup, 'utf8'), 'old\n');
      await assert.rejects(run(mod(copyModule), { src: 'missing.cfg', dest: dir }, { baseDir: base }), /src missing\.cfg not found \(looked for .*missing\.cfg\)/);
      rmSync(base, { recursive: true });
    });

    it('with become writes where the login user cannot, sets the owner, and keeps an existing owner', async () => {
      const dest = join(rootOnly, 'secret.conf');
      await assert.rejects(run(mod(copyModule), { content: 's\n', dest }), TaskFailedError);
      await run(mod(copyModule), { content: 's\n', dest, owner: NOPASSWD_USER, mode: '0600' }, { become: {} });
      assert.equal(readFileSync(dest, 'utf8'), 's\n');
      assert.equal(statSync(dest).uid, uid);
      noChange((await run(mod(copyModule), { content: 's\n', dest, owner: NOPASSWD_USER, mode: '0600' }, { become: {} })).plan, /already has/);
      // replaced as root without owner: the file stays the user's
      await run(mod(copyModule), { content: 't\n', dest }, { become: {} });
      assert.equal(statSync(dest).uid, uid);
      assert.equal(modeOf(dest), 0o600);
    });

    it('refuses a missing destination directory with a hint', async () => {
      await assert.rejects(run(mod(copyModule), { content: 'x', dest: join(work, 'no such dir', 'f') }), /does not exist; create it first \(file: path=.* state=directory\)/);
    });
  });

  describe('template', () => {
    it('renders with the host vars and copies; an undefined variable names itself and file:line', async () => {
      const base = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
      writeFileSync(join(base, 'fstab.hbs'), '# {{host}}\n{{#each mounts}}{{this.dev}} {{this.path}}\n{{/each}}');
      writeFileSync(join(base, 'bad.hbs'), 'ok\n{{ root_device }}\n');
      const vars = { host: 'guest <1> & "q"', mounts: [{ dev: '/dev/vda1', path: '/' }] };
      const dest = join(work, 'fstab');
      const first = await run(mod(templateModule), { src: 'fstab.hbs', dest }, { vars, baseDir: base });
      assert.equal(first.plan.changed, true);
      assert.equal(readFileSync(dest, 'utf8'), '# guest <1> & "q"\n/dev/vda1 /\n');
      noChange((await run(mod(templateModule), { src: 'fstab.hbs', dest }, { vars, baseDir: base })).plan, /already has this content/);
      const dirDest = await run(mod(templateModule), { src: 'fstab.hbs', dest: work + '/' }, { vars, baseDir: base });
      noChange(dirDest.plan, /fstab already has/); // same file: .hbs dropped from the name
      await assert.rejects(run(mod(templateModule), { src: 'bad.hbs', dest }, { vars, baseDir: base }), (e: unknown) => {
        assert.ok(e instanceof TemplateError);
        assert.match(e.message, /bad\.hbs:2: undefined variable 'root_device'/);
        return true;
      });
      rmSync(base, { recursive: true });
    });

    it('renders .j2 as Jinja2 the way Ansible does: templates/ first, trim_blocks, ansible_managed, lookups', async () => {
      const base = mkdtempSync(join(tmpdir(), 'ferry-tpl-'));
      mkdirSync(join(base, 'templates'));
      mkdirSync(join(base, 'files'));
      writeFileSync(join(base, 'files', 'banner'), 'welcome\n');
      writeFileSync(
        join(base, 'templates', 'fstab.j2'),
        "# {{ ansible_managed }}\n{% for m in mounts %}\n{{ m.dev }} {{ m.path }}{% if m.opts is defined %} {{ m.opts | join(',') }}{% endif %}\n\n{% endfor %}\n# {{ lookup('file', 'banner') }}\n",
      );
      writeFileSync(join(base, 'templates', 'bad.j2'), 'ok\n{% for m in mounts %}\n{{ m.devv }}\n{% endfor %}\n');
      const vars = { playbook_dir: base, mounts: [{ dev: '/dev/vda1', path: '/', opts: ['rw', 'noatime'] }, { dev: '/dev/vda2', path: '/srv' }] };
      const dest = join(work, 'fstab-j2');
      const first = await run(mod(templateModule), { src: 'fstab.j2', dest }, { vars, baseDir: base });
      assert.equal(first.plan.changed, true);
      assert.equal(readFileSync(dest, 'utf8'), '# Managed by ferry\n/dev/vda1 / rw,noatime\n/dev/vda2 /srv\n# welcome\n'); // checked with Jinja2 3.1.2
      noChange((await run(mod(templateModule), { src: 'fstab.j2', dest }, { vars, baseDir: base })).plan, /already has this content/);
      const dirDest = await run(mod(templateModule), { src: 'templates/fstab.j2', dest: work + '/', trim_blocks: false }, { vars, baseDir: base });
      assert.equal(readFileSync(join(work, 'fstab'), 'utf8').split('\n')[1], '', 'trim_blocks: false keeps the newline after the for tag; .j2 dropped from the name');
      assert.equal(dirDest.plan.changed, true);
      await assert.rejects(run(mod(templateModule), { src: 'bad.j2', dest }, { vars, baseDir: base }), (e: unknown) => {
        assert.ok(e instanceof TemplateError);
        assert.match(e.message, /bad\.j2:3: undefined variable 'm\.devv' \('m' has no key 'devv'\)/);
        return true;
      });
      await assert.rejects(run(mod(templateModule), { src: 'none.j2', dest }, { vars, baseDir: base }), /src none\.j2 not found \(looked for .*templates\/none\.j2, .*\/none\.j2\)/);
      rmSync(base, { recursive: true });
    });
  });

  describe('file', () => {
    it('directory: creates with mode and owner, then no change; recurse fixes what is below', async () => {
      const dir = join(work, `dir ${HOSTILE}`, 'sub');
      const params = { path: dir, state: 'directory', mode: '0750', owner: NOPASSWD_USER };
      const check = await run(mod(fileModule), params, { check: true, become: {} });
      assert.equal(check.plan.changed, true);
      assert.equal(existsSync(dir), false);
      await run(mod(fileModule), params, { become: {} });
      assert.equal(statSync(dir).isDirectory(), true);
      assert.equal(modeOf(dir), 0o750);
      assert.equal(statSync(dir).uid, uid);
      noChange((await run(mod(fileModule), params, { become: {} })).plan, /is a directory with the wanted mode and owner/);

      writeFileSync(join(dir, 'root-owned'), 'x');
      const rec = { path: dir, state: 'directory', owner: NOPASSWD_USER, recurse: true };
      const r = await run(mod(fileModule), rec, { become: {} });
      assert.equal(r.plan.changed, true);
      assert.equal(statSync(join(dir, 'root-owned')).uid, uid);
      noChange((await run(mod(fileModule), rec, { become: {} })).plan, /and so is everything in it/);
    });

    it('link: creates, no change when it points right, relinks, refuses a file without force', async () => {
      const target = join(work, 'target file');
      writeFileSync(target, 't');
      const link = join(work, `link ${HOSTILE}`);
      await run(mod(fileModule), { path: link, state: 'link', src: target });
      assert.equal(readlinkSync(link), target);
      noChange((await run(mod(fileModule), { path: link, state: 'link', src: target })).plan, /already links to/);
      const other = join(work, 'other');
      writeFileSync(other, 'o');
      const re = await run(mod(fileModule), { path: link, state: 'link', src: other }, { diff: true });
      assert.deepEqual(re.plan.diff, [{ path: link, before: `link -> ${target}\n`, after: `link -> ${other}\n` }]);
      assert.equal(readlinkSync(link), other);
      await assert.rejects(run(mod(fileModule), { path: target, state: 'link', src: other }), /set force: true to replace it/);
      await assert.rejects(run(mod(fileModule), { path: join(work, 'dangling'), state: 'link', src: 'nowhere' }), /link target nowhere does not exist/);
      await run(mod(fileModule), { path: join(work, 'dangling'), state: 'link', src: 'nowhere', force: true });
      assert.equal(lstatSync(join(work, 'dangling')).isSymbolicLink(), true);
    });

    it('file: never creates (hint to use touch); touch creates and always updates times unless preserved', async () => {
      const p = join(work, `touched ${HOSTILE}`);
      await assert.rejects(run(mod(fileModule), { path: p, state: 'file' }), /does not exist; state: file only changes an existing file \(use state: touch/);
      await run(mod(fileModule), { path: p, state: 'touch', mode: 'u=rw,go=' });
      assert.equal(modeOf(p), 0o600);
      assert.equal((await run(mod(fileModule), { path: p, state: 'touch' })).plan.changed, true, 'touch reports changed, as in Ansible');
      noChange((await run(mod(fileModule), { path: p, state: 'touch', access_time: 'preserve', modification_time: 'preserve' })).plan, /times preserved/);
      noChange((await run(mod(fileModule), { path: p, state: 'file', mode: '0600' })).plan, /exists with the wanted mode/);
      await run(mod(fileModule), { path: p, mode: 'a+r' });
      assert.equal(modeOf(p), 0o644);
    });

    it('absent: removes a directory tree; then no change', async () => {
      const dir = join(work, 'tree to remove');
      mkdirSync(join(dir, 'a', 'b'), { recursive: true });
      writeFileSync(join(dir, 'a', 'b', 'f'), 'x');
      chownSync(dir, uid, gid);
      const check = await run(mod(fileModule), { path: dir, state: 'absent' }, { check: true, become: {} });
      assert.match(check.plan.changed ? check.plan.steps[0]!.title : '', /remove directory .* and everything in it/);
      assert.equal(existsSync(dir), true);
      await run(mod(fileModule), { path: dir, state: 'absent' }, { become: {} });
      assert.equal(existsSync(dir), false);
      noChange((await run(mod(fileModule), { path: dir, state: 'absent' })).plan, /does not exist/);
    });
  });

  describe('lineinfile', () => {
    const table = JSON.parse(readFileSync(new URL('../fixtures/core/lineinfile-ansible.json', import.meta.url), 'utf8')) as {
      cases: { name: string; text: string; params: Record<string, unknown>; result: string }[];
    };

    it('edits a real /etc/default/grub like Ansible, keeps mode/owner, then reports no change', async () => {
      const c = table.cases.find((x) => x.name.startsWith('replace the last regexp match'))!;
      const path = join(rootOnly, 'grub');
      writeFileSync(path, c.text, { mode: 0o640 });
      chownSync(path, uid, gid);
      const check = await run(mod(lineinfileModule), { path, ...c.params }, { check: true, become: {}, diff: true });
      assert.equal(check.plan.changed, true);
      assert.deepEqual(check.plan.diff, [{ path, before: c.text, after: c.result }]);
      assert.equal(readFileSync(path, 'utf8'), c.text);
      const real = await run(mod(lineinfileModule), { path, ...c.params }, { become: {} });
      assert.equal(real.result.msg, 'line replaced');
      assert.equal(readFileSync(path, 'utf8'), c.result);
      assert.equal(modeOf(path), 0o640);
      assert.equal(statSync(path).uid, uid);
      noChange((await run(mod(lineinfileModule), { path, ...c.params }, { become: {} })).plan, /the line is already there/);
    });

    it('create: false on a missing file fails with the hint; create: true makes it; absent removes', async () => {
      const path = join(work, `conf ${HOSTILE}`);
      await assert.rejects(run(mod(lineinfileModule), { path, line: 'a=1' }), /does not exist; set create: true/);
      await run(mod(lineinfileModule), { path, line: 'a=1', create: true, mode: '0644' });
      assert.equal(readFileSync(path, 'utf8'), 'a=1\n');
      await run(mod(lineinfileModule), { path, line: 'b=$(id)' });
      assert.equal(readFileSync(path, 'utf8'), 'a=1\nb=$(id)\n');
      const rm = await run(mod(lineinfileModule), { path, regexp: '^a=', state: 'absent' });
      assert.equal(rm.result.found, 1);
      assert.equal(readFileSync(path, 'utf8'), 'b=$(id)\n');
      noChange((await run(mod(lineinfileModule), { path, regexp: '^a=', state: 'absent' })).plan, /no line matches/);
    });

    it('follows a symlink and keeps it', async () => {
      const real = join(work, 'real.conf');
      writeFileSync(real, 'x=1\n');
      chownSync(real, uid, gid);
      const link = join(work, 'link.conf');
      execFileSync('ln', ['-s', 'real.conf', link]);
      await run(mod(lineinfileModule), { path: link, regexp: '^x=', line: 'x=2' });
      assert.equal(lstatSync(link).isSymbolicLink(), true);
      assert.equal(readFileSync(real, 'utf8'), 'x=2\n');
    });

    it('reads the file it edits with one probe: a regular file in 2 round trips (probe, read), a missing one in 2 (probe, its parent)', async () => {
      const path = join(work, 'counted.conf');
      writeFileSync(path, 'x=1\n');
      chownSync(path, uid, gid);
      const counter = new RoundTripCounter(transport);
      const trips = async (raw: Record<string, unknown>): Promise<{ plan: Plan; trips: string[] }> => {
        counter.reset();
        const { plan } = await runModule(mod(lineinfileModule), raw, { host: sshd.name, transport: counter, check: true });
        return { plan, trips: counter.trips.map((t) => t.split(' ')[0]!) };
      };
      const edit = await trips({ path, regexp: '^x=', line: 'x=2' });
      assert.equal(edit.plan.changed, true);
      assert.deepEqual(edit.trips, ['run', 'get']);
      const same = await trips({ path, regexp: '^x=', line: 'x=1' });
      noChange(same.plan, /the line is already there/);
      assert.deepEqual(same.trips, ['run', 'get']);
      const created = await trips({ path: join(work, 'counted-missing.conf'), line: 'a=1', create: true });
      assert.equal(created.plan.changed, true);
      assert.deepEqual(created.trips, ['run', 'run']);
    });
  });

  describe('replace', () => {
    const table = JSON.parse(readFileSync(new URL('../fixtures/core/replace-ansible.json', import.meta.url), 'utf8')) as {
      cases: { name: string; text: string; params: Record<string, unknown>; result: string; msg: string }[];
    };

    it('rewrites a real fstab as Ansible did (check mode first, with become), keeps mode/owner, then no change; after/before that match nothing change nothing', async () => {
      const c = table.cases.find((x) => x.name.startsWith('xvd to vd everywhere'))!;
      const path = join(rootOnly, 'fstab');
      writeFileSync(path, c.text, { mode: 0o644 });
      chownSync(path, uid, gid);
      const check = await run(mod(replaceModule), { path, ...c.params }, { check: true, become: {}, diff: true });
      assert.equal(check.plan.changed, true);
      assert.deepEqual(check.plan.diff, [{ path, before: c.text, after: c.result }]);
      assert.equal(readFileSync(path, 'utf8'), c.text, 'check mode wrote nothing');
      const real = await run(mod(replaceModule), { path, ...c.params }, { become: {} });
      assert.equal(real.result.msg, c.msg);
      assert.equal(readFileSync(path, 'utf8'), c.result);
      assert.equal(modeOf(path), 0o644);
      assert.equal(statSync(path).uid, uid);
      noChange((await run(mod(replaceModule), { path, ...c.params }, { become: {} })).plan, /regexp matches nothing to change/);
      noChange((await run(mod(replaceModule), { path, regexp: 'x', after: '^NOPE' }, { become: {} })).plan, /the after\/before pattern .* matches nothing in the file/);
    });

    it('a missing file or a directory fails; a hostile path stays a path', async () => {
      await assert.rejects(run(mod(replaceModule), { path: join(work, 'none'), regexp: 'a' }), /does not exist/);
      await assert.rejects(run(mod(replaceModule), { path: work, regexp: 'a' }), /is a directory, not a text file/);
      const path = join(work, `r ${HOSTILE}`);
      writeFileSync(path, 'a=1\n');
      await run(mod(replaceModule), { path, regexp: '^a=(\\d)', replace: 'b=\\1$(id)' });
      assert.equal(readFileSync(path, 'utf8'), 'b=1$(id)\n');
      assert.ok(!existsSync(join(work, 'ferry-pwned')));
    });
  });

  describe('wait_for', () => {
    let server: Server;
    let openPort: number;
    before(async () => {
      server = createServer((s) => s.destroy());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      openPort = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('a condition that already holds is no change; check mode does not wait', async () => {
      noChange((await run(mod(waitForModule), { port: openPort })).plan, new RegExp(`port ${openPort} on 127.0.0.1 is already open`));
      noChange((await run(mod(waitForModule), { path: work })).plan, /exists/);
      const start = Date.now();
      const check = await run(mod(waitForModule), { path: join(work, 'never'), timeout: 30 }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.match(check.plan.changed ? check.plan.steps[0]!.title : '', /wait up to 30s for .*never to exist/);
      assert.ok(Date.now() - start < 5000, 'check mode waited');
    });

    it('waits for a path that appears, on the target', async () => {
      const p = join(work, `later ${HOSTILE}`);
      setTimeout(() => writeFileSync(p, ''), 1200);
      const { plan, result } = await run(mod(waitForModule), { path: p, timeout: 20, sleep: 0.2 });
      assert.equal(plan.changed, true);
      assert.ok(Number(result.elapsed) >= 0.8, `elapsed ${String(result.elapsed)}`);
      assert.equal(result.state, 'present');
    });

    it('times out with a clear message, for a closed port and a failing command', async () => {
      const closed = await new Promise<number>((resolve) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const port = (s.address() as { port: number }).port;
          s.close(() => resolve(port));
        });
      });
      noChange((await run(mod(waitForModule), { port: closed, state: 'stopped' })).plan, /is already closed/);
      await assert.rejects(run(mod(waitForModule), { port: closed, timeout: 1, sleep: 0.3 }), new RegExp(`timed out after 1s waiting for port ${closed} on 127.0.0.1 to be open`));
      await assert.rejects(run(mod(waitForModule), { cmd: 'test -e /nonexistent', timeout: 1, sleep: 0.3 }), /timed out after 1s waiting for `test -e \/nonexistent` to succeed/);
    });
  });
  describe('boot_check', () => {
    const console = (name: string): string => join(work, `${name} ${HOSTILE}.log`);

    it('waits through a boot on the console file until GRUB and a login prompt', async () => {
      const log = console('boots');
      writeFileSync(log, '\x1b[2J\x1b[1;1H  GNU GRUB  version 2.06\r\n Booting `Debian GNU/Linux\r\nLoading Linux 6.1.0-28-amd64 ...\r\n');
      setTimeout(() => writeFileSync(log, '[  OK  ] Started Serial Getty on ttyS0.\r\n\r\nDebian GNU/Linux 12 web1 ttyS0\r\n\r\nweb1 login: ', { flag: 'a' }), 1500);
      const { plan, result } = await run(mod(bootCheckModule), { console_log: log, timeout: 600, sleep: 0.3 });
      noChange(plan, /^a login prompt after [\d.]+s, GRUB seen$/);
      assert.equal(result.stopped_by, 'login');
      assert.equal(result.saw_grub, true);
      assert.ok(Number(result.seconds) >= 1, `watched ${String(result.seconds)}s: the prompt came after 1.5s`);
      assert.deepEqual((result.console as string[]).slice(-2), ['Debian GNU/Linux 12 web1 ttyS0', 'web1 login:']);
    });

    it('fails at once on an emergency shell, with what it means and the last console lines', async () => {
      const log = console('emergency');
      writeFileSync(log, 'GNU GRUB  version 2.06\r\n[ TIME ] Timed out waiting for device dev-xvdb.device.\r\n[DEPEND] Dependency failed for /srv.\r\nYou are in emergency mode. After logging in, type "journalctl -xb" to view\r\nGive root password for maintenance\r\n(or press Control-D to continue): ');
      // a timeout far past mocha's: the check must stop on what the console says, not on its timeout
      const err = await run(mod(bootCheckModule), { console_log: log, timeout: 3600, sleep: 0.3 }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.match(err.message, /^no login prompt: the guest fell into an emergency shell: a device its fstab or root= names is missing/);
      assert.match(err.message, /the console's last lines:\n(.*\n)* {2}\[DEPEND\] Dependency failed for \/srv\.\n/);
      assert.equal(err.data.stopped_by, 'emergency');
    });

    it('fails on its timeout when no console appears; check mode reads nothing', async () => {
      const log = console('never');
      await assert.rejects(run(mod(bootCheckModule), { console_log: log, timeout: 1, sleep: 0.3 }), (e: Error) => e.message.includes(`${log} did not appear within 1s`));
      const check = await run(mod(bootCheckModule), { console_log: log, timeout: 3600 }, { check: true });
      noChange(check.plan, /^check mode: no domain was started/);
      assert.equal('skipped' in check.plan && check.plan.skipped, true);
    });
  });
});
