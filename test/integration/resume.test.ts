// --resume after the playbook changed, through the CLI against a real sshd: completed work is keyed
// by task identity, so an edit elsewhere neither skips a new task nor runs a command twice, and an
// edit that makes the saved state ambiguous is refused (exit 4, nothing run) with what changed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';

const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/app/cli.js');

describe('--resume after the playbook changed @integration', function () {
  this.timeout(120_000);
  let host: SshdHost;
  let dir: string;
  let inv: string;
  let n = 0;

  before(async () => {
    host = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-resume-'));
    await chmod(dir, 0o777);
    inv = await writeInventory([host], dir);
  });
  after(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A work folder the CLI runs in (its .ferry/runs is the run state), with the playbook pb.yaml. */
  async function workDir(): Promise<{ w: string; write: (tasks: unknown[]) => Promise<void>; run: (...args: string[]) => { code: number | null; out: string }; log: () => Promise<string[]> }> {
    const w = join(dir, `w${++n}`);
    await mkdir(w);
    await chmod(w, 0o777);
    return {
      w,
      write: (tasks) => writeFile(join(w, 'pb.yaml'), stringify([{ hosts: 'all', vars: { w }, tasks }])),
      run: (...args) => {
        const r = spawnSync(process.execPath, [CLI, 'run', 'pb.yaml', '-i', inv, '--plain', ...args], { cwd: w, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
        return { code: r.status, out: r.stdout + r.stderr };
      },
      log: () => readFile(join(w, 'log'), 'utf8').then((s) => s.trim().split('\n'), () => []),
    };
  }
  const append = (name: string, what: string) => ({ name, shell: `echo ${what} >> {{ w }}/log` });
  const gate = { name: 'gate', shell: 'test -e {{ w }}/go && echo gate >> {{ w }}/log' };

  it('refuses, as bad input, a resume whose previous run used a module the playbook no longer uses (the CLI loads modules lazily)', async () => {
    const wd = await workDir();
    await wd.write([append('first', 'first'), gate]);
    assert.equal(wd.run().code, 2);
    // shell, which the previous run's completed task used, is named by no task now
    await wd.write([{ name: 'now', command: 'true' }, { name: 'gate', command: 'test -e /nonexistent' }]);
    const r = wd.run('--resume');
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /task 'first' \(shell\) completed on sshd\d+, but is no longer in the playbook/);
  });

  it('refuses to resume when a task was inserted at the top, listing it, and runs nothing', async () => {
    const wd = await workDir();
    await wd.write([append('first', 'first'), append('not idempotent', 'append'), gate]);
    assert.equal(wd.run().code, 2);
    assert.deepEqual(await wd.log(), ['first', 'append']);
    await wd.write([append('inserted', 'inserted'), append('first', 'first'), append('not idempotent', 'append'), gate]);
    await writeFile(join(wd.w, 'go'), '');
    const r = wd.run('--resume');
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /bad input, nothing was run/);
    assert.match(r.out, /pb\.yaml:5: task 'inserted' \(shell\) was added before tasks that completed on sshd\d+/);
    assert.match(r.out, /run without --resume to start over/);
    assert.deepEqual(await wd.log(), ['first', 'append'], 'nothing ran');
  });

  it('refuses to resume when a completed command\'s arguments changed', async () => {
    const wd = await workDir();
    await wd.write([append('first', 'first'), gate]);
    assert.equal(wd.run().code, 2);
    await wd.write([append('first', 'FIRST'), gate]);
    const r = wd.run('--resume');
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /pb\.yaml:\d+: task 'first' \(shell\) completed on sshd\d+, but its arguments changed since/);
  });

  it('a non-idempotent shell task does not run twice when tasks before it were removed and after it added', async () => {
    const wd = await workDir();
    // 'skipped' never completes (when: false), so removing it is no ambiguity; positions shift all the same.
    await wd.write([append('first', 'first'), { ...append('skipped', 'skipped'), when: 'false' }, append('not idempotent', 'append'), gate]);
    assert.equal(wd.run().code, 2);
    await wd.write([append('first', 'first'), append('not idempotent', 'append'), append('added after', 'added'), gate]);
    await writeFile(join(wd.w, 'go'), '');
    const r = wd.run('--resume');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await wd.log(), ['first', 'append', 'added', 'gate']);
    assert.match(r.out, /TASK \[not idempotent\][^\n]*\nskipped: \[sshd\d+\]: completed in the run being resumed/);
  });

  it('a read (changed_when: false) runs again on resume: a copy guarded by it does not go over the work done after it', async () => {
    // The shape of xen-to-kvm's "has this guest been copied already?": restoring the value the check
    // registered before the marker existed re-ran the copy over the converted files.
    const wd = await workDir();
    await wd.write([
      { name: 'copied already?', shell: 'test -e {{ w }}/copied', register: 'done', failed_when: false, changed_when: false },
      { name: 'the copy', when: 'done.rc != 0', copy: { dest: '{{ w }}/conf', content: 'as copied\n' } },
      { name: 'mark copied', shell: 'touch {{ w }}/copied' },
      { name: 'convert', shell: 'echo converted > {{ w }}/conf' },
      gate,
    ]);
    assert.equal(wd.run().code, 2);
    assert.equal(await readFile(join(wd.w, 'conf'), 'utf8'), 'converted\n');
    await writeFile(join(wd.w, 'go'), '');
    const r = wd.run('--resume');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /TASK \[copied already\?\][^\n]*\nok: \[sshd\d+\]/, 'the read ran again');
    assert.match(r.out, /TASK \[the copy\][^\n]*\nskipped: \[sshd\d+\]/);
    assert.match(r.out, /TASK \[mark copied\][^\n]*\nskipped: \[sshd\d+\]: completed in the run being resumed/);
    assert.equal(await readFile(join(wd.w, 'conf'), 'utf8'), 'converted\n', 'the copy went over the converted file');
  });

  it('a clean resume keeps include loop iterations and identical unnamed tasks apart, and restores registered values', async () => {
    const wd = await workDir();
    await writeFile(join(wd.w, 'each.yaml'), stringify([{ name: 'each', shell: 'echo {{ item }} >> {{ w }}/log' }, { name: 'gate each', shell: 'test -e {{ w }}/go-{{ item }} && echo gate-{{ item }} >> {{ w }}/log' }]));
    await writeFile(join(wd.w, 'go-one'), '');
    const same = { shell: 'echo same >> {{ w }}/log' };
    const tasks = [
      { name: 'saved', command: 'echo saved-value', register: 'saved' },
      same,
      { include_tasks: 'each.yaml', loop: ['one', 'two'] },
      gate,
      same,
      { name: 'uses saved', shell: 'echo {{ saved.stdout }} >> {{ w }}/log' },
    ];
    await wd.write(tasks);
    assert.equal(wd.run().code, 2);
    assert.deepEqual(await wd.log(), ['same', 'one', 'gate-one', 'two']);
    await writeFile(join(wd.w, 'go-two'), '');
    await writeFile(join(wd.w, 'go'), '');
    const r = wd.run('--resume');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await wd.log(), ['same', 'one', 'gate-one', 'two', 'gate-two', 'gate', 'same', 'saved-value']);
  });
});
