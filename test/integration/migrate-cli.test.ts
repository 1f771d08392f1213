// `ferry migrate`, the front door to the shipped migration playbooks, run as a user runs it (the built
// CLI) against a real sshd "hypervisor" that holds no such LV: the guest is refused by the
// playbook's preflight before any change, which shows that the command ran that playbook for that
// guest with the method asked for. (The migration itself is proven in the lab: test/e2e.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runOnPty } from '../helpers/pty.js';
import { sshdWorkspace } from '../helpers/sshd-workspace.js';
import { inventoryEntry } from '../harness/sshd.js';

const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/app/cli.js');

describe('ferry migrate @integration', function () {
  this.timeout(120_000);
  const ws = sshdWorkspace('migrate');
  let guests: string;

  before(async () => {
    guests = join(ws.dir, 'guests.yml');
    const guest = (lv: string) => ({ ferry_connection: 'none', ferry_hypervisor: ws.host.name, vg: 'ferrytestvg', lv, memory_mb: 256, vcpus: 1, mac: '00:16:3e:00:00:01', bridge: 'br0' });
    await writeFile(guests, stringify({ all: { children: { xen_guests: { hosts: { g1: guest('g1-disk'), g2: guest('g2-disk') } } } } }));
  });

  const ferry = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'migrate', '-i', ws.inv, '-i', guests, ...args], { cwd: ws.dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  /** The NDJSON events of a run given --json. */
  const events = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  it('runs xen-to-kvm.yaml for the guests named, with --method as copy_method; the preflight refuses a guest whose LV is not there', () => {
    const r = ferry('--check', '--json', '--method', 'dd', 'g1');
    assert.equal(r.code, 2, r.err + r.out);
    const results = events(r.out).filter((e) => e.type === 'task_result');
    assert.deepEqual([...new Set(results.map((e) => e.host))], ['g1'], 'only the guest named');
    const pre = results.find((e) => String(e.task).startsWith('preflight'))!;
    // task_start carries the tags as task_result does: the live view reads the phase from them
    const started = events(r.out).find((e) => e.type === 'task_start' && e.task === pre.task)!;
    assert.deepEqual(started.tags, pre.tags);
    assert.ok((pre.tags as string[]).includes('preflight'), JSON.stringify(pre));
    assert.equal(pre.status, 'failed');
    assert.match(String(pre.msg), /\/dev\/ferrytestvg\/g1-disk: no such logical volume/);
    assert.match(JSON.stringify(pre.result), /method=dd/);
    // the recap per guest comes last: refused in the preflight, on the hypervisor, with the time it took
    const summary = events(r.out).at(-1) as { type: string; title: string; data: { guests: Record<string, unknown>[] } };
    assert.equal(summary.type, 'summary');
    assert.equal(summary.title, 'MIGRATION RECAP');
    assert.equal(summary.data.guests.length, 1);
    const g1 = summary.data.guests[0]!;
    assert.deepEqual([g1.guest, g1.result, g1.source, g1.task], ['g1', 'refused', ws.host.name, pre.task]);
    assert.deepEqual(Object.keys(g1.phases as object), ['preflight']);
    assert.ok(typeof (g1.phases as { preflight: number }).preflight === 'number');
  });

  it('--shutdown runs it with shutdown_guest=true: the preflight lets a running guest through (the shutdown task stops it after)', () => {
    const preflight = (...args: string[]) => {
      const r = ferry('--json', '--check', ...args, 'g1');
      assert.equal(r.code, 2, r.err + r.out);
      const pre = events(r.out).find((e) => e.type === 'task_result' && String(e.task).startsWith('preflight'));
      assert.ok(pre, r.out + r.err);
      return JSON.stringify(pre.result);
    };
    // the rendered script: shutdown_guest as the preflight reads it
    assert.match(preflight('--shutdown'), /if \[ yes = no \] && running; then/);
    assert.match(preflight(), /if \[ no = no \] && running; then/);
    assert.match(preflight('-e', 'shutdown_guest=true'), /if \[ yes = no \] && running; then/);
    // --precopy: the guest runs while its files are copied, then ferry stops it (the same shutdown)
    const precopy = preflight('--precopy');
    assert.match(precopy, /if \[ yes = no \] && running; then/);
    assert.match(precopy, /precopy=yes/);
    assert.match(preflight(), /precopy=no/);
  });

  it('--boot runs it with verify_boot=true (a booted guest kept running), --tags boot only that phase: the boot phase\'s tasks run for the guest', async function () {
    // ferry's records, where the test says: the conversion is done and the boot recorded, so the boot
    // phase only asks whether it booted already (nothing is started, nothing watched). Its boot_record
    // names boot_keep_running, so the command it ran shows that variable too. --tags boot leaves out the
    // define, which would plan with virsh on the sshd's machine.
    await writeFile(join(ws.dir, 'converted'), '');
    for (const keep of ['True', 'false']) await writeFile(join(ws.dir, `booted-keep=${keep}`), '');
    const run = (...args: string[]) => {
      const records = { record: join(ws.dir, 'converted'), boot_record: `${ws.dir}/booted-keep={{ boot_keep_running }}` };
      const r = ferry('--check', '--json', '--tags', 'boot', '-e', JSON.stringify(records), ...args, 'g1');
      assert.equal(r.code, 0, r.err + r.out);
      const all = events(r.out).filter((e) => e.type === 'task_result');
      // --tags boot: only the boot phase and what runs always (no copy, convert or define task)
      assert.deepEqual(all.filter((e) => !(e.tags as string[] | undefined)?.some((t) => t === 'boot' || t === 'always')).map((e) => e.task), []);
      const results = all.filter((e) => (e.tags as string[] | undefined)?.includes('boot'));
      assert.ok(results.length > 0, r.out);
      // the boot check did not look (booted before): the recap claims no boot
      const summary = events(r.out).at(-1) as { data: { guests: Record<string, unknown>[] } };
      assert.deepEqual(summary.data.guests.map((g) => [g.guest, g.boot]), [['g1', undefined]]);
      return results;
    };
    const asked = (results: Record<string, unknown>[]) => results.find((e) => String(e.task).startsWith('booted already?'))!;
    const boot = run('--boot');
    assert.equal(asked(boot).status, 'ok', JSON.stringify(asked(boot)));
    assert.match(JSON.stringify(asked(boot).result), /booted-keep=True/);
    assert.match(JSON.stringify(asked(run('--boot', '-e', 'boot_keep_running=false')).result), /booted-keep=false/);
    // without --boot the whole phase is skipped by its `when`
    const off = run();
    assert.deepEqual([...new Set(off.map((e) => e.status))], ['skipped']);
    assert.match(String(off[0]!.msg), /verify_boot \| bool was false/);
  });

  it('prints the recap per guest after the play recap: each guest refused, and why', () => {
    const r = ferry('--check', 'g1', 'g2');
    assert.equal(r.code, 2, r.err + r.out);
    const recap = r.out.slice(r.out.indexOf('MIGRATION RECAP'));
    assert.ok(r.out.indexOf('PLAY RECAP') < r.out.indexOf('MIGRATION RECAP'), r.out);
    assert.match(recap, new RegExp(`^g1  refused before any change on ${ws.host.name}$`, 'm'));
    assert.match(recap, new RegExp(`^g2  refused before any change on ${ws.host.name}$`, 'm'));
    assert.match(recap, /^ {4}preflight \d+s$/m);
    assert.match(recap, /^ {4}at "preflight [^"]*":\n {6}g1: refused before any change:\n {6}- \/dev\/ferrytestvg\/g1-disk: no such logical volume/m);
    assert.match(recap, /^ {6}- \/dev\/ferrytestvg\/g2-disk: no such logical volume/m);
  });

  it('off a terminal, a line says when each guest enters a phase, before that phase\'s first task', () => {
    const r = ferry('--check', 'g1', 'g2');
    assert.equal(r.code, 2, r.err + r.out);
    const lines = r.out.split('\n');
    const firstTask = lines.findIndex((l) => l.startsWith('TASK ['));
    const entered = lines.flatMap((l, i) => (/^g\d: \w+$/.test(l) ? [{ line: l, i }] : []));
    assert.deepEqual(entered.map((e) => e.line), ['g1: preflight', 'g2: preflight'], r.out);
    assert.ok(entered.every((e) => e.i < firstTask), r.out);
  });

  it("on a terminal, each guest's line shows its phase (listr2, on a real pty)", () => {
    const r = runOnPty([process.execPath, CLI, 'migrate', '-i', ws.inv, '-i', guests, '--check', 'g1'], ws.dir);
    assert.equal(r.status, 2, r.raw + r.stderr);
    assert.match(r.screen, /g1 · preflight/);
    assert.doesNotMatch(r.screen, /^g1: preflight$/m, 'not the plain lines');
    assert.match(r.screen, /MIGRATION RECAP/);
  });

  it('--to HOST must name an inventory host (refused before any host is contacted); a move runs the preflight with the move\'s rules', async () => {
    const unknown = ferry('--to', 'nohost', 'g1');
    assert.equal(unknown.code, 4, unknown.err);
    assert.match(unknown.err, /--to nohost: the inventory has no host of that name/);
    assert.equal(unknown.out, '', 'nothing ran');
    // a second inventory name for the same sshd: another host, as far as the playbook can tell
    const kvm = join(ws.dir, 'kvm.yml');
    await writeFile(kvm, stringify({ all: { hosts: { kvm2: inventoryEntry(ws.host) } } }));
    const pre = (...args: string[]) => {
      const r = ferry('-i', kvm, '--check', '--json', ...args, 'g1');
      assert.equal(r.code, 2, r.err + r.out);
      const p = events(r.out).find((e) => e.type === 'task_result' && String(e.task).startsWith('preflight ('));
      assert.ok(p, r.out + r.err);
      return p as { status: string; msg: string; result: unknown };
    };
    const moved = pre('--to', 'kvm2', '--method', 'dd');
    assert.equal(moved.status, 'failed');
    // every reason at once: the move's own rule and the missing LV
    assert.match(moved.msg, /g1 moves to kvm2: a move copies its files with rsync/);
    assert.match(moved.msg, /\/dev\/ferrytestvg\/g1-disk: no such logical volume/);
    assert.match(JSON.stringify(moved.result), /moved=yes/);
    const home = pre('--method', 'dd');
    assert.match(JSON.stringify(home.result), /moved=no/);
    assert.doesNotMatch(home.msg, /g1 moves to/);
  });

  it('--rollback and --cleanup run their playbooks; --list-hosts contacts nothing; bad combinations are refused before any host is contacted', () => {
    const listed = ferry('--list-hosts');
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /xen-to-kvm\.yaml[\s\S]*hosts \(2\):\s+g1\s+g2/);
    const rollback = ferry('--rollback', '--list-tasks', 'g2');
    assert.match(rollback.out, /xen-rollback\.yaml/);
    const both = ferry('g1', '--limit', 'g1');
    assert.equal(both.code, 4);
    assert.match(both.err, /give the guests as arguments or with --limit, not both/);
    const method = ferry('--rollback', '--method', 'dd');
    assert.equal(method.code, 4);
    assert.match(method.err, /--method has no meaning with --rollback/);
    const cleanup = ferry('--cleanup', '--list-tasks', 'g2');
    assert.equal(cleanup.code, 0, cleanup.err);
    assert.match(cleanup.out, /xen-cleanup\.yaml[\s\S]*removing the Xen source needs force[\s\S]*remove the Xen source LV \(LV-old\)/);
    const undo = ferry('--cleanup', '--rollback', 'g1');
    assert.equal(undo.code, 4);
    assert.match(undo.err, /--rollback and --cleanup undo each other/);
    const cleanupMethod = ferry('--cleanup', '--method', 'rsync', 'g1');
    assert.equal(cleanupMethod.code, 4);
    assert.match(cleanupMethod.err, /--method has no meaning with --cleanup/);
    for (const other of ['--rollback', '--cleanup']) {
      const shutdown = ferry(other, '--shutdown', 'g1');
      assert.equal(shutdown.code, 4);
      assert.match(shutdown.err, new RegExp(`--shutdown has no meaning with ${other}`));
    }
    for (const [flags, message] of [
      [['--rollback', '--boot'], '--boot has no meaning with --rollback'],
      [['--cleanup', '--boot', '--shutdown'], '--boot has no meaning with --cleanup'],
      [['--cleanup', '--boot', '--shutdown'], '--shutdown has no meaning with --cleanup'],
      [['--rollback', '--precopy'], '--precopy has no meaning with --rollback'],
      [['--cleanup', '--direct'], '--direct has no meaning with --cleanup'],
      [['--precopy', '--method', 'dd'], "--precopy copies a running guest's files with rsync; --method dd copies blocks, which only a stopped guest keeps still"],
    ] as const) {
      const r = ferry(...flags, 'g1');
      assert.equal(r.code, 4, flags.join(' ') + r.err);
      assert.ok(r.err.includes(message), r.err);
      assert.equal(r.out, '', 'nothing ran');
    }
    const none = ferry('--check', 'nosuchguest');
    assert.equal(none.code, 4);
    assert.match(none.err, /<command line>:1: guest nosuchguest: host pattern 'nosuchguest' matches no host or group/);
    const two = ferry('--check', 'g1', 'nosuch*');
    assert.equal(two.code, 4);
    assert.match(two.err, /guests g1 nosuch\*: host pattern 'nosuch\*' matches no host or group/);
  });
});
