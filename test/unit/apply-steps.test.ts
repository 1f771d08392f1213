// The step contract: the force guard (one place), the executor of data steps, and what --check -v prints.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { applySteps, stepCommands } from '../../runner/apply-steps.js';
import { secret, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import { guardDestructive, type TaskContext, type Verdict } from '../../runner/module.js';
import { PlainReporter } from '../../runner/reporter/plain.js';
import type { RunResult } from '../../runner/transport/types.js';

describe('steps as data', () => {
  const remove: Verdict = { changed: true, steps: [{ title: 'rename a', cmd: sh`true` }, { title: 'remove vg1/a', cmd: sh`lvremove -f -- vg1/a`, destructive: true }] };

  it('refuses a destructive step without force, with its own refusal or one made from its title', () => {
    assert.deepEqual(guardDestructive(remove, false), { refused: 'refusing to remove vg1/a without force: true' });
    const own: Verdict = { changed: true, steps: [{ title: 'x', cmd: sh`x`, destructive: true, refusal: 'refusing to x (1 GiB) without force: true' }], data: { a: 1 } };
    assert.deepEqual(guardDestructive(own, false), { refused: 'refusing to x (1 GiB) without force: true', data: { a: 1 } });
  });

  it('lets it through with force, and never touches no change, refusals or harmless steps', () => {
    assert.equal(guardDestructive(remove, true), remove);
    const none: Verdict = { changed: false, reason: 'gone' };
    assert.equal(guardDestructive(none, false), none);
    const harmless: Verdict = { changed: true, steps: [{ title: 't', cmd: sh`true` }] };
    assert.equal(guardDestructive(harmless, false), harmless);
  });

  it('prints each exact command with its secrets masked, and nothing for a stream step', () => {
    const steps = [{ title: 'login', cmd: sh`login --password ${secret('pw-1')}` }, { title: 'copy', run: async () => undefined }, { title: 'on b', cmd: sh`true`, host: 'b' }];
    assert.deepEqual(stepCommands(steps), ['login --password ********', '', '[b] true']);
  });

  /** A context that records the commands it runs and answers with the given exit codes. */
  function fakeContext(exits: number[]): { ctx: TaskContext; ran: { host: string; text: string; stdin?: unknown; cwd?: string }[] } {
    const ran: { host: string; text: string; stdin?: unknown; cwd?: string }[] = [];
    const answer = (host: string) => async (cmd: Command, o: { stdin?: unknown; cwd?: string } = {}): Promise<RunResult> => {
      ran.push({ host, text: cmd.text, ...(o.stdin !== undefined ? { stdin: o.stdin } : {}), ...(o.cwd !== undefined ? { cwd: o.cwd } : {}) });
      const exitCode = exits.shift() ?? 0;
      return { host, command: cmd.display, exitCode, stdout: `out ${ran.length}\n`, stderr: exitCode ? 'bad\n' : '', durationMs: 1 };
    };
    const ctx = {
      host: 'a',
      run: answer('a'),
      peer: async (name: string) => ({ name, transport: { run: answer(name) }, become: false, vars: {} }),
    } as unknown as TaskContext;
    return { ctx, ran };
  }

  it('runs data steps in order, on their host, with stdin and cwd', async () => {
    const { ctx, ran } = fakeContext([]);
    const r = await applySteps(ctx, [
      { title: 'one', cmd: sh`sfdisk -- /dev/x`, stdin: 'label: dos\n' },
      { title: 'two', cmd: sh`ls`, cwd: '/tmp', host: 'b' },
      { title: 'three', run: async () => ({ copied: 1 }) },
    ]);
    assert.deepEqual(ran, [{ host: 'a', text: 'sfdisk -- /dev/x', stdin: 'label: dos\n' }, { host: 'b', text: 'ls', cwd: '/tmp' }]);
    assert.deepEqual(r.data, { copied: 1 });
    assert.equal(r.ran.length, 3);
    assert.equal(r.ran[0]!.result?.stdout, 'out 1\n');
  });

  it('stops at the first failing command, failing the task with its result', async () => {
    const { ctx, ran } = fakeContext([0, 3]);
    const e = await applySteps(ctx, [{ title: 'a', cmd: sh`a` }, { title: 'b', cmd: sh`b` }, { title: 'c', cmd: sh`c` }]).catch((x: unknown) => x);
    assert.ok(e instanceof TaskFailedError);
    assert.equal(e.message, 'b: exit 3\nbad');
    assert.equal(e.data.rc, 3);
    assert.equal(e.data.stdout, 'out 2');
    assert.equal(ran.length, 2);
  });

  it("a failing command's result says nothing changed, unless its step says what a failure adds (command and shell: changed)", async () => {
    const plain = await applySteps(fakeContext([2]).ctx, [{ title: 'a', cmd: sh`a` }]).catch((x: unknown) => x);
    assert.ok(plain instanceof TaskFailedError);
    assert.equal(plain.data.changed, undefined);
    const ran = await applySteps(fakeContext([2]).ctx, [{ title: 'a', cmd: sh`a`, onFailure: { changed: true, msg: 'non-zero return code' } }]).catch((x: unknown) => x);
    assert.ok(ran instanceof TaskFailedError);
    assert.deepEqual([ran.data.changed, ran.data.msg, ran.data.rc, ran.data.stderr], [true, 'non-zero return code', 2, 'bad']);
  });

  it('--check -v shows each step with the command under it', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    new PlainReporter({ out, verbosity: 1 }).emit({
      type: 'task_result', host: 'h', task: 't', module: 'lvm', status: 'changed', changed: true, durationMs: 1,
      msg: 'would run: remove vg1/a', steps: ['remove vg1/a', 'copy'], commands: ['lvremove -f -- vg1/a', ''],
    });
    assert.equal(text, 'changed: [h]: would run: remove vg1/a\n    - remove vg1/a\n      $ lvremove -f -- vg1/a\n    - copy\n');
  });
});
