// reboot against a real sshd on loopback. The machine itself is not rebooted: the test's
// reboot_command kills the SSH connection's sshd process (the connection drops, as in a reboot) and,
// three seconds later, changes the file its boot_time_command reads — so the module must ride out a
// lost connection, reconnect, and keep probing until the boot id really changes.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runPlaybookFile } from '../../app/api.js';
import { CollectingReporter } from '../helpers/collect.js';
import { sshdWorkspace } from '../helpers/sshd-workspace.js';

describe('reboot over real sshd @integration', function () {
  this.timeout(120_000);
  const ws = sshdWorkspace('reboot');
  let n = 0;
  const bootFile = () => join(ws.dir, 'boot_id');
  let boot: { boot_time_command: string };
  before(() => {
    boot = { boot_time_command: `cat ${bootFile()}` };
  });

  async function reboot(args: Record<string, unknown>, check = false) {
    const pb = join(ws.dir, `pb${++n}.yaml`);
    await writeFile(pb, stringify([{ hosts: 'all', gather_facts: false, tasks: [{ name: 'reboot', reboot: args, register: 'r', ignore_errors: true }] }]));
    const rep = new CollectingReporter();
    await runPlaybookFile(pb, { inventory: [ws.inv], reporter: rep, ...(check ? { check: true } : {}) });
    return rep.result('reboot', ws.host.name)!;
  }

  it('survives the lost connection, waits for a new boot id, then runs test_command', async () => {
    writeFileSync(bootFile(), 'boot-1\n');
    chmodSync(bootFile(), 0o666);
    // the session's sshd is the parent of the login shell that runs this command's shell
    const kill = `setsid sh -c 'sleep 3; echo boot-2 > ${bootFile()}' >/dev/null 2>&1 </dev/null & sleep 0.2; kill -9 $(ps -o ppid= -p $PPID)`;
    const r = await reboot({ ...boot, reboot_command: kill, test_command: `touch ${join(ws.dir, 'tested')}`, reboot_timeout: 60 });
    assert.equal(r.status, 'changed', JSON.stringify(r));
    assert.equal(r.result!.rebooted, true);
    assert.ok((r.result!.elapsed as number) >= 3, `it waited for the new boot id (elapsed ${String(r.result!.elapsed)})`);
    assert.equal(readFileSync(bootFile(), 'utf8'), 'boot-2\n');
    assert.ok(existsSync(join(ws.dir, 'tested')), 'test_command ran after the reboot');
  });

  it('times out when the boot id never changes, and fails on a reboot command that fails', async () => {
    writeFileSync(bootFile(), 'boot-same\n');
    const stuck = await reboot({ ...boot, reboot_command: 'true', reboot_timeout: 3 });
    assert.equal(stuck.status, 'failed');
    assert.equal(stuck.msg, 'Timed out waiting for last boot time check (timeout=3)');
    const bad = await reboot({ ...boot, reboot_command: 'echo no permission >&2; exit 3' });
    assert.equal(bad.status, 'failed');
    assert.equal(bad.msg, 'Reboot command failed. Error was: no permission');
  });

  it('check mode reads the boot id and reboots nothing', async () => {
    const marker = join(ws.dir, 'rebooted');
    const c = await reboot({ ...boot, reboot_command: `touch ${marker}` }, true);
    assert.equal(c.status, 'changed');
    assert.equal(existsSync(marker), false);
    const missing = await reboot({ boot_time_command: 'true' }, true);
    assert.equal(missing.status, 'failed');
    assert.match(missing.msg!, /boot_time_command printed no boot id/);
  });
});
