// Resume keys that survive edits, and the check that refuses an ambiguous resume.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { ValidationError } from '../../runner/errors.js';
import { loadPlaybook } from '../../runner/playbook/load.js';
import { readRunState, RunState } from '../../runner/state.js';
import { baseKey, resumeConflicts, taskIdentities, type TaskRecord } from '../../runner/task-identity.js';
import { builtinModules } from '../../tasks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-identity-'));
/** The task records of a playbook; every version is written to the same file, as an edited playbook is. */
function records(plays: unknown): TaskRecord[] {
  const p = join(dir, 'pb.yaml');
  writeFileSync(p, stringify(plays));
  return taskIdentities(loadPlaybook(p, builtinModules(), dir)).list;
}
const play = (tasks: unknown[], extra: Record<string, unknown> = {}) => [{ hosts: 'all', tasks, ...extra }];
const A = { name: 'a', shell: 'echo a >> log' };
const B = { name: 'b', shell: 'echo b >> log' };
const GATE = { name: 'gate', command: 'test -e go' };
const COPY = { name: 'conf', copy: { dest: '/tmp/x', content: 'x' } };
const PROBE = { name: 'probe', shell: 'test -e /marker', register: 'done', failed_when: false, changed_when: false };

describe('task identity', () => {
  it('keys a task by what it is, not where: an insertion above leaves the keys of the others as they were', () => {
    const before = records(play([A, B]));
    const after = records(play([{ name: 'new', command: 'true' }, A, B]));
    assert.deepEqual(after.slice(1).map((r) => r.key), before.map((r) => r.key));
  });

  it('tells two identical unnamed tasks apart, and equal tasks in blocks, imports and handlers', () => {
    const same = { shell: 'echo x' };
    writeFileSync(join(dir, 'inc.yaml'), stringify([same]));
    const recs = records([
      { hosts: 'all', tasks: [same, same, { block: [same], rescue: [same] }, { import_tasks: 'inc.yaml' }, { import_tasks: 'inc.yaml' }], handlers: [{ name: 'h', ...same }] },
    ]);
    const keys = recs.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length, keys.join(' '));
    assert.deepEqual(recs.map((r) => r.module), ['shell', 'shell', 'shell', 'shell', 'import_tasks', 'shell', 'import_tasks', 'shell', 'shell']);
    assert.equal(recs.at(-1)!.handler, true);
  });

  it('changes with the arguments, the module, the name, the loop and delegate_to; not with the order of argument keys', () => {
    const key = (t: unknown) => records(play([t]))[0]!.key;
    const base = key({ name: 't', copy: { dest: '/a', content: 'x' } });
    assert.equal(key({ name: 't', copy: { content: 'x', dest: '/a' } }), base);
    for (const other of [
      { name: 't', copy: { dest: '/a', content: 'y' } },
      { name: 't2', copy: { dest: '/a', content: 'x' } },
      { name: 't', template: { dest: '/a', src: 'x' } },
      { name: 't', copy: { dest: '/a', content: 'x' }, loop: [1] },
      { name: 't', copy: { dest: '/a', content: 'x' }, delegate_to: 'localhost' },
    ]) assert.notEqual(key(other), base, JSON.stringify(other));
  });

  it('records a command declared to change nothing (changed_when: false) as a read, and no other task', () => {
    const recs = records(play([PROBE, { ...PROBE, name: 'p2', changed_when: [false] }, { ...PROBE, name: 'p3', changed_when: 'rc != 0' }, { ...PROBE, name: 'p4', changed_when: [false, 'rc == 1'] }, A, { ...PROBE, name: 'p5', changed_when: 'False' }]));
    assert.deepEqual(recs.map((r) => r.reads ?? false), [true, true, false, false, false, true]);
  });

  it('a run-time key belongs to the playbook task it came from', () => {
    assert.equal(baseKey('abc.0@def.1'), 'abc.0');
    assert.equal(baseKey('inc.0>task.2@x.0'), 'inc.0');
  });
});

describe('resume conflicts', () => {
  const old = records(play([A, B, GATE, COPY, PROBE]));
  const key = (name: string) => old.find((r) => r.name === name)!.key;
  const ctx = { runsEveryTime: (m: string) => ['command', 'shell', 'chroot_exec'].includes(m), playHasHost: () => true };
  const completed = { h1: [key('a'), key('b')], h2: [key('a')] };

  const CASES: { name: string; now: TaskRecord[]; completed?: Record<string, string[]>; expect: RegExp[] }[] = [
    { name: 'nothing changed', now: old, expect: [] },
    { name: 'a task added after the last completed one', now: records(play([A, B, { name: 'new', command: 'true' }, GATE, COPY])), expect: [] },
    { name: 'a task added at the top', now: records(play([{ name: 'new', command: 'true' }, A, B, GATE, COPY])), expect: [/^pb\.yaml:3: task 'new' \(command\) was added before tasks that completed on h1, h2$/] },
    { name: 'a task added between completed ones (one host)', now: records(play([A, { name: 'new', copy: { dest: '/y', content: '' } }, B, GATE, COPY])), expect: [/task 'new' \(copy\) was added before tasks that completed on h1$/] },
    { name: 'a completed command whose arguments changed', now: records(play([A, { name: 'b', shell: 'echo B >> log' }, GATE, COPY])), expect: [/^pb\.yaml:\d+: task 'b' \(shell\) completed on h1, but its arguments changed since$/] },
    { name: 'a completed command whose module changed', now: records(play([A, { name: 'b', command: 'echo b' }, GATE, COPY])), expect: [/task 'b' \(shell\) completed on h1, but its module changed \(shell → command\) since/] },
    { name: 'a completed command removed', now: records(play([A, GATE, COPY])), expect: [/task 'b' \(shell\) completed on h1, but is no longer in the playbook/] },
    { name: 'a completed command renamed', now: records(play([A, { ...B, name: 'b2' }, GATE, COPY])), expect: [/task 'b' \(shell\) completed on h1, but is no longer in the playbook/] },
    { name: 'a task added before a completed copy (planned again on resume)', completed: { h1: [key('conf')] }, now: records(play([{ name: 'new', command: 'true' }, A, B, GATE, COPY])), expect: [] },
    { name: 'a completed copy whose arguments changed (planned again)', completed: { h1: [key('conf')] }, now: records(play([A, B, GATE, { name: 'conf', copy: { dest: '/tmp/x', content: 'y' } }])), expect: [] },
    { name: 'a completed read (changed_when: false) whose arguments changed (run again on resume)', completed: { h1: [key('a'), key('b'), key('probe')] }, now: records(play([A, B, GATE, COPY, { ...PROBE, shell: 'test -e /other' }])), expect: [] },
    { name: 'a read added before completed commands (it runs on resume, as every read does)', now: records(play([{ ...PROBE, name: 'new probe' }, A, B, GATE, COPY, PROBE])), expect: [] },
    { name: 'a task added before a completed read', completed: { h1: [key('probe')] }, now: records(play([{ name: 'new', command: 'true' }, A, B, GATE, COPY, PROBE])), expect: [] },
    { name: 'a handler added', now: records([{ hosts: 'all', tasks: [A, B, GATE, COPY], handlers: [{ name: 'h', command: 'true' }] }]), expect: [] },
  ];
  for (const c of CASES) {
    it(c.name, () => {
      const problems = resumeConflicts({ tasks: old, completed: c.completed ?? completed }, c.now, ctx);
      assert.equal(problems.length, c.expect.length, JSON.stringify(problems));
      c.expect.forEach((re, i) => assert.match(`${problems[i]!.loc?.file}:${problems[i]!.loc?.line}: ${problems[i]!.message}`, re));
      for (const p of problems) assert.match(p.hint!, /run without --resume/);
    });
  }

  it('a task added in a play that does not run on the host is fine', () => {
    const two = (first: unknown[]) => records([{ hosts: 'web', tasks: first }, { hosts: 'db', tasks: [A, B] }]);
    const before = two([GATE]);
    const done = { h1: before.filter((r) => r.name === 'a' || r.name === 'b').map((r) => r.key) };
    const now = two([{ name: 'new', command: 'true' }, GATE]);
    const onlyDb = { ...ctx, playHasHost: (p: number) => p === 1 };
    assert.deepEqual(resumeConflicts({ tasks: before, completed: done }, now, onlyDb), []);
    assert.equal(resumeConflicts({ tasks: before, completed: done }, now, ctx).length, 1);
  });

  it('a command an include loaded at run time counts as its include', () => {
    const inc = (file: string) => records(play([{ name: 'inc', include_tasks: file }, GATE]));
    writeFileSync(join(dir, 'x.yaml'), stringify([A]));
    const before = inc('{{ f }}.yaml');
    const done = { h1: [`${before[0]!.key}>0123456789abcdef.0`] };
    assert.deepEqual(resumeConflicts({ tasks: before, completed: done }, before, ctx), []);
    assert.match(resumeConflicts({ tasks: before, completed: done }, inc('{{ g }}.yaml'), ctx)[0]!.message, /task 'inc' \(include_tasks\) completed on h1, but its arguments changed/);
  });
});

describe('run state', () => {
  it('refuses to resume from a state it cannot read, and resumes nothing after a successful run', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ferry-state-'));
    const s = new RunState(d, 'k');
    writeFileSync(s.path, JSON.stringify({ version: 1, key: 'k', hosts: { h: { completed: ['0.t.0'], registered: {} } } }));
    assert.throws(() => s.readPrevious(), (e: unknown) => e instanceof ValidationError && /another version of ferry.*\n.*run without --resume/s.test(e.message));
    writeFileSync(s.path, '{ not json');
    assert.throws(() => s.readPrevious(), /not valid JSON/);
    s.start([]);
    await s.finish(true);
    assert.equal(new RunState(d, 'k').readPrevious(), undefined);
  });

  it('holds a completed task in the file by the time markCompleted resolves, also when many hosts complete at once', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ferry-state-'));
    const s = new RunState(d, 'k');
    s.start([]);
    // what a crash right now would leave: the snapshot with its journal
    const onDisk = () => readRunState(s.path, s.journalPath)!.hosts;
    const seen: string[] = [];
    const marks = Array.from({ length: 12 }, (_, i) =>
      s.markCompleted(`h${i}`, '0.t.0', { rc: i }).then(() => {
        // read at the moment the caller would go on: its record must be there already
        assert.deepEqual(onDisk()[`h${i}`], { completed: ['0.t.0'], registered: { '0.t.0': { rc: i } } });
        seen.push(`h${i}`);
      }),
    );
    await Promise.all(marks);
    assert.equal(seen.length, 12);
    await s.markCompleted('h0', '0.t.1');
    assert.deepEqual(onDisk().h0!.completed, ['0.t.0', '0.t.1']);
    await s.finish(false);
    assert.deepEqual(new RunState(d, 'k').readPrevious()?.completed.h11, ['0.t.0']);
    assert.deepEqual(readdirSync(d), [basename(s.path)], 'no temporary file is left behind');
  });
});
