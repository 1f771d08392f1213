// The main job, for real: playbooks/xen-to-kvm.yaml converts the lab's Xen PV guest (an
// unpartitioned ext4 in LV vg1/xr1-disk) over SSH in the lab VM, and the converted disk boots under
// KVM (libvirt, TCG) to GRUB and a login prompt. The source LV is never written to. (The dd route's
// storage sequence runs for real in storage-lab.test.ts; one full conversion here keeps CI's time.)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPlaybookFile } from '../../runner/api.js';
import { exportLv } from '../../lab/export-lv.js';
import { labDown, labReset, labSsh, labStatus, type LabInfo } from '../../lab/lab.js';
import { labMigrate } from '../../lab/migrate.js';
import { labPaths } from '../../lab/paths.js';
import { CollectingReporter } from '../helpers/collect.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh-keygen'];
const ROOT = path.resolve(import.meta.dirname, '../..');

function sha256(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('migration of a Xen PV guest to KVM in the lab @e2e @slow', function () {
  this.timeout(40 * 60_000);
  let lab: LabInfo;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-migrate-test-'));
  let startedHere = false;

  before(function () {
    const missing = REQUIRED_TOOLS.filter((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0);
    if (missing.length) {
      console.warn(`\n  !!! SKIPPING the migration e2e suite: missing ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client)\n`);
      this.skip();
    }
    if (process.env.FERRY_SKIP_E2E) {
      console.warn('\n  !!! SKIPPING the migration e2e suite: FERRY_SKIP_E2E is set\n');
      this.skip();
    }
    startedHere = !labStatus();
  });

  after(async function () {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (startedHere && !process.env.FERRY_LAB_KEEP) await labDown();
  });

  it('--check on the pristine lab plans the whole conversion and changes nothing', async () => {
    lab = await labReset();
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), {
      inventory: [lab.inventoryPath], reporter: rep, check: true, extraVars: { kvm_define: false },
    });
    assert.equal(r.exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    assert.equal(rep.result('rename the Xen LV to LV-old (it stays untouched from here on)', 'xr1')?.status, 'changed');
    const before = fs.readFileSync(labPaths(lab.hash).guestImage);
    const image = path.join(tmp, 'after-check.img');
    await exportLv('vg1', 'xr1-disk', image, lab);
    assert.ok(before.equals(fs.readFileSync(image)), 'check mode changed the guest LV');
  });

  it('converts xr1 (mkfs + rsync) and the disk boots to GRUB and a login prompt under KVM', async () => {
    const rep = new CollectingReporter();
    const m = await labMigrate({ reporter: rep, copyMethod: 'rsync' });
    lab = m.lab;
    assert.equal(m.convertExit, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    console.log(`      conversion: ${m.convertSeconds.toFixed(0)} s; boot (${m.boot.method}): ${m.boot.seconds.toFixed(0)} s`);
    assert.equal(m.boot.exitCode, 0, `the boot check playbook failed: ${JSON.stringify(rep.results().filter((x) => x.status === 'failed'))}\n${m.boot.console.slice(-2000)}`);
    assert.ok(m.boot.sawGrub, `no GRUB on the console:\n${m.boot.console.slice(-2000)}`);
    assert.ok(m.boot.sawLogin, `no login prompt on the console:\n${m.boot.console.slice(-2000)}`);
    assert.match(m.boot.console, /xr1 login:/);
  });

  it('never wrote to the source: LV-old holds the pristine Xen filesystem byte for byte', async () => {
    const old = path.join(tmp, 'old.img');
    await exportLv('vg1', 'xr1-disk-old', old, lab);
    assert.equal(sha256(old), sha256(labPaths(lab.hash).guestImage));
  });

  it('a second run on the converted guest reports every task ok', async () => {
    const rep = new CollectingReporter();
    const r = await runPlaybookFile(path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), {
      inventory: [lab.inventoryPath], reporter: rep, extraVars: { kvm_define: false },
    });
    assert.equal(r.exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    const changed = rep.results().filter((x) => x.status === 'changed').map((x) => `${x.task}: ${x.msg ?? ''}`);
    assert.deepEqual(changed, []);
  });

  it('rollback: --check plans it, a finished conversion needs force, then the Xen LV is back byte for byte', async () => {
    const rollback = path.join(ROOT, 'playbooks/xen-rollback.yaml');
    const lvs = async () => (await labSsh(lab, 'lvs --noheadings -o lv_name vg1')).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
    const run = async (extra: Record<string, unknown>, check = false) => {
      const rep = new CollectingReporter();
      const r = await runPlaybookFile(rollback, { inventory: [lab.inventoryPath], reporter: rep, check, extraVars: { kvm_define: false, ...extra } });
      return { rep, r };
    };
    const before = await lvs();
    assert.ok(before.includes('xr1-disk-old') && before.includes('xr1-disk'), before.join(' '));

    const check = await run({ force: true }, true);
    assert.equal(check.r.exitCode, 0, JSON.stringify(check.rep.results().filter((x) => x.status === 'failed')));
    assert.equal(check.rep.result("remove the new LV (ferry's copy)", 'xr1')?.status, 'changed');
    assert.equal(check.rep.result('rename LV-old back to LV', 'xr1')?.status, 'changed');
    assert.deepEqual(await lvs(), before, '--check changed the LVs');

    const refused = await run({});
    assert.notEqual(refused.r.exitCode, 0);
    const why = refused.rep.result('a finished conversion is rolled back only with force', 'xr1');
    assert.equal(why?.status, 'failed');
    assert.match(why?.msg ?? '', /Run again with -e force=true/);
    assert.deepEqual(await lvs(), before, 'a refused rollback changed the LVs');

    const done = await run({ force: true });
    assert.equal(done.r.exitCode, 0, JSON.stringify(done.rep.results().filter((x) => x.status === 'failed')));
    const after = await lvs();
    assert.ok(after.includes('xr1-disk') && !after.includes('xr1-disk-old'), after.join(' '));
    const image = path.join(tmp, 'rolled-back.img');
    await exportLv('vg1', 'xr1-disk', image, lab);
    assert.equal(sha256(image), sha256(labPaths(lab.hash).guestImage), 'the rolled-back LV differs from the pristine Xen disk');
    assert.equal((await labSsh(lab, 'test -e /var/lib/ferry/xen-to-kvm/vg1-xr1-disk.done; echo $?')).stdout.trim(), '1');

    // A second rollback finds nothing to undo: every task ok or skipped.
    const again = await run({ force: true });
    assert.equal(again.r.exitCode, 0);
    assert.deepEqual(again.rep.results().filter((x) => x.status === 'changed').map((x) => x.task), []);
  });
});
