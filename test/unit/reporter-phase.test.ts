// Phases in the live view (ferry migrate's preflight, copy, convert, define): the phase taken from a
// task's tags, each host's current one across tasks, and the lines and labels the reporters show.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import type { FerryEvent } from '../../runner/events.js';
import { formatPhaseLine, hostLabel, phaseOf, PhaseTracker } from '../../runner/reporter/phase.js';
import { PlainReporter } from '../../runner/reporter/plain.js';

const PHASES = ['preflight', 'copy', 'convert', 'define'];

describe('phases in the live view', () => {
  it('a task is in the first phase among its tags (in the phase list order), or in none', () => {
    const table: [string[] | undefined, string | undefined][] = [
      [['preflight', 'always'], 'preflight'],
      [['always', 'copy'], 'copy'],
      [['convert', 'copy'], 'copy'],
      [['always'], undefined],
      [[], undefined],
      [undefined, undefined],
    ];
    for (const [tags, want] of table) assert.equal(phaseOf(tags, PHASES), want, JSON.stringify(tags));
    assert.equal(phaseOf(['copy'], []), undefined);
  });

  it("says which hosts enter a new phase with each task; an untagged task or the same phase again says nothing", () => {
    const t = new PhaseTracker(PHASES);
    assert.deepEqual(t.enter({ hosts: ['a', 'b'], tags: ['preflight', 'always'] }), [{ host: 'a', phase: 'preflight' }, { host: 'b', phase: 'preflight' }]);
    assert.deepEqual(t.enter({ hosts: ['a', 'b'], tags: ['preflight'] }), []);
    assert.deepEqual(t.enter({ hosts: ['a', 'b'] }), []);
    assert.equal(t.of('a'), 'preflight');
    // b failed in the preflight: only a goes on to the copy
    assert.deepEqual(t.enter({ hosts: ['a'], tags: ['copy'] }), [{ host: 'a', phase: 'copy' }]);
    assert.deepEqual([t.of('a'), t.of('b'), t.of('c')], ['copy', 'preflight', undefined]);
    assert.deepEqual(t.enter({ hosts: ['c', 'a'], tags: ['copy'] }), [{ host: 'c', phase: 'copy' }]);
  });

  it('formats the plain line and the terminal label of a host', () => {
    assert.equal(formatPhaseLine('xr1', 'copy'), 'xr1: copy');
    assert.equal(hostLabel('xr1', 'copy'), 'xr1 · copy');
    assert.equal(hostLabel('xr1', undefined), 'xr1');
  });

  /** What the plain reporter prints for these events. */
  function plain(events: FerryEvent[], phases?: string[]): string {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const rep = new PlainReporter({ out, ...(phases ? { phases } : {}) });
    for (const ev of events) rep.emit(ev);
    return text;
  }

  const start = (task: string, hosts: string[], tags?: string[]): FerryEvent => ({ type: 'task_start', play: 'p', task, module: 'command', loc: 'pb.yml:3', hosts, ...(tags ? { tags } : {}) });

  it('off a terminal, a line when a host enters a phase, before the task header; none without phases', () => {
    const events = [start('check', ['g1', 'g2'], ['preflight', 'always']), start('check more', ['g1', 'g2'], ['preflight']), start('copy', ['g1'], ['copy'])];
    assert.equal(
      plain(events, PHASES),
      '\ng1: preflight\ng2: preflight\n\nTASK [check] pb.yml:3\n\nTASK [check more] pb.yml:3\n\ng1: copy\n\nTASK [copy] pb.yml:3\n',
    );
    assert.equal(plain(events), '\nTASK [check] pb.yml:3\n\nTASK [check more] pb.yml:3\n\nTASK [copy] pb.yml:3\n');
  });

  it("a copy's progress line names the host's phase, with bytes, rate and ETA", () => {
    const progress: FerryEvent = { type: 'progress', host: 'g1', task: 'copy', progress: { bytes: 3 * 2 ** 30, totalBytes: 8 * 2 ** 30, bytesPerSec: 100 * 2 ** 20, etaSec: 51 } };
    assert.equal(plain([start('copy', ['g1'], ['copy']), progress], PHASES), '\ng1: copy\n\nTASK [copy] pb.yml:3\n  ... [g1 · copy] 3 GiB / 8 GiB, 100 MiB/s, ETA 51s\n');
    assert.equal(plain([start('copy', ['g1'], ['copy']), progress]), '\nTASK [copy] pb.yml:3\n  ... [g1] 3 GiB / 8 GiB, 100 MiB/s, ETA 51s\n');
  });
});
