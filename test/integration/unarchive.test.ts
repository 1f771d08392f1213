// The unarchive module through a REAL sshd (test/harness/sshd.ts) on this machine, as the login user
// with become: archives made here with tar and zip, unpacked from the controller (streamed) and from
// the host; check mode unpacks nothing; a second run is "no change" by tar --diff; and
// ansible-playbook, given the same tasks, leaves the same tree and reports the same changes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../runner/module.js';
import type { SshTransport } from '../../runner/transport/ssh.js';
import { unarchiveModule } from '../../tasks/unarchive.js';
import { NOPASSWD_USER, sshTransport, startSshd, type SshdHost } from '../harness/sshd.js';
import { ansiblePlaybook, skipWithoutAnsible } from '../helpers/ansible.js';
import { assertNoChange as noChange, runModule } from '../helpers/run-module.js';

/** Every path below `dir` with its type, mode and size (what two unpackings are compared by). */
function tree(dir: string): string {
  return execFileSync('find', [dir, '-mindepth', '1', '-printf', '%P %y %m %s %u\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
}

describe('unarchive @integration', function () {
  this.timeout(120_000);
  let sshd: SshdHost;
  let transport: SshTransport;
  let work: string;
  let n = 0;

  async function run(raw: Record<string, unknown>, check = false): Promise<{ plan: Plan; result: Record<string, unknown> }> {
    const { plan, data } = await runModule(unarchiveModule, raw, { host: sshd.name, transport, become: {}, check, baseDir: work });
    return { plan, result: data };
  }
  /** A fresh empty directory to unpack into. */
  const dest = () => {
    const d = join(work, `dest${++n}`);
    mkdirSync(d);
    return d;
  };

  before(async () => {
    sshd = await startSshd();
    transport = sshTransport(sshd, NOPASSWD_USER);
    work = mkdtempSync(join(tmpdir(), 'ferry-unarchive-'));
    const src = join(work, 'src');
    mkdirSync(join(src, 'app/bin'), { recursive: true });
    writeFileSync(join(src, 'app/bin/run'), '#!/bin/sh\necho run\n', { mode: 0o755 });
    writeFileSync(join(src, 'app/README'), 'read me\n');
    writeFileSync(join(src, 'app/debug.log'), 'noise\n');
    writeFileSync(join(src, "app/it's $(x).txt"), 'odd name\n');
    for (const [name, flag] of [['app.tar', ''], ['app.tar.gz', 'z'], ['app.tar.bz2', 'j'], ['app.tar.xz', 'J']] as const) {
      execFileSync('tar', [`-c${flag}f`, join(work, name), '-C', src, 'app']);
    }
    execFileSync('zip', ['-qr', join(work, 'app.zip'), 'app'], { cwd: src });
    writeFileSync(join(work, 'not-an-archive.tar.gz'), 'plain text\n');
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('unpacks a controller .tar.gz (check mode first), then reports no change by tar --diff, and unpacks again when a file changed', async () => {
    const d = dest();
    const params = { src: 'app.tar.gz', dest: d, list_files: true };
    const check = await run(params, true);
    assert.equal(check.plan.changed, true);
    assert.equal(existsSync(join(d, 'app')), false, 'check mode unpacked');
    const real = await run(params);
    assert.equal(real.plan.changed, true);
    assert.equal(readFileSync(join(d, 'app/bin/run'), 'utf8'), '#!/bin/sh\necho run\n');
    assert.equal(readFileSync(join(d, "app/it's $(x).txt"), 'utf8'), 'odd name\n');
    assert.deepEqual([...(real.result.files as string[])].sort(), ['app/', 'app/README', 'app/bin/', 'app/bin/run', 'app/debug.log', "app/it's $(x).txt"]);
    noChange((await run(params)).plan, new RegExp(`the 6 entries of app.tar.gz match ${d} \\(tar --diff\\)`));
    writeFileSync(join(d, 'app/README'), 'edited\n');
    const again = await run(params);
    assert.equal(again.plan.changed, true);
    assert.match(again.plan.changed ? again.plan.steps[0]!.title : '', /app\/README: (Mod time|Size|Contents) differ/);
    assert.equal(readFileSync(join(d, 'app/README'), 'utf8'), 'read me\n');
  });

  it('unpacks .tar, .tar.bz2 and .tar.xz on the host (remote_src) with exclude, extra_opts, owner and mode', async () => {
    for (const name of ['app.tar', 'app.tar.bz2', 'app.tar.xz']) {
      const d = dest();
      const params = { src: join(work, name), remote_src: true, dest: d, exclude: ['*.log'], extra_opts: ['--strip-components=1'], owner: NOPASSWD_USER, mode: 'u=rwX,go=rX' };
      const r = await run(params);
      assert.equal(r.plan.changed, true, name);
      assert.ok(existsSync(join(d, 'bin/run')) && !existsSync(join(d, 'debug.log')), `${name}: ${tree(d)}`);
      assert.equal(statSync(join(d, 'README')).uid, Number(execFileSync('id', ['-u', NOPASSWD_USER]).toString()));
      assert.equal(statSync(join(d, 'README')).mode & 0o777, 0o644);
      assert.equal(statSync(join(d, 'bin/run')).mode & 0o777, 0o755);
      noChange((await run(params)).plan, /match .*\(tar --diff\)/);
    }
  });

  it('unpacks a .zip from the controller and from the host; creates stops it', async () => {
    const d = dest();
    const r = await run({ src: 'app.zip', dest: d, exclude: ['*.log'] });
    assert.equal(r.plan.changed, true);
    assert.equal(readFileSync(join(d, 'app/README'), 'utf8'), 'read me\n');
    assert.equal(existsSync(join(d, 'app/debug.log')), false);
    const d2 = dest();
    await run({ src: join(work, 'app.zip'), remote_src: true, dest: d2 });
    assert.equal(readFileSync(join(d2, 'app/bin/run'), 'utf8'), '#!/bin/sh\necho run\n');
    noChange((await run({ src: 'app.zip', dest: d, creates: join(d, 'app/README') })).plan, /app\/README exists \(creates\)/);
  });

  it('refuses a missing dest, an unknown kind and a file that is not an archive, before unpacking anything', async () => {
    await assert.rejects(run({ src: 'app.tar.gz', dest: join(work, 'nope') }), /Destination '.*nope' is not a directory/);
    await assert.rejects(run({ src: 'app.rar', dest: dest() }), /cannot tell what kind of archive 'app.rar' is from its name/);
    const d = dest();
    await assert.rejects(run({ src: 'not-an-archive.tar.gz', dest: d }), /cannot list 'not-an-archive.tar.gz'/);
    assert.equal(tree(d), '');
  });

  it('leaves the same tree and reports the same changes as ansible-playbook', function () {
    skipWithoutAnsible(this);
    return (async () => {
      const da = dest();
      const df = dest();
      const tasks = (d: string) => [
        { src: join(work, 'app.tar.gz'), dest: d, exclude: ['*.log'], list_files: true },
        { src: join(work, 'app.tar.gz'), dest: d, exclude: ['*.log'], list_files: true },
        { src: join(work, 'app.tar.xz'), remote_src: true, dest: d, extra_opts: ['--strip-components=1'] },
        { src: join(work, 'app.tar.xz'), remote_src: true, dest: d, extra_opts: ['--strip-components=1'] },
      ];
      const a = ansiblePlaybook(sshd, NOPASSWD_USER, tasks(da).map((t) => ({ unarchive: t })));
      assert.equal(a.code, 0, a.output);
      const ferry = [];
      for (const t of tasks(df)) ferry.push(await run(t));
      assert.deepEqual(ferry.map((f) => f.plan.changed), a.results.map((r) => r.changed), a.output);
      assert.deepEqual([...(ferry[0]!.result.files as string[])].sort(), [...(a.results[0]!.files as string[])].sort());
      assert.equal(tree(df), tree(da));
    })();
  });
});
