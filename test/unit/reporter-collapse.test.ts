// The terminal view past a screenful of hosts: when a task collapses to one line, what the line
// counts, and what stays under it.
import assert from 'node:assert/strict';
import type { FerryEvent } from '../../runner/events.js';
import { collapses, screenful, TaskTally } from '../../runner/reporter/collapse.js';

type Final = Extract<FerryEvent, { type: 'task_result' }>;

const result = (host: string, status: Final['status'], more: Partial<Final> = {}): Final => ({
  type: 'task_result',
  host,
  task: 't',
  module: 'command',
  status,
  changed: status === 'changed',
  durationMs: 1,
  ...more,
});

describe('reporter: a task of more hosts than fit on the screen', () => {
  it('collapses past the rows a terminal has, less six for the play, the task and the prompt', () => {
    const cases: [hosts: number, rows: number | undefined, collapsed: boolean][] = [
      [18, 24, false],
      [19, 24, true],
      [34, 40, false],
      [35, 40, true],
      // a terminal that does not say its size counts as 24 rows
      [18, undefined, false],
      [19, 0, true],
      // however small the terminal, up to 8 hosts get a line each
      [8, 5, false],
      [9, 5, true],
      [500, 60, true],
    ];
    for (const [hosts, rows, want] of cases) assert.equal(collapses(hosts, rows), want, `${hosts} hosts on ${rows} rows`);
    assert.equal(screenful(50), 44);
  });

  it('counts the results as they come, in the recap order, and says when every host is done', () => {
    const t = new TaskTally(5);
    assert.equal(t.summary(), '0/5 hosts');
    t.record(result('a', 'ok'));
    t.record(result('b', 'changed'));
    t.record(result('c', 'changed'));
    assert.equal(t.summary(), '3/5 hosts: 2 changed, 1 ok');
    assert.equal(t.done, false);
    t.record(result('d', 'skipped', { msg: 'Conditional result was False' }));
    t.record(result('e', 'unreachable', { msg: 'e: connection refused' }));
    assert.equal(t.done, true);
    assert.equal(t.failed, true);
    assert.equal(t.summary(), '5 hosts: 2 changed, 1 ok, 1 skipped, 1 unreachable');
    // a skip's reason is not worth a line; the unreachable host is
    assert.deepEqual(t.kept(10), ['e: unreachable: e: connection refused']);
  });

  it('keeps failures first (ignored ones too, not failing the task), then messages, each message whole', () => {
    const t = new TaskTally(4);
    t.record(result('a', 'ok', { msg: 'first line\nsecond line' }));
    t.record(result('b', 'failed', { msg: 'exit 1\nstderr: boom', ignored: true }));
    t.record(result('c', 'changed', { delegatedTo: 'hv1', msg: 'done' }));
    t.record(result('d', 'interrupted'));
    assert.equal(t.failed, true, 'd was interrupted');
    assert.deepEqual(t.kept(10), ['b: failed (ignored): exit 1', 'd: interrupted', 'a: first line', 'second line', 'c -> hv1: done']);
    const ignoredOnly = new TaskTally(1);
    ignoredOnly.record(result('b', 'failed', { ignored: true }));
    assert.equal(ignoredOnly.failed, false);
  });

  it('keeps at most the lines it is given, and says how many more there are and where to see them', () => {
    const t = new TaskTally(30);
    for (let i = 0; i < 30; i++) t.record(result(`h${i}`, 'failed', { msg: 'exit 1' }));
    const kept = t.kept(5);
    assert.equal(kept.length, 5);
    assert.deepEqual(kept.slice(0, 4), ['h0: failed: exit 1', 'h1: failed: exit 1', 'h2: failed: exit 1', 'h3: failed: exit 1']);
    assert.equal(kept[4], '... and 26 more lines (--plain or --json show every host)');
  });

  it('keeps each host diff with --diff, and none without it', () => {
    const diff = [{ path: '/etc/motd', before: 'old\n', after: 'new\n' }];
    const withDiff = new TaskTally(1, { diff: true });
    withDiff.record(result('a', 'changed', { diff }));
    const lines = withDiff.kept(50);
    assert.equal(lines[0], 'a:');
    assert.ok(lines.includes('-old') && lines.includes('+new'), lines.join('\n'));
    const without = new TaskTally(1);
    without.record(result('a', 'changed', { diff }));
    assert.deepEqual(without.kept(50), []);
  });
});
