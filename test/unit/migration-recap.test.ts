// `ferry migrate`'s recap per guest from a run's events (pure: the events are written here as the
// engine emits them; the CLI test and the lab e2e read it from real runs).
import assert from 'node:assert/strict';
import { formatMigrationRecap, migrationRecap } from '../../app/migration-recap.js';
import type { FerryEvent, TaskStatus } from '../../runner/events.js';

type Extra = Partial<Extract<FerryEvent, { type: 'task_result' }>>;
const result = (host: string, task: string, module: string, status: TaskStatus, durationMs: number, tags: string[], extra: Extra = {}): FerryEvent => ({
  type: 'task_result', host, task, module, status, changed: status === 'changed', durationMs, ...(tags.length ? { tags } : {}), ...extra,
});
const progress = (host: string, task: string, bytes: number): FerryEvent => ({ type: 'progress', host, task, progress: { bytes } });

describe('migration recap (ferry migrate)', () => {
  it('adds up each phase from the tasks tagged with it; rsync bytes are its last progress total; source and destination from delegate_to', () => {
    const events: FerryEvent[] = [
      result('web1', 'converted already?', 'command', 'ok', 40, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('web1', 'preflight', 'shell', 'ok', 60, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('web1', 'rename', 'lvm', 'changed', 1000, ['copy'], { delegatedTo: 'hv1' }),
      progress('web1', 'rsync', 1000),
      progress('web1', 'rsync', 5 * 1024 * 1024),
      progress('web1', 'rsync', 3000),
      result('web1', 'rsync', 'rsync', 'changed', 9000, ['copy'], { delegatedTo: 'hv1' }),
      result('web1', 'grub', 'grub', 'changed', 20_000, ['convert'], { delegatedTo: 'hv1' }),
      // a loop item's result does not count twice
      result('web1', 'grub', 'grub', 'changed', 999_999, ['convert'], { item: 'x' }),
      result('web1', 'untagged', 'debug', 'ok', 5_000, []),
      result('web1', 'define', 'virsh_define', 'changed', 500, ['define'], { delegatedTo: 'kvm1' }),
      // a phase that was skipped does not show (a boot check turned off)
      result('web1', 'boot', 'wait_for', 'skipped', 3, ['boot'], { delegatedTo: 'kvm1' }),
    ];
    const [web1, ...rest] = migrationRecap(events);
    assert.equal(rest.length, 0);
    assert.deepEqual(web1, {
      guest: 'web1', result: 'done', method: 'rsync', source: 'hv1', destination: 'kvm1', bytesCopied: 5 * 1024 * 1024,
      phases: { preflight: 100, copy: 10_000, convert: 20_000, define: 500 }, offlineMs: 30_600,
    });
    assert.deepEqual(formatMigrationRecap([web1!]), [
      'web1  migrated by rsync hv1 → kvm1, 5 MiB copied',
      '      preflight 0s · copy 10s · convert 20s · define 1s; offline 31s',
    ]);
  });

  it('dd: the bytes blockcopy reports; a skipped copy module says nothing of the method', () => {
    const events = [
      result('db1', 'rsync', 'rsync', 'skipped', 0, ['copy']),
      result('db1', 'blockcopy', 'blockcopy', 'changed', 7000, ['copy'], { result: { changed: true, bytes: 2 * 1024 ** 3 } }),
    ];
    const [db1] = migrationRecap(events);
    assert.equal(db1!.method, 'dd');
    assert.equal(db1!.bytesCopied, 2 * 1024 ** 3);
  });

  it('a failure names its task and the command\'s own error output; a preflight failure is a refusal; later results do not hide it', () => {
    const events = [
      result('a', 'preflight', 'shell', 'failed', 50, ['preflight', 'always'], { msg: "/bin/sh -c 'long script': exit 1\na: refused", result: { stderr: 'a: refused before any change:\n  - room\n' } }),
      result('b', 'preflight', 'shell', 'ok', 50, ['preflight']),
      result('b', 'rsync', 'rsync', 'failed', 50, ['copy'], { msg: 'rsync: connection reset' }),
      result('b', 'unmount', 'mount', 'changed', 50, ['copy']),
      result('c', 'grub', 'grub', 'interrupted', 50, ['convert'], { msg: 'interrupted by SIGINT' }),
      result('d', 'cleanup', 'command', 'failed', 50, ['convert'], { ignored: true }),
    ];
    const rows = migrationRecap(events);
    assert.deepEqual(rows.map((r) => [r.guest, r.result, r.task, r.msg]), [
      ['a', 'refused', 'preflight', 'a: refused before any change:\n  - room'],
      ['b', 'failed', 'rsync', 'rsync: connection reset'],
      ['c', 'interrupted', 'grub', 'interrupted by SIGINT'],
      ['d', 'unchanged', undefined, undefined],
    ]);
    const text = formatMigrationRecap(rows);
    assert.deepEqual(text.slice(0, 5), ['a  refused before any change', '   preflight 0s', '   at "preflight":', '     a: refused before any change:', '     - room']);
    assert.ok(text.includes('b  FAILED by rsync'), text.join('\n'));
    assert.ok(text.includes('   preflight 0s · copy 0s; offline 0s'), text.join('\n'));
  });

  it('a resumed run that skips the preflight still names the hypervisor, from the copy\'s tasks', () => {
    const [g] = migrationRecap([
      result('g', 'preflight', 'shell', 'skipped', 0, ['preflight']),
      result('g', 'rename', 'lvm', 'ok', 10, ['copy'], { delegatedTo: 'hv2' }),
      result('g', 'define', 'virsh_define', 'changed', 10, ['define'], { delegatedTo: 'kvm2' }),
    ]);
    assert.deepEqual([g!.source, g!.destination, Object.keys(g!.phases)], ['hv2', 'kvm2', ['copy', 'define']]);
  });

  it('a guest moved to another host without a domain (kvm_define false): the KVM host is where the copy landed; on its own host, source and destination are one', () => {
    const moved = migrationRecap([
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'preflight on the KVM host', 'shell', 'ok', 1_000, ['preflight', 'always'], { delegatedTo: 'kvm2' }),
      result('g', 'a new LV of the same size', 'lvm', 'changed', 1_000, ['copy'], { delegatedTo: 'kvm2' }),
      result('g', 'copy the files', 'rsync', 'changed', 20_000, ['copy'], { delegatedTo: 'kvm2' }),
      result('g', 'define', 'virsh_define', 'skipped', 0, ['define'], { delegatedTo: 'kvm2' }),
    ]);
    assert.deepEqual([moved[0]!.source, moved[0]!.destination], ['hv1', 'kvm2']);
    assert.equal(formatMigrationRecap(moved)[0], 'g  migrated by rsync hv1 → kvm2');
    const home = migrationRecap([
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'copy the files', 'rsync', 'changed', 20_000, ['copy'], { delegatedTo: 'hv1' }),
    ]);
    assert.equal(formatMigrationRecap(home)[0], 'g  migrated by rsync on hv1');
  });

  it('the recap of a rollback says rolled back (or nothing to roll back, or would, with --check) instead of migrated', () => {
    const events = [
      result('g', 'remove the new LV (ferry\'s copy)', 'lvm', 'changed', 1_000, [], { delegatedTo: 'hv1' }),
      result('h', 'remove the new LV (ferry\'s copy)', 'lvm', 'ok', 1_000, [], { delegatedTo: 'hv1' }),
    ];
    assert.deepEqual(formatMigrationRecap(migrationRecap(events), { rollback: true }), ['g  rolled back', 'h  nothing to roll back']);
    assert.deepEqual(formatMigrationRecap(migrationRecap(events)), ['g  migrated', 'h  nothing to do (converted already)']);
  });

  it('a guest ferry shut down (shutdown_guest): the shutdown is a phase, and the downtime starts with it (the guest ran through the preflight)', () => {
    const stopped = [
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'shut the guest down', 'shell', 'changed', 14_000, ['shutdown', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'rsync', 'rsync', 'changed', 60_000, ['copy'], { delegatedTo: 'hv1' }),
    ];
    const [g] = migrationRecap(stopped);
    assert.deepEqual([g!.result, g!.shutdown, g!.phases, g!.offlineMs], ['done', 'stopped', { preflight: 2_000, shutdown: 14_000, copy: 60_000 }, 74_000]);
    assert.deepEqual(formatMigrationRecap([g!]), ['g  migrated by rsync on hv1', '   preflight 2s · shutdown 14s · copy 1m00s; offline 1m14s since ferry shut it down']);
    // a guest stopped already (ok) or not asked (skipped): offline from the preflight, as before
    for (const status of ['ok', 'skipped'] as const) {
      const [h] = migrationRecap([stopped[0]!, { ...stopped[1]!, status, changed: false } as FerryEvent, stopped[2]!]);
      assert.deepEqual([h!.shutdown, h!.offlineMs], [undefined, status === 'ok' ? 76_000 : 62_000]);
    }
    // --check: it would shut the guest down
    const start: FerryEvent = { type: 'run_start', playbook: 'xen-to-kvm.yaml', check: true, time: '2026-12-05T00:00:00Z' };
    assert.deepEqual(migrationRecap([start, ...stopped.slice(0, 2)]).map((r) => [r.result, r.shutdown]), [['planned', 'planned']]);
  });

  it('a pre-copied guest (precopy): both copies show, their bytes add up, and the downtime starts at the shutdown, after the pre-copy', () => {
    const events: FerryEvent[] = [
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      progress('g', 'pre-copy the files', 900 * 1024 * 1024),
      result('g', 'pre-copy the files', 'rsync', 'changed', 300_000, ['precopy', 'copy'], { delegatedTo: 'hv1' }),
      result('g', 'remove the snapshot', 'lvm', 'changed', 1_000, ['precopy', 'copy'], { delegatedTo: 'hv1' }),
      result('g', 'shut the guest down', 'shell', 'changed', 9_000, ['shutdown', 'always'], { delegatedTo: 'hv1' }),
      progress('g', 'copy the files', 100 * 1024 * 1024),
      result('g', 'copy the files', 'rsync', 'changed', 20_000, ['copy'], { delegatedTo: 'hv1' }),
    ];
    const [g] = migrationRecap(events);
    assert.deepEqual([g!.phases, g!.offlineMs, g!.bytesCopied], [{ preflight: 2_000, precopy: 301_000, shutdown: 9_000, copy: 20_000 }, 29_000, 1000 * 1024 * 1024]);
    assert.deepEqual(formatMigrationRecap([g!]), ['g  migrated by rsync on hv1, 1000 MiB copied', '   preflight 2s · precopy 5m01s · shutdown 9s · copy 20s; offline 29s since ferry shut it down']);
  });

  it('a guest that did not stop when asked failed in the shutdown phase, and no downtime is claimed for it (it may still run)', () => {
    const why = 'g did not stop within 300 s of a clean shutdown (xl); ferry never destroys a guest, and changed nothing else: see why on its console (xl console g), stop it yourself or give it longer (shutdown_timeout), then run again';
    const [g] = migrationRecap([
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'shut the guest down', 'shell', 'failed', 300_000, ['shutdown', 'always'], { delegatedTo: 'hv1', msg: 'sh -c …: exit 1', result: { stderr: why } }),
    ]);
    assert.deepEqual([g!.result, g!.shutdown, g!.task, g!.msg], ['failed', 'failed', 'shut the guest down', why]);
    assert.deepEqual(formatMigrationRecap([g!]).slice(0, 3), ['g  FAILED on hv1', '   preflight 2s · shutdown 5m00s', '   at "shut the guest down":']);
  });

  describe('the boot check (verify_boot, ferry migrate --boot)', () => {
    const checkRun: FerryEvent = { type: 'run_start', playbook: 'xen-to-kvm.yaml', check: true, time: '2026-12-06T00:00:00Z' };
    const boot = (status: TaskStatus, durationMs: number, extra: Extra = {}) => result('g', 'GRUB and a login prompt on the serial console', 'boot_check', status, durationMs, ['boot'], { delegatedTo: 'kvm1', ...extra });
    // the shipped playbook's tasks as the engine reports them for a guest stopped before the run
    const converted = [
      result('g', 'converted already?', 'command', 'ok', 1_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'preflight', 'shell', 'ok', 2_000, ['preflight', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'shut the guest down', 'shell', 'skipped', 0, ['shutdown', 'always'], { delegatedTo: 'hv1' }),
      result('g', 'has this guest been copied already?', 'command', 'ok', 500, ['copy'], { delegatedTo: 'hv1' }),
      result('g', 'rename', 'lvm', 'changed', 1_000, ['copy'], { delegatedTo: 'hv1' }),
      result('g', 'rsync', 'rsync', 'changed', 60_000, ['copy'], { delegatedTo: 'hv1' }),
      result('g', 'grub', 'grub', 'changed', 20_000, ['convert'], { delegatedTo: 'hv1' }),
      result('g', 'define', 'virsh_define', 'changed', 500, ['define'], { delegatedTo: 'kvm1' }),
      result('g', 'booted already?', 'command', 'ok', 100, ['boot'], { delegatedTo: 'kvm1' }),
      result('g', 'start the KVM domain', 'virsh_define', 'changed', 3_000, ['boot'], { delegatedTo: 'kvm1' }),
    ];
    const recorded = [
      result('g', 'file', 'file', 'changed', 200, ['boot'], { delegatedTo: 'kvm1' }),
      result('g', 'copy', 'copy', 'changed', 200, ['boot'], { delegatedTo: 'kvm1' }),
      result('g', 'shut the guest down again', 'virsh_define', 'changed', 40_000, ['boot'], { delegatedTo: 'kvm1' }),
    ];

    it('a login prompt: booted, and offline from the first phase that changed something to the end of the boot check (not the shutdown after it)', () => {
      const [g] = migrationRecap([...converted, boot('ok', 50_000, { msg: 'a login prompt after 50s, GRUB seen' }), ...recorded]);
      assert.deepEqual([g!.result, g!.boot, g!.shutdown, g!.phases.boot], ['done', 'booted', undefined, 93_500]);
      // copy 61.5 s + convert 20 s + define 0.5 s + boot to the prompt 53.1 s; not the preflight's 3 s nor the 40.4 s after the prompt
      assert.equal(g!.offlineMs, 135_100);
      assert.deepEqual(formatMigrationRecap([g!]), [
        'g  migrated by rsync hv1 → kvm1',
        '   preflight 3s · copy 1m02s · convert 20s · define 1s · boot 1m34s; offline 2m15s until a login prompt',
      ]);
    });

    it('a guest ferry shut down: offline from its shutdown to the login prompt', () => {
      const events = [...converted.slice(0, 2), result('g', 'shut the guest down', 'shell', 'changed', 14_000, ['shutdown', 'always'], { delegatedTo: 'hv1' }), ...converted.slice(3), boot('ok', 50_000), ...recorded];
      const [g] = migrationRecap(events);
      assert.deepEqual([g!.boot, g!.shutdown, g!.offlineMs], ['booted', 'stopped', 14_000 + 135_100]);
      assert.match(formatMigrationRecap([g!])[1]!, /; offline 2m29s since ferry shut it down until a login prompt$/);
    });

    it('no login prompt: the boot failed at the boot check, which says why; offline up to its end', () => {
      const why = 'no login prompt: an emergency shell; the console\'s last lines:\n  Give root password for maintenance';
      const [g] = migrationRecap([...converted, boot('failed', 30_000, { msg: why })]);
      assert.deepEqual([g!.result, g!.boot, g!.task, g!.msg, g!.offlineMs], ['failed', 'failed', 'GRUB and a login prompt on the serial console', why, 115_100]);
      assert.deepEqual(formatMigrationRecap([g!]), [
        'g  FAILED by rsync hv1 → kvm1',
        '   preflight 3s · copy 1m02s · convert 20s · define 1s · boot 33s; offline 1m55s, and its boot check found no login prompt',
        '   at "GRUB and a login prompt on the serial console":',
        '     no login prompt: an emergency shell; the console\'s last lines:',
        '     Give root password for maintenance',
      ]);
    });

    it('--check: the boot check skips itself (nothing was started), and the recap says it would check the boot', () => {
      const planned = boot('skipped', 1, { result: { changed: false, skipped: true, skipped_reason: 'check mode: no domain was started, so there is no console to watch' } });
      const [g] = migrationRecap([checkRun, ...converted, planned, ...recorded]);
      assert.deepEqual([g!.result, g!.boot], ['planned', 'planned']);
      assert.match(formatMigrationRecap([g!])[1]!, /· boot \d+s; its boot would be checked$/);
    });

    it('a boot check skipped by its `when` (booted before) or by --resume did not look: no boot, and offline as without one', () => {
      const skips: Extra[] = [
        { msg: 'when: booted.rc != 0 was false', result: { skipped: true, changed: false } },
        { msg: 'completed in the run being resumed', result: {} },
      ];
      for (const extra of skips) {
        const [g] = migrationRecap([...converted, boot('skipped', 0, extra)]);
        assert.equal(g!.boot, undefined, JSON.stringify(extra));
        assert.equal(g!.offlineMs, 3_000 + 61_500 + 20_000 + 500 + 3_100);
        assert.doesNotMatch(formatMigrationRecap([g!]).join('\n'), /login prompt|boot would/);
      }
    });
  });

  it('--check: a guest with changes to make is planned, and nothing is counted as copied', () => {
    const start: FerryEvent = { type: 'run_start', playbook: 'xen-to-kvm.yaml', check: true, time: '2026-12-05T00:00:00Z' };
    const [g] = migrationRecap([start, progress('g', 'rsync', 10), result('g', 'rsync', 'rsync', 'changed', 10, ['copy'])]);
    assert.equal(g!.result, 'planned');
    assert.equal(g!.method, 'rsync');
    assert.equal(g!.bytesCopied, undefined);
  });
});
