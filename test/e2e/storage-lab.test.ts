// The storage modules on real LVM and device-mapper in the lab VM (issue 5), through ferry's own SSH
// transport with strict host keys: the seed's whole sequence for both copy methods, with the state
// read back over SSH (lvs, sfdisk, blkid, findmnt) after every step. Slow: TCG, minutes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sh, type Command } from '../../runner/command.js';
import { transportForHost } from '../../runner/connections.js';
import { TaskFailedError } from '../../runner/errors.js';
import { loadInventory } from '../../runner/inventory/index.js';
import { applyPlan } from '../../runner/apply-steps.js';
import { planTask, type Plan, type TaskModule } from '../../runner/module.js';
import { createTaskContext } from '../../runner/task-context.js';
import type { Transport } from '../../runner/transport/types.js';
import { blockcopyModule } from '../../tasks/blockcopy.js';
import { filesystemModule } from '../../tasks/filesystem.js';
import { lvmModule } from '../../tasks/lvm.js';
import { mountModule } from '../../tasks/mount.js';
import { partitionMapModule } from '../../tasks/partition-map.js';
import { partitionModule } from '../../tasks/partition.js';
import { rsyncModule } from '../../tasks/rsync.js';
import { labDown, labReset, labUp, type LabInfo } from '../../lab/lab.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh-keygen'];

const VG = 'vg1';
const LV = 'xr1-disk';
const OLD = 'xr1-disk-old';
const SNAP = 'xr1-disk-ferry-snap';
const DISK = `/dev/${VG}/${LV}`;
const OLD_DISK = `/dev/${VG}/${OLD}`;
const SNAP_DISK = `/dev/${VG}/${SNAP}`;
// kpartx names the partition after the LV's device-mapper name, with its dashes doubled.
const PART = '/dev/mapper/vg1-xr1--disk1';
const ROOT = '/mnt/ferry/xr1';
const OLD_ROOT = '/mnt/ferry/xr1-old';

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter((t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0);
}

interface Outcome {
  plan: Plan;
  data: Record<string, unknown>;
}

describe('storage modules in the lab VM: the seed sequence on real LVM and kpartx @e2e @slow', function () {
  this.timeout(30 * 60_000);
  let info: LabInfo;
  let transport: Transport | undefined;
  const timings: { section: string; step: string; seconds: number }[] = [];
  let section = 'setup';
  let pristineUuid = '';
  let pristineSha = '';

  /** Connects ferry's SSH transport to lab-hv with the inventory's variables (its key and known_hosts, strict). */
  async function connect(): Promise<void> {
    await transport?.close().catch(() => undefined);
    const vars = loadInventory(info.inventoryPath).varsOf('lab-hv');
    transport = transportForHost('lab-hv', vars, { sshConfigFile: false });
  }

  /** Runs a read-only command on the lab host; fails the test on a non-zero exit. */
  async function read(cmd: Command): Promise<string> {
    const r = await transport!.run(cmd);
    assert.equal(r.exitCode, 0, `${r.command}: exit ${r.exitCode}\n${r.stderr}`);
    return r.stdout;
  }

  /** Validates params, plans (check mode: plan only), applies, and records how long it took. */
  async function run<P>(mod: TaskModule<P>, input: Record<string, unknown>, opts: { check?: boolean; label?: string } = {}): Promise<Outcome> {
    const params = mod.params.parse(input);
    const ctx = createTaskContext({ host: 'lab-hv', transport: transport!, check: opts.check ?? false });
    const t0 = Date.now();
    try {
      // as the engine does: read + decide with the force guard, then the steps and the module's result
      const plan = await planTask(mod, ctx, params);
      if ('refused' in plan) throw new TaskFailedError(plan.refused, plan.data ?? {});
      if (!plan.changed || opts.check) return { plan, data: plan.data ?? {} };
      const data = await applyPlan(mod, ctx, params, plan);
      return { plan, data };
    } finally {
      timings.push({ section, step: opts.label ?? `${mod.name} ${JSON.stringify(input)}`, seconds: (Date.now() - t0) / 1000 });
    }
  }

  /** Runs a task that must change something, then runs it again: the second run must be "no change" with a reason. */
  async function changesOnce<P>(mod: TaskModule<P>, input: Record<string, unknown>, label: string, reason: RegExp): Promise<Record<string, unknown>> {
    const first = await run(mod, input, { label });
    assert.equal(first.plan.changed, true, `${label}: expected a change, got: ${JSON.stringify(first.plan)}`);
    const again = await run(mod, input, { label: `${label} (second run)` });
    assert.ok(!again.plan.changed, `${label}: the second run changed again: ${JSON.stringify(again.plan)}`);
    assert.match(again.plan.reason, reason);
    return first.data;
  }

  /** `lvs` of vg1 as {name: [size bytes, origin]}, read back independently of the module's parser. */
  async function lvsNow(): Promise<Record<string, [number, string]>> {
    const out = await read(sh`lvs --noheadings --units b --nosuffix --separator : -o lv_name,lv_size,origin ${VG}`);
    const lvs: Record<string, [number, string]> = {};
    for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const [name, size, origin] = line.split(':');
      lvs[name!] = [Number(size), origin ?? ''];
    }
    return lvs;
  }

  async function blkid(dev: string): Promise<Record<string, string>> {
    const r = await transport!.run(sh`blkid -p -o export ${dev}`);
    const kv: Record<string, string> = {};
    for (const l of r.stdout.split('\n')) {
      const i = l.indexOf('=');
      if (i > 0) kv[l.slice(0, i)] = l.slice(i + 1);
    }
    return kv;
  }

  const sha256 = async (dev: string): Promise<string> => (await read(sh`sha256sum ${dev}`)).split(' ')[0]!;
  const isBlock = async (dev: string): Promise<boolean> => (await transport!.run(sh`test -b ${dev}`)).exitCode === 0;
  const bytesOf = async (dev: string): Promise<number> => Number((await read(sh`blockdev --getsize64 ${dev}`)).trim());
  const mountSource = async (path: string): Promise<string> => (await transport!.run(sh`findmnt -n -o SOURCE,OPTIONS --mountpoint ${path}`)).stdout.trim();

  /** Expects plan to refuse with `message`, and the LVs and the guest disk's signature to be unchanged. */
  async function refuses<P>(mod: TaskModule<P>, input: Record<string, unknown>, message: RegExp, label: string): Promise<void> {
    const lvsBefore = await lvsNow();
    await assert.rejects(run(mod, input, { label }), (e: unknown) => {
      assert.ok(e instanceof TaskFailedError, String(e));
      assert.match(e.message, message);
      return true;
    });
    assert.deepEqual(await lvsNow(), lvsBefore);
  }

  /** Steps 1-4 of the seed: rename, a new LV of the same size, one bootable partition, mapped with kpartx. */
  async function prepareNewDisk(): Promise<void> {
    await changesOnce(lvmModule, { vg: VG, lv: OLD, from: LV, state: 'renamed' }, 'lvm renamed', /already renamed/);
    let lvs = await lvsNow();
    assert.deepEqual(Object.keys(lvs), [OLD]);
    await changesOnce(lvmModule, { vg: VG, lv: LV, size_of: OLD, state: 'present' }, 'lvm present size_of', /vg1\/xr1-disk exists \(572 MiB\)/);
    lvs = await lvsNow();
    assert.equal(lvs[LV]![0], lvs[OLD]![0], 'the new LV has the old one\'s size to the byte');
    assert.deepEqual(await blkid(DISK), {}, 'lvcreate -W y leaves no signature on the new LV');

    const partParams = { device: DISK, label: 'msdos', partitions: [{ start: '1M', size: 'rest', type: 'linux', bootable: true }] };
    const checked = await run(partitionModule, partParams, { check: true, label: 'partition (check mode)' });
    assert.equal(checked.plan.changed, true);
    assert.equal((await transport!.run(sh`sfdisk --json ${DISK}`)).exitCode, 1, 'check mode wrote no table');
    const data = await changesOnce(partitionModule, partParams, 'partition', /already has this dos table \(1 partition\)/);
    assert.deepEqual(data.partitions, [PART]);
    assert.equal(data.needs_map, true, 'the result says an LV needs partition_map');
    const table = JSON.parse(await read(sh`sfdisk --json ${DISK}`)) as { partitiontable: { label: string; partitions: { start: number; size: number; type: string; bootable?: boolean }[] } };
    assert.equal(table.partitiontable.label, 'dos');
    assert.deepEqual(table.partitiontable.partitions.map(({ start, size, type, bootable }) => ({ start, size, type, bootable })), [
      { start: 2048, size: lvs[LV]![0] / 512 - 2048, type: '83', bootable: true },
    ]);
    assert.equal(await isBlock(PART), false, 'the kernel does not partition-scan an LV');

    const mapped = await changesOnce(partitionMapModule, { device: DISK, state: 'mapped' }, 'partition_map mapped', /the 1 partition\(s\) of \/dev\/vg1\/xr1-disk are mapped/);
    assert.deepEqual(mapped.partitions, [PART]);
    assert.equal(await isBlock(PART), true);
    assert.equal(await bytesOf(PART), (lvs[LV]![0] / 512 - 2048) * 512);
    await changesOnce(partitionMapModule, { device: DISK, state: 'unmapped' }, 'partition_map unmapped', /no partition maps of \/dev\/vg1\/xr1-disk exist/);
    assert.equal(await isBlock(PART), false);
    assert.equal((await run(partitionMapModule, { device: DISK, state: 'mapped' }, { label: 'partition_map mapped again' })).plan.changed, true);
    assert.equal(await isBlock(PART), true);
  }

  before(async function () {
    const missing = missingTools();
    if (missing.length > 0) {
      console.warn(`\n  !!! SKIPPING the storage lab e2e suite: missing ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client)\n`);
      this.skip();
    }
    if (process.env.FERRY_SKIP_E2E) {
      console.warn('\n  !!! SKIPPING the storage lab e2e suite: FERRY_SKIP_E2E is set (unset it to run the storage modules in the lab VM)\n');
      this.skip();
    }
    await labUp();
    // The lab is shared: start from the pristine state whatever an earlier run left.
    const t0 = Date.now();
    info = await labReset();
    timings.push({ section, step: 'labReset', seconds: (Date.now() - t0) / 1000 });
    await connect();
    pristineUuid = (await blkid(DISK)).UUID ?? '';
    assert.match(pristineUuid, /^[0-9a-f-]{36}$/);
    pristineSha = await sha256(DISK);
  });

  after(async function () {
    await transport?.close().catch(() => undefined);
    if (timings.length) {
      console.log('\n      step times in the lab VM (TCG):');
      for (const t of timings) console.log(`      ${t.section.padEnd(12)} ${t.seconds.toFixed(1).padStart(6)} s  ${t.step}`);
      // The sequence as a playbook runs it: each task once, without this test's second runs, check-mode plans and refusals.
      const once = (t: { step: string }): boolean => !/\((second run|check mode)\)$|^refuse:/.test(t.step);
      const sum = (s: string, all: boolean): string => timings.filter((t) => t.section === s && (all || once(t))).reduce((a, t) => a + t.seconds, 0).toFixed(1);
      for (const [s, what] of [['method A', 'mkfs + rsync'], ['method B', 'snapshot + shrink + dd']]) {
        console.log(`      ${s} (${what}): the sequence ${sum(s!, false)} s; with second runs and refusals ${sum(s!, true)} s`);
      }
    }
    // The lab is shared and TCG keeps a CPU busy: stop it unless the developer wants it kept.
    if (info && !process.env.FERRY_LAB_KEEP) await labDown();
  });

  describe('on the pristine lab', () => {
    before(() => {
      section = 'pristine';
    });

    it('check mode: planning the whole sequence changes nothing', async () => {
      const lvsBefore = await lvsNow();
      const outcomes: Record<string, string> = {};
      const plans: [string, TaskModule<never>, Record<string, unknown>][] = [
        ['renamed', lvmModule as TaskModule<never>, { vg: VG, lv: OLD, from: LV, state: 'renamed' }],
        ['present', lvmModule as TaskModule<never>, { vg: VG, lv: LV, size_of: OLD, state: 'present' }],
        ['partition', partitionModule as TaskModule<never>, { device: DISK, partitions: [{ start: '1M', size: 'rest', bootable: true }] }],
        ['snapshot', lvmModule as TaskModule<never>, { vg: VG, lv: SNAP, origin: LV, size: '20%ORIGIN', state: 'snapshot' }],
        ['checked', filesystemModule as TaskModule<never>, { dev: DISK, state: 'checked' }],
        ['resized', filesystemModule as TaskModule<never>, { dev: DISK, state: 'resized', size: '400M', force: true }],
        ['mkfs', filesystemModule as TaskModule<never>, { dev: DISK, uuid: pristineUuid, force: true }],
        ['absent', lvmModule as TaskModule<never>, { vg: VG, lv: LV, state: 'absent', force: true }],
      ];
      for (const [name, mod, input] of plans) {
        try {
          const { plan } = await run(mod, input, { check: true, label: `check: ${name}` });
          outcomes[name] = plan.changed ? `changed: ${plan.steps.map((s) => s.title).join('; ')}` : `ok: ${plan.reason}`;
        } catch (e) {
          outcomes[name] = `failed: ${(e as Error).message}`;
        }
      }
      assert.equal(outcomes.renamed, 'changed: rename vg1/xr1-disk to xr1-disk-old');
      assert.match(outcomes.present!, /^ok: vg1\/xr1-disk exists/);
      // The pristine LV holds the guest's filesystem: repartitioning it needs force, even in check mode.
      assert.match(outcomes.partition!, /^failed: refusing to repartition \/dev\/vg1\/xr1-disk without force: true: it holds a ext4 signature/);
      assert.match(outcomes.snapshot!, /^changed: create vg1\/xr1-disk-ferry-snap/);
      assert.match(outcomes.checked!, /^ok: e2fsck -f -n found no errors/);
      assert.match(outcomes.resized!, /^changed: e2fsck -f -y .*; resize2fs \/dev\/vg1\/xr1-disk 409600K \(shrink 572 MiB → 400 MiB\)$/);
      assert.match(outcomes.mkfs!, /^ok: \/dev\/vg1\/xr1-disk already has a ext4 filesystem/);
      assert.equal(outcomes.absent, 'changed: remove vg1/xr1-disk');
      assert.deepEqual(await lvsNow(), lvsBefore);
      assert.equal((await blkid(DISK)).UUID, pristineUuid);
      assert.equal(await sha256(DISK), pristineSha, 'not a byte of the guest disk changed');
    });

    it('refuses: partition over a filesystem, lvremove without force, an LV bigger than the VG', async () => {
      await refuses(partitionModule, { device: DISK, partitions: [{ size: 'rest', bootable: true }] }, /refusing to repartition \/dev\/vg1\/xr1-disk without force: true: it holds a ext4 signature at offset 1080/, 'refuse: partition');
      assert.equal((await blkid(DISK)).TYPE, 'ext4');
      assert.equal((await transport!.run(sh`sfdisk --json ${DISK}`)).exitCode, 1, 'no partition table was written');
      await refuses(lvmModule, { vg: VG, lv: LV, state: 'absent' }, /refusing to remove vg1\/xr1-disk \(572 MiB\) without force: true/, 'refuse: lvm absent');
      await refuses(lvmModule, { vg: VG, lv: 'too-big', size: '100G' }, /vg1\/too-big: 100 GiB does not fit in vg1 \(3\.4 GiB free\)/, 'refuse: lvcreate 100G');
      assert.equal(await sha256(DISK), pristineSha);
    });
  });

  describe('copy method A: mkfs with the old UUID, then rsync', () => {
    before(() => {
      section = 'method A';
    });

    it('renames, creates the new LV, partitions it and maps the partition', prepareNewDisk);

    it('makes ext4 on the partition with the old filesystem\'s UUID', async () => {
      const uuid = (await read(sh`blkid -s UUID -o value ${OLD_DISK}`)).trim();
      assert.equal(uuid, pristineUuid);
      const data = await changesOnce(filesystemModule, { dev: PART, fstype: 'ext4', uuid }, 'filesystem present (old UUID)', /already has a ext4 filesystem \(UUID /);
      assert.equal(data.uuid, uuid);
      const sig = await blkid(PART);
      assert.equal(sig.TYPE, 'ext4');
      assert.equal(sig.UUID, uuid);
    });

    it('mounts the old filesystem read-only and the new one', async () => {
      await changesOnce(mountModule, { path: OLD_ROOT, src: OLD_DISK, opts: 'ro,noload', state: 'mounted' }, 'mount old ro,noload', /is already mounted on \/mnt\/ferry\/xr1-old/);
      assert.match(await mountSource(OLD_ROOT), /^\/dev\/mapper\/vg1-xr1--disk--old ro,/);
      await changesOnce(mountModule, { path: ROOT, src: PART, state: 'mounted' }, 'mount new', /is already mounted on \/mnt\/ferry\/xr1/);
      assert.match(await mountSource(ROOT), /^\/dev\/mapper\/vg1-xr1--disk1 rw,/);
      // A mounted filesystem is not made again, whatever name the device is given by.
      await assert.rejects(run(filesystemModule, { dev: OLD_DISK, state: 'checked' }, { label: 'refuse: fsck while mounted' }), /is mounted on \/mnt\/ferry\/xr1-old/);
    });

    it('copies the root with rsync (preset rootfs); a second rsync has nothing to copy', async () => {
      // Never into the lab host's own root: both filesystems must be mounted.
      assert.match(await mountSource(ROOT), /^\/dev\/mapper\/vg1-xr1--disk1 /);
      assert.match(await mountSource(OLD_ROOT), /^\/dev\/mapper\/vg1-xr1--disk--old /);
      const data = await changesOnce(rsyncModule, { src: `${OLD_ROOT}/`, dest: `${ROOT}/`, preset: 'rootfs' }, 'rsync rootfs', /rsync --dry-run finds nothing to copy/);
      assert.ok(Number(data.changes) > 1000, `itemized changes: ${String(data.changes)}`);
      assert.equal((await read(sh`cat ${`${ROOT}/etc/hostname`}`)).trim(), 'xr1');
      // Same tree, owners, modes and file sizes on both sides (the preset leaves /dev, /tmp, /run... out;
      // a directory's own size depends on its history, so only regular files' sizes count).
      const list = (root: string): Command =>
        sh`cd ${root} && find etc usr var boot -xdev \\( -type f -printf '%p %U:%G %m %s\\n' \\) -o -printf '%p %U:%G %m %y\\n' | sort | sha256sum`;
      assert.equal(await read(list(ROOT)), await read(list(OLD_ROOT)));
    });

    it('unmounts both; the source was never written', async () => {
      await changesOnce(mountModule, { path: OLD_ROOT, state: 'unmounted' }, 'unmount old', /nothing is mounted on \/mnt\/ferry\/xr1-old/);
      await changesOnce(mountModule, { path: ROOT, state: 'unmounted' }, 'unmount new', /nothing is mounted on \/mnt\/ferry\/xr1/);
      assert.equal(await mountSource(ROOT), '');
      assert.equal(await sha256(OLD_DISK), pristineSha);
      const check = await run(filesystemModule, { dev: PART, state: 'checked' }, { label: 'filesystem checked (new)' });
      assert.ok(!check.plan.changed, JSON.stringify(check.plan));
    });
  });

  describe('copy method B: snapshot, shrink the snapshot, dd (the source is never written)', () => {
    before(async () => {
      section = 'method B';
      const t0 = Date.now();
      info = await labReset();
      timings.push({ section: 'setup', step: 'labReset', seconds: (Date.now() - t0) / 1000 });
      await connect();
      assert.equal(await sha256(DISK), pristineSha, 'labReset restored the pristine guest disk');
    });

    it('renames, creates the new LV, partitions it and maps the partition', prepareNewDisk);

    let fsBytes = 0;
    it('snapshots the old LV, checks and shrinks the filesystem on the snapshot to the partition', async () => {
      const snap = { vg: VG, lv: SNAP, origin: OLD, size: '20%ORIGIN', state: 'snapshot' };
      await changesOnce(lvmModule, snap, 'lvm snapshot 20%ORIGIN', /vg1\/xr1-disk-ferry-snap exists/);
      const lvs = await lvsNow();
      assert.equal(lvs[SNAP]![1], OLD);
      assert.ok(lvs[SNAP]![0] >= 0.2 * lvs[OLD]![0], `snapshot size ${lvs[SNAP]![0]}`);

      const checked = await run(filesystemModule, { dev: SNAP_DISK, state: 'checked' }, { label: 'filesystem checked (snapshot)' });
      assert.ok(!checked.plan.changed, JSON.stringify(checked.plan));
      assert.match(checked.plan.reason, /e2fsck -f -n found no errors on \/dev\/vg1\/xr1-disk-ferry-snap/);

      const resize = { dev: SNAP_DISK, state: 'resized', size_of_device: PART };
      await assert.rejects(run(filesystemModule, resize, { label: 'refuse: shrink without force' }), /refusing to shrink the filesystem on \/dev\/vg1\/xr1-disk-ferry-snap from 572 MiB to 571 MiB without force: true/);
      const data = await changesOnce(filesystemModule, { ...resize, force: true }, 'filesystem resized (shrink the snapshot)', /already 571 MiB \(the size of \/dev\/mapper\/vg1-xr1--disk1\)/);
      const partBytes = await bytesOf(PART);
      fsBytes = Number(data.size_bytes);
      assert.equal(fsBytes, Math.floor(partBytes / 4096) * 4096);
      const head = await read(sh`dumpe2fs -h ${SNAP_DISK}`);
      assert.equal(Number(/^Block count:\s+(\d+)/m.exec(head)![1]) * 4096, fsBytes);
    });

    it('copies the snapshot onto the partition with dd and verifies it (sha256); a second run finds them equal', async () => {
      // The snapshot is as big as the old LV, the partition 1 MiB smaller: copying the whole device cannot fit,
      // so the size is the shrunk filesystem's (what filesystem resized returns as size_bytes).
      await assert.rejects(
        run(blockcopyModule, { src: SNAP_DISK, dest: PART }, { label: 'refuse: blockcopy the whole snapshot' }),
        /\/dev\/mapper\/vg1-xr1--disk1 on lab-hv holds 571 MiB, less than the 572 MiB to copy/,
      );
      const data = await changesOnce(blockcopyModule, { src: SNAP_DISK, dest: PART, size: fsBytes, verify: 'sha256' }, 'blockcopy snapshot → partition', /already equal \/dev\/vg1\/xr1-disk-ferry-snap/);
      assert.equal(data.verified, true);
      assert.equal(data.bytes, fsBytes);
      assert.equal((await read(sh`head -c ${fsBytes} ${PART} | sha256sum`)).split(' ')[0], data.sha256);
      const check = await run(filesystemModule, { dev: PART, state: 'checked' }, { label: 'filesystem checked (partition)' });
      assert.ok(!check.plan.changed, JSON.stringify(check.plan));
      const sig = await blkid(PART);
      assert.equal(sig.TYPE, 'ext4');
      assert.equal(sig.UUID, pristineUuid, 'dd keeps the filesystem UUID');
    });

    it('removes the snapshot (force); the old LV is byte for byte what it was', async () => {
      await refuses(lvmModule, { vg: VG, lv: SNAP, state: 'absent' }, /refusing to remove vg1\/xr1-disk-ferry-snap .* without force: true/, 'refuse: snapshot absent');
      await changesOnce(lvmModule, { vg: VG, lv: SNAP, state: 'absent', force: true }, 'lvm absent (snapshot)', /vg1\/xr1-disk-ferry-snap does not exist/);
      assert.deepEqual(Object.keys(await lvsNow()).sort(), [LV, OLD]);
      const t0 = Date.now();
      assert.equal(await sha256(OLD_DISK), pristineSha);
      timings.push({ section: 'check', step: 'sha256 of the -old LV (572 MiB) inside the VM', seconds: (Date.now() - t0) / 1000 });
      await run(partitionMapModule, { device: DISK, state: 'unmapped' }, { label: 'partition_map unmapped' });
      assert.equal(await isBlock(PART), false);
    });
  });
});
