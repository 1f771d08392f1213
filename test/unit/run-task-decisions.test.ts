// The pure decisions of running one task on one host (runner/run-task-decisions.ts), as tables:
// a loop's items -> its outcome, until's retries, changed_when / failed_when -> status and result.
import assert from 'node:assert/strict';
import { parseExprAt } from '../../runner/expr/index.js';
import type { Condition } from '../../runner/playbook/model.js';
import { judgeResult, loopOutcome, retryPolicy, untilExhausted, untilHolds, type Judged, type LoopItem } from '../../runner/run-task-decisions.js';
import type { TaskOutcome } from '../../runner/task-outcome.js';

const LOC = { file: '<test>', line: 1 };
const cond = (source: string): Condition => ({ source, expr: parseExprAt(source, LOC), loc: LOC });

const ok: TaskOutcome = { status: 'ok', result: { changed: false } };
const changed: TaskOutcome = { status: 'changed', result: { changed: true } };
const skipped: TaskOutcome = { status: 'skipped', result: { skipped: true, changed: false }, msg: 'when: x was false' };
const failed = (msg?: string, ranAndChanged = false): TaskOutcome => ({ status: 'failed', result: { failed: true, changed: ranAndChanged }, ...(msg ? { msg } : {}) });
const item = (label: string, outcome: TaskOutcome): LoopItem => ({ label, outcome, result: { ...outcome.result, item: label } });

describe('loopOutcome: a loop from its items', () => {
  const rows: { name: string; done: LoopItem[]; listed?: number; status: TaskOutcome['status']; changed: boolean; msg?: string; resultMsg?: string }[] = [
    { name: 'every item ok', done: [item('a', ok), item('b', ok)], status: 'ok', changed: false, resultMsg: 'All items completed' },
    { name: 'one item changed', done: [item('a', ok), item('b', changed)], status: 'changed', changed: true, resultMsg: 'All items completed' },
    { name: 'every item skipped', done: [item('a', skipped), item('b', skipped)], status: 'skipped', changed: false, msg: 'all items skipped', resultMsg: 'All items skipped' },
    { name: 'some skipped, one ok', done: [item('a', skipped), item('b', ok)], status: 'ok', changed: false, resultMsg: 'All items completed' },
    { name: 'an empty list', done: [], listed: 0, status: 'ok', changed: false, resultMsg: 'All items completed' },
    { name: 'stopped before any item of a listed one (interrupt): skipped', done: [], listed: 2, status: 'skipped', changed: false, msg: 'all items skipped', resultMsg: 'All items skipped' },
    {
      name: 'failed items are named with their message', done: [item('a', failed('boom')), item('b', ok), item('c', failed())],
      status: 'failed', changed: false, msg: 'one or more items failed:\na: boom\nc: failed', resultMsg: 'One or more items failed',
    },
    { name: 'a failed item that ran and changed counts as a change', done: [item('a', failed('rc 1', true))], status: 'failed', changed: true, msg: 'one or more items failed:\na: rc 1', resultMsg: 'One or more items failed' },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const o = loopOutcome(r.done, r.listed ?? r.done.length);
      assert.equal(o.status, r.status);
      assert.equal(o.msg, r.msg);
      assert.equal(o.result.changed, r.changed);
      assert.equal(o.result.msg, r.resultMsg);
      assert.deepEqual(o.result.results, r.done.map((i) => i.result));
      assert.deepEqual(Object.keys(o.result), ['results', 'changed', 'failed', 'skipped', 'msg']);
    });
  }

  it('an unreachable item ends the loop unreachable, with the results so far', () => {
    const down: TaskOutcome = { status: 'unreachable', result: { unreachable: true, failed: true }, msg: 'host down' };
    const done = [item('a', changed), item('b', down)];
    assert.deepEqual(loopOutcome(done, 3), { status: 'unreachable', result: { results: done.map((i) => i.result), changed: true, failed: true }, msg: 'host down' });
  });
});

describe('until: retries and giving up', () => {
  it("defaults to Ansible's 3 retries 5 s apart; a task's own win", () => {
    assert.deepEqual(retryPolicy({}), { retries: 3, delayMs: 5000 });
    assert.deepEqual(retryPolicy({ retries: 0, delay: 0 }), { retries: 0, delayMs: 0 });
    assert.deepEqual(retryPolicy({ retries: 10, delay: 1.5 }), { retries: 10, delayMs: 1500 });
  });

  it('reads the attempt as `result` and under the register name, over the task variables', () => {
    const task = { until: cond('out.rc == 0 and result.rc == 0 and want == 0'), register: 'out' };
    assert.equal(untilHolds(task, { want: 0, out: 'shadowed' }, { rc: 0 }), true);
    assert.equal(untilHolds(task, { want: 0 }, { rc: 1 }), false);
    assert.equal(untilHolds({ until: cond('result.rc == 0') }, { result: { rc: 1 } }, { rc: 0 }), true);
  });

  it('fails after the last attempt, counting every attempt and keeping the last message', () => {
    const last: TaskOutcome = { status: 'ok', result: { rc: 1, changed: false }, msg: 'still waiting' };
    assert.deepEqual(untilExhausted({ until: cond('result.rc == 0'), retries: 2 }, last), {
      status: 'failed', result: { rc: 1, changed: false, attempts: 3, failed: true }, msg: 'until: result.rc == 0 still false after 3 attempts: still waiting',
    });
    assert.equal(untilExhausted({ until: cond('false') }, { status: 'ok', result: {} }).msg, 'until: false still false after 4 attempts');
  });
});

describe('judgeResult: changed_when and failed_when', () => {
  const task = (o: { changedWhen?: string[]; failedWhen?: string[]; register?: string }) => ({
    changedWhen: (o.changedWhen ?? []).map(cond), failedWhen: (o.failedWhen ?? []).map(cond), register: o.register,
  });
  const rows: { name: string; task: ReturnType<typeof task>; given: Judged; planned?: boolean; want: Judged }[] = [
    { name: 'no condition: as given', task: task({}), given: { status: 'changed', result: { changed: true }, msg: 'm' }, want: { status: 'changed', result: { changed: true }, msg: 'm' } },
    { name: 'changed_when false: ok', task: task({ changedWhen: ['false'] }), given: { status: 'changed', result: { changed: true } }, want: { status: 'ok', result: { changed: false }, msg: undefined } },
    { name: 'changed_when: every condition must hold', task: task({ changedWhen: ['result.rc == 0', 'result.stdout == "x"'] }), given: { status: 'ok', result: { rc: 0, stdout: 'y', changed: false } }, want: { status: 'ok', result: { rc: 0, stdout: 'y', changed: false }, msg: undefined } },
    { name: 'changed_when decides a failed result\'s changed, not its status', task: task({ changedWhen: ['true'] }), given: { status: 'failed', result: { failed: true, changed: false }, msg: 'rc 1' }, want: { status: 'failed', result: { failed: true, changed: true }, msg: 'rc 1' } },
    { name: 'changed_when unreadable on a failure leaves it as it is', task: task({ changedWhen: ['result.stdout.missing == "x"'] }), given: { status: 'failed', result: { failed: true, changed: true }, msg: 'no host' }, want: { status: 'failed', result: { failed: true, changed: true }, msg: 'no host' } },
    {
      name: 'failed_when true: failed, named, verdict registered', task: task({ failedWhen: ['result.rc > 1', 'out.stdout == "bad"'], register: 'out' }), given: { status: 'changed', result: { rc: 0, stdout: 'bad', changed: true } },
      want: { status: 'failed', result: { rc: 0, stdout: 'bad', changed: true, failed: true, failed_when_result: true }, msg: 'failed_when: result.rc > 1 or out.stdout == "bad"' },
    },
    {
      name: 'failed_when false turns a failure into its changed status', task: task({ failedWhen: ['result.rc > 1'] }), given: { status: 'failed', result: { rc: 1, changed: true, failed: true }, msg: 'rc 1' },
      want: { status: 'changed', result: { rc: 1, changed: true, failed: false, failed_when_result: false }, msg: 'rc 1' },
    },
    {
      name: 'failed_when sees what changed_when decided', task: task({ changedWhen: ['false'], failedWhen: ['result.changed'] }), given: { status: 'changed', result: { changed: true } },
      want: { status: 'ok', result: { changed: false, failed: false, failed_when_result: false }, msg: undefined },
    },
    {
      name: 'check mode, planned steps: a condition on their output is unknown and leaves the plan', task: task({ changedWhen: ['result.rc == 0'], failedWhen: ['out.rc != 0'], register: 'out' }), planned: true,
      given: { status: 'changed', result: { changed: true, steps: ['run x'] }, msg: 'would run: run x' },
      want: { status: 'changed', result: { changed: true, steps: ['run x'], failed: false, check_mode_dependent: true }, msg: 'would run: run x' },
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const before = structuredClone(r.given);
      assert.deepEqual(judgeResult(r.task, {}, r.given, r.planned ?? false), r.want);
      assert.deepEqual(r.given, before, 'the result given is not changed');
    });
  }

  it('an undefined variable in a condition throws outside planned check mode, and for other variables in it', () => {
    assert.throws(() => judgeResult(task({ failedWhen: ['result.rc != 0'] }), {}, { status: 'ok', result: {} }, false), /rc/);
    assert.throws(() => judgeResult(task({ failedWhen: ['nope'] }), {}, { status: 'changed', result: {} }, true), /nope/);
  });
});
