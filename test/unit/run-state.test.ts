// The run state's snapshot and journal (runner/state.ts): what a crash at any point leaves is
// readable and holds every completion that was reported recorded; compaction loses nothing; the
// files stay private; a version 2 state still resumes.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Secret, SECRET_MASK } from '../../runner/command.js';
import { ValidationError } from '../../runner/errors.js';
import { readRunState, RunState } from '../../runner/state.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'ferry-run-state-'));
const mode = (p: string) => statSync(p).mode & 0o777;

/** Records `tasks` tasks on `hosts` hosts, `batch` hosts completing at once; returns what was recorded. */
async function recordBatches(s: RunState, hosts: number, tasks: number, batch: number): Promise<Record<string, string[]>> {
  const want: Record<string, string[]> = {};
  for (let t = 0; t < tasks; t++) {
    for (let first = 0; first < hosts; first += batch) {
      const marks: Promise<void>[] = [];
      for (let i = first; i < Math.min(hosts, first + batch); i++) {
        (want[`h${i}`] ??= []).push(`0.t${t}.0`);
        marks.push(s.markCompleted(`h${i}`, `0.t${t}.0`, { rc: 0, stdout: `host ${i} task ${t} `.repeat(4) }));
      }
      await Promise.all(marks);
    }
  }
  return want;
}

describe('run state journal', () => {
  it('ignores a torn last journal line, and refuses a journal broken before its end', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    await Promise.all([s.markCompleted('h1', '0.t.0'), s.markCompleted('h2', '0.t.0', { rc: 0 })]);
    appendFileSync(s.journalPath, '{"h":"h3","t":"0.t'); // a crash in the middle of an append
    const prev = new RunState(d, 'k').readPrevious();
    assert.deepEqual(prev?.completed, { h1: ['0.t.0'], h2: ['0.t.0'] });
    appendFileSync(s.journalPath, '\n{"h":"h4","t":"0.t.0"}\n');
    assert.throws(() => new RunState(d, 'k').readPrevious(), (e: unknown) => e instanceof ValidationError && /line 4 of its journal .* is not valid JSON.*\n.*run without --resume/s.test(e.message));
  });

  it('resumes, after many batches and no finish (a crash), exactly what was recorded, registered values included', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    const want = await recordBatches(s, 120, 20, 50);
    const again = new RunState(d, 'k');
    assert.deepEqual(again.readPrevious()?.completed, want);
    assert.equal(again.completed('h119', '0.t19.0'), true);
    assert.deepEqual(again.registered('h7', '0.t3.0'), { rc: 0, stdout: 'host 7 task 3 '.repeat(4) });
  });

  it('compacts a journal that outgrows its snapshot without losing a completion, and keeps the journal small', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    const want = await recordBatches(s, 500, 20, 50);
    const snapshot = JSON.parse(readFileSync(s.path, 'utf8')) as { hosts: Record<string, unknown> };
    assert.equal(Object.keys(snapshot.hosts).length, 500, 'the snapshot was rewritten with what the journal held');
    assert.ok(statSync(s.journalPath).size <= Math.max(64 * 1024, statSync(s.path).size) + 64 * 1024, 'the journal was compacted');
    assert.deepEqual(readRunState(s.path, s.journalPath)?.hosts.h499?.completed, want.h499);
    assert.deepEqual(new RunState(d, 'k').readPrevious()?.completed, want);
    await s.finish(true);
    assert.deepEqual(readdirSync(d), [basename(s.path)], 'a finished run is its snapshot alone');
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(s.path, 'utf8')) as { hosts: object }).hosts).length, 500);
  });

  it('compacts after an append failed, so the next completion is recorded whole', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    await s.markCompleted('h1', '0.t.0');
    rmSync(s.journalPath);
    await assert.rejects(s.markCompleted('h2', '0.t.0'), /ENOENT/);
    await s.markCompleted('h3', '0.t.0');
    assert.deepEqual(new RunState(d, 'k').readPrevious()?.completed, { h1: ['0.t.0'], h2: ['0.t.0'], h3: ['0.t.0'] });
  });

  it('replays a journal the snapshot already holds (a crash between compaction\'s two writes) without counting anything twice', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    await Promise.all([s.markCompleted('h1', '0.t.0', { rc: 0 }), s.markCompleted('h1', '0.t.1')]);
    const journal = readFileSync(s.journalPath, 'utf8');
    await s.finish(false);
    writeFileSync(s.journalPath, journal);
    const again = new RunState(d, 'k');
    assert.deepEqual(again.readPrevious()?.completed, { h1: ['0.t.0', '0.t.1'] });
    assert.deepEqual(again.registered('h1', '0.t.0'), { rc: 0 });
  });

  it('ignores a journal left by another run (a crash between the new snapshot and its journal)', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    await s.markCompleted('h1', '0.t.0');
    const stale = readFileSync(s.journalPath, 'utf8');
    const next = new RunState(d, 'k');
    next.start([]);
    writeFileSync(s.journalPath, stale);
    assert.deepEqual(new RunState(d, 'k').readPrevious()?.completed, {});
  });

  it('keeps the folder 0700 and the snapshot and journal 0600, through appends, compaction and finish', async () => {
    const d = join(fresh(), 'runs');
    const s = new RunState(d, 'k');
    s.start([]);
    assert.equal(mode(d), 0o700);
    assert.deepEqual([mode(s.path), mode(s.journalPath)], [0o600, 0o600]);
    await recordBatches(s, 300, 10, 50);
    assert.deepEqual([mode(s.path), mode(s.journalPath)], [0o600, 0o600]);
    await s.finish(false);
    assert.equal(mode(s.path), 0o600);
  });

  it('writes a Secret as its mask in the journal', async () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    s.start([]);
    await s.markCompleted('h1', '0.t.0', { cmd: new Secret('hunter2-pw') });
    assert.doesNotMatch(readFileSync(s.journalPath, 'utf8'), /hunter2/);
    assert.deepEqual(readRunState(s.path, s.journalPath)?.hosts.h1?.registered, { '0.t.0': { cmd: SECRET_MASK } });
  });

  it('resumes a version 2 state (the snapshot alone), and writes version 3 from then on', () => {
    const d = fresh();
    const s = new RunState(d, 'k');
    writeFileSync(s.path, JSON.stringify({ version: 2, key: 'k', startedAt: 'x', tasks: [], hosts: { h: { completed: ['0.t.0'], registered: { '0.t.0': { rc: 0 } } } } }));
    assert.deepEqual(s.readPrevious()?.completed, { h: ['0.t.0'] });
    s.resume([]);
    assert.deepEqual(s.registered('h', '0.t.0'), { rc: 0 });
    assert.equal((JSON.parse(readFileSync(s.path, 'utf8')) as { version: number }).version, 3);
    assert.deepEqual(readRunState(s.path, s.journalPath)?.hosts.h?.completed, ['0.t.0']);
  });
});
