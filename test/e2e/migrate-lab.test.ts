// The main job, for real: playbooks/xen-to-kvm.yaml converts the lab's Xen PV guest (an
// unpartitioned ext4 in LV vg1/xr1-disk) over SSH in the lab VM, and the converted disk boots under
// KVM (libvirt, TCG) to GRUB and a login prompt. The source LV is never written to. An xfs root made
// of the same files (xf1) converts on the rsync route and boots too, and the dd route refuses it.
// (The dd route's storage sequence runs for real in storage-lab.test.ts.)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { runPlaybookFile } from '../../app/api.js';
import { xenImport } from '../../app/xen-import-run.js';
import { DATA_GUEST_VARS, makeDataGuests, PARTITION_OFFSET, runStandInGuest, writeGuestInventory } from '../../lab/data-guests.js';
import { exportLv } from '../../lab/export-lv.js';
import { say } from '../../lab/exec.js';
import { labDown, labKvmHostDown, labKvmHostUp, labReset, labSsh, labStatus, labUp, type LabInfo, type LabVmInfo } from '../../lab/lab.js';
import { ensureLibvirtd } from '../../lab/libvirtd.js';
import { bootExportedDisk, LAB_OUT_DIR, labMigrate, type LabMigration } from '../../lab/migrate.js';
import { formatMigrationRecap, migrationRecap, type GuestRecap } from '../../app/migration-recap.js';
import { labPaths } from '../../lab/paths.js';
import { ensureSystemPackages } from '../../lab/system-packages.js';
import { CollectingReporter } from '../helpers/collect.js';
import { loadInventory } from '../../runner/inventory/index.js';
import type { FerryEvent } from '../../runner/events.js';
import { cutConnectionDuring, ferryCli, guestRootUsage } from './helpers/faults.js';

const REQUIRED_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ssh-keygen'];
const ROOT = path.resolve(import.meta.dirname, '../..');

/** The lab host's commands that make the guest root mounted at `mnt` a guest of its own: its name on the login prompt. */
function ownName(mnt: string, name: string): string[] {
  return [`echo ${name} > ${mnt}/etc/hostname`, `printf '127.0.0.1\\tlocalhost\\n127.0.1.1\\t${name}\\n' > ${mnt}/etc/hosts`];
}

type Result = Extract<FerryEvent, { type: 'task_result' }>;
/** A run's final results (items left out), of one host when given. */
const resultsOf = (events: FerryEvent[], host?: string): Result[] =>
  events.filter((e): e is Result => e.type === 'task_result' && e.item === undefined && (host === undefined || e.host === host));
/** Its failed results, shortened for an assertion's message. */
const failuresOf = (events: FerryEvent[]): string => JSON.stringify(resultsOf(events).filter((e) => e.status === 'failed')).slice(0, 3000);
/** The recap per guest that `ferry migrate` printed last, by guest name (guests run at once finish in either order). */
const recapsOf = (events: FerryEvent[]): GuestRecap[] =>
  (events.findLast((e) => e.type === 'summary') as { data: { guests: GuestRecap[] } }).data.guests.toSorted((a, b) => a.guest.localeCompare(b.guest));

/** The sha256 of LV vg1/NAME-disk on `vm`, block for block. */
const lvSum = async (vm: LabVmInfo, name: string): Promise<string> => (await labSsh(vm, `sha256sum /dev/vg1/${name}-disk`)).stdout.split(' ')[0]!;
/** The sha256 of the data file in data guest NAME's source on lab-hv (vg1/NAME-disk, or its partition 1, mounted read-only for the read). */
const sourceDataSum = async (lab: LabVmInfo, name: string, partitioned = false): Promise<string> => {
  const lv = `/dev/vg1/${name}-disk`;
  const dev = partitioned ? `$(losetup -f --show -r -o ${PARTITION_OFFSET} ${lv})` : lv;
  return (await labSsh(lab, `l=${dev}; d=$(mktemp -d); mount -o ro,noload $l $d && sha256sum $d/data | cut -d" " -f1; umount $d; rmdir $d${partitioned ? '; losetup -d $l' : ''}`)).stdout.trim();
};
/** The sha256 of the data file in its copy on `vm`, where the copy phase left it mounted. */
const copyDataSum = async (vm: LabVmInfo, name: string): Promise<string> => (await labSsh(vm, `sha256sum /mnt/ferry/${name}/data | cut -d" " -f1`)).stdout.trim();

/**
 * A data guest NAME in lab-hv's vg1 (partitioned already, or not) that moves to lab-kvm (its own
 * inventory in `dir`, with `vars`): the arguments of `ferry migrate` for its copy phase.
 */
async function movingDataGuest(lab: LabInfo, dir: string, name: string, o: { dataMb: number; lvMb: number; mac: string; vars?: Record<string, unknown>; partitioned?: boolean }): Promise<string[]> {
  await makeDataGuests(lab, [{ name, vg: 'vg1' }], { dataMb: o.dataMb, lvMb: o.lvMb, partitioned: o.partitioned ?? false });
  const inv = path.join(dir, `${name}-guests.yaml`);
  writeGuestInventory(inv, { [name]: { vg: 'vg1', lv: `${name}-disk`, mac: o.mac, kvmHost: 'lab-kvm', ...(o.vars ? { vars: o.vars } : {}) } });
  return ['migrate', name, '--tags', 'copy', '-i', lab.inventoryPath, '-i', inv, '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'];
}

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

  it('preflight refuses guests it cannot convert, before any change, with the reason, in --check too', async () => {
    // Five shapes made for the test on the lab host: a partitioned LV with no root filesystem in
    // it (an empty partition), an ext4 guest bigger than the room left in its VG, and one whose fstab
    // mounts /boot from a disk of its own (the last two also too small inside for a conversion); an
    // xfs guest whose fstab mounts /var from a disk of its own (xfs has no debugfs: preflight
    // reads its fstab through a read-only mount in a mount namespace of its own); and an ext4 guest
    // with room enough for GRUB and an initramfs but not for the kernel the conversion must install,
    // since it has none with virtio_blk. xr8 and xr6 have such a kernel (as a config and as a module
    // file), so preflight asks them for the smaller room only.
    await labSsh(lab, [
      'set -e',
      'lvcreate -q -y -L 32M -n xr9-disk vg1',
      "printf 'start=2048, type=83, bootable\\n' | sfdisk -q /dev/vg1/xr9-disk",
      // (a filler LV takes vg0's room, so no big LV has to be written or hashed under TCG)
      'free=$(vgs --noheadings --units m --nosuffix -o vg_free vg0 | tr -d " " | cut -d. -f1)',
      'lvcreate -q -y -L $((free - 96))M -n ferry-filler vg0',
      'lvcreate -q -y -L 64M -n xr8-disk vg0',
      'mkfs.ext4 -q /dev/vg0/xr8-disk',
      'mkdir -p /mnt/xr8 && mount /dev/vg0/xr8-disk /mnt/xr8 && mkdir /mnt/xr8/etc /mnt/xr8/boot',
      'touch /mnt/xr8/boot/vmlinuz-6.1.0-9-amd64 && echo CONFIG_VIRTIO_BLK=y > /mnt/xr8/boot/config-6.1.0-9-amd64',
      "echo '/dev/xvda1 / ext4 defaults 0 1' > /mnt/xr8/etc/fstab && umount /mnt/xr8 && rmdir /mnt/xr8",
      'lvcreate -q -y -L 32M -n xr7-disk vg1',
      'mkfs.ext4 -q /dev/vg1/xr7-disk',
      'mkdir -p /mnt/xr7 && mount /dev/vg1/xr7-disk /mnt/xr7 && mkdir /mnt/xr7/etc',
      String.raw`printf '/dev/xvda2 / ext4 errors=remount-ro 0 1\n/dev/xvda1 /boot ext2 defaults 0 2\n' > /mnt/xr7/etc/fstab`,
      'umount /mnt/xr7 && rmdir /mnt/xr7',
      'lvcreate -q -y -L 320M -n xr6-disk vg1',
      'mkfs.xfs -q /dev/vg1/xr6-disk',
      'mkdir -p /mnt/xr6 && mount /dev/vg1/xr6-disk /mnt/xr6 && mkdir /mnt/xr6/etc',
      String.raw`printf 'UUID=5d1b0a57-1c2e-4d3f-8a9b-0c1d2e3f4a5b / xfs defaults 0 0
/dev/xvdb /var xfs defaults 0 0
' > /mnt/xr6/etc/fstab`,
      'mkdir -p /mnt/xr6/boot /mnt/xr6/lib/modules/6.1.0-9-amd64/kernel/drivers/block && touch /mnt/xr6/boot/vmlinuz-6.1.0-9-amd64 /mnt/xr6/lib/modules/6.1.0-9-amd64/kernel/drivers/block/virtio_blk.ko.xz',
      'umount /mnt/xr6 && rmdir /mnt/xr6',
      'lvcreate -q -y -L 256M -n xr5-disk vg1',
      'mkfs.ext4 -q /dev/vg1/xr5-disk',
      'mkdir -p /mnt/xr5 && mount /dev/vg1/xr5-disk /mnt/xr5 && mkdir /mnt/xr5/etc /mnt/xr5/boot && touch /mnt/xr5/boot/vmlinuz-2.6.32-5-xen-amd64',
      "echo '/dev/xvda1 / ext4 defaults 0 1' > /mnt/xr5/etc/fstab && umount /mnt/xr5 && rmdir /mnt/xr5",
    ].join('\n'));
    try {
      const guests = path.join(tmp, 'more-guests.yaml');
      const guest = (vg: string, lv: string, mac: string) => ({ vg, lv, mac });
      writeGuestInventory(guests, { xr9: guest('vg1', 'xr9-disk', '00:16:3e:4c:52:09'), xr8: guest('vg0', 'xr8-disk', '00:16:3e:4c:52:08'), xr7: guest('vg1', 'xr7-disk', '00:16:3e:4c:52:07'), xr6: guest('vg1', 'xr6-disk', '00:16:3e:4c:52:06'), xr5: guest('vg1', 'xr5-disk', '00:16:3e:4c:52:05') });
      // (and no folder or mount left by the read of xr6's fstab)
      const state = async () => (await labSsh(lab, "lvs --noheadings -o vg_name,lv_name,lv_size; sha256sum /dev/vg1/xr9-disk /dev/vg0/xr8-disk /dev/vg1/xr7-disk /dev/vg1/xr6-disk /dev/vg1/xr5-disk; ls -d /tmp/tmp.* 2>/dev/null; grep ' /tmp/' /proc/mounts; true")).stdout;
      const before = await state();
      for (const check of [true, false]) {
        const rep = new CollectingReporter();
        const r = await runPlaybookFile(path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), {
          inventory: [lab.inventoryPath, guests], limit: 'xr5:xr6:xr7:xr8:xr9', reporter: rep, check, extraVars: { kvm_define: false },
        });
        assert.notEqual(r.exitCode, 0);
        const pre = (g: string) => rep.results().find((x) => x.host === g && x.task.startsWith('preflight'));
        assert.equal(pre('xr9')?.status, 'failed');
        assert.match(pre('xr9')?.msg ?? '', /xr9: refused before any change:[\s\S]*\/dev\/vg1\/xr9-disk holds a dos partition table/);
        assert.equal(pre('xr8')?.status, 'failed');
        assert.match(pre('xr8')?.msg ?? '', /xr8: refused before any change:[\s\S]*volume group vg0 has \d+ MiB free; the new LV needs \d+ MiB/);
        assert.equal(pre('xr7')?.status, 'failed');
        assert.match(pre('xr7')?.msg ?? '', /xr7: refused before any change:\n\s*- the guest's fstab mounts \/boot from \/dev\/xvda1; ferry converts guests whose \/boot, \/usr and \/var are on the root filesystem/);
        assert.equal(pre('xr6')?.status, 'failed');
        assert.match(pre('xr6')?.msg ?? '', /xr6: refused before any change:\n\s*- the guest's fstab mounts \/var from \/dev\/xvdb; ferry converts guests whose \/boot, \/usr and \/var are on the root filesystem \(the kernel, initramfs and GRUB are installed there\)\s*$/);
        // both small guests have too little room inside for the conversion (dumpe2fs reads, never
        // writes): xr8 has a kernel that boots under KVM, xr7 has none, so its copy gets one too
        assert.match(pre('xr8')?.msg ?? '', /- the guest's root filesystem has \d+ MiB free; the conversion writes up to about 128 MiB into it \(GRUB/);
        assert.match(pre('xr7')?.msg ?? '', /- the guest's root filesystem has \d+ MiB free; it has no kernel that boots under KVM \(none with virtio_blk\), so the conversion installs one and writes up to about 640 MiB into it \(512 for the kernel/);
        // xr5 (its one kernel a Xen-only build) has room for all but the kernel, and that is its only problem
        assert.equal(pre('xr5')?.status, 'failed');
        assert.match(pre('xr5')?.msg ?? '', /xr5: refused before any change:\n\s*- the guest's root filesystem has (1[3-9]\d|[2-5]\d\d) MiB free; it has no kernel that boots under KVM[^\n]*guest_kernel_mb lower[^\n]*\s*$/);
        // nothing after the preflight ran for either guest
        assert.deepEqual(rep.results().filter((x) => x.status === 'changed').map((x) => `${x.host}: ${x.task}`), []);
      }
      assert.equal(await state(), before, 'a refused guest was changed');
    } finally {
      await labSsh(lab, 'lvremove -q -y vg1/xr9-disk vg0/xr8-disk vg1/xr7-disk vg1/xr6-disk vg1/xr5-disk vg0/ferry-filler');
    }
  });

  it('xen-import finds a root named by UUID= or LABEL= among several LVs by their filesystems (blkid on the hypervisor, nothing written); a label no LV has stays a guess, warned', async () => {
    // xen-tools' layout with the root named by its filesystem: in xl's root (UUID=) and in extra
    // (LABEL=); tiny LVs, read by blkid only; the configs in a folder of their own
    const dir = '/tmp/ferry-xen-by-id';
    const cfg = (name: string, root: string, extra: string) => [
      `cat > ${dir}/${name}.cfg <<'CFG'`,
      `name = '${name}'`,
      'memory = 256',
      "bootloader = 'pygrub'",
      ...(root ? [`root = '${root}'`] : []),
      `extra = '${extra}'`,
      `disk = ['phy:/dev/vg0/xu1-swap,xvda1,w', 'phy:/dev/vg0/xu1-disk,xvda2,w', 'phy:/dev/vg1/xu1-data,xvdb,w']`,
      "vif = ['mac=00:16:3e:4c:52:21,bridge=br0']",
      'CFG',
    ];
    const made = await labSsh(lab, [
      'set -e',
      `mkdir -p ${dir}`,
      'lvcreate -q -y -L 8M -n xu1-swap vg0 && mkswap -q /dev/vg0/xu1-swap',
      'lvcreate -q -y -L 16M -n xu1-disk vg0 && mkfs.ext4 -q -L xu1-root /dev/vg0/xu1-disk',
      'lvcreate -q -y -L 8M -n xu1-data vg1 && mkfs.ext4 -q -L xu1-data /dev/vg1/xu1-data',
      ...cfg('xu1', 'UUID=$(blkid -p -s UUID -o value /dev/vg0/xu1-disk) ro', 'console=hvc0').map((l) => l.replace("<<'CFG'", '<<CFG')),
      ...cfg('xu2', '', 'root=LABEL=xu1-root console=hvc0').map((l) => l.replace("name = 'xu1'", "name = 'xu2'")),
      ...cfg('xu3', '', 'root=LABEL=no-such-label').map((l) => l.replace("name = 'xu1'", "name = 'xu3'")),
      'sha256sum /dev/vg0/xu1-swap /dev/vg0/xu1-disk /dev/vg1/xu1-data',
    ].join('\n'));
    try {
      let out = '';
      let err = '';
      const io = {
        stdout: new Writable({ write: (c, _e, cb) => void ((out += String(c)), cb()) }),
        stderr: new Writable({ write: (c, _e, cb) => void ((err += String(c)), cb()) }),
      };
      const code = await xenImport(['lab-hv'], { inventory: [lab.inventoryPath], path: [`${dir}/*.cfg`], include: [], exclude: [], json: true }, io);
      assert.equal(code, 0, err);
      const hosts = (JSON.parse(out) as { xen_guests: { hosts: Record<string, { lv: string; root_device?: string; extra_disks?: { xen: string; kvm: string }[] }> } }).xen_guests.hosts;
      const disks = (h: string) => ({ lv: hosts[h]!.lv, root_device: hosts[h]!.root_device, extra: hosts[h]!.extra_disks?.map((d) => `${d.xen}->${d.kvm}`) });
      const found = { lv: 'xu1-disk', root_device: 'xvda2', extra: ['xvda1->vdb', 'xvdb->vdc'] };
      assert.deepEqual(disks('xu1'), found, 'root=UUID= in xl\'s root');
      assert.deepEqual(disks('xu2'), found, 'root=LABEL= in extra');
      // a label no LV has: the first LV is a guess, and said to be one (on stderr)
      assert.equal(hosts.xu3!.lv, 'xu1-swap');
      assert.match(err, /xu3\.cfg: guest xu3 has 3 LV-backed disks and root=LABEL=no-such-label is the filesystem of none of them \(blkid on the hypervisor\): lv is a guess/);
      assert.doesNotMatch(err, /guest xu[12] /);
      const after = await labSsh(lab, 'sha256sum /dev/vg0/xu1-swap /dev/vg0/xu1-disk /dev/vg1/xu1-data');
      assert.equal(after.stdout, made.stdout.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l)).join('\n') + '\n', 'blkid wrote to an LV');
    } finally {
      await labSsh(lab, `lvremove -q -y vg0/xu1-swap vg0/xu1-disk vg1/xu1-data; rm -rf ${dir}`);
    }
  });

  it('four guests in two volume groups, --forks 4, the copy phase only (--tags copy): at most one copy per VG at a time, the two VGs at the same time, the sources unchanged', async () => {
    // Small guests made for the test (not bootable: only their copy is under test): t1, t2 in vg0
    // and t3, t4 in vg1, each an ext4 LV holding 24 MiB of random data.
    lab = await labReset();
    const guests = ['t1', 't2', 't3', 't4'];
    const vgOf = (g: string) => (g === 't1' || g === 't2' ? 'vg0' : 'vg1');
    await makeDataGuests(lab, guests.map((g) => ({ name: g, vg: vgOf(g) })), { dataMb: 24, lvMb: 64 });
    const sums = async () => (await labSsh(lab, `sha256sum ${guests.map((g) => `/dev/${vgOf(g)}/${g}-disk-old`).join(' ')}`)).stdout;
    const before = (await labSsh(lab, `sha256sum ${guests.map((g) => `/dev/${vgOf(g)}/${g}-disk`).join(' ')}`)).stdout;
    try {
      const inv = path.join(tmp, 'four-guests.yaml');
      writeGuestInventory(inv, Object.fromEntries(guests.map((g, i) => [g, { vg: vgOf(g), lv: `${g}-disk`, mac: `00:16:3e:4c:53:0${i}` }])));
      // every event with the time it arrived: a copy ran from (arrival - durationMs) to its arrival
      const timed: { at: number; ev: FerryEvent }[] = [];
      const reporter = { emit: (ev: FerryEvent) => void timed.push({ at: Date.now(), ev }), close: async () => {} };
      const r = await runPlaybookFile(path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), {
        // (guest_min_free_mb and guest_kernel_mb 0: these data-only guests, with no kernel, are copied, never converted)
        inventory: [lab.inventoryPath, inv], limit: guests.join(':'), forks: 4, tags: ['copy'], reporter, extraVars: DATA_GUEST_VARS,
      });
      const events = timed.map((t) => t.ev);
      assert.equal(r.exitCode, 0, JSON.stringify(events.filter((e) => e.type === 'task_result' && e.status === 'failed')));
      // (the copy phase's rsync; the pre-copy's, in the same phase, is skipped without precopy)
      const copies = timed.flatMap(({ at, ev }) => (ev.type === 'task_result' && ev.module === 'rsync' && ev.item === undefined && !ev.tags?.includes('precopy') ? [{ g: ev.host, status: ev.status, from: at - ev.durationMs, to: at }] : []));
      assert.deepEqual(copies.map((c) => c.status), ['changed', 'changed', 'changed', 'changed']);
      const overlap = (a: { from: number; to: number }, b: { from: number; to: number }) => a.from < b.to && b.from < a.to;
      const [c1, c2, c3, c4] = guests.map((g) => copies.find((c) => c.g === g)!);
      console.log(`      copies (ms from the first): ${copies.map((c) => `${c.g} ${c.from - copies[0]!.from}-${c.to - copies[0]!.from}`).join(', ')}`);
      assert.ok(!overlap(c1!, c2!), 'vg0 copied two guests at once');
      assert.ok(!overlap(c3!, c4!), 'vg1 copied two guests at once');
      assert.ok([c1, c2].some((a) => [c3, c4].some((b) => overlap(a!, b!))), 'the two volume groups never copied at the same time');
      const waited = events.flatMap((e) => (e.type === 'progress' && e.progress.message?.startsWith('waiting for lab-hv') ? [`${e.host}: ${e.progress.message}`] : []));
      console.log(`      ${waited.join('; ')}`);
      // the narrower key is taken first: one guest per VG waits for its VG, none holds the
      // hypervisor's slot meanwhile, and tasks whose `when` is false (the dd route) wait for nothing
      assert.deepEqual(waited.sort(), [
        `${c2!.from < c1!.from ? 't1' : 't2'}: waiting for lab-hv:vg0 (at most 1 at once)`,
        `${c4!.from < c3!.from ? 't3' : 't4'}: waiting for lab-hv:vg1 (at most 1 at once)`,
      ]);
      // the recap per guest: the preflight (tagged always) and the copy ran, nothing else
      const recap = migrationRecap(events).sort((a, b) => a.guest.localeCompare(b.guest));
      assert.deepEqual(recap.map((g) => [g.guest, g.result, g.method, Object.keys(g.phases).join(',')]), guests.map((g) => [g, 'done', 'rsync', 'preflight,copy']));
      assert.equal(await sums(), before.replaceAll('-disk\n', '-disk-old\n'), 'a source LV was written to');
    } finally {
      lab = await labReset();
    }
  });

  it('Ctrl-C during the copy of two guests, then --resume: the copy that finished is not redone, the cut one is finished, nothing keeps running on the host, the sources are unchanged', async () => {
    // The test above left the lab pristine (reset). Two guests of data, copied at once (two VGs):
    // s1 small, s2 big enough that its copy still runs when s1's ends — then SIGINT, as a user's Ctrl-C.
    await makeDataGuests(lab, [{ name: 's1', vg: 'vg0' }], { dataMb: 8, lvMb: 32 });
    await makeDataGuests(lab, [{ name: 's2', vg: 'vg1' }], { dataMb: 192, lvMb: 256 });
    const srcSums = async (suffix: string) => (await labSsh(lab, `sha256sum /dev/vg0/s1-disk${suffix} /dev/vg1/s2-disk${suffix}`)).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
    const before = await srcSums('');
    const cwd = fs.mkdtempSync(path.join(tmp, 'sigint-'));
    try {
      const inv = path.join(tmp, 'sigint-guests.yaml');
      writeGuestInventory(inv, { s1: { vg: 'vg0', lv: 's1-disk', mac: '00:16:3e:4c:54:01' }, s2: { vg: 'vg1', lv: 's2-disk', mac: '00:16:3e:4c:54:02' } });
      // -T 60: the lab VM is emulated, and a loaded machine makes its SSH handshake slow
      const base = ['run', path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), '-i', lab.inventoryPath, '-i', inv, '--limit', 's1:s2', '-f', '2', '--tags', 'copy', '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'];
      // (the copy phase's rsync; the pre-copy's, in the same phase, is skipped without precopy)
      const isCopy = (e: FerryEvent): e is Result => e.type === 'task_result' && e.module === 'rsync' && e.item === undefined && !e.tags?.includes('precopy');
      let s2Running = false;
      let interrupted = false;
      let cutS2 = false;
      const first = await ferryCli(base, cwd, (e, child) => {
        if (e.type === 'task_start' && e.module === 'rsync' && !e.tags?.includes('precopy')) s2Running ||= e.hosts.includes('s2');
        if (isCopy(e) && e.host === 's2') s2Running = false;
        if (isCopy(e) && e.host === 's1' && !interrupted) {
          interrupted = true;
          cutS2 = s2Running;
          child.kill('SIGINT');
        }
      });
      assert.ok(interrupted, `s1's copy never ended: ${first.stderr}`);
      assert.ok(cutS2, 's2\'s copy was not running when s1\'s ended: nothing was cut (make s2 bigger)');
      assert.equal(first.code, 130, `exit ${first.code} after SIGINT:\n${first.stderr}`);
      assert.match(first.stderr, /SIGINT: stopping the commands that run/);
      const copiesOf = (events: FerryEvent[]) => events.flatMap((e) => (isCopy(e) ? [`${e.host} ${e.status}`] : []));
      assert.deepEqual(copiesOf(first.events).filter((c) => c.startsWith('s1')), ['s1 changed']);
      // the cut copy was stopped on the host: nothing would race the resumed run
      const left = (await labSsh(lab, 'for i in $(seq 50); do pgrep -x rsync >/dev/null || break; sleep 0.2; done; pgrep -a -x rsync || echo none')).stdout.trim();
      assert.equal(left, 'none', `rsync still runs on the lab host after ferry stopped:\n${left}`);
      const partial = (await labSsh(lab, 'lvs --noheadings -o lv_name vg0 vg1')).stdout.split('\n').map((l) => l.trim()).filter((l) => /^s[12]-/.test(l)).sort();
      console.log(`      after Ctrl-C (exit ${first.code}): ${copiesOf(first.events).join(', ') || 'no copy ended'}; LVs ${partial.join(' ')}`);

      const second = await ferryCli([...base, '--resume'], cwd);
      assert.equal(second.code, 0, `the resumed run failed (exit ${second.code}):\n${second.stderr}\n${JSON.stringify(second.events.filter((e) => e.type === 'task_result' && e.status === 'failed')).slice(0, 3000)}`);
      // s1's copy completed: re-planned on resume (a module, not a command), rsync finds nothing to
      // copy; its new filesystem was not made again (one made afresh would be copied in full: changed)
      assert.deepEqual(copiesOf(second.events).sort(), ['s1 ok', 's2 changed']);
      // (the other routes' mkfs tasks are skipped by their `when`)
      const made = second.events.flatMap((e) => (e.type === 'task_result' && e.module === 'filesystem' && e.status !== 'skipped' ? [`${e.host} ${e.status}`] : [])).sort();
      assert.deepEqual(made, ['s1 ok', 's2 ok'], 'a new filesystem was made again on resume');
      console.log(`      --resume: ${copiesOf(second.events).join(', ')}`);
      // the sources, renamed to -old, hold what they held; s2's copy holds its whole file
      assert.deepEqual(await srcSums('-old'), before, 'a source LV was written to');
      // (the copy phase alone leaves the new filesystem mounted where the conversion goes on)
      const dataSum = (await labSsh(lab, `set -e
new=$(findmnt -n -o TARGET --source /dev/mapper/vg1-s2--disk1 | head -n 1); [ -n "$new" ]
d=$(mktemp -d); mount -o ro,noload /dev/vg1/s2-disk-old $d
sha256sum $d/data "$new/data" | cut -d' ' -f1
umount $d; rmdir $d`)).stdout.trim().split('\n');
      assert.equal(dataSum.length, 2);
      assert.equal(dataSum[1], dataSum[0], 's2\'s copy differs from its source after the resumed run');
    } finally {
      lab = await labReset();
    }
  });

  it('--precopy of a guest running under Xen: copied from a snapshot while it runs, then shut down, and only what changed is copied; what it wrote and removed meanwhile is in the copy; rolled back after', async () => {
    // The test above left the lab pristine (reset). No Xen runs in the lab, so a stand-in does
    // (runStandInGuest): a process writing a file every 0.2 s into the guest's LV, mounted, and an
    // `xl` that answers for it; its shutdown writes a last file and removes `doomed`.
    await makeDataGuests(lab, [{ name: 'p1', vg: 'vg0' }], { dataMb: 64, lvMb: 160 });
    await labSsh(lab, 'mkdir -p /mnt/d && mount /dev/vg0/p1-disk /mnt/d && echo doomed > /mnt/d/doomed && umount /mnt/d');
    await runStandInGuest(lab, { name: 'p1', vg: 'vg0', lv: 'p1-disk' });
    const cwd = fs.mkdtempSync(path.join(tmp, 'precopy-'));
    try {
      const inv = path.join(tmp, 'precopy-guests.yaml');
      writeGuestInventory(inv, { p1: { vg: 'vg0', lv: 'p1-disk', mac: '00:16:3e:4c:54:11' } });
      // -T 60: the lab VM is emulated, and a loaded machine makes its SSH handshake slow
      const base = ['migrate', 'p1', '-i', lab.inventoryPath, '-i', inv, '--precopy', '--tags', 'copy', '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'];
      const lvsNow = async () => (await labSsh(lab, 'lvs --noheadings -o lv_name vg0')).stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('p1-')).sort();

      // --check: the plan says it pre-copies and stops the guest; nothing is made, the guest runs on
      const run = await ferryCli(base, cwd);
      assert.equal(run.code, 0, `${run.stderr}\n${failuresOf(run.events)}`);
      const order = resultsOf(run.events).flatMap((e) => (e.module === 'rsync' || e.task.startsWith('shut the guest down') ? [`${e.task.split(' (')[0]} ${e.status}`] : []));
      assert.deepEqual(order, ['pre-copy the files changed', 'shut the guest down under Xen changed', 'copy the files changed']);
      const recap = recapsOf(run.events)[0]!;
      assert.deepEqual([recap.result, recap.shutdown, Object.keys(recap.phases)], ['done', 'stopped', ['preflight', 'precopy', 'shutdown', 'copy']]);
      // the downtime starts at the shutdown: the pre-copy is not part of it
      assert.ok(recap.offlineMs < recap.phases.precopy! + recap.phases.shutdown! + recap.phases.copy!, JSON.stringify(recap));
      // the bulk moved while the guest ran; after the shutdown only what changed
      const moved = (task: string) => Math.max(0, ...run.events.flatMap((e) => (e.type === 'progress' && e.task.startsWith(task) && e.progress.bytes !== undefined ? [e.progress.bytes] : [])));
      assert.ok(moved('pre-copy') >= 64 * 2 ** 20, `the pre-copy moved ${moved('pre-copy')} bytes`);
      assert.ok(moved('copy the files') < 8 * 2 ** 20, `the final copy moved ${moved('copy the files')} bytes`);
      console.log(`      ${formatMigrationRecap([recap]).join('\n      ')}; pre-copy ${moved('pre-copy')} B, final ${moved('copy the files')} B`);
      // the pre-copy's LV became the guest's LV; its snapshot is gone; the stand-in guest is stopped
      assert.deepEqual(await lvsNow(), ['p1-disk', 'p1-disk-old']);
      assert.equal((await labSsh(lab, 'xl domid -- p1 >/dev/null && echo running || echo stopped')).stdout.trim(), 'stopped');
      // the copy holds what the guest wrote up to its shutdown and not what it removed: the same files as the source
      const listing = (await labSsh(lab, String.raw`set -e
d=$(mktemp -d); mount -o ro,noload /dev/vg0/p1-disk-old $d
for m in $d /mnt/ferry/p1; do (cd $m && find . -path ./lost+found -prune -o -type f -print | sort | xargs sha256sum | sha256sum | cut -d' ' -f1; ls tick-* | wc -l; ls shut-down doomed 2>&1 | tr '\n' ' '; echo); done
blkid -s UUID -o value /dev/vg0/p1-disk-old; blkid -s UUID -o value /dev/mapper/vg0-p1--disk1
umount $d; rmdir $d`)).stdout.trim().split('\n');
      assert.equal(listing.length, 8, listing.join('\n'));
      const [srcSum, srcTicks, srcNames, newSum, newTicks, newNames, srcUuid, newUuid] = listing;
      assert.equal(newSum, srcSum, `the copy's files differ from the stopped guest's:\n${listing.join('\n')}`);
      assert.deepEqual([newTicks, newNames, newUuid], [srcTicks, srcNames, srcUuid]);
      assert.match(newNames!, /^ls: cannot access 'doomed'.*shut-down $/);
      assert.ok(Number(newTicks) > 5, `only ${newTicks} files written while it ran`);
      const oldSum = (await labSsh(lab, 'sha256sum /dev/vg0/p1-disk-old')).stdout.split(' ')[0];

      // rolled back: the guest's own LV again, untouched since it stopped; nothing of ferry's left
      const back = await ferryCli(['migrate', 'p1', '--rollback', '-i', lab.inventoryPath, '-i', inv, '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'], cwd);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(await lvsNow(), ['p1-disk']);
      assert.equal((await labSsh(lab, 'sha256sum /dev/vg0/p1-disk')).stdout.split(' ')[0], oldSum, 'the source LV was written to');
    } finally {
      lab = await labReset();
    }
  });

  it('two guests in one run, one moving to lab-kvm (ferry_kvm_host in the inventory) and one staying on lab-hv: the move\'s copy is relayed through the controller (the hosts share no SSH trust), its source on lab-hv only read and its autostart entry set aside; a second run copies nothing; both rolled back after', async () => {
    // The test above left the lab pristine (reset); a reset stops lab-kvm too, so it boots fresh here.
    const kvm = await labKvmHostUp();
    const cwd = fs.mkdtempSync(path.join(tmp, 'move-'));
    try {
      await makeDataGuests(lab, [{ name: 'm1', vg: 'vg1' }, { name: 'm2', vg: 'vg0' }], { dataMb: 48, lvMb: 128 });
      // Xen would boot m1 with lab-hv (xendomains): its autostart entry, a link as xen-tools makes it
      await labSsh(lab, `mkdir -p /etc/xen/auto && printf 'name = "m1"\\n' > /etc/xen/m1.cfg && ln -sfn /etc/xen/m1.cfg /etc/xen/auto/m1.cfg`);
      const inv = path.join(tmp, 'move-guests.yaml');
      writeGuestInventory(inv, { m1: { vg: 'vg1', lv: 'm1-disk', mac: '00:16:3e:4c:54:21', kvmHost: 'lab-kvm' }, m2: { vg: 'vg0', lv: 'm2-disk', mac: '00:16:3e:4c:54:22' } });
      const base = ['migrate', 'm1', 'm2', '--parallel', '2', '-i', lab.inventoryPath, '-i', inv, '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'];
      // each host as the test sees it: its LVs, ferry's files, the autostart entries, ferry's mounts
      const state = async (vm: LabVmInfo) => (await labSsh(vm, String.raw`lvs --noheadings -o vg_name,lv_name | awk '{ print $1 "/" $2 }' | sort | tr '\n' ' '; echo
ls /var/lib/ferry/xen-to-kvm 2>/dev/null | tr '\n' ' '; echo
ls /etc/xen/auto 2>/dev/null | tr '\n' ' '; echo
findmnt -rn -o TARGET | grep '^/mnt/ferry' | tr '\n' ' '; echo`)).stdout.split('\n').slice(0, 4).map((l) => l.trim());
      const srcSum = () => lvSum(lab, 'm1');
      const before = await srcSum();
      const hvBefore = await state(lab);
      // lab-kvm: another VM (the two share image, hostname and host key: its marker tells them apart), empty
      // (vg0 and vg1 all free, no Xen config), in the inventory on a port and known_hosts of its own
      assert.deepEqual(await state(kvm), ['', '', '', ''], 'lab-kvm is not empty');
      assert.equal((await labSsh(kvm, String.raw`cat /etc/ferry-lab-host; vgs --noheadings --units m --nosuffix -o vg_name,vg_size,vg_free | awk '$2 != $3 { print "not free: " $1 }'; ls /etc/xen/xr1.cfg 2>&1 >/dev/null | grep -c 'No such'`)).stdout, 'lab-kvm\n1\n');
      assert.equal((await labSsh(lab, 'cat /etc/ferry-lab-host 2>/dev/null; lvs --noheadings -o lv_name vg1 | grep -c xr1-disk')).stdout, '1\n');
      const labVars = loadInventory(lab.inventoryPath);
      assert.deepEqual(['lab-hv', 'lab-kvm'].map((h) => [labVars.varsOf(h).ansible_port, labVars.varsOf(h).ferry_known_hosts_file]), [[lab.sshPort, lab.knownHostsPath], [kvm.sshPort, kvm.knownHostsPath]]);
      assert.notEqual(kvm.knownHostsPath, lab.knownHostsPath);
      // no trust between them: lab-kvm reaches lab-hv's forwarded sshd (10.0.2.2 is this machine inside
      // qemu's user network) but holds no key for it, so every copy between them goes through this machine
      const trust = await labSsh(kvm, `ls /root/.ssh/id_* 2>/dev/null | wc -l; ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -p ${lab.sshPort} root@10.0.2.2 true 2>&1; echo "exit $?"`);
      assert.match(trust.stdout, /^0\n[\s\S]*Permission denied \(publickey\)[\s\S]*exit 255\n$/);

      // --check: the plan on both hosts, nothing made on either
      const check = await ferryCli([...base, '--tags', 'copy', '--check'], cwd);
      assert.equal(check.code, 0, `${check.stderr}\n${failuresOf(check.events)}`);
      assert.deepEqual(recapsOf(check.events).map((g) => [g.guest, g.result, g.source]), [['m1', 'planned', 'lab-hv'], ['m2', 'planned', 'lab-hv']]);
      assert.ok(resultsOf(check.events, 'm1').some((e) => e.task.startsWith('preflight on the KVM host') && e.status === 'ok' && e.delegatedTo === 'lab-kvm'), 'the KVM host\'s preflight did not run there');
      assert.equal(resultsOf(check.events, 'm2').find((e) => e.task.startsWith('preflight on the KVM host'))?.status, 'skipped', 'm2 stays: no KVM host preflight');
      assert.deepEqual([await state(lab), await state(kvm)], [hvBefore, ['', '', '', '']], '--check changed a host');

      // the copy phase: m1's new LV on lab-kvm, filled from lab-hv through this machine; m2's on lab-hv as ever
      const run = await ferryCli([...base, '--tags', 'copy'], cwd);
      assert.equal(run.code, 0, `${run.stderr}\n${failuresOf(run.events)}`);
      const recaps = recapsOf(run.events);
      assert.deepEqual(recaps.map((g) => [g.guest, g.result, g.method, g.source, g.destination]), [['m1', 'done', 'rsync', 'lab-hv', 'lab-kvm'], ['m2', 'done', 'rsync', 'lab-hv', 'lab-hv']]);
      assert.ok((recaps[0]!.bytesCopied ?? 0) >= 48 * 2 ** 20, JSON.stringify(recaps[0]));
      console.log(`      ${formatMigrationRecap(recaps).join('\n      ')}`);
      const placed = (task: string) => resultsOf(run.events, 'm1').find((e) => e.task.startsWith(task))?.delegatedTo;
      assert.deepEqual(['preflight (', 'a new LV of the same size', 'copy the files', 'read the old filesystem'].map(placed), ['lab-hv', 'lab-kvm', 'lab-kvm', 'lab-hv']);
      assert.equal(resultsOf(run.events, 'm1').find((e) => e.task.startsWith('rename the Xen LV'))?.status, 'skipped', 'the source was renamed');
      assert.deepEqual(['m1', 'm2'].map((g) => resultsOf(run.events, g).find((e) => e.task.startsWith('the move\'s copy route'))).map((e) => [e?.status, e?.msg]),
        [['ok', 'rsync lab-hv -> lab-kvm: through the controller (the hosts need no SSH trust)'], ['skipped', 'when: moved | bool and (root_partition != \'\' or copy_method == "rsync") was false']]);
      // lab-hv: m1's source untouched and not renamed, its entry set aside, nothing left mounted of it; m2 renamed as on any one-host run
      const hvAfter = await state(lab);
      assert.equal(hvAfter[0], [...hvBefore[0]!.split(' '), 'vg0/m2-disk-old'].sort().join(' '));
      assert.deepEqual([hvAfter[2], hvAfter[3]], ['', '/mnt/ferry/m2']);
      assert.match(hvAfter[1]!, /vg1-m1-disk\.xen-auto/);
      assert.equal(await srcSum(), before, 'the source LV was written to');
      // lab-kvm: the LV of the same size, ferry's claim and copy id; the copy (left mounted by the copy phase) holds the source's data
      const kvmAfter = await state(kvm);
      assert.deepEqual(kvmAfter, ['vg1/m1-disk', 'vg1-m1-disk.copy-id vg1-m1-disk.moved-from', '', '/mnt/ferry/m1']);
      const sizes = await Promise.all([lab, kvm].map(async (vm) => (await labSsh(vm, 'lvs --noheadings --units b --nosuffix -o lv_size vg1/m1-disk')).stdout.trim()));
      assert.equal(sizes[1], sizes[0]);
      const srcData = await sourceDataSum(lab, 'm1');
      const newData = (await labSsh(kvm, 'sha256sum /mnt/ferry/m1/data | cut -d" " -f1; blkid -s UUID -o value /dev/mapper/vg1-m1--disk1')).stdout.trim().split('\n');
      const srcUuid = (await labSsh(lab, 'blkid -s UUID -o value /dev/vg1/m1-disk')).stdout.trim();
      assert.deepEqual(newData, [srcData, srcUuid]);

      // a second run: the copies are there, nothing moves
      const again = await ferryCli([...base, '--tags', 'copy'], cwd);
      assert.equal(again.code, 0, `${again.stderr}\n${failuresOf(again.events)}`);
      for (const g of ['m1', 'm2']) {
        assert.deepEqual(resultsOf(again.events, g).filter((e) => e.module === 'rsync' || e.module === 'lvm' || e.module === 'filesystem').map((e) => `${e.module} ${e.status}`).filter((x) => !x.endsWith('skipped')), ['lvm ok', 'lvm ok', 'filesystem ok', 'rsync ok'].slice(g === 'm1' ? 1 : 0), g);
      }

      // rolled back: lab-kvm empty again, lab-hv as it was (m1's autostart entry back, its source unchanged; m2's LV-old back as m2-disk)
      const back = await ferryCli(['migrate', 'm1', 'm2', '--rollback', '-i', lab.inventoryPath, '-i', inv, '-e', JSON.stringify(DATA_GUEST_VARS), '-T', '60'], cwd);
      assert.equal(back.code, 0, `${back.stderr}\n${failuresOf(back.events)}`);
      assert.deepEqual(await state(kvm), ['', '', '', '']);
      assert.deepEqual(await state(lab), hvBefore);
      assert.equal((await labSsh(lab, 'readlink /etc/xen/auto/m1.cfg')).stdout.trim(), '/etc/xen/m1.cfg');
      assert.equal(await srcSum(), before, 'the source LV was written to');
    } finally {
      lab = await labReset();
    }
  });

  it('a move cut by Ctrl-C during its copy through the controller, then --resume: nothing keeps running on either host, the resumed run finishes the copy into the LV it made (its claim), makes no LV or filesystem again, and the source on lab-hv is only read', async () => {
    // The test above left the lab pristine (reset), lab-kvm stopped with it: it boots fresh here.
    const kvm = await labKvmHostUp();
    const cwd = fs.mkdtempSync(path.join(tmp, 'move-cut-'));
    try {
      // big enough that its relayed copy (tens of seconds) still runs when the SIGINT comes
      const base = await movingDataGuest(lab, cwd, 'r1', { dataMb: 160, lvMb: 256, mac: '00:16:3e:4c:54:31' });
      const srcSum = () => lvSum(lab, 'r1');
      const before = await srcSum();
      const isCopy = (e: FerryEvent): e is Result => e.type === 'task_result' && e.module === 'rsync' && e.item === undefined && !e.tags?.includes('precopy');
      let cut = false;
      const first = await ferryCli(base, cwd, (e, child) => {
        // two seconds into the copy: the new filesystem made, part of the data across
        if (e.type === 'task_start' && e.module === 'rsync' && !e.tags?.includes('precopy') && !cut) {
          cut = true;
          console.log(`      SIGINT 2 s after the start of: ${e.task}`);
          setTimeout(() => child.kill('SIGINT'), 2000);
        }
      });
      assert.ok(cut, `the copy never started: ${first.stderr}\n${failuresOf(first.events)}`);
      assert.deepEqual(first.events.filter(isCopy).map((e) => e.status), ['interrupted'], 'the copy was not cut (it finished before the SIGINT: make r1 bigger)');
      assert.equal(first.code, 130, `exit ${first.code} after SIGINT:\n${first.stderr}`);
      // the relayed copy's two ends were stopped: nothing would race the resumed run
      const running = async (vm: LabVmInfo) => (await labSsh(vm, 'for i in $(seq 50); do pgrep -x rsync >/dev/null || break; sleep 0.2; done; pgrep -a -x rsync || echo none')).stdout.trim();
      assert.deepEqual([await running(lab), await running(kvm)], ['none', 'none'], 'rsync still runs on a lab host after ferry stopped');
      // lab-hv: the source neither renamed nor written; lab-kvm: the LV made, with ferry's claim on it
      const lvsOf = async (vm: LabVmInfo) => (await labSsh(vm, "lvs --noheadings -o lv_name vg1 | tr -d ' ' | grep '^r1' | sort | tr '\\n' ' '; ls /var/lib/ferry/xen-to-kvm 2>/dev/null | grep r1 | tr '\\n' ' '")).stdout.trim();
      assert.equal(await lvsOf(lab), 'r1-disk');
      assert.equal(await lvsOf(kvm), 'r1-disk vg1-r1-disk.copy-id vg1-r1-disk.moved-from');
      assert.equal(await srcSum(), before, 'the source LV was written to');
      console.log(`      after Ctrl-C (exit ${first.code}): on lab-kvm ${await lvsOf(kvm)}`);

      const second = await ferryCli([...base, '--resume'], cwd);
      assert.equal(second.code, 0, `the resumed run failed (exit ${second.code}):\n${second.stderr}\n${failuresOf(second.events)}`);
      const on = (e: Result) => `${e.module} ${e.status}${e.delegatedTo ? ` on ${e.delegatedTo}` : ''}`;
      // the LV and filesystem it made before the cut are its own (the claim): found, not made again; the copy finished
      assert.deepEqual(resultsOf(second.events, 'r1').filter((e) => ['lvm', 'filesystem', 'rsync'].includes(e.module) && e.status !== 'skipped').map(on),
        ['lvm ok on lab-kvm', 'filesystem ok on lab-kvm', 'rsync changed on lab-kvm']);
      const [recap] = recapsOf(second.events);
      assert.deepEqual([recap!.result, recap!.source, recap!.destination], ['done', 'lab-hv', 'lab-kvm']);
      console.log(`      --resume: ${formatMigrationRecap([recap!]).join('\n      ')}`);
      assert.equal(await copyDataSum(kvm, 'r1'), await sourceDataSum(lab, 'r1'), 'the resumed copy differs from its source');
      assert.equal(await srcSum(), before, 'the source LV was written to');
      assert.equal(await lvsOf(lab), 'r1-disk');
    } finally {
      lab = await labReset();
    }
  });

  it('a move with the KVM host reaching the Xen host itself (ferry_move_direct: lab-kvm\'s own key and known_hosts, lab-hv as qemu\'s network shows it): the plan says direct, ferry relays nothing, the copy holds the source\'s data, the source only read; a guest partitioned already moves the same way (blockcopy: lab-kvm\'s ssh runs the reader\'s dd on lab-hv); without the key lab-kvm cannot reach lab-hv at all', async () => {
    // The test above left the lab pristine (reset), lab-kvm stopped with it: it boots fresh here.
    const kvm = await labKvmHostUp();
    const cwd = fs.mkdtempSync(path.join(tmp, 'move-direct-'));
    try {
      // what the admin does to let lab-kvm reach lab-hv: a key lab-hv accepts (the lab's throwaway one) and
      // lab-hv's host key, at the address and port lab-hv has from inside qemu's user network
      const known = fs.readFileSync(lab.knownHostsPath, 'utf8').replaceAll('[127.0.0.1]', '[10.0.2.2]');
      await labSsh(kvm, 'install -d -m 700 /root/.ssh && cat > /root/.ssh/known_hosts_move', known);
      await labSsh(kvm, 'umask 077; cat > /root/.ssh/id_move', fs.readFileSync(lab.keyPath, 'utf8'));
      const how = { host: '10.0.2.2', port: lab.sshPort, ssh_options: ['-i', '/root/.ssh/id_move', '-o', 'UserKnownHostsFile=/root/.ssh/known_hosts_move', '-o', 'StrictHostKeyChecking=yes'] };
      const base = await movingDataGuest(lab, cwd, 'd1', { dataMb: 48, lvMb: 128, mac: '00:16:3e:4c:54:41', vars: { ferry_move_direct: how } });
      const srcSum = () => lvSum(lab, 'd1');
      const before = await srcSum();
      const copyOf = (events: FerryEvent[]) => resultsOf(events, 'd1').find((e) => e.module === 'rsync' && e.task.startsWith('copy the files'));

      // the plan says the route
      const route = (events: FerryEvent[]) => resultsOf(events, 'd1').find((e) => e.task.startsWith('the move\'s copy route'))?.msg;
      const check = await ferryCli([...base, '--check'], cwd);
      assert.equal(check.code, 0, `${check.stderr}\n${failuresOf(check.events)}`);
      assert.equal(route(check.events), 'rsync lab-hv -> lab-kvm: lab-kvm connects to lab-hv itself, with its own ssh (direct)');
      const run = await ferryCli(base, cwd);
      assert.equal(run.code, 0, `${run.stderr}\n${failuresOf(run.events)}`);
      assert.equal(route(run.events), route(check.events));
      const copy = copyOf(run.events)!;
      assert.deepEqual([copy.status, copy.delegatedTo], ['changed', 'lab-kvm']);
      const [recap] = recapsOf(run.events);
      assert.deepEqual([recap!.result, recap!.source, recap!.destination], ['done', 'lab-hv', 'lab-kvm']);
      assert.ok((recap!.bytesCopied ?? 0) >= 48 * 2 ** 20, JSON.stringify(recap));
      console.log(`      ${formatMigrationRecap([recap!]).join('\n      ')}`);
      assert.equal(await copyDataSum(kvm, 'd1'), await sourceDataSum(lab, 'd1'));
      assert.equal(await srcSum(), before, 'the source LV was written to');
      // d2, partitioned already (its ext4 root in partition 1 at 1 MiB): the whole disk moves with blockcopy, lab-kvm's
      // own ssh running the reader's dd on lab-hv
      const base2 = await movingDataGuest(lab, cwd, 'd2', { dataMb: 24, lvMb: 64, mac: '00:16:3e:4c:54:42', vars: { ferry_move_direct: how }, partitioned: true });
      const before2 = await lvSum(lab, 'd2');
      const blocksOf = (events: FerryEvent[]) => resultsOf(events, 'd2').find((e) => e.module === 'blockcopy');
      const check2 = await ferryCli([...base2, '--check'], cwd);
      assert.equal(check2.code, 0, `${check2.stderr}\n${failuresOf(check2.events)}`);
      assert.equal(resultsOf(check2.events, 'd2').find((e) => e.task.startsWith('the move\'s copy route'))?.msg, 'blockcopy lab-hv -> lab-kvm: lab-kvm connects to lab-hv itself, with its own ssh (direct)');
      // (--check runs no shell, so the guard before the copy is not known: the copy would run, unplanned)
      assert.equal(blocksOf(check2.events)?.status, 'changed');
      const run2 = await ferryCli(base2, cwd);
      assert.equal(run2.code, 0, `${run2.stderr}\n${failuresOf(run2.events)}`);
      const blocks = blocksOf(run2.events)!;
      assert.deepEqual([blocks.status, blocks.delegatedTo, blocks.result?.direct, blocks.result?.verified], ['changed', 'lab-kvm', true, true]);
      const [recap2] = recapsOf(run2.events);
      console.log(`      ${formatMigrationRecap([recap2!]).join('\n      ')}`);
      assert.equal(await copyDataSum(kvm, 'd2'), await sourceDataSum(lab, 'd2', true));
      assert.equal(await lvSum(lab, 'd2'), before2, 'the source LV was written to');

      // the same copy without the key: lab-kvm has no other way in (BatchMode: it fails at once, naming both hosts)
      await labSsh(kvm, 'mv /root/.ssh/id_move /root/.ssh/id_move.off; rm -rf /mnt/ferry/d1/data');
      const keyless = await ferryCli(base, cwd);
      assert.notEqual(keyless.code, 0);
      assert.match(failuresOf(keyless.events), /rsync on lab-kvm pulling from lab-hv directly \(root@10\.0\.2\.2:\d+, lab-kvm's own ssh\)/);
      assert.equal(await srcSum(), before, 'the source LV was written to');
    } finally {
      lab = await labReset();
    }
  });

  it('a guest rolled back and migrated again is copied afresh (rsync, dd, partitioned already): an earlier copy left in the freed extents, marks and all, never passes for the new one', async () => {
    // Small guests made for the test (data only, not bootable): s1 on the rsync route, s2 on the dd
    // route, s3 partitioned already (its ext4 root in partition 1 at 1 MiB). A conversion that got
    // as far as the marks ("copied", then the convert phase stops: nothing to convert in them) is
    // rolled back; each source gets a new file, as a guest running under Xen again would; the next
    // copy must hold it. lvremove frees the new LV's extents without clearing them and the next
    // lvcreate gets the same ones back, zeroing only their first 4 KiB; the new partition table's
    // wipe (partition: sfdisk --wipe-partitions always) and the copy's identity (the marks carry it)
    // each keep the old copy from passing for the new one.
    lab = await labReset();
    const g = { s1: { vg: 'vg1', method: 'rsync' }, s2: { vg: 'vg0', method: 'dd' }, s3: { vg: 'vg1', method: 'dd' } } as const;
    const names = Object.keys(g) as (keyof typeof g)[];
    // the root filesystem of each source, or of each copy, for a shell: $1 the LV
    const atRoot = (name: keyof typeof g, lv: string, cmd: string) => name === 's3'
      ? `l=$(losetup -f --show -o 1048576 /dev/${g[name].vg}/${lv}) && ${cmd.replaceAll('DEV', '"$l"')}; rc=$?; losetup -d "$l"; exit $rc`
      : cmd.replaceAll('DEV', `/dev/${g[name].vg}/${lv}`);
    await labSsh(lab, [
      'set -e',
      ...names.flatMap((n) => [
        `lvcreate -q -y -L 64M -n ${n}-disk ${g[n].vg}`,
        ...(n === 's3' ? [`printf 'start=2048, type=83\\n' | sfdisk -q /dev/${g[n].vg}/${n}-disk`] : []),
        `(${atRoot(n, `${n}-disk`, `mkfs.ext4 -q DEV && mkdir -p /mnt/${n} && mount DEV /mnt/${n} && mkdir /mnt/${n}/etc && echo '/dev/xvda1 / ext4 defaults 0 1' > /mnt/${n}/etc/fstab && echo v1 > /mnt/${n}/v1 && umount /mnt/${n}`)})`,
      ]),
    ].join('\n'));
    const inv = path.join(tmp, 'again-guests.yaml');
    writeGuestInventory(inv, Object.fromEntries(names.map((n, i) => [n, { vg: g[n].vg, lv: `${n}-disk`, mac: `00:16:3e:4c:54:0${i}` }])));
    // one guest at a time, in the same order each time: each new LV gets the extents its predecessor had
    const playbook = async (file: string, tags: string[] | undefined) => {
      const reps: CollectingReporter[] = [];
      for (const method of ['rsync', 'dd'] as const) {
        const rep = new CollectingReporter();
        await runPlaybookFile(path.join(ROOT, 'playbooks', file), {
          inventory: [lab.inventoryPath, inv], limit: names.filter((n) => g[n].method === method).join(':'), forks: 1, reporter: rep,
          // (no room asked inside: these data-only guests, with no kernel, are never converted)
          ...(tags ? { tags } : {}), extraVars: { ...DATA_GUEST_VARS, copy_method: method },
        });
        reps.push(rep);
      }
      return reps.flatMap((r) => r.results());
    };
    const extents = async () => (await labSsh(lab, `lvs --noheadings -o lv_name,seg_pe_ranges ${names.map((n) => `${g[n].vg}/${n}-disk`).join(' ')}`)).stdout.trim();
    try {
      // the first conversion: the copy, then the convert phase, which writes ferry's marks into the copy first
      const first = await playbook('xen-to-kvm.yaml', ['copy', 'convert']);
      for (const n of names) {
        assert.equal(first.find((r) => r.host === n && r.task === 'mark the copy complete (whatever route made it)')?.status, 'changed', `${n}: ${JSON.stringify(first.filter((r) => r.host === n && r.status === 'failed'))}`);
      }
      const firstExtents = await extents();
      // rolled back: the new LVs removed, the sources named as they were
      const back = await playbook('xen-rollback.yaml', undefined);
      assert.deepEqual(back.filter((r) => r.status === 'failed'), []);
      await labSsh(lab, names.map((n) => `(${atRoot(n, `${n}-disk`, `mount DEV /mnt/${n} && echo v2 > /mnt/${n}/v2 && umount /mnt/${n}`)})`).join(' && '));
      const again = await playbook('xen-to-kvm.yaml', ['copy']);
      assert.deepEqual(again.filter((r) => r.status === 'failed'), []);
      const lvsAgain = await labSsh(lab, `lvs --noheadings -o lv_name,seg_pe_ranges ${names.map((n) => `${g[n].vg}/${n}-disk-old`).join(' ')}`);
      console.log(`      new LVs' extents, first: ${firstExtents.replace(/\s+/g, ' ')}; sources now: ${lvsAgain.stdout.trim().replace(/\s+/g, ' ')}`);
      // the copy ran again for each (rsync; the dd route's and the partitioned guest's blockcopy) and holds the new file
      const copied = (n: keyof typeof g) => again.filter((r) => r.host === n && ['rsync', 'blockcopy'].includes(r.module ?? '') && r.status === 'changed').length;
      assert.deepEqual(names.map((n) => [n, copied(n) > 0]), names.map((n) => [n, true]), JSON.stringify(again.filter((r) => r.status !== 'ok')));
      assert.equal((await labSsh(lab, names.map((n) => `cat /mnt/ferry/${n}/v1 /mnt/ferry/${n}/v2`).join(' && '))).stdout, 'v1\nv2\n'.repeat(names.length));
    } finally {
      lab = await labReset();
    }
  });

  // The three guests that convert on the rsync route (xf1: an xfs root; xt1: a xen-tools layout of
  // several disks; xr1: the lab's own guest) convert and boot at the same time, as a fleet run would
  // on one hypervisor: one after another they took about 15 minutes of the suite. Their set-up runs
  // first (xf1 and xt1 are made of xr1's files, before xr1's conversion renames its LV), then the
  // three playbook runs and boots together; each test then checks its own guest. The first of the
  // three tests to run starts them all (so each also runs alone with -g).
  interface Converted {
    rep: CollectingReporter;
    exitCode: number;
    convertSeconds: number;
    image: string;
    boot?: LabMigration['boot'];
  }
  interface Shapes {
    /** Every LV of the lab before the set-up, as `lvs -o vg_name,lv_name,lv_size` printed it. */
    lvsAtStart: string;
    xf1: { source: string; inv: string; lvsBuilt: string; lvsAfterDd: string; dd: { rep: CollectingReporter; exitCode: number }; run: Converted };
    xt1: { before: string; fragment: { xen_guests: { hosts: Record<string, Record<string, unknown>> } }; run: Converted };
    xr1: LabMigration & { rep: CollectingReporter };
    xp1: { before: string; check: { rep: CollectingReporter; exitCode: number }; run: Converted };
    xm1: { before: string; inv: string; kvm: LabVmInfo; run: Converted };
  }
  const xf1 = { vg: 'vg0', lv: 'xf1-disk', name: 'xf1', mac: '00:16:3e:4c:52:10', memoryMb: 512 };
  const xf1Uuid = crypto.randomUUID();
  const xf1Label = 'xf1-root-12b'; // an xfs label holds 12 bytes at most: the longest there is
  const xt1Uuids = { root: crypto.randomUUID(), swap: crypto.randomUUID(), data: crypto.randomUUID() };
  // two NICs on two bridges, as xl lists them: eth0 and eth1 must keep their MACs under KVM
  const xt1Macs = ['00:16:3e:4c:52:20', '00:16:3e:4c:52:21'] as const;
  const xt1Others = ['/dev/vg0/xt1-swap', '/dev/vg1/xt1-data'];
  // xp1: a PV guest partitioned already (swap in partition 1, the ext4 root in partition 2 at 33 MiB)
  const xp1 = { vg: 'vg1', lv: 'xp1-disk', name: 'xp1', mac: '00:16:3e:4c:52:30', memoryMb: 512 };
  const xp1RootSector = 67584;
  const xp1Uuids = { root: crypto.randomUUID(), swap: crypto.randomUUID() };
  // xm1: xr1's filesystem (a UUID and a name of its own) on lab-hv, moved to lab-kvm (--to)
  const xm1 = { vg: 'vg1', lv: 'xm1-disk', name: 'xm1', mac: '00:16:3e:4c:52:40', memoryMb: 512 };
  const xm1Uuid = crypto.randomUUID();
  /** What a test leaves of the lab's LVs, without those of the guests converted beside it (each counts its own). */
  const ownLvs = (own: string, text: string) =>
    text.split('\n').filter((l) => !['xf1', 'xt1', 'xr1', 'xp1', 'xm1'].some((g) => g !== own && new RegExp(`\\s${g}-`).test(l))).join('\n');
  const lvsAll = async () => (await labSsh(lab, 'lvs --noheadings -o vg_name,lv_name,lv_size')).stdout;
  const xt1Sums = async (...lvNames: string[]) => (await labSsh(lab, `sha256sum ${lvNames.join(' ')}`)).stdout.replace(/-old$/gm, '');
  let shapes: Promise<Shapes> | undefined;

  /** Converts with the lab's inventory and `inv`, limited to `guest`; the reporter collects every event. */
  const convertGuest = async (inv: string, guest: string, extraVars: Record<string, unknown>, check = false) => {
    const rep = new CollectingReporter();
    const t0 = Date.now();
    const r = await runPlaybookFile(path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), {
      inventory: [lab.inventoryPath, inv], limit: guest, reporter: rep, check, extraVars: { kvm_define: false, ...extraVars },
    });
    return { rep, exitCode: r.exitCode, convertSeconds: (Date.now() - t0) / 1000 };
  };

  async function convertShapes(): Promise<Shapes> {
    // Run alone (-g) it needs a running lab whose xr1 is pristine; in the whole file the four guests'
    // test has just reset it. libvirt is for the boots (one start, before three of them at once).
    await ensureSystemPackages(['migrate'], { say });
    lab = labStatus() ?? (await labUp());
    await ensureLibvirtd();
    const lvsAtStart = await lvsAll();

    // xf1: xr1's files in an xfs LV of xr1's size and 128 MiB more: mkfs.xfs (xfsprogs >= 5.19) gives
    // a filesystem under 1 GiB a 64 MiB log, and at xr1's size the conversion's grub install ran out of space.
    await labSsh(lab, [
      'set -e',
      `lvcreate -q -y -L "$(($(lvs --noheadings --units m --nosuffix -o lv_size vg1/xr1-disk | tr -d ' ' | cut -d. -f1) + 128))m" -n ${xf1.lv} ${xf1.vg}`,
      `mkfs.xfs -q -L ${xf1Label} -m uuid=${xf1Uuid} /dev/${xf1.vg}/${xf1.lv}`,
      'mkdir -p /mnt/xf1-src /mnt/xf1',
      'mount -o ro,noload /dev/vg1/xr1-disk /mnt/xf1-src',
      `mount /dev/${xf1.vg}/${xf1.lv} /mnt/xf1`,
      'cp -a /mnt/xf1-src/. /mnt/xf1/',
      'umount /mnt/xf1-src',
      // a guest of its own: its name on the login prompt, its root in fstab as xfs (pass 0: xfs has no boot-time fsck)
      ...ownName('/mnt/xf1', 'xf1'),
      String.raw`printf '/dev/xvda1 / xfs defaults 0 0\n' > /mnt/xf1/etc/fstab`,
      'umount /mnt/xf1',
      'rmdir /mnt/xf1-src /mnt/xf1',
    ].join('\n'));
    const source = path.join(tmp, 'xf1-source.img');
    await exportLv(xf1.vg, xf1.lv, source, lab);
    const xf1Inv = path.join(tmp, 'xfs-guest.yaml');
    writeGuestInventory(xf1Inv, { xf1 });

    // xt1: made of xr1's files on the lab host, as xen-tools lays a guest out: `root = '/dev/xvda2 ro'`,
    // the swap LV exported as xvda1 of the same virtual disk, and a data disk mounted by UUID (checked
    // against the guest's disks before the conversion edits anything).
    // A unit of the guest's own prints what it runs with on the serial console once the local
    // filesystems and swap are up: proof that fstab found each disk under its KVM name.
    const checkUnit = [
      // before the login prompt, so the boot check (which stops at the prompt) has seen it; $$ is a $ to systemd
      '[Unit]', 'Description=ferry lab check', 'Before=getty.target serial-getty@ttyS0.service',
      'Wants=sys-subsystem-net-devices-eth0.device sys-subsystem-net-devices-eth1.device',
      'After=local-fs.target swap.target sys-subsystem-net-devices-eth0.device sys-subsystem-net-devices-eth1.device', '',
      '[Service]', 'Type=oneshot',
      String.raw`ExecStart=/bin/sh -c 'echo "ferry-lab-check: swap=$$(tail -n +2 /proc/swaps | cut -d" " -f1) srv=$$(cat /srv/marker) eth0=$$(cat /sys/class/net/eth0/address) eth1=$$(cat /sys/class/net/eth1/address)" > /dev/ttyS0'`, '',
      '[Install]', 'WantedBy=multi-user.target',
    ].join('\n');
    await labSsh(lab, [
      'set -e',
      'lvcreate -q -y -L 32M -n xt1-swap vg0',
      `mkswap -U ${xt1Uuids.swap} /dev/vg0/xt1-swap >/dev/null`,
      `lvcreate -q -y -L "$(lvs --noheadings --units m --nosuffix -o lv_size vg1/xr1-disk | tr -d ' ' | cut -d. -f1)m" -n xt1-disk vg0`,
      'dd if=/dev/vg1/xr1-disk of=/dev/vg0/xt1-disk bs=4M status=none',
      'e2fsck -fy /dev/vg0/xt1-disk >/dev/null 2>&1 || [ $? -le 1 ]',
      `tune2fs -U ${xt1Uuids.root} /dev/vg0/xt1-disk >/dev/null`,
      'lvcreate -q -y -L 16M -n xt1-data vg1',
      `mkfs.ext4 -q -U ${xt1Uuids.data} /dev/vg1/xt1-data`,
      'mkdir -p /mnt/xt1 && mount /dev/vg1/xt1-data /mnt/xt1 && echo xt1-data-marker > /mnt/xt1/marker && umount /mnt/xt1',
      'mount /dev/vg0/xt1-disk /mnt/xt1',
      ...ownName('/mnt/xt1', 'xt1'),
      // as xen-tools writes it
      String.raw`printf 'proc /proc proc defaults 0 0\n/dev/xvda2 / ext4 noatime,nodiratime,errors=remount-ro 0 1\n/dev/xvda1 none swap sw 0 0\nUUID=${xt1Uuids.data} /srv ext4 defaults 0 2\n' > /mnt/xt1/etc/fstab`,
      // resuming from its swap LV, as the Debian installer writes it; and a guest that had GRUB 2 for
      // pygrub to read, with the Xen names on its kernel command line: booting needs root= mapped to
      // vda1 (not the rule's vda2)
      'mkdir -p /mnt/xt1/etc/default /mnt/xt1/etc/initramfs-tools/conf.d',
      'echo RESUME=/dev/xvda1 > /mnt/xt1/etc/initramfs-tools/conf.d/resume',
      String.raw`printf 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="root=/dev/xvda2 resume=/dev/xvda1 console=hvc0"\n' > /mnt/xt1/etc/default/grub`,
      'mkdir -p /mnt/xt1/srv /mnt/xt1/etc/systemd/system/multi-user.target.wants',
      `cat > /mnt/xt1/etc/systemd/system/ferry-lab-check.service <<'UNIT'\n${checkUnit}\nUNIT`,
      'ln -sf ../ferry-lab-check.service /mnt/xt1/etc/systemd/system/multi-user.target.wants/ferry-lab-check.service',
      'umount /mnt/xt1 && rmdir /mnt/xt1',
      `cat > /etc/xen/xt1.cfg <<'CFG'`,
      "name = 'xt1'",
      'memory = 512',
      'vcpus = 1',
      "bootloader = 'pygrub'",
      "root = '/dev/xvda2 ro'",
      "disk = ['phy:/dev/vg0/xt1-swap,xvda1,w', 'phy:/dev/vg0/xt1-disk,xvda2,w', 'phy:/dev/vg1/xt1-data,xvdb,w']",
      `vif = ['mac=${xt1Macs[0]},bridge=br0', 'mac=${xt1Macs[1]},bridge=br1']`,
      'CFG',
    ].join('\n'));
    const xt1Before = await xt1Sums('/dev/vg0/xt1-disk', ...xt1Others);
    // the inventory fragment as `ferry xen-import -i INV lab-hv --path /etc/xen/xt1.cfg --json` prints it
    let out = '';
    let err = '';
    const io = {
      stdout: new Writable({ write: (c, _e, cb) => void ((out += String(c)), cb()) }),
      stderr: new Writable({ write: (c, _e, cb) => void ((err += String(c)), cb()) }),
    };
    const code = await xenImport(['lab-hv'], { inventory: [lab.inventoryPath], path: ['/etc/xen/xt1.cfg'], include: [], exclude: [], json: true }, io);
    assert.equal(code, 0, err);
    const xt1Inv = path.join(tmp, 'xen-tools-guest.json');
    fs.writeFileSync(xt1Inv, out);

    // xf1 on the dd route shrinks the filesystem, which xfs cannot do: refused before anything is
    // touched. Run before the others start, so that every LV of the lab can be compared.
    const lvsBuilt = await lvsAll();
    const dd = await convertGuest(xf1Inv, 'xf1', { copy_method: 'dd' });
    const lvsAfterDd = await lvsAll();

    // the three conversions and boots at once
    const xf1Run = (async (): Promise<Converted> => {
      const c = await convertGuest(xf1Inv, 'xf1', { copy_method: 'rsync' });
      const image = path.join(LAB_OUT_DIR, 'xf1-kvm.img');
      return { ...c, image, boot: c.exitCode === 0 ? await bootExportedDisk({ ...xf1, inventory: xf1Inv }, image, lab, c.rep) : undefined };
    })();
    // xp1: xr1's filesystem in partition 2 of a disk with a dos table, as a PV guest partitioned
    // already has it (the procedure skips the partitioning for those): its xl.cfg gives the whole disk as xvda
    await labSsh(lab, [
      'set -e',
      `lvcreate -q -y -L "$(($(lvs --noheadings --units m --nosuffix -o lv_size vg1/xr1-disk | tr -d ' ' | cut -d. -f1) + 33))m" -n ${xp1.lv} ${xp1.vg}`,
      `printf 'start=2048, size=65536, type=82\\nstart=${xp1RootSector}, type=83, bootable\\n' | sfdisk -q /dev/${xp1.vg}/${xp1.lv}`,
      `kpartx -a -s /dev/${xp1.vg}/${xp1.lv}`,
      `dd if=/dev/vg1/xr1-disk of=/dev/mapper/${xp1.vg}-xp1--disk2 bs=4M status=none`,
      `mkswap -U ${xp1Uuids.swap} /dev/mapper/${xp1.vg}-xp1--disk1 >/dev/null`,
      `e2fsck -fy /dev/mapper/${xp1.vg}-xp1--disk2 >/dev/null 2>&1 || [ $? -le 1 ]`,
      `tune2fs -U ${xp1Uuids.root} /dev/mapper/${xp1.vg}-xp1--disk2 >/dev/null`,
      `mkdir -p /mnt/xp1 && mount /dev/mapper/${xp1.vg}-xp1--disk2 /mnt/xp1`,
      ...ownName('/mnt/xp1', 'xp1'),
      String.raw`printf '/dev/xvda2 / ext4 errors=remount-ro 0 1\n/dev/xvda1 none swap sw 0 0\n' > /mnt/xp1/etc/fstab`,
      'umount /mnt/xp1 && rmdir /mnt/xp1',
      `kpartx -d /dev/${xp1.vg}/${xp1.lv}`,
      // and an autostart entry for xr1, as xendomains finds it: the conversion sets it aside, the rollback puts it back
      'mkdir -p /etc/xen/auto && ln -sfn ../xr1.cfg /etc/xen/auto/xr1.cfg',
    ].join('\n'));
    const xp1Before = (await labSsh(lab, `sha256sum /dev/${xp1.vg}/${xp1.lv}`)).stdout.split(' ')[0]!;
    const xp1Inv = path.join(tmp, 'partitioned-guest.yaml');
    writeGuestInventory(xp1Inv, { xp1 });
    // its plan, before anything runs beside it
    const xp1Check = await convertGuest(xp1Inv, 'xp1', {}, true);

    const xt1Run = (async (): Promise<Converted> => {
      const c = await convertGuest(xt1Inv, 'xt1', {});
      const image = path.join(LAB_OUT_DIR, 'xt1-kvm.img');
      const boot = c.exitCode !== 0 ? undefined : await bootExportedDisk(
        { vg: 'vg0', lv: 'xt1-disk', name: 'xt1', mac: xt1Macs[0], macs: [...xt1Macs], memoryMb: 512, others: [{ vg: 'vg0', lv: 'xt1-swap', target: 'vdb' }, { vg: 'vg1', lv: 'xt1-data', target: 'vdc' }], inventory: xt1Inv },
        image, lab, c.rep,
      );
      return { ...c, image, boot };
    })();
    // xm1, moved: lab-kvm (a reset stops it: it boots fresh here) gets the new LV, the conversion and
    // the define; lab-hv keeps its source LV as it was. Made before xr1's conversion renames xr1-disk.
    const kvm = await labKvmHostUp();
    await labSsh(lab, [
      'set -e',
      `lvcreate -q -y -L "$(lvs --noheadings --units m --nosuffix -o lv_size vg1/xr1-disk | tr -d ' ' | cut -d. -f1)m" -n ${xm1.lv} ${xm1.vg}`,
      `dd if=/dev/vg1/xr1-disk of=/dev/${xm1.vg}/${xm1.lv} bs=4M status=none`,
      `e2fsck -fy /dev/${xm1.vg}/${xm1.lv} >/dev/null 2>&1 || [ $? -le 1 ]`,
      `tune2fs -U ${xm1Uuid} /dev/${xm1.vg}/${xm1.lv} >/dev/null`,
      `mkdir -p /mnt/xm1 && mount /dev/${xm1.vg}/${xm1.lv} /mnt/xm1`,
      ...ownName('/mnt/xm1', 'xm1'),
      'umount /mnt/xm1 && rmdir /mnt/xm1',
      // its autostart entry: set aside on lab-hv by the move, given back by the rollback
      `printf 'name = "xm1"\\n' > /etc/xen/xm1.cfg && mkdir -p /etc/xen/auto && ln -sfn ../xm1.cfg /etc/xen/auto/xm1.cfg`,
    ].join('\n'));
    const xm1Before = (await labSsh(lab, `sha256sum /dev/${xm1.vg}/${xm1.lv}`)).stdout.split(' ')[0]!;
    const xm1Inv = path.join(tmp, 'moved-guest.yaml');
    writeGuestInventory(xm1Inv, { xm1 });
    const xm1Run = (async (): Promise<Converted> => {
      const c = await convertGuest(xm1Inv, 'xm1', { kvm_host: 'lab-kvm' });
      const image = path.join(LAB_OUT_DIR, 'xm1-kvm.img');
      return { ...c, image, boot: c.exitCode === 0 ? await bootExportedDisk({ ...xm1, inventory: xm1Inv, from: kvm }, image, lab, c.rep) : undefined };
    })();
    const xr1Rep = new CollectingReporter();
    const xr1Run = labMigrate({ reporter: xr1Rep, copyMethod: 'rsync', reset: false }).then((m) => ({ ...m, rep: xr1Rep }));
    // every run ends before any test looks (a failed one must not leave another running beside the next test)
    const xp1Run = (async (): Promise<Converted> => {
      const c = await convertGuest(xp1Inv, 'xp1', {});
      const image = path.join(LAB_OUT_DIR, 'xp1-kvm.img');
      return { ...c, image, boot: c.exitCode === 0 ? await bootExportedDisk({ ...xp1, inventory: xp1Inv }, image, lab, c.rep) : undefined };
    })();
    await Promise.allSettled([xf1Run, xt1Run, xr1Run, xp1Run, xm1Run]);
    return {
      lvsAtStart,
      xf1: { source, inv: xf1Inv, lvsBuilt, lvsAfterDd, dd, run: await xf1Run },
      xt1: { before: xt1Before, fragment: JSON.parse(out) as Shapes['xt1']['fragment'], run: await xt1Run },
      xr1: await xr1Run,
      xp1: { before: xp1Before, check: xp1Check, run: await xp1Run },
      xm1: { before: xm1Before, inv: xm1Inv, kvm, run: await xm1Run },
    };
  }
  const converted = () => (shapes ??= convertShapes());

  it('an xfs root (xf1, made of xr1\'s files): refused for dd before any change; rsync recreates it as xfs with its UUID and label, it boots to a login prompt, the source unchanged; then the clean-up removes the source, only with force', async () => {
    let lvsAtStart: string | undefined;
    try {
      const s = await converted();
      lvsAtStart = s.lvsAtStart;
      // the dd route: refused by the preflight, nothing changed
      const { dd } = s.xf1;
      assert.notEqual(dd.exitCode, 0);
      const pre = dd.rep.results().find((x) => x.host === 'xf1' && x.task.startsWith('preflight'));
      assert.equal(pre?.status, 'failed');
      assert.match(pre?.msg ?? '', /xf1: refused before any change:\n\s*- \/dev\/vg0\/xf1-disk holds xfs, which cannot be shrunk: [^\n]*use copy_method rsync/);
      assert.deepEqual(dd.rep.results().filter((x) => x.status === 'changed').map((x) => x.task), []);
      assert.equal(s.xf1.lvsAfterDd, s.xf1.lvsBuilt, 'the refused dd run changed the LVs');

      const rsync = s.xf1.run;
      assert.equal(rsync.exitCode, 0, JSON.stringify(rsync.rep.results().filter((x) => x.status === 'failed')));
      const boot = rsync.boot!;
      const { image } = rsync;
      console.log(`      xf1 (xfs) conversion: ${rsync.convertSeconds.toFixed(0)} s; boot (${boot.method}): ${boot.seconds.toFixed(0)} s (beside xt1 and xr1)`);
      assert.equal(boot.exitCode, 0, `the boot check failed:\n${boot.console.slice(-2000)}`);
      assert.ok(boot.sawGrub, `no GRUB on the console:\n${boot.console.slice(-2000)}`);
      assert.match(boot.console, /xf1 login:/);
      // the new root, 1 MiB into the disk (the playbook's one partition): xfs, the source's UUID and label
      const ids = execFileSync('blkid', ['-p', '-O', String(1024 * 1024), '-o', 'export', image], { encoding: 'utf8' });
      assert.match(ids, /^TYPE=xfs$/m);
      assert.match(ids, new RegExp(`^UUID=${xf1Uuid}$`, 'm'));
      assert.match(ids, new RegExp(`^LABEL=${xf1Label}$`, 'm'));
      const old = path.join(tmp, 'xf1-old.img');
      await exportLv(xf1.vg, `${xf1.lv}-old`, old, lab);
      assert.equal(sha256(old), sha256(s.xf1.source), 'the source LV (now xf1-disk-old) was written to');

      // the clean-up (ferry migrate --cleanup): planned by --check, refused without force, then LV-old
      // goes and the converted LV stays; a second run has nothing to do, and a rollback says why it cannot run
      const xfLvs = async () => (await labSsh(lab, 'lvs --noheadings -o lv_name vg0')).stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('xf1')).sort();
      const cleanup = async (extra: Record<string, unknown>, opts: { check?: boolean; playbook?: string } = {}) => {
        const rep = new CollectingReporter();
        const r = await runPlaybookFile(path.join(ROOT, `playbooks/${opts.playbook ?? 'xen-cleanup.yaml'}`), {
          inventory: [lab.inventoryPath, s.xf1.inv], limit: 'xf1', reporter: rep, check: opts.check ?? false, extraVars: { kvm_define: false, ...extra },
        });
        return { rep, exitCode: r.exitCode };
      };
      const both = ['xf1-disk', 'xf1-disk-old'];
      assert.deepEqual(await xfLvs(), both);
      const planned = await cleanup({ force: true }, { check: true });
      assert.equal(planned.exitCode, 0, JSON.stringify(planned.rep.results().filter((x) => x.status === 'failed')));
      assert.equal(planned.rep.result('remove the Xen source LV (LV-old)', 'xf1')?.status, 'changed');
      assert.deepEqual(await xfLvs(), both, '--check removed an LV');
      const refusedCleanup = await cleanup({});
      assert.notEqual(refusedCleanup.exitCode, 0);
      assert.match(refusedCleanup.rep.result('removing the Xen source needs force', 'xf1')?.msg ?? '', /deletes the only copy of xf1 as Xen ran it[\s\S]*-e force=true/);
      assert.deepEqual(await xfLvs(), both, 'a cleanup without force removed an LV');
      const cleaned = await cleanup({ force: true });
      assert.equal(cleaned.exitCode, 0, JSON.stringify(cleaned.rep.results().filter((x) => x.status === 'failed')));
      assert.deepEqual(await xfLvs(), ['xf1-disk']);
      assert.match((await labSsh(lab, 'cat /var/lib/ferry/xen-to-kvm/vg0-xf1-disk.done')).stdout, /^cleaned up: vg0\/xf1-disk-old removed$/m);
      const cleanAgain = await cleanup({ force: true });
      assert.equal(cleanAgain.exitCode, 0);
      assert.deepEqual(cleanAgain.rep.results().filter((x) => x.status === 'changed').map((x) => x.task), []);
      const noRollback = await cleanup({ force: true }, { playbook: 'xen-rollback.yaml' });
      assert.notEqual(noRollback.exitCode, 0);
      assert.match(noRollback.rep.result('a cleaned-up conversion cannot be rolled back', 'xf1')?.msg ?? '', /removed by --cleanup[\s\S]*no Xen copy to go back to/);
      assert.deepEqual(await xfLvs(), ['xf1-disk'], 'the refused rollback changed the LVs');
    } finally {
      // the lab as it was: the later tests count LVs
      if (lab) {
        await labSsh(lab, [
          'umount /mnt/xf1-src /mnt/xf1 /mnt/ferry/xf1 /mnt/ferry/xf1-old 2>/dev/null',
          'kpartx -d /dev/vg0/xf1-disk 2>/dev/null',
          'for lv in xf1-disk xf1-disk-old; do lvremove -q -y vg0/$lv 2>/dev/null; done',
          'rmdir /mnt/xf1-src /mnt/xf1 /mnt/ferry/xf1 /mnt/ferry/xf1-old 2>/dev/null',
          'rm -f /var/lib/ferry/xen-to-kvm/vg0-xf1-disk.done',
          'true',
        ].join('\n'));
      }
    }
    // what the test made is gone; the LVs of xr1 (converted beside it) and xt1 (checked next) are theirs to count
    assert.equal(ownLvs('xf1', await lvsAll()), ownLvs('xf1', lvsAtStart ?? ''), 'the xfs test left LVs behind');
  });

  it('a xen-tools layout (xt1: swap LV xvda1, root LV xvda2, a data LV xvdb in the other VG mounted by UUID, two NICs): xen-import reads its xl.cfg, the conversion attaches the other disks as they are and maps fstab, root=/resume= and RESUME= to their KVM names; it boots to a login prompt with its swap on, /srv mounted, eth0 and eth1 with their Xen MACs; every source unchanged', async () => {
    let lvsAtStart: string | undefined;
    const [mac, mac2] = xt1Macs;
    try {
      const s = await converted();
      lvsAtStart = s.lvsAtStart;
      const xt1 = s.xt1.fragment.xen_guests.hosts.xt1!;
      assert.equal(xt1.lv, 'xt1-disk');
      assert.equal(xt1.root_device, 'xvda2');
      assert.deepEqual(
        (xt1.extra_disks as { source: string; xen: string; kvm: string }[]).map((d) => [d.source, d.xen, d.kvm]),
        [['/dev/vg0/xt1-swap', 'xvda1', 'vdb'], ['/dev/vg1/xt1-data', 'xvdb', 'vdc']],
      );
      assert.deepEqual(xt1.kvm_interfaces, [{ mac, bridge: 'br0' }, { mac: mac2, bridge: 'br1' }]);

      const { rep, exitCode, convertSeconds, image } = s.xt1.run;
      assert.equal(exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
      const fstab = rep.result('fstab with the KVM device names (UUIDs checked against the new filesystem and the other disks)', 'xt1');
      assert.equal(fstab?.status, 'changed');
      const boot = s.xt1.run.boot!;
      console.log(`      xt1 (xen-tools layout) conversion: ${convertSeconds.toFixed(0)} s; boot (${boot.method}): ${boot.seconds.toFixed(0)} s (beside xf1 and xr1)`);
      assert.equal(boot.exitCode, 0, `the boot check failed:\n${boot.console.slice(-2000)}`);
      assert.ok(boot.sawGrub, `no GRUB on the console:\n${boot.console.slice(-2000)}`);
      assert.match(boot.console, /xt1 login:/);
      assert.match(boot.console, new RegExp(`ferry-lab-check: swap=/dev/vdb srv=xt1-data-marker eth0=${mac} eth1=${mac2}`), boot.console.slice(-2000));
      // what the guest now says: fstab and the kernel command line with the KVM names
      // -c: the boot check stopped the guest without a clean unmount, and debugfs may refuse its bitmaps otherwise
      const guestFile = (f: string) => execFileSync('debugfs', ['-c', '-R', `cat ${f}`, `${image}?offset=${1024 * 1024}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      assert.deepEqual(guestFile('/etc/fstab').split('\n').filter((l) => /^(\/dev\/|UUID=)/.test(l)).map((l) => l.split(/\s+/).slice(0, 2).join(' ')), ['/dev/vda1 /', '/dev/vdb none', `UUID=${xt1Uuids.data} /srv`]);
      assert.equal(guestFile('/etc/initramfs-tools/conf.d/resume'), 'RESUME=/dev/vdb\n');
      const cmdline = /^GRUB_CMDLINE_LINUX="(.*)"$/m.exec(guestFile('/etc/default/grub'))?.[1] ?? '';
      assert.deepEqual(cmdline.split(' ').filter((t) => /^(root|resume|console)=/.test(t)), ['root=/dev/vda1', 'resume=/dev/vdb', 'console=tty0', 'console=ttyS0,115200'], cmdline);
      // the root kept its UUID on the new partition; the source and the other disks were never written
      const ids = execFileSync('blkid', ['-p', '-O', String(1024 * 1024), '-o', 'export', image], { encoding: 'utf8' });
      assert.match(ids, new RegExp(`^UUID=${xt1Uuids.root}$`, 'm'));
      assert.equal(await xt1Sums('/dev/vg0/xt1-disk-old', ...xt1Others), s.xt1.before, 'a source LV of xt1 was written to');
    } finally {
      if (lab) {
        await labSsh(lab, [
          'umount /mnt/xt1 /mnt/ferry/xt1 /mnt/ferry/xt1-old 2>/dev/null',
          'kpartx -d /dev/vg0/xt1-disk 2>/dev/null',
          'for lv in vg0/xt1-disk vg0/xt1-disk-old vg0/xt1-swap vg1/xt1-data; do lvremove -q -y $lv 2>/dev/null; done',
          'rmdir /mnt/xt1 /mnt/ferry/xt1 /mnt/ferry/xt1-old 2>/dev/null',
          'rm -f /var/lib/ferry/xen-to-kvm/vg0-xt1-disk.done /etc/xen/xt1.cfg',
          'true',
        ].join('\n'));
      }
    }
    // what the test made is gone (xf1's test has removed its own); xr1's LVs, converted beside it, are the next test's
    assert.equal(ownLvs('xt1', await lvsAll()), ownLvs('xt1', lvsAtStart ?? ''), 'the xen-tools test left LVs behind');
  });

  it('converts xr1 (mkfs + rsync) and the disk boots to GRUB and a login prompt under KVM', async () => {
    const m = (await converted()).xr1;
    const { rep } = m;
    lab = m.lab;
    assert.equal(m.convertExit, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
    console.log(`      conversion: ${m.convertSeconds.toFixed(0)} s; boot (${m.boot.method}): ${m.boot.seconds.toFixed(0)} s (beside xf1 and xt1)`);
    assert.equal(m.boot.exitCode, 0, `the boot check playbook failed: ${JSON.stringify(rep.results().filter((x) => x.status === 'failed'))}\n${m.boot.console.slice(-2000)}`);
    assert.ok(m.boot.sawGrub, `no GRUB on the console:\n${m.boot.console.slice(-2000)}`);
    assert.ok(m.boot.sawLogin, `no login prompt on the console:\n${m.boot.console.slice(-2000)}`);
    assert.match(m.boot.console, /xr1 login:/);
    // ferry migrate's recap per guest, from this run's events: the phases the playbook's tags name
    const xr1 = migrationRecap(rep.events).find((g) => g.guest === 'xr1');
    console.log(`      recap: ${formatMigrationRecap(xr1 ? [xr1] : []).join(' / ')}`);
    assert.equal(xr1?.result, 'done');
    assert.equal(xr1.method, 'rsync');
    assert.equal(xr1.source, 'lab-hv');
    assert.ok((xr1.bytesCopied ?? 0) > 50 * 1024 * 1024, `rsync moved ${xr1.bytesCopied} bytes`);
    // the conversion (kvm_define off: the lab host is emulated), then the playbook's own boot phase on this machine
    assert.deepEqual(Object.keys(xr1.phases), ['preflight', 'copy', 'convert', 'boot']);
    assert.ok(xr1.phases.copy! > 0 && xr1.phases.convert! > 0 && xr1.phases.boot! > 0);
    assert.equal(xr1.boot, 'booted');
    assert.match(formatMigrationRecap([xr1]).join('\n'), /offline \S+ until a login prompt/);
    const watched = rep.results().filter((x) => x.host === 'xr1' && x.task === 'GRUB and a login prompt on the serial console');
    // skipped in the conversion (kvm_define off), then run by the boot
    assert.deepEqual(watched.map((x) => x.status), ['skipped', 'ok'], JSON.stringify(watched));
    assert.match(watched[1]!.msg ?? '', /^a login prompt after [\d.]+s, GRUB seen/);
    // Xen's autostart entry for xr1 was set aside before the first change: xendomains cannot boot the converted disk
    const auto = (await labSsh(lab, 'ls -A /etc/xen/auto; echo --; readlink /var/lib/ferry/xen-to-kvm/vg1-xr1-disk.xen-auto/xr1.cfg')).stdout;
    assert.equal(auto, '--\n../xr1.cfg\n');
  });

  it('a guest partitioned already (xp1: swap in partition 1, the ext4 root in partition 2): the whole disk is copied with its table, the root partition converted in place on the copy; it boots to a login prompt as vda2 with its swap on vda1; the source unchanged', async () => {
    let lvsAtStart: string | undefined;
    try {
      const s = await converted();
      lvsAtStart = s.lvsAtStart;
      const { rep, exitCode, convertSeconds, image, boot } = s.xp1.run;
      // the whole-disk route: no new table, no mkfs, no rsync; one verified block copy (--check planned the same)
      const byModule = (r: CollectingReporter, mod: string) => r.events.filter((e) => e.type === 'task_result' && e.host === 'xp1' && e.module === mod).map((e) => (e as { status: string }).status);
      // (the dd route's blockcopy is the other one, skipped)
      const ran = (r: CollectingReporter, mod: string) => byModule(r, mod).filter((st) => st !== 'skipped');
      assert.equal(s.xp1.check.exitCode, 0, JSON.stringify(s.xp1.check.rep.results().filter((x) => x.status === 'failed')));
      assert.deepEqual(ran(s.xp1.check.rep, 'blockcopy'), ['changed']);
      assert.equal(exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
      assert.deepEqual(ran(rep, 'blockcopy'), ['changed']);
      for (const mod of ['partition', 'filesystem', 'rsync']) assert.ok(byModule(rep, mod).every((st) => st === 'skipped'), `${mod} ran: ${byModule(rep, mod).join(', ')}`);
      console.log(`      xp1 (partitioned) conversion: ${convertSeconds.toFixed(0)} s; boot (${boot!.method}): ${boot!.seconds.toFixed(0)} s (beside the others)`);
      assert.equal(boot!.exitCode, 0, `the boot check failed:\n${boot!.console.slice(-2000)}`);
      assert.ok(boot!.sawGrub, `no GRUB on the console:\n${boot!.console.slice(-2000)}`);
      assert.match(boot!.console, /xp1 login:/);
      // the copy kept the table, the swap and the root's UUID; fstab names the KVM partitions
      const offset = xp1RootSector * 512;
      const ids = execFileSync('blkid', ['-p', '-O', String(offset), '-o', 'export', image], { encoding: 'utf8' });
      assert.match(ids, new RegExp(`^UUID=${xp1Uuids.root}$`, 'm'));
      assert.match(execFileSync('blkid', ['-p', '-O', String(1024 * 1024), '-o', 'export', image], { encoding: 'utf8' }), new RegExp(`^UUID=${xp1Uuids.swap}$`, 'm'));
      // -c: the boot check stopped the guest without a clean unmount, and debugfs refuses its bitmaps otherwise
      const fstab = execFileSync('debugfs', ['-c', '-R', 'cat /etc/fstab', `${image}?offset=${offset}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      assert.deepEqual(fstab.split('\n').filter((l) => l.startsWith('/dev/')).map((l) => l.split(/\s+/).slice(0, 2).join(' ')), ['/dev/vda2 /', '/dev/vda1 none']);
      assert.equal((await labSsh(lab, `sha256sum /dev/${xp1.vg}/${xp1.lv}-old`)).stdout.split(' ')[0], s.xp1.before, 'the source LV (now xp1-disk-old) was written to');
    } finally {
      if (lab) {
        await labSsh(lab, [
          'umount /mnt/xp1 /mnt/ferry/xp1 2>/dev/null',
          'kpartx -d /dev/vg1/xp1-disk 2>/dev/null',
          'for lv in xp1-disk xp1-disk-old; do lvremove -q -y vg1/$lv 2>/dev/null; done',
          'rmdir /mnt/xp1 /mnt/ferry/xp1 2>/dev/null',
          'rm -f /var/lib/ferry/xen-to-kvm/vg1-xp1-disk.done',
          'true',
        ].join('\n'));
      }
    }
    assert.equal(ownLvs('xp1', await lvsAll()), ownLvs('xp1', lvsAtStart ?? ''), 'the partitioned guest\'s test left LVs behind');
  });

  it('a guest moved to another host (xm1, lab-hv -> lab-kvm with kvm_host): copied through this machine, converted on lab-kvm, it boots to a login prompt from lab-kvm\'s LV; on lab-hv its LV is only read; the clean-up removes that source only with force, after which a rollback refuses; then rolled back, only with force', async () => {
    let lvsAtStart: string | undefined;
    const s = await converted();
    const { kvm } = s.xm1;
    try {
      lvsAtStart = s.lvsAtStart;
      const { rep, exitCode, convertSeconds, boot } = s.xm1.run;
      assert.equal(exitCode, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
      const recap = migrationRecap(rep.events).find((g) => g.guest === 'xm1');
      console.log(`      xm1 (moved) conversion: ${convertSeconds.toFixed(0)} s; boot (${boot!.method}): ${boot!.seconds.toFixed(0)} s (beside the others)\n      recap: ${formatMigrationRecap(recap ? [recap] : []).join(' / ')}`);
      assert.deepEqual([recap?.result, recap?.method, recap?.source, recap?.destination, recap?.boot], ['done', 'rsync', 'lab-hv', 'lab-kvm', 'booted']);
      assert.equal(boot!.exitCode, 0, `the boot check failed:\n${boot!.console.slice(-2000)}`);
      assert.ok(boot!.sawGrub, `no GRUB on the console:\n${boot!.console.slice(-2000)}`);
      assert.match(boot!.console, /xm1 login:/);
      // lab-kvm: the converted LV, with the source's UUID on its partition, and ferry's claim; the conversion ran there
      assert.equal((await labSsh(kvm, `lvs --noheadings -o lv_name ${xm1.vg}; ls /var/lib/ferry/xen-to-kvm`)).stdout.split('\n').map((l) => l.trim()).filter(Boolean).join(' '), 'xm1-disk vg1-xm1-disk.copy-id vg1-xm1-disk.moved-from');
      assert.match(execFileSync('blkid', ['-p', '-O', String(1024 * 1024), '-o', 'export', s.xm1.run.image], { encoding: 'utf8' }), new RegExp(`^UUID=${xm1Uuid}$`, 'm'));
      assert.deepEqual([...new Set(rep.results().filter((x) => x.host === 'xm1' && x.module === 'grub').map((x) => x.delegatedTo))], ['lab-kvm']);
      // lab-hv: the source LV only read (not renamed, the same bytes), its autostart entry set aside, ferry's record of the move
      const hv = async () => (await labSsh(lab, `sha256sum /dev/${xm1.vg}/${xm1.lv}; lvs --noheadings -o lv_name ${xm1.vg} | grep -c xm1-disk-old; ls /etc/xen/auto; cat /var/lib/ferry/xen-to-kvm/vg1-xm1-disk.done 2>/dev/null; true`)).stdout;
      const moved = await hv();
      assert.equal(moved.split(' ')[0], s.xm1.before, 'the source LV was written to');
      assert.match(moved, /^0$/m, 'the source was renamed');
      assert.doesNotMatch(moved, /xm1\.cfg/);
      assert.match(moved, /^xm1: \/dev\/vg1\/xm1-disk -> lab-kvm:\/dev\/vg1\/xm1-disk \(rsync\)$/m);

      // the rollback: refused without force (the guest may have run under KVM since), then lab-kvm's copy goes and lab-hv is as before
      const xm1Playbook = async (file: string, extra: Record<string, unknown>, check = false) => {
        const r = new CollectingReporter();
        const run = await runPlaybookFile(path.join(ROOT, 'playbooks', file), { inventory: [lab.inventoryPath, s.xm1.inv], limit: 'xm1', reporter: r, check, extraVars: { kvm_define: false, kvm_host: 'lab-kvm', ...extra } });
        return { rep: r, exitCode: run.exitCode };
      };
      const rollback = (extra: Record<string, unknown>) => xm1Playbook('xen-rollback.yaml', extra);
      const refused = await rollback({});
      assert.notEqual(refused.exitCode, 0);
      assert.match(refused.rep.result('a finished move is rolled back only with force', 'xm1')?.msg ?? '', /moved to lab-kvm and converted[\s\S]*-e force=true/);
      assert.equal(await hv(), moved, 'a refused rollback changed lab-hv');

      // the clean-up of the moved source (ferry migrate --cleanup): planned by --check, refused without force,
      // then xm1-disk goes from lab-hv and lab-kvm's copy stays; a second run has nothing to do, and a rollback says why it cannot run
      const cleanup = (extra: Record<string, unknown>, check = false) => xm1Playbook('xen-cleanup.yaml', extra, check);
      const kvmState = async () => (await labSsh(kvm, `lvs --noheadings -o lv_name ${xm1.vg}; ls /var/lib/ferry/xen-to-kvm`)).stdout.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
      const kvmMoved = await kvmState();
      const removeTask = "remove the moved guest's Xen source LV (on the Xen host)";
      const planned = await cleanup({ force: true }, true);
      assert.equal(planned.exitCode, 0, JSON.stringify(planned.rep.results().filter((x) => x.status === 'failed')));
      assert.deepEqual([planned.rep.result(removeTask, 'xm1')?.status, planned.rep.result(removeTask, 'xm1')?.delegatedTo], ['changed', 'lab-hv']);
      assert.equal(await hv(), moved, '--check changed lab-hv');
      const refusedCleanup = await cleanup({});
      assert.notEqual(refusedCleanup.exitCode, 0);
      assert.match(refusedCleanup.rep.result("removing a moved guest's Xen source needs force", 'xm1')?.msg ?? '', /removing vg1\/xm1-disk on lab-hv deletes the only copy of xm1 as Xen ran it[\s\S]*works on lab-kvm, then run again with -e force=true/);
      assert.equal(await hv(), moved, 'a cleanup without force changed lab-hv');
      // the source's bytes kept aside first (in vg0), so that the rollback can be tested after the clean-up as well
      const size = (await labSsh(lab, `lvs --noheadings --units b --nosuffix -o lv_size ${xm1.vg}/${xm1.lv}`)).stdout.trim();
      await labSsh(lab, `lvcreate -q -y -L ${size}b -n xm1-kept vg0 && dd if=/dev/${xm1.vg}/${xm1.lv} of=/dev/vg0/xm1-kept bs=4M status=none`);
      const cleaned = await cleanup({ force: true });
      assert.equal(cleaned.exitCode, 0, JSON.stringify(cleaned.rep.results().filter((x) => x.status === 'failed')));
      const gone = await hv();
      assert.doesNotMatch(gone, /^[0-9a-f]{64} /, 'the source LV is still on lab-hv');
      assert.match(gone, /^cleaned up: vg1\/xm1-disk removed$/m);
      assert.equal(await kvmState(), kvmMoved, 'the clean-up changed lab-kvm');
      const cleanAgain = await cleanup({ force: true });
      assert.equal(cleanAgain.exitCode, 0, JSON.stringify(cleanAgain.rep.results().filter((x) => x.status === 'failed')));
      assert.deepEqual(cleanAgain.rep.results().filter((x) => x.status === 'changed').map((x) => x.task), []);
      const noRollback = await rollback({ force: true });
      assert.notEqual(noRollback.exitCode, 0);
      assert.match(noRollback.rep.result('a moved guest whose source is gone cannot be rolled back', 'xm1')?.msg ?? '', /vg1\/xm1-disk is removed by --cleanup on lab-hv: there is no Xen copy to go back to\. vg1\/xm1-disk on lab-kvm is the guest's disk$/);
      assert.equal(await kvmState(), kvmMoved, 'the refused rollback changed lab-kvm');
      // as from the admin's own backup: the source's bytes back, the record without its clean-up line; lab-hv as after the move
      await labSsh(lab, `lvcreate -q -y -W y -L ${size}b -n ${xm1.lv} ${xm1.vg} && dd if=/dev/vg0/xm1-kept of=/dev/${xm1.vg}/${xm1.lv} bs=4M status=none && lvremove -q -y vg0/xm1-kept && sed -i '/^cleaned up:/d' /var/lib/ferry/xen-to-kvm/vg1-xm1-disk.done`);
      assert.equal(await hv(), moved);

      const back = await rollback({ force: true });
      assert.equal(back.exitCode, 0, JSON.stringify(back.rep.results().filter((x) => x.status === 'failed')));
      assert.equal((await labSsh(kvm, `lvs --noheadings -o lv_name ${xm1.vg}; ls /var/lib/ferry/xen-to-kvm 2>/dev/null; true`)).stdout.trim(), '');
      const after = await hv();
      assert.equal(after.split(' ')[0], s.xm1.before, 'the source LV was written to');
      assert.match(after, /^xm1\.cfg$/m, 'the autostart entry is not back');
      assert.doesNotMatch(after, /-> lab-kvm/, 'the record is still there');
    } finally {
      if (lab) await labSsh(lab, `lvremove -q -y ${xm1.vg}/${xm1.lv} vg0/xm1-kept 2>/dev/null; rm -rf /etc/xen/xm1.cfg /etc/xen/auto/xm1.cfg /var/lib/ferry/xen-to-kvm/vg1-xm1-disk.*; true`);
      // two emulated hosts keep both cores busy: lab-kvm stops once its test is done
      await labKvmHostDown();
    }
    assert.equal(ownLvs('xm1', await lvsAll()), ownLvs('xm1', lvsAtStart ?? ''), 'the moved guest\'s test left LVs behind');
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
    // and Xen's autostart entry for the guest is back where xendomains looks, as it was
    assert.equal((await labSsh(lab, 'readlink /etc/xen/auto/xr1.cfg; test -e /var/lib/ferry/xen-to-kvm/vg1-xr1-disk.xen-auto; echo $?')).stdout, '../xr1.cfg\n1\n');

    // A second rollback finds nothing to undo: every task ok or skipped.
    const again = await run({ force: true });
    assert.equal(again.r.exitCode, 0);
    assert.deepEqual(again.rep.results().filter((x) => x.status === 'changed').map((x) => x.task), []);
  });
  it('the dd route (snapshot, shrink on the snapshot, dd, verify): xr1 converts and boots to GRUB and a login prompt; LV-old byte for byte the Xen disk; no snapshot left', async () => {
    // from the pristine lab (labMigrate resets it), the whole playbook with copy_method dd
    const rep = new CollectingReporter();
    const m = await labMigrate({ reporter: rep, copyMethod: 'dd' });
    lab = m.lab;
    try {
      assert.equal(m.convertExit, 0, JSON.stringify(rep.results().filter((x) => x.status === 'failed')));
      console.log(`      dd route: conversion ${m.convertSeconds.toFixed(0)} s; boot (${m.boot.method}): ${m.boot.seconds.toFixed(0)} s`);
      assert.equal(m.boot.exitCode, 0, `the boot check failed:\n${m.boot.console.slice(-2000)}`);
      assert.ok(m.boot.sawGrub, `no GRUB on the console:\n${m.boot.console.slice(-2000)}`);
      assert.match(m.boot.console, /xr1 login:/);
      // the copy was dd's: the shrink and the block copy changed, rsync never ran
      const byModule = (mod: string) => rep.events.filter((e) => e.type === 'task_result' && e.host === 'xr1' && e.module === mod).map((e) => (e as { status: string }).status);
      // (the first blockcopy is the whole-disk copy of a guest partitioned already: skipped for xr1)
      assert.deepEqual(byModule('blockcopy'), ['skipped', 'changed']);
      assert.ok(byModule('rsync').every((st) => st === 'skipped'), `rsync ran: ${byModule('rsync').join(', ')}`);
      const recap = migrationRecap(rep.events).find((g) => g.guest === 'xr1');
      console.log(`      recap: ${formatMigrationRecap(recap ? [recap] : []).join(' / ')}`);
      assert.equal(recap?.result, 'done');
      assert.equal(recap.method, 'dd');
      const lvsNow = (await labSsh(lab, 'lvs --noheadings -o lv_name vg1')).stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
      assert.deepEqual(lvsNow.filter((l) => l.startsWith('xr1')), ['xr1-disk', 'xr1-disk-old'], 'the snapshot was left, or an LV is missing');
      const old = path.join(tmp, 'dd-old.img');
      await exportLv('vg1', 'xr1-disk-old', old, lab);
      assert.equal(sha256(old), sha256(labPaths(lab.hash).guestImage), 'the dd route wrote to the source');
    } finally {
      // the next test starts from the pristine lab
      lab = await labReset();
    }
  });

  it('faults: the controller SIGKILLed right after each step starts, the connection cut during the copy and grub-install; each time the next run (--resume, once a plain run) goes on, and the guest converts, boots, and its source is untouched (FERRY_E2E_FAULTS=1)', async function () {
    // ~15 min on a quiet machine (a conversion plus a restart per step): too long for every `npm test`;
    // `npm run test:faults` runs it (the README says so, and what it saw)
    if (!process.env.FERRY_E2E_FAULTS) this.skip();
    this.timeout(90 * 60_000); // a loaded machine (2 cores shared with other runs) took over 40 min
    // The test above left the lab pristine (reset). One conversion, cut short again and again:
    // every run is killed just after the first step no earlier run had started (at once, or a second
    // in, so both "before its command" and "during it" happen), so each step of the playbook is hit
    // and the whole costs one conversion plus a restart per step.
    const lvs = (await labSsh(lab, 'lvs --noheadings -o lv_name vg1')).stdout;
    assert.doesNotMatch(lvs, /xr1-disk-old/, 'the lab guest is not pristine');
    const sourceSum = async (lv: string) => (await labSsh(lab, `sha256sum /dev/vg1/${lv}`)).stdout.split(' ')[0];
    const before = await sourceSum('xr1-disk');
    const cwd = fs.mkdtempSync(path.join(tmp, 'faults-'));
    // -T 60: the lab VM is emulated, and a loaded machine makes its SSH handshake slow
    const base = ['run', path.join(ROOT, 'playbooks/xen-to-kvm.yaml'), '-i', lab.inventoryPath, '-e', 'kvm_define=false', '-T', '60'];
    const CUT: Record<string, string> = { 'copy the files (rsync -aAXH, rootfs excludes)': 'rsync', 'GRUB with a serial console, installed on the whole disk': 'grub-install' };
    const started = new Set<string>();
    const table: string[] = [];
    let plainRunDone = false;
    let nextPlain = false;
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 80, `no end after 80 runs:\n${table.join('\n')}`);
      const resume = attempt > 0 && !nextPlain;
      if (nextPlain) plainRunDone = true;
      nextPlain = false;
      let target: string | undefined;
      let cut: Promise<string> | undefined;
      let timer: NodeJS.Timeout | undefined;
      const delay = attempt % 2 ? 1000 : 0;
      const r = await ferryCli(resume ? [...base, '--resume'] : base, cwd, (e, child) => {
        if (e.type !== 'task_start') return;
        const key = `${e.loc} ${e.task}`;
        if (target !== undefined || started.has(key)) return;
        // only the target counts as hit: steps that start during a kill's delay get their own turn later
        started.add(key);
        target = e.task;
        if (CUT[e.task]) cut = cutConnectionDuring(lab, CUT[e.task]!);
        else timer = setTimeout(() => child.kill('SIGKILL'), delay);
      });
      clearTimeout(timer);
      const how = resume ? '--resume' : attempt ? 'a plain run' : 'the first run';
      if (r.code === 0 && !r.signal) {
        table.push(`${how}: completed`);
        break;
      }
      const failed = r.events.filter((e) => e.type === 'task_result' && (e.status === 'failed' || e.status === 'unreachable'));
      if (cut) {
        table.push(`${how}: ${target} — ${await cut}; the run stopped (exit ${r.code}, ${failed.map((e) => (e.type === 'task_result' ? `${e.task}: ${e.status}` : '')).join('; ')})`);
        assert.notEqual(r.code, 0);
        // once, right after the copy was cut, the next run is a plain one (no --resume): it must go on too
        if (!plainRunDone && target?.startsWith('copy the files')) nextPlain = true;
      } else {
        if (r.signal !== 'SIGKILL') {
          // a diagnosis, never the failure itself: a lab too loaded to answer must not hide why the run ended
          const usage = await guestRootUsage(lab, lab.guest.vg, lab.guest.lv).catch((e: Error) => `(not read: ${e.message.split('\n').pop()})`);
          // the steps first: a rebuild's title says why it was planned (its error output can be long)
          const steps = failed.map((e) => (e.type === 'task_result' ? `${e.task}: ${(e.steps ?? []).join(' | ')}` : '')).join('\n');
          assert.fail(`the run ended on its own (exit ${r.code}) after ${target ?? 'no new step'}; the runs so far:\n${table.join('\n')}\n${steps}\n${JSON.stringify(failed).slice(0, 3000)}\n${r.stderr}\nthe guest root:\n${usage}`);
        }
        table.push(`${how}: killed ${delay ? `${delay / 1000} s after` : 'as'} "${target}" started`);
      }
    }
    console.log(`      ${table.length} runs:\n${table.map((l) => `        ${l}`).join('\n')}`);
    assert.ok(plainRunDone, 'no plain run was tried');
    assert.ok(table.some((l) => l.includes('rsync')) && table.some((l) => l.includes('grub-install')), table.join('\n'));
    assert.equal(await sourceSum('xr1-disk-old'), before, 'the source LV changed');
    const g = lab.guest;
    const boot = await bootExportedDisk({ vg: g.vg, lv: g.lv, name: g.name, mac: g.mac, memoryMb: g.memoryMb }, path.join(LAB_OUT_DIR, `${g.name}-kvm.img`), lab, new CollectingReporter());
    assert.equal(boot.exitCode, 0, boot.console.slice(-2000));
    assert.ok(boot.sawGrub && boot.sawLogin, `no GRUB or no login prompt:\n${boot.console.slice(-2000)}`);
  });
});
