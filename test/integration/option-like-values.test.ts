// No value becomes an option, through a REAL sshd: a destination named like an option is written
// under exactly that name (or refused) with no temp file left, the atomic write fails clearly and
// cleans up, a parent directory that is a symlink is followed (not inside a chroot), and templated
// values that a command would read as options are refused once rendered, before anything runs,
// in --check too.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Plan, TaskModule } from '../../runner/module.js';
import { ChrootTransport } from '../../runner/transport/chroot.js';
import { putViaShell } from '../../runner/transport/files.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import type { BecomeOptions, Transport } from '../../runner/transport/types.js';
import { copyModule } from '../../tasks/copy.js';
import { lineinfileModule } from '../../tasks/lineinfile.js';
import { templateModule } from '../../tasks/template.js';
import { NOPASSWD_USER, sshTransport, startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';
import { CollectingReporter } from '../helpers/collect.js';
import { looseModule as mod, runModule } from '../helpers/run-module.js';

/** Leftover temp files of the atomic write: `.NAME.ferry-XXXXXXXXXXXX`. */
const tempFiles = (dir: string): string[] => readdirSync(dir).filter((n) => /\.ferry-[0-9a-f]{12}$/.test(n));

describe('values that look like options @integration', function () {
  this.timeout(120_000);
  let sshd: SshdHost;
  let user: SshTransport; // the unprivileged login user; become reaches root
  let work: string;
  let home: string;
  let uid: number;

  async function run(m: TaskModule<never>, input: Record<string, unknown>, o: { check?: boolean; become?: BecomeOptions | false; transport?: Transport; baseDir?: string } = {}) {
    return runModule(m, input, { transport: o.transport ?? user, check: o.check, become: o.become, baseDir: o.baseDir ?? work });
  }
  const noChange = (p: Plan) => assert.equal(p.changed, false, p.changed ? p.steps.map((s) => s.title).join('; ') : '');

  before(async () => {
    sshd = await startSshd();
    user = sshTransport(sshd, NOPASSWD_USER);
    uid = Number(execFileSync('id', ['-u', NOPASSWD_USER]).toString());
    home = execFileSync('sh', ['-c', `getent passwd ${NOPASSWD_USER} | cut -d: -f6`]).toString().trim();
    work = mkdtempSync(join(tmpdir(), 'ferry-opts-'));
    chmodSync(work, 0o755);
    chownSync(work, uid, uid);
  });
  after(async () => {
    await user?.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('copy, template and lineinfile: a destination named like an option (relative to the login directory)', () => {
    const NAMES = ['--help', '--target-directory=..'];
    const parent = () => join(home, '..');
    const clean = () => {
      for (const n of NAMES) rmSync(join(home, n), { force: true });
    };
    beforeEach(clean);
    after(() => {
      clean();
      // what a failed run would leave: temp files beside the destination and in the parent directory
      for (const d of [home, parent()]) for (const t of tempFiles(d)) rmSync(join(d, t), { force: true });
    });

    const cases: [string, TaskModule<never>, (dest: string) => Record<string, unknown>, string][] = [
      ['copy', mod(copyModule), (dest) => ({ dest, content: 'copied\n' }), 'copied\n'],
      ['template', mod(templateModule), (dest) => ({ dest, src: 'opt.hbs' }), `rendered for ${'opts-host'}\n`],
      ['lineinfile', mod(lineinfileModule), (path) => ({ path, line: 'a line', create: true }), 'a line\n'],
    ];
    for (const [name, m, params, content] of cases) {
      for (const dest of NAMES) {
        for (const become of [false, {}] as const) {
          it(`${name} dest ${dest}${become ? ' with become' : ''}: writes exactly that file, no temp file, nothing in the parent directory`, async () => {
            writeFileSync(join(work, 'opt.hbs'), 'rendered for {{ name }}\n');
            const parentBefore = readdirSync(parent()).sort();
            const vars = { name: 'opts-host' };
            const first = await runModule(m, params(dest), { transport: user, become, baseDir: work, vars });
            assert.equal(first.plan.changed, true);
            const file = join(home, dest);
            assert.equal(readFileSync(file, 'utf8'), content);
            assert.equal(statSync(file).uid, become ? 0 : uid);
            assert.deepEqual(tempFiles(home), []);
            assert.deepEqual(readdirSync(parent()).sort(), parentBefore, `something was written in ${parent()}`);
            noChange((await runModule(m, params(dest), { transport: user, become, baseDir: work, vars })).plan);
          });
        }
      }
    }
  });

  describe('the atomic write (put)', () => {
    it('refuses a path that is a directory instead of moving the file into it, and leaves no temp file', async () => {
      const dir = join(work, 'a dir');
      mkdirSync(join(dir, 'inside'), { recursive: true });
      chownSync(dir, uid, uid);
      await assert.rejects(user.put(dir, 'x'), (e: unknown) => e instanceof TaskFailedError && /a dir is a directory/.test(e.message));
      assert.deepEqual(readdirSync(dir), ['inside']);
      assert.deepEqual(tempFiles(work), []);
    });

    it('a link to a directory is refused the same way', async () => {
      const target = join(work, 'target dir');
      mkdirSync(target);
      symlinkSync(target, join(work, 'dirlink'));
      await assert.rejects(user.put(join(work, 'dirlink'), 'x'), /dirlink is a directory/);
      assert.deepEqual(readdirSync(target), []);
      assert.deepEqual(tempFiles(work), []);
    });

    it('an upload cut short is never renamed into place, and its temp file is removed', async () => {
      const dest = join(work, 'cut-short');
      writeFileSync(dest, 'old\n');
      chownSync(dest, uid, uid);
      // The same shell command over the same connection, with only half of the bytes reaching it.
      const cutting = { host: user.host, run: (cmd: Parameters<Transport['run']>[0], o: Parameters<Transport['run']>[1] = {}) => user.run(cmd, { ...o, stdin: (o.stdin as Buffer).subarray(0, 5) }) };
      await assert.rejects(putViaShell(cutting, dest, 'new content\n'), /only part of the 12 bytes arrived/);
      assert.equal(readFileSync(dest, 'utf8'), 'old\n');
      assert.deepEqual(tempFiles(work), []);
    });
  });

  describe('a parent directory that is a symlink (/var/run -> /run)', () => {
    it('copy and lineinfile follow it, write beside the final file, and the second run is ok; check mode predicts', async () => {
      const real = join(work, 'realrun');
      mkdirSync(real);
      chownSync(real, uid, uid);
      symlinkSync('realrun', join(work, 'run'));
      const dest = join(work, 'run', 'app.pid');
      const check = await run(mod(copyModule), { dest, content: '42\n' }, { check: true });
      assert.equal(check.plan.changed, true);
      assert.equal(existsSync(join(real, 'app.pid')), false, 'check mode wrote');
      await run(mod(copyModule), { dest, content: '42\n', mode: '0640' });
      assert.equal(readFileSync(join(real, 'app.pid'), 'utf8'), '42\n');
      assert.equal(statSync(join(real, 'app.pid')).mode & 0o777, 0o640);
      assert.ok(lstatSync(join(work, 'run')).isSymbolicLink(), 'the link was replaced');
      noChange((await run(mod(copyModule), { dest, content: '42\n', mode: '0640' })).plan);
      await run(mod(lineinfileModule), { path: join(work, 'run', 'app.conf'), line: 'k=v', create: true }, { become: {} });
      assert.equal(readFileSync(join(real, 'app.conf'), 'utf8'), 'k=v\n');
      assert.deepEqual([...tempFiles(real), ...tempFiles(work)], []);
    });

    it('a symlinked parent that names nothing is still "does not exist"', async () => {
      symlinkSync('nowhere', join(work, 'dangling'));
      await assert.rejects(run(mod(copyModule), { dest: join(work, 'dangling', 'x'), content: 'x' }), /destination directory .*dangling does not exist/);
    });

    it('inside a chroot the guest link is not followed by copy (the chroot transport keeps its own rules)', async () => {
      // A guest root with a static busybox as its shell: /var/run -> /run, as in a real guest.
      const g = join(work, 'guest');
      mkdirSync(join(g, 'bin'), { recursive: true });
      mkdirSync(join(g, 'run'));
      mkdirSync(join(g, 'var'));
      mkdirSync(join(g, 'srv'));
      execFileSync('cp', ['/bin/busybox', join(g, 'bin', 'busybox')]);
      for (const t of ['sh', 'cat', 'mv', 'rm', 'stat', 'readlink', 'sha256sum', 'wc', 'chmod', 'test', 'printf']) symlinkSync('busybox', join(g, 'bin', t));
      symlinkSync('/run', join(g, 'var', 'run'));
      const chroot = new ChrootTransport(user, g);
      await assert.rejects(run(mod(copyModule), { dest: '/var/run/guest.pid', content: '1\n' }, { transport: chroot, become: {} }), /destination directory \/var\/run does not exist/);
      assert.deepEqual(readdirSync(join(g, 'run')), []);
      // the write itself works through the guest's busybox (mv -f -- TMP PATH, wc -c, trap); the guest's
      // /run is never written through (the host's /run is bound there during chroot sessions)
      await chroot.put('/srv/guest.pid', '1\n', { mode: 0o600, become: {} });
      assert.equal(readFileSync(join(g, 'srv', 'guest.pid'), 'utf8'), '1\n');
      assert.deepEqual(tempFiles(join(g, 'srv')), []);
    });
  });

  describe('templated values are refused once rendered, before anything runs, in --check too', () => {
    let dir: string;
    let inv: string;
    const marker = () => join(dir, 'pwned');
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ferry-opts-pb-'));
      chmodSync(dir, 0o777);
      inv = await writeInventory([sshd], dir);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    async function play(name: string, vars: Record<string, unknown>, task: Record<string, unknown>, check: boolean) {
      const pb = join(dir, `${name}.yaml`);
      writeFileSync(pb, stringify([{ hosts: 'all', gather_facts: false, vars, tasks: [{ name, ...task }] }]));
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(pb, { inventory: [inv], reporter: rep, check, stateDir: join(dir, 'state') });
      return { code: r.exitCode, result: rep.result(name, sshd.name) };
    }

    const cases: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [
        'rsync src --rsh=…',
        { evil: '', d: 'localhost:/tmp/ferry-opts-x/' },
        { rsync: { src: '{{ evil }}', dest: '{{ d }}' } },
        /parameter 'src': '--rsh=sh -c .*' starts with '-', so rsync would read it as an option/,
      ],
      ['rsync dest host:path', { d: 'localhost:/tmp/x' }, { rsync: { src: '/etc/hostname', dest: '{{ d }}' } }, /parameter 'dest': .*remote host/],
      ['rsync archive -e', { f: '' }, { rsync: { src: './x:y', dest: '/tmp/ferry-opts-y', archive: ['-a', '{{ f }}'] } }, /parameter 'archive\.1': .*-e \/ -M/],
      ['filesystem dev --help', { d: '--help' }, { filesystem: { dev: '{{ d }}' } }, /parameter 'dev': '--help' is not an absolute path/],
      ['mount src --all', { s: '--all' }, { mount: { path: '/mnt/ferry-opts', src: '{{ s }}' } }, /parameter 'src': '--all' starts with '-'/],
      ['lvm lv --test', { n: '--test' }, { lvm: { vg: 'vg1', lv: 'new', from: '{{ n }}', state: 'renamed' } }, /parameter 'from': '--test' is not a valid LVM logical volume name/],
    ];
    for (const [name, vars, task, re] of cases) {
      for (const check of [true, false]) {
        it(`${name}${check ? ' (--check)' : ''}`, async () => {
          const v = { ...vars };
          // the reported attack: a source that makes rsync run a command
          if ('evil' in v) v.evil = `--rsh=sh -c 'touch ${marker()}'`;
          if ('f' in v) v.f = `-e sh -c 'touch ${marker()}'`;
          const { code, result } = await play(name.replace(/\W+/g, '-'), v, task, check);
          assert.equal(result?.status, 'failed', JSON.stringify(result));
          assert.match(result?.msg ?? '', re);
          assert.equal(code, 2);
          assert.equal(existsSync(marker()), false, 'a value ran as a command');
        });
      }
    }
  });
});
