// The shipped conversion playbook, loaded and checked as `ferry run` does before any host is
// contacted, for guests as `ferry xen-import` describes them: the KVM domain's NICs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateExtraVars, type MigrateFlags } from '../../app/cli-run.js';
import { ValidationError } from '../../runner/errors.js';
import { loadPlaybook } from '../../runner/playbook/load.js';
import { preflight } from '../../runner/playbook/preflight.js';
import type { Node, TaskNode } from '../../runner/playbook/model.js';
import { renderDeep, renderString } from '../../runner/template.js';
import { resourceLimits } from '../../runner/scheduler.js';
import { builtinModules } from '../../tasks/index.js';
import { virshDefineModule } from '../../tasks/virsh-define.js';
import { guestToInventoryVars } from '../../tasks/xen/inventory-vars.js';
import { parseXlConfig } from '../../tasks/xen/xl-config.js';
import { corpus } from '../helpers/corpora.js';

const PLAYBOOK = 'playbooks/xen-to-kvm.yaml';

/** Writes an executable shell script `name` into `bin`: a stand-in for a host's tool. */
function writeStub(bin: string, name: string, body = 'exit 0'): void {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

function tasks(nodes: Node[]): TaskNode[] {
  return nodes.flatMap((n) => (n.kind === 'task' ? [n] : n.kind === 'block' ? tasks([...n.block, ...n.rescue, ...n.always]) : []));
}

describe('playbooks/xen-to-kvm.yaml: the KVM NICs', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  const define = tasks(play.tasks).find((t) => t.module === 'virsh_define')!;
  const base = { ferry_hypervisor: 'hv1', ferry_connection: 'none', vg: 'vg1', lv: 'web1-disk', memory_mb: 512, vcpus: 1 };
  const file = `${corpus('libvirt-xlconfigdata')}/test-fullvirt-ovswitch-trunked.cfg`;
  const imported = guestToInventoryVars(parseXlConfig(readFileSync(file, 'utf8'), file));
  const hosts: Record<string, Record<string, unknown>> = {
    // as xen-import writes it: kvm_interfaces, and mac/bridge of the first vif
    web1: { ...base, kvm_interfaces: [{ mac: '00:16:3e:00:00:02', bridge: 'br-back' }, ...imported.kvm_interfaces] },
    // an inventory written by hand before kvm_interfaces: one NIC from mac and bridge
    web2: { ...base, mac: '00:16:3e:00:00:09', bridge: 'xenbr0' },
  };

  const problems = (inventory: Record<string, Record<string, unknown>>): string[] => {
    try {
      preflight(pb, () => Object.keys(inventory), (h) => inventory[h]!, {}, { has: (n) => n in inventory || n === 'hv1', names: ['hv1', ...Object.keys(inventory)], hostParams: () => [] });
    } catch (e) {
      if (e instanceof ValidationError) return e.problems.map((p) => `${p.loc?.line}: ${p.message}`);
      throw e;
    }
    return [];
  };

  it('passes the checks made before any host is contacted, with either inventory form', () => {
    assert.deepEqual(problems(hosts), []);
  });

  it('a guest with neither kvm_interfaces nor mac and bridge is refused before any host is contacted', () => {
    const lines = readFileSync(PLAYBOOK, 'utf8').split('\n');
    const line = lines.findIndex((l) => /^\s+interfaces: "\{\{ kvm_interfaces/.test(l)) + 1;
    // and the boot's start of the same domain (its arguments merged from the define's)
    const start = lines.findIndex((l) => /virsh_define: \{ <<: \*domain/.test(l)) + 1;
    assert.ok(line > 0 && start > line);
    assert.deepEqual(problems({ ...hosts, web3: base }), [line, start].flatMap((n) => [`${n}: undefined variable 'mac' for host web3`, `${n}: undefined variable 'bridge' for host web3`]));
  });

  it('defines every vif as a NIC in order, VLANs included; one NIC from mac and bridge otherwise', () => {
    const nics = (h: string) => {
      const vars = { ...play.vars, ...hosts[h], inventory_hostname: h };
      const rendered = renderString(define.args.interfaces as string, vars);
      return virshDefineModule.params.parse({ name: h, memory_mb: 512, interfaces: rendered }).interfaces;
    };
    assert.deepEqual(nics('web1'), [
      { mac: '00:16:3e:00:00:02', bridge: 'br-back', model: 'virtio' },
      { mac: '00:16:3e:66:92:9c', bridge: 'ovsbr0', model: 'virtio', virtualport: 'openvswitch', vlan: { tags: [42, 43], trunk: true } },
    ]);
    assert.deepEqual(nics('web2'), [{ mac: '00:16:3e:00:00:09', bridge: 'xenbr0', model: 'virtio' }]);
  });
});

describe('playbooks/xen-to-kvm.yaml: the boot on the KVM host (verify_boot)', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  const boot = play.tasks.find((n) => n.kind === 'block' && n.name?.startsWith('boot the KVM guest'));
  const all = tasks(play.tasks);
  const define = all.find((t) => t.module === 'virsh_define' && t.args.state === 'defined')!;

  it('is off unless asked, runs on kvm_host as root, tagged boot', () => {
    assert.equal(play.vars.verify_boot, false);
    // once booted, the migrated guest stays in service unless asked otherwise
    assert.equal(play.vars.boot_keep_running, true);
    assert.ok(boot?.kind === 'block');
    assert.deepEqual(boot.when.map((w) => w.source), ['kvm_define | bool and verify_boot | bool']);
    assert.equal(boot.delegateTo, '{{ kvm_host }}');
    assert.deepEqual(boot.tags, ['boot']);
  });

  it('starts the domain as it was defined (the same XML), watches the console the define sent to a file, records the boot, then shuts it down only when asked', () => {
    assert.ok(boot?.kind === 'block');
    const inner = tasks(boot.block);
    assert.deepEqual(inner.map((t) => t.module), ['command', 'virsh_define', 'boot_check', 'file', 'copy', 'virsh_define']);
    const start = inner[1]!;
    const { state: s1, ...defined } = define.args;
    const { state: s2, ...started } = start.args;
    assert.deepEqual([s1, s2], ['defined', 'started']);
    assert.deepEqual(started, defined);
    assert.equal(define.args.console_log, "{{ boot_console_log if verify_boot | bool else omit }}");
    assert.equal(inner[2]!.args.console_log, '{{ boot_console_log }}');
    assert.deepEqual(inner[5]!.args, { name: '{{ inventory_hostname }}', state: 'shutdown', shutdown_timeout: '{{ boot_shutdown_timeout }}' });
    assert.deepEqual(inner[5]!.when.map((w) => w.source), ['booted.rc != 0 and not (boot_keep_running | bool)']);
    // a guest booted once is not booted again by a later run
    for (const n of boot.block.slice(1)) assert.ok(n.kind !== 'include' && n.when.some((w) => w.source.startsWith('booted.rc != 0')), n.name);
  });
});

describe('playbooks/xen-to-kvm.yaml: heavy copies are limited per volume group and per hypervisor', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  /** Every node with its enclosing blocks' limits, as the engine inherits them. */
  const limited = (nodes: Node[], outer: NonNullable<TaskNode['limits']> = []): [TaskNode, NonNullable<TaskNode['limits']>][] =>
    nodes.flatMap((n) => {
      const limits = [...outer, ...(n.limits ?? [])];
      if (n.kind === 'task') return limits.length ? [[n, limits] as [TaskNode, typeof limits]] : [];
      return n.kind === 'block' ? limited([...n.block, ...n.rescue, ...n.always], limits) : [];
    });
  // as the scheduler takes them: rendered, one queue per key, the lowest max of a key given twice
  const render = (limits: NonNullable<TaskNode['limits']>, vars: Record<string, unknown>) =>
    Object.fromEntries(resourceLimits(limits, vars, 'web1').sort(([a], [b]) => a.localeCompare(b)));

  it('the pre-copy, the whole-disk copy of a partitioned guest, the rsync copy and every step of the dd copy hold both keys; the defaults are 1 per VG and 2 per hypervisor', () => {
    const all = limited(play.tasks);
    assert.deepEqual(all.map(([t]) => t.module), ['rsync', 'blockcopy', 'rsync', 'lvm', 'filesystem', 'filesystem', 'blockcopy', 'filesystem', 'lvm']);
    // kvm_host and kvm_vg as the vars file makes them for a guest that stays on its host: the same keys
    const vars = { ...play.vars, ferry_hypervisor: 'hv1', vg: 'vg1', lv: 'web1', kvm_host: 'hv1', kvm_vg: 'vg1' };
    for (const [, limits] of all) assert.deepEqual(render(limits, vars), { hv1: 2, 'hv1:vg1': 1 });
    assert.deepEqual(render(all[0]![1], { ...vars, ferry_copy_limit: 3, ferry_vg_copy_limit: 2 }), { hv1: 3, 'hv1:vg1': 2 });
    // a move holds the KVM host's VG and host as well
    assert.deepEqual(render(all[2]![1], { ...vars, kvm_host: 'kvm2', kvm_vg: 'vg0' }), { hv1: 2, 'hv1:vg1': 1, kvm2: 2, 'kvm2:vg0': 1 });
  });
});

describe('playbooks/xen-to-kvm.yaml: the preflight script decides by filesystem type and copy method', () => {
  // The script alone, run by sh here with the hypervisor's tools stubbed (a 1 GiB LV, blkid saying
  // FAKE_TYPE): which shapes each route takes. The lab e2e runs it for real over SSH.
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const script = tasks(pb.plays[0]!.tasks).find((t) => t.name?.startsWith('preflight'))!.args.cmd as string;
  const bin = mkdtempSync(join(tmpdir(), 'ferry-preflight-'));
  const stub = (name: string, body?: string) => writeStub(bin, name, body);
  // no -old LV and no snapshot yet; the LV is 1 GiB; the VG has FAKE_FREE bytes free; no partition table
  stub('lvs', 'case "$*" in *-old|*-ferry-snap|*-ferry-new) exit 1 ;; *lv_size*) echo "  1073741824" ;; esac');
  stub('vgs', 'echo "  $FAKE_FREE"');
  // blkid: the LV's filesystem FAKE_TYPE, or its partition table FAKE_TABLE with FAKE_PARTS
  // ("N:START:TYPE ...", START in sectors), each partition's type read at its offset (-O)
  stub('blkid', [
    'case "$*" in',
    '  *PTTYPE*) [ -n "$FAKE_TABLE" ] && echo "$FAKE_TABLE"; [ -n "$FAKE_TABLE" ] ;;',
    '  *-O*) for p in $FAKE_PARTS; do IFS=: read -r n s t <<EOF2',
    '$p',
    'EOF2',
    '    [ $((s * 512)) = "$3" ] && echo "$t" && exit 0; done; exit 2 ;;',
    '  *TYPE*) echo "$FAKE_TYPE" ;;',
    'esac',
  ].join('\n'));
  stub('partx', '[ "$1 $2 $3" = "-g -o NR,START" ] && for p in $FAKE_PARTS; do echo "$p" | awk -F: \'{ print $1, $2 }\'; done');
  // debugfs -R 'cat /etc/fstab' LV: the guest's fstab, read without mounting (in a partition: at
  // the offsets FAKE_ROOT_OFF lists; the other partitions have no fstab). Its kernels: /boot holds
  // vmlinuz-FAKE_KERNEL (none when empty), whose config has CONFIG_VIRTIO_BLK=y; debugfs lists a
  // directory as /inode/mode/uid/gid/name/size/
  stub('debugfs', [
    '[ "$1" = -R ] || exit 0',
    'case "$2" in',
    '  "cat /etc/fstab") case "$3" in',
    '    *"?offset="*) case " $FAKE_ROOT_OFF " in *" ${3##*=} "*) printf "%s" "$FAKE_FSTAB" ;; esac ;;',
    '    *) printf "%s" "$FAKE_FSTAB" ;;',
    '    esac ;;',
    '  "ls -p /boot") printf "/2/040755/0/0/./\\n/2/040755/0/0/../\\n"; [ -z "$FAKE_KERNEL" ] || printf "/12/100644/0/0/vmlinuz-%s/4096/\\n" "$FAKE_KERNEL" ;;',
    '  "cat /boot/config-$FAKE_KERNEL") echo CONFIG_VIRTIO_BLK=y ;;',
    'esac',
  ].join('\n'));
  // xfs has no debugfs: its fstab and kernel are read through a read-only mount in a mount
  // namespace of its own (the fstab, a line @@kernel@@, then the kernel found: the lister's judgement
  // runs inside that namespace, so here the stub answers for it; the lab's xr6 runs the real one)
  stub('unshare', '[ "$1 $2 $3" = "-m --propagation private" ] && printf "%s\\n@@kernel@@\\n%s\\n" "$FAKE_FSTAB" "$FAKE_KERNEL"');
  // the guest root's free space, as dumpe2fs -h (ext) and xfs_db -r (xfs) print it: FAKE_ROOM MiB in 4 KiB blocks
  stub('dumpe2fs', '[ "$1" = -h ] && printf "Block count:              262144\\nFree blocks:              %s\\nBlock size:               4096\\n" $((FAKE_ROOM * 256))');
  stub('xfs_db', '[ "$1" = -r ] && printf "fdblocks = %s\\nblocksize = 4096\\n" $((FAKE_ROOM * 256))');
  const tools = ['lvcreate', 'lvrename', 'lvremove', 'sfdisk', 'kpartx', 'mount', 'umount', 'chroot', 'rsync', 'e2fsck', 'resize2fs', 'dd', 'mkfs.ext4', 'mkfs.btrfs'];
  for (const t of tools) stub(t);
  // no libvirt with a xen driver here (the machine's own virsh must not answer); xl only when FAKE_XL
  // says how the guest is: running (xl domid succeeds) or stopped
  const xl = '[ -n "$FAKE_XL" ] || { echo "xl: command not found" >&2; exit 127; }; [ "$1" = domid ] && [ "$FAKE_XL" = running ] && echo 7';
  stub('virsh', 'exit 1');
  stub('xl', xl);
  after(() => rmSync(bin, { recursive: true, force: true }));

  const run = (
    type: string,
    method: 'rsync' | 'dd',
    o: { free?: number; mkfsXfs?: boolean; others?: { source: string }[]; fstab?: string; room?: number; minFree?: number; kernelMb?: number; kernel?: string; table?: string; parts?: string; rootOffsets?: number[]; xl?: 'running' | 'stopped'; shutdown?: boolean; precopy?: boolean; to?: string; kvmVg?: string } = {},
  ) => {
    rmSync(join(bin, 'mkfs.xfs'), { force: true });
    if (o.mkfsXfs ?? true) stub('mkfs.xfs');
    const minFree = o.minFree ?? pb.plays[0]!.vars.guest_min_free_mb;
    const kernelMb = o.kernelMb ?? pb.plays[0]!.vars.guest_kernel_mb;
    const play = pb.plays[0]!.vars;
    // stop_guest as the play defines it: shutdown_guest, or precopy (which stops the guest itself)
    const precopy = o.precopy ?? play.precopy;
    const stopGuest = renderString(play.stop_guest as string, { shutdown_guest: o.shutdown ?? play.shutdown_guest, precopy });
    const cmd = String(renderString(script, {
      vg: 'vg1', lv: 'web1-disk', copy_method: method, inventory_hostname: 'web1', other_disks: o.others ?? [], guest_min_free_mb: minFree, guest_kernel_mb: kernelMb,
      xen_running: play.xen_running, precopy, stop_guest: stopGuest, precopy_lv: 'web1-disk-ferry-new', snapshot_lv: 'web1-disk-ferry-snap',
      // a move (--to): kvm_host another host; kvm_vg as the vars file makes it (ferry_kvm_vg, else vg)
      moved: o.to !== undefined, kvm_host: o.to ?? 'hv1', kvm_vg: o.kvmVg ?? 'vg1',
    }));
    const r = spawnSync('sh', ['-c', cmd], {
      encoding: 'utf8',
      // sbin stays out of PATH: the host's own LVM and mkfs tools must not answer for the stubs
      env: {
        PATH: `${bin}:/usr/bin:/bin`, FAKE_TYPE: type, FAKE_FREE: String(o.free ?? 10 * 2 ** 30), FAKE_FSTAB: o.fstab ?? '/dev/xvda1 / ext4 defaults 0 1\n', FAKE_ROOM: String(o.room ?? 180),
        FAKE_TABLE: o.table ?? '', FAKE_PARTS: o.parts ?? '', FAKE_ROOT_OFF: (o.rootOffsets ?? []).join(' '), FAKE_KERNEL: o.kernel ?? '6.1.0-9-amd64', FAKE_XL: o.xl ?? '',
      },
    });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
  };

  it('ext4 goes either route; xfs goes the rsync route (the type is what the mkfs step is given)', () => {
    assert.deepEqual(run('ext4', 'dd'), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('ext4', 'rsync'), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('xfs', 'rsync'), { status: 0, stdout: 'xfs', stderr: '' });
  });

  it('xfs on the dd route is refused: it cannot be shrunk, use copy_method rsync; with every other reason at once', () => {
    const why = '- /dev/vg1/web1-disk holds xfs, which cannot be shrunk: the dd route copies ext2, ext3 and ext4 only; use copy_method rsync (-e copy_method=rsync, or ferry migrate --method rsync)';
    assert.deepEqual(run('xfs', 'dd'), { status: 1, stdout: '', stderr: `web1: refused before any change:\n  ${why}` });
    const both = run('xfs', 'dd', { free: 2 ** 30 });
    assert.equal(both.status, 1);
    assert.deepEqual(both.stderr.split('\n').slice(1), [`  ${why}`, '  - volume group vg1 has 1024 MiB free; the new LV and its snapshot need 1228 MiB (vgextend vg1, or give the guest another VG)']);
  });

  it('xfs on the rsync route needs mkfs.xfs on the hypervisor; other types are refused on both routes', () => {
    assert.deepEqual(run('xfs', 'rsync', { mkfsXfs: false }), { status: 1, stdout: '', stderr: 'web1: refused before any change:\n  - the hypervisor lacks: mkfs.xfs (install them, then run again)' });
    for (const method of ['rsync', 'dd'] as const) {
      assert.equal(run('btrfs', method).stderr, 'web1: refused before any change:\n  - /dev/vg1/web1-disk holds btrfs: ferry converts ext2, ext3, ext4 and xfs roots');
    }
  });

  it('a /boot, /usr or /var on a disk of its own is refused (the chroot installs the kernel, initramfs and GRUB on the root alone); data mounts are not', () => {
    // as a guest with a /boot LV and a /var LV has it, and one with its data on /srv and /home
    const split = '# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/xvda2 / ext4 errors=remount-ro 0 1\n/dev/xvda1 /boot ext2 defaults 0 2\nUUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11 /var ext4 defaults 0 2\n# /dev/xvdc /usr ext4 defaults 0 2\n';
    assert.deepEqual(run('ext4', 'rsync', { fstab: split }), {
      status: 1, stdout: '',
      stderr: "web1: refused before any change:\n  - the guest's fstab mounts /boot from /dev/xvda1; /var from UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11; ferry converts guests whose /boot, /usr and /var are on the root filesystem (the kernel, initramfs and GRUB are installed there)",
    });
    const data = '/dev/xvda2 / ext4 defaults 0 1\n/dev/xvda1 none swap sw 0 0\n/dev/xvdb /srv ext4 defaults 0 2\nUUID=1b2c /home ext4 defaults 0 2\n/dev/xvdc /var/lib/data xfs defaults 0 2\n';
    assert.deepEqual(run('ext4', 'dd', { fstab: data }), { status: 0, stdout: 'ext4', stderr: '' });
    // an xfs root the same (rsync only)
    assert.deepEqual(run('xfs', 'rsync', { fstab: split.replaceAll('ext4', 'xfs') }).stderr.split('\n')[1], "  - the guest's fstab mounts /boot from /dev/xvda1; /var from UUID=0b3c7f1e-2b43-4a5e-9d0e-1f0c6c1e8a11; ferry converts guests whose /boot, /usr and /var are on the root filesystem (the kernel, initramfs and GRUB are installed there)");
    assert.deepEqual(run('xfs', 'rsync', { fstab: data.replaceAll('ext4', 'xfs') }), { status: 0, stdout: 'xfs', stderr: '' });
  });

  it('a guest root with less room inside than the conversion writes (default 128 MiB) is refused, ext and xfs alike; guest_min_free_mb changes the bar', () => {
    assert.equal(pb.plays[0]!.vars.guest_min_free_mb, 128);
    const why = (mb: number) =>
      `web1: refused before any change:\n  - the guest's root filesystem has ${mb} MiB free; the conversion writes up to about 128 MiB into it (GRUB and its packages, a new initramfs beside the old, apt's package index): free space in the guest first (apt-get clean, old kernels) or grow its LV and filesystem; set guest_min_free_mb lower only if you know it fits`;
    assert.deepEqual(run('ext4', 'rsync', { room: 100 }), { status: 1, stdout: '', stderr: why(100) });
    assert.deepEqual(run('xfs', 'rsync', { room: 127 }), { status: 1, stdout: '', stderr: why(127) });
    assert.deepEqual(run('ext3', 'dd', { room: 128 }), { status: 0, stdout: 'ext3', stderr: '' });
    assert.deepEqual(run('xfs', 'rsync', { room: 4096 }), { status: 0, stdout: 'xfs', stderr: '' });
    assert.deepEqual(run('ext4', 'rsync', { room: 100, minFree: 64 }), { status: 0, stdout: 'ext4', stderr: '' });
  });

  it('a guest without a kernel that boots under KVM needs room for one too (default 512 MiB more), ext and xfs alike; a Xen-only kernel is no such kernel; guest_kernel_mb changes the bar', () => {
    assert.equal(pb.plays[0]!.vars.guest_kernel_mb, 512);
    const why = (mb: number, kernelMb = 512) =>
      `web1: refused before any change:\n  - the guest's root filesystem has ${mb} MiB free; it has no kernel that boots under KVM (none with virtio_blk), so the conversion installs one and writes up to about ${128 + kernelMb} MiB into it (${kernelMb} for the kernel, its modules and initramfs, 128 for GRUB and apt's index): free space in the guest first (apt-get clean, old kernels) or grow its LV and filesystem; set guest_kernel_mb lower if its distribution's kernel is smaller (Debian's generic kernel is about 400 MiB installed)`;
    assert.deepEqual(run('ext4', 'rsync', { room: 600, kernel: '' }), { status: 1, stdout: '', stderr: why(600) });
    assert.deepEqual(run('xfs', 'rsync', { room: 639, kernel: '' }), { status: 1, stdout: '', stderr: why(639) });
    assert.deepEqual(run('ext4', 'dd', { room: 600, kernel: '2.6.32-5-xen-amd64' }), { status: 1, stdout: '', stderr: why(600) });
    assert.deepEqual(run('ext4', 'rsync', { room: 640, kernel: '' }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('ext4', 'rsync', { room: 600, kernel: '', kernelMb: 256 }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('ext4', 'rsync', { room: 300, kernel: '', kernelMb: 256 }), { status: 1, stdout: '', stderr: why(300, 256) });
    // the same room with a good kernel is enough
    assert.deepEqual(run('ext4', 'rsync', { room: 600 }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('xfs', 'rsync', { room: 600 }), { status: 0, stdout: 'xfs', stderr: '' });
  });

  it('a guest partitioned already (dos): the root is the partition whose fstab mounts /, found by its offset; either route copies the whole disk (no snapshot to make room for)', () => {
    // swap in partition 1 (1 MiB in), the ext4 root in partition 2, as a partitioned PV guest has it
    const disk = { table: 'dos', parts: '1:2048:swap 2:67584:ext4', rootOffsets: [67584 * 512], fstab: '/dev/xvda2 / ext4 defaults 0 1\n/dev/xvda1 none swap sw 0 0\n' };
    assert.deepEqual(run('', 'rsync', disk), { status: 0, stdout: 'ext4\n2', stderr: '' });
    // 1 GiB free is room for the new LV of 1 GiB alone: the dd route makes no snapshot here
    assert.deepEqual(run('', 'dd', { ...disk, free: 2 ** 30 }), { status: 0, stdout: 'ext4\n2', stderr: '' });
    assert.equal(run('', 'rsync', { ...disk, room: 100 }).status, 1, "the root partition's free space is read too");
    const boot = run('', 'rsync', { ...disk, fstab: '/dev/xvda2 / ext4 defaults 0 1\n/dev/xvda1 /boot ext2 defaults 0 2\n', parts: '1:2048:ext2 2:67584:ext4' });
    assert.match(boot.stderr, /the guest's fstab mounts \/boot from \/dev\/xvda1;/);
  });

  it('a partitioned disk without exactly one primary ext root partition, or with another kind of table, is refused before any change', () => {
    const refused = (o: Parameters<typeof run>[2]) => run('', 'rsync', o).stderr.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(refused({ table: 'dos', parts: '1:2048:swap 2:67584:ext4' }), [
      '- /dev/vg1/web1-disk holds a dos partition table, and none of its partitions holds an ext2, ext3 or ext4 root (a filesystem whose fstab mounts /): ferry converts partitioned guests with such a root',
    ]);
    assert.deepEqual(refused({ table: 'dos', parts: '1:2048:ext4 2:67584:ext4', rootOffsets: [2048 * 512, 67584 * 512] }), [
      '- several partitions of /dev/vg1/web1-disk hold a root filesystem (numbers 1 2): convert such a guest by hand',
    ]);
    assert.deepEqual(refused({ table: 'dos', parts: '1:2048:swap 5:67584:ext4', rootOffsets: [67584 * 512] }), [
      '- /dev/vg1/web1-disk has its root in logical partition 5: ferry converts partitioned guests whose root is a primary partition (1-4)',
    ]);
    assert.deepEqual(refused({ table: 'gpt', parts: '1:2048:ext4', rootOffsets: [2048 * 512] }), [
      '- /dev/vg1/web1-disk holds a gpt partition table: ferry converts an unpartitioned filesystem on the LV, or a disk with a dos (MBR) partition table',
    ]);
    // xfs in a partition is not read in place (xfs_db takes no offset): not a root ferry finds
    assert.equal(refused({ table: 'dos', parts: '1:2048:xfs', rootOffsets: [2048 * 512] }).length, 1);
  });

  it('a guest running under Xen is refused (shut it down, or let ferry); with shutdown_guest it is not (the shutdown task after the preflight stops it)', () => {
    assert.equal(pb.plays[0]!.vars.shutdown_guest, false);
    assert.deepEqual(run('ext4', 'rsync', { xl: 'running' }), {
      status: 1, stdout: '',
      stderr: 'web1: refused before any change:\n  - web1 is running under Xen: shut it down first (xl shutdown -w web1), or let ferry do it after this check (ferry migrate --shutdown, or -e shutdown_guest=true)',
    });
    assert.deepEqual(run('ext4', 'rsync', { xl: 'running', shutdown: true }), { status: 0, stdout: 'ext4', stderr: '' });
    // as -e gives it: a string
    assert.deepEqual(run('ext4', 'rsync', { xl: 'running', shutdown: 'true' as unknown as boolean }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('ext4', 'rsync', { xl: 'stopped' }), { status: 0, stdout: 'ext4', stderr: '' });
  });

  it('precopy: a running guest passes (the pre-copy reads a snapshot, then ferry stops it); the rsync route of an unpartitioned disk only; room for the new LV and the snapshot', () => {
    assert.equal(pb.plays[0]!.vars.precopy, false);
    assert.deepEqual(run('ext4', 'rsync', { xl: 'running', precopy: true }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('xfs', 'rsync', { xl: 'running', precopy: 'true' as unknown as boolean }), { status: 0, stdout: 'xfs', stderr: '' });
    const dd = run('ext4', 'dd', { xl: 'running', precopy: true });
    assert.deepEqual([dd.status, dd.stderr.split('\n')], [1, ['web1: refused before any change:', "  - precopy copies a running guest's files (rsync): the dd route copies blocks, which only a stopped guest keeps still; use copy_method rsync (ferry migrate --method rsync), or leave out precopy"]]);
    const disk = { table: 'dos', parts: '1:2048:ext4', rootOffsets: [2048 * 512], precopy: true };
    assert.match(run('', 'rsync', disk).stderr, /^web1: refused before any change:\n {2}- \/dev\/vg1\/web1-disk holds a partition table: ferry copies a partitioned guest's whole disk block by block, which only a stopped guest keeps still; leave out precopy/);
    // 1 GiB LV: 1 GiB free is room for the new LV, not for its snapshot as well (a fifth of it)
    assert.deepEqual(run('ext4', 'rsync', { free: 2 ** 30 }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.equal(run('ext4', 'rsync', { free: 2 ** 30, precopy: true }).stderr, 'web1: refused before any change:\n  - volume group vg1 has 1024 MiB free; the new LV and its snapshot need 1228 MiB (vgextend vg1, or give the guest another VG)');
    assert.deepEqual(run('ext4', 'rsync', { free: 1229 * 2 ** 20, precopy: true }), { status: 0, stdout: 'ext4', stderr: '' });
  });

  it('without xl, a guest running under libvirt\'s xen driver is refused the same way, with the virsh command to stop it', () => {
    rmSync(join(bin, 'xl'));
    stub('virsh', '[ "$1 $2" = "-c xen:///" ] || exit 1; case "$3" in uri) echo xen:/// ;; domstate) echo running ;; *) exit 1 ;; esac');
    try {
      assert.equal(run('ext4', 'rsync').stderr, 'web1: refused before any change:\n  - web1 is running under Xen: shut it down first (virsh -c xen:/// shutdown web1), or let ferry do it after this check (ferry migrate --shutdown, or -e shutdown_guest=true)');
      assert.deepEqual(run('ext4', 'rsync', { shutdown: true }), { status: 0, stdout: 'ext4', stderr: '' });
    } finally {
      stub('virsh', 'exit 1');
      stub('xl', xl);
    }
  });

  it('a move (--to): only the source is read here, so no room and no LVM or mkfs tools are asked of the Xen host; dd, precopy and other disks are refused', () => {
    // the VG here has 1 MiB free and no mkfs.xfs: the new LV is made on the KVM host, which its own preflight checks
    assert.deepEqual(run('ext4', 'rsync', { to: 'kvm2', free: 2 ** 20 }), { status: 0, stdout: 'ext4', stderr: '' });
    assert.deepEqual(run('xfs', 'rsync', { to: 'kvm2', mkfsXfs: false }), { status: 0, stdout: 'xfs', stderr: '' });
    assert.equal(run('ext4', 'rsync', { free: 2 ** 20 }).status, 1, 'on its own host the same guest needs the room');
    const r = run('ext4', 'dd', { to: 'kvm2', precopy: true, others: [{ source: join(bin, 'lvs') }] });
    assert.equal(r.status, 1);
    assert.deepEqual(r.stderr.split('\n'), [
      'web1: refused before any change:',
      '  - web1 moves to kvm2: a move copies its files with rsync (or a disk partitioned already block by block); use copy_method rsync (ferry migrate --method rsync)',
      '  - web1 moves to kvm2: precopy works on the guest\'s own host only; leave out precopy (ferry migrate --shutdown stops it first)',
      '  - web1 moves to kvm2 and has other disks (extra_disks): a move copies the root disk only; convert it on its host, or move its other LVs to kvm2 first',
      '  - precopy copies a running guest\'s files (rsync): the dd route copies blocks, which only a stopped guest keeps still; use copy_method rsync (ferry migrate --method rsync), or leave out precopy',
    ]);
    // a move never looks for LV-old: the Xen host's LV is the source, never renamed
    assert.match(script, /if \[ "\$moved" = no \] && lvs "\$vg\/\$lv-old"/);
  });

  it('ferry_kvm_vg names another VG only for a move: on the guest\'s own host the new LV takes the old one\'s place', () => {
    assert.deepEqual(run('ext4', 'rsync', { kvmVg: 'vg0' }).stderr.split('\n'), [
      'web1: refused before any change:',
      '  - ferry_kvm_vg (vg0) names another volume group than the guest\'s (vg1): on the guest\'s own host the new LV takes the place of the old one in vg1; ferry_kvm_vg is for a move (ferry migrate --to HOST)',
    ]);
    assert.equal(run('ext4', 'rsync', { kvmVg: 'vg0', to: 'kvm2' }).status, 0);
  });

  it('a guest\'s other disks must be there (they are attached as they are); every missing one is named', () => {
    const here = join(bin, 'data.img');
    writeFileSync(here, '');
    const gone = '/dev/vg9/web1 swap';
    assert.deepEqual(run('ext4', 'rsync', { others: [{ source: here }, { source: gone }] }), {
      status: 1, stdout: '', stderr: `web1: refused before any change:\n  - ${gone} (another disk of the guest) is not there: fix extra_disks in the inventory`,
    });
    assert.deepEqual(run('ext4', 'rsync', { others: [{ source: here }] }), { status: 0, stdout: 'ext4', stderr: '' });
  });
});

describe('playbooks/xen-to-kvm.yaml: a move reads the source on the Xen host and makes everything else on the KVM host', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const top = pb.plays[0]!.tasks.find((n) => n.name === 'the whole conversion runs on the KVM host')!;
  /** Every task with the delegate_to it runs under (its own, else its blocks'). */
  const placed = (nodes: Node[], outer?: string): [TaskNode, string | undefined][] =>
    nodes.flatMap((n) => {
      const here = n.kind === 'include' ? outer : (n.delegateTo ?? outer);
      if (n.kind === 'task') return [[n, here] as [TaskNode, string | undefined]];
      return n.kind === 'block' ? placed([...n.block, ...n.rescue, ...n.always], here) : [];
    });
  const all = placed([top]);
  const XEN = '{{ ferry_hypervisor }}';

  it('the conversion runs on kvm_host; on the Xen host only the preflight\'s reads, the shutdown, the autostart entries, a read-only mount of the source and ferry\'s record', () => {
    assert.equal(top.kind === 'block' && top.delegateTo, '{{ kvm_host }}');
    const onXen = all.filter(([, d]) => d === XEN).map(([t]) => `${t.module}: ${t.name ?? `${String(t.args.path ?? t.args.dest)} ${String(t.args.state ?? '')}`.trim()}`);
    assert.deepEqual(onXen, [
      'shell: preflight (the guest is stopped, its disk is a shape ferry converts, the VG has room, the tools are there)',
      'command: the source LV\'s size (a move makes one as big on the KVM host)',
      'shell: shut the guest down under Xen (shutdown_guest; within shutdown_timeout seconds, never destroyed)',
      'shell: Xen\'s autostart entries for the guest (xendomains boots each one with the hypervisor)',
      'shell: keep Xen from booting the guest (its autostart entries move to ferry\'s record; a rollback puts them back)',
      'command: read the old filesystem\'s UUID (kept, so fstab and grub still match)',
      'command: read its label (blkid says nothing and exits 2 when there is none)',
      'file: {{ old_root }} directory',
      'mount: {{ old_root }} mounted',
      'mount: {{ old_root }} unmounted',
      'file: record the conversion (a later run skips it; delete the file to convert again)',
      'copy: {{ record }}',
    ]);
    // the mount of the source is read-only whatever its type
    const mount = all.find(([t, d]) => d === XEN && t.module === 'mount' && t.args.state === 'mounted')![0];
    assert.match(String(mount.args.opts), /^\{\{ 'ro,norecovery,nouuid' if fstype == 'xfs' else 'ro,noload' \}\}$/);
  });

  it('the copies read the source from the Xen host (relayed through the controller when it is not the KVM host); the LV-old rename is for a guest that stays', () => {
    const copies = all.filter(([t]) => (t.module === 'rsync' || t.module === 'blockcopy') && /old_(root|disk)/.test(String(t.args.src)));
    assert.deepEqual(copies.map(([t]) => [t.module, t.args.src_host]), [['blockcopy', XEN], ['rsync', XEN]]);
    const rename = all.find(([t]) => t.name?.startsWith('rename the Xen LV to LV-old'))![0];
    assert.deepEqual(rename.when.map((w) => w.source), ['not (moved | bool)']);
    // the new LV: in kvm_vg, as big as the source (its size read on the Xen host for a move)
    const lv = all.find(([t]) => t.name === 'a new LV of the same size')![0];
    // (a parameter rendered to omit is not given)
    const args = (moved: boolean) => renderDeep(lv.args, { moved, kvm_vg: 'vg0', lv: 'web1-disk', old_lv: 'web1-disk-old', source_size: { stdout: '  1073741824\n' } });
    assert.deepEqual(args(true), { vg: 'vg0', lv: 'web1-disk', size: '1073741824', state: 'present' });
    assert.deepEqual(args(false), { vg: 'vg0', lv: 'web1-disk', size_of: 'web1-disk-old', state: 'present' });
  });

  it('the rsync copy is direct when the user says the KVM host may reach the Xen host: ferry_move_direct in the inventory, or --direct (direct_copy) for every guest, which keeps an inventory object of how', () => {
    const rsync = all.find(([t]) => t.module === 'rsync' && /old_root/.test(String(t.args.src)))![0];
    assert.equal(rsync.args.direct, '{{ move_direct }}');
    const vars = readFileSync('playbooks/vars/xen-guest.yaml', 'utf8');
    const expr = /^move_direct: "(.*)"$/m.exec(vars)![1]!;
    const how = { host: '10.0.2.2', port: 2222 };
    const cases: [Record<string, unknown>, unknown][] = [
      [{}, false],
      [{ ferry_move_direct: true }, true],
      [{ ferry_move_direct: how }, how],
      [{ direct_copy: 'true' }, true],
      [{ direct_copy: 'true', ferry_move_direct: how }, how],
      [{ direct_copy: 'true', ferry_move_direct: false }, true],
      [{ direct_copy: 'false', ferry_move_direct: true }, true],
    ];
    for (const [given, want] of cases) assert.deepEqual(renderString(expr, given), want, JSON.stringify(given));
    // ferry migrate --direct is direct_copy=true, before the user's own -e
    assert.deepEqual(migrateExtraVars({ direct: true, to: 'kvm1', extraVars: ['x=1'] } as MigrateFlags), ['kvm_host=kvm1', 'direct_copy=true', 'x=1']);
    assert.deepEqual(migrateExtraVars({ extraVars: [] } as unknown as MigrateFlags), []);
  });
});

describe('playbooks/xen-to-kvm.yaml: a move\'s preflight on the KVM host (its VG, its tools, nothing of the guest\'s name in the way)', () => {
  // The script alone, run by sh with the KVM host's tools stubbed; the lab e2e runs it over SSH.
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const task = tasks(pb.plays[0]!.tasks).find((t) => t.name?.startsWith('preflight on the KVM host'))!;
  const bin = mkdtempSync(join(tmpdir(), 'ferry-kvm-preflight-'));
  const claim = join(bin, 'claim');
  const stub = (name: string, body?: string) => writeStub(bin, name, body);
  // the VG exists when FAKE_VG is set, with FAKE_FREE bytes free; the guest's LV when FAKE_LV is; a domain of its name when FAKE_DOM is
  stub('vgs', '[ -n "$FAKE_VG" ] || exit 5; case "$*" in *vg_free*) echo "  $FAKE_FREE" ;; esac');
  stub('lvs', '[ -n "$FAKE_LV" ]');
  stub('virsh', '[ -n "$FAKE_DOM" ]');
  const tools = ['lvcreate', 'lvremove', 'blkid', 'sfdisk', 'kpartx', 'mount', 'umount', 'chroot', 'rsync', 'partx', 'dd', 'sha256sum'];
  for (const t of tools) stub(t);
  after(() => rmSync(bin, { recursive: true, force: true }));

  const run = (o: { vg?: boolean; free?: number; lv?: boolean; dom?: boolean; claimed?: boolean; define?: boolean; mkfs?: boolean; partition?: string } = {}) => {
    rmSync(claim, { force: true });
    if (o.claimed) writeFileSync(claim, 'web1: vg1/web1-disk moved from hv1\n');
    rmSync(join(bin, 'mkfs.ext4'), { force: true });
    if (o.mkfs ?? true) stub('mkfs.ext4');
    const cmd = String(renderString(task.args.cmd as string, {
      kvm_vg: 'vg1', lv: 'web1-disk', inventory_hostname: 'web1', move_claim: claim, kvm_host: 'kvm2', kvm_define: o.define ?? true,
      source_size: { stdout: '  1073741824' }, root_partition: o.partition ?? '', fstype: 'ext4',
    }));
    const r = spawnSync('sh', ['-c', cmd], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_VG: o.vg ?? true ? 'yes' : '', FAKE_FREE: String(o.free ?? 10 * 2 ** 30), FAKE_LV: o.lv ? 'yes' : '', FAKE_DOM: o.dom ? 'yes' : '' },
    });
    return { status: r.status, stderr: r.stderr.trim().split('\n').slice(1).join('\n') };
  };

  it('runs on the KVM host (the block\'s delegate), only for a move, in --check too', () => {
    assert.equal(task.delegateTo, undefined, 'the block\'s delegate_to: kvm_host');
    assert.deepEqual(task.when.map((w) => w.source), ['moved | bool']);
    assert.equal(task.checkMode, false);
  });

  it('a VG with room and the tools: passes; each problem is named with what to do, all at once', () => {
    assert.deepEqual(run(), { status: 0, stderr: '' });
    assert.deepEqual(run({ vg: false }), { status: 1, stderr: '  - kvm2 has no volume group vg1: make it there, or name one that kvm2 has (ferry_kvm_vg)' });
    assert.deepEqual(run({ free: 512 * 2 ** 20, mkfs: false }), {
      status: 1,
      stderr: [
        '  - volume group vg1 on kvm2 has 512 MiB free; the guest\'s LV needs 1024 MiB (vgextend vg1 there, or name another VG with ferry_kvm_vg)',
        '  - kvm2 lacks: mkfs.ext4 (install them there, then run again)',
      ].join('\n'),
    });
    // a disk partitioned already is copied block by block: no mkfs needed, dd and partx are
    assert.deepEqual(run({ mkfs: false, partition: '1' }), { status: 0, stderr: '' });
  });

  it('an LV or a domain of the guest\'s name is refused unless ferry claimed it (a resumed move finds its own)', () => {
    assert.deepEqual(run({ lv: true, dom: true }), {
      status: 1,
      stderr: [
        '  - vg1/web1-disk exists on kvm2, and ferry did not make it: ferry never writes over it; remove or rename it there, or move the guest into another VG (ferry_kvm_vg)',
        '  - a libvirt domain named web1 is defined on kvm2 already: ferry would redefine it; undefine or rename it there first',
      ].join('\n'),
    });
    assert.deepEqual(run({ lv: true, dom: true, claimed: true, free: 0 }), { status: 0, stderr: '' });
    // without kvm_define no domain is made, so none is in the way
    assert.deepEqual(run({ dom: true, define: false }), { status: 0, stderr: '' });
  });
});

describe('playbooks/xen-to-kvm.yaml: shutdown_guest stops a running guest cleanly (xl, or virsh -c xen:///), never destroys it', () => {
  // The task's script alone, run by sh here with a stub xl or virsh that keeps the guest's state in
  // a file (running until it is asked to shut down, unless FAKE_STOPS=no) and logs every call.
  const play = loadPlaybook(PLAYBOOK, builtinModules()).plays[0]!;
  const all = tasks(play.tasks);
  const task = all.find((t) => t.name?.startsWith('shut the guest down'))!;
  const names = all.map((t) => t.name ?? '');
  let top: string;
  let bin: string;
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'ferry-shutdown-'));
    bin = join(top, 'bin');
    mkdirSync(bin);
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));
  // each call is logged in $FAKE_DIR/calls
  const stub = (name: string, body: string) => writeStub(bin, name, `echo "${name} $*" >> "$FAKE_DIR/calls"\n${body}`);
  const asked = 'if [ "$FAKE_STOPS" != no ]; then rm -f "$FAKE_DIR/running"; fi';
  const xl = () => stub('xl', ['case "$1" in', '  domid) [ -e "$FAKE_DIR/running" ] && echo 7 ;;', `  shutdown) [ -e "$FAKE_DIR/running" ] || exit 1; ${asked} ;;`, '  *) exit 1 ;;', 'esac'].join('\n'));
  // libvirt's xen driver: it answers xen:/// only (a KVM host's virsh does not, as the lab's)
  const virsh = (xen = true) => stub('virsh', [
    `[ "$1 $2" = "-c xen:///" ] && ${xen ? 'true' : 'false'} || { echo "error: failed to connect to the hypervisor" >&2; exit 1; }`,
    'case "$3" in',
    '  uri) echo xen:/// ;;',
    '  domstate) if [ -e "$FAKE_DIR/running" ]; then echo running; else echo "shut off"; fi; echo ;;',
    `  shutdown) [ -e "$FAKE_DIR/running" ] || exit 1; ${asked}; echo "Domain '$5' is being shutdown" ;;`,
    '  *) exit 1 ;;',
    'esac',
  ].join('\n'));

  const run = (o: { running?: boolean; stops?: boolean; check?: boolean; timeout?: number } = {}) => {
    if (o.running ?? true) writeFileSync(join(top, 'running'), '');
    else rmSync(join(top, 'running'), { force: true });
    const cmd = String(renderString(task.args.cmd as string, {
      inventory_hostname: 'web1', xen_running: play.vars.xen_running, shutdown_timeout: o.timeout ?? play.vars.shutdown_timeout, ansible_check_mode: o.check ?? false,
    }));
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_DIR: top, FAKE_STOPS: o.stops === false ? 'no' : 'yes' } });
    const calls = existsSync(join(top, 'calls')) ? readFileSync(join(top, 'calls'), 'utf8').split('\n').filter(Boolean) : [];
    const lines = r.stdout.split('\n').filter(Boolean);
    // changed_when: a second line says it changed (or, in --check, would)
    const changed = renderString(`{{ ${task.changedWhen.map((c) => c.source).join(' and ')} }}`, { guest_shutdown: { stdout_lines: lines } });
    return { status: r.status, lines, stderr: r.stderr.trim(), calls, changed, running: existsSync(join(top, 'running')) };
  };
  const shutdownCalls = (calls: string[]) => calls.filter((c) => / (shutdown|destroy|reboot|pause|kill)\b/.test(c));

  it('runs after the preflight passed and before the first change, only when asked (shutdown_guest, default false, 300 s), whatever --tags says', () => {
    assert.deepEqual([play.vars.shutdown_guest, play.vars.shutdown_timeout], [false, 300]);
    const at = names.indexOf(task.name!);
    assert.ok(names.findIndex((n) => n.startsWith('preflight')) < at && at < names.findIndex((n) => n.startsWith("keep Xen from booting")), names.join('\n'));
    assert.deepEqual([task.when.map((c) => c.source), task.checkMode, task.tags], [['stop_guest | bool'], false, ['shutdown', 'always']]);
    // stop_guest: asked for (shutdown_guest), or a pre-copy (the guest runs while it copies, then stops)
    const stop = (shutdown_guest: unknown, precopy: unknown) => renderString(play.vars.stop_guest as string, { shutdown_guest, precopy });
    assert.deepEqual([stop(false, false), stop(true, false), stop(false, true), stop('false', 'true')], [false, true, true, true]);
  });

  it('xl: a running guest is shut down, waited for, and reported changed; a second run finds it stopped (ok)', () => {
    xl();
    const first = run();
    assert.deepEqual([first.status, first.running, first.changed, first.lines[1]], [0, false, true, 'changed']);
    assert.match(first.lines[0]!, /^web1 shut down \(xl\) at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(shutdownCalls(first.calls), ['xl shutdown -- web1']);
    const again = run({ running: false });
    assert.deepEqual([again.status, again.lines, again.changed], [0, ['web1 is not running under Xen (xl)'], false]);
  });

  it('a guest that does not stop within shutdown_timeout fails with what to do; it is never destroyed', () => {
    xl();
    const r = run({ stops: false, timeout: 1 });
    assert.equal(r.status, 1);
    assert.deepEqual(r.lines, []);
    assert.equal(r.stderr, 'web1 did not stop within 1 s of a clean shutdown (xl); ferry never destroys a guest, and changed nothing else: see why on its console (xl console web1), stop it yourself or give it longer (shutdown_timeout), then run again');
    assert.deepEqual(shutdownCalls(r.calls), ['xl shutdown -- web1'], 'asked once, and no xl destroy');
    assert.ok(r.running);
  });

  it('--check says it would shut a running guest down (changed) and asks nothing of it; a stopped one is ok', () => {
    xl();
    const r = run({ check: true });
    assert.deepEqual([r.status, r.lines, r.changed, r.running], [0, ['web1 is running under Xen: it would be shut down (xl, within 300 s)', 'changed'], true, true]);
    assert.deepEqual(shutdownCalls(r.calls), []);
    const stopped = run({ check: true, running: false });
    assert.deepEqual([stopped.lines, stopped.changed], [['web1 is not running under Xen (xl)'], false]);
  });

  it('virsh -c xen:/// where there is no xl: shut down, then its state polled until shut off; a guest that does not stop fails the same way', () => {
    virsh();
    const r = run();
    assert.deepEqual([r.status, r.running, r.changed], [0, false, true], r.stderr);
    assert.match(r.lines[0]!, /^web1 shut down \(virsh\) at /);
    assert.deepEqual(shutdownCalls(r.calls), ['virsh -c xen:/// shutdown --domain web1']);
    rmSync(join(top, 'calls'));
    const stuck = run({ stops: false, timeout: 1 });
    assert.equal(stuck.status, 1);
    assert.match(stuck.stderr, /^Domain 'web1' is being shutdown\nweb1 did not stop within 1 s of a clean shutdown \(virsh\); .*see why on its console \(virsh -c xen:\/\/\/ console web1\)/);
    assert.deepEqual(shutdownCalls(stuck.calls), ['virsh -c xen:/// shutdown --domain web1']);
  });

  it('a host where no Xen toolstack answers (no xl; no virsh, or one without a xen driver, as on a KVM host) has nothing to stop: ok, nothing asked', () => {
    const none = run();
    assert.deepEqual([none.status, none.lines, none.changed, none.calls], [0, ['no Xen toolstack answers here (neither xl nor virsh -c xen:///): web1 is not running under Xen'], false, []]);
    virsh(false);
    const kvm = run();
    assert.deepEqual([kvm.status, kvm.lines, kvm.changed], [0, none.lines, false]);
    assert.deepEqual(shutdownCalls(kvm.calls), []);
  });

  it('a toolstack that refuses the request fails at once with its words; a guest that stopped meanwhile is no failure', () => {
    stub('xl', ['case "$1" in', '  domid) [ -e "$FAKE_DIR/running" ] && echo 7 ;;', '  shutdown) echo "PV control interface not available" >&2; [ "$FAKE_STOPS" = no ] || rm -f "$FAKE_DIR/running"; exit 1 ;;', 'esac'].join('\n'));
    const refused = run({ stops: false });
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, 'PV control interface not available\nxl could not ask web1 to shut down (its words above); ferry never destroys a guest, and changed nothing: stop it yourself, then run again');
    const raced = run();
    assert.deepEqual([raced.status, raced.changed], [0, true]);
  });
});

describe('playbooks/xen-to-kvm.yaml: a guest of several disks (a xen-tools layout)', () => {
  const pb = loadPlaybook(PLAYBOOK, builtinModules());
  const play = pb.plays[0]!;
  const all = tasks(play.tasks);
  const define = all.find((t) => t.module === 'virsh_define')!;
  const fstab = all.find((t) => t.module === 'fstab')!;
  const grub = all.find((t) => t.module === 'grub')!;
  const initramfs = all.find((t) => t.module === 'initramfs')!;
  const base = { ferry_hypervisor: 'hv1', ferry_connection: 'none', vg: 'vg0', lv: 'web1-disk', memory_mb: 512, vcpus: 1, mac: '00:16:3e:00:00:01', bridge: 'br0' };
  // swap xvda1, root xvda2 (root = '/dev/xvda2 ro'), a data LV as the whole disk xvdb in the other VG
  const xenTools = {
    ...base,
    root_device: 'xvda2',
    extra_disks: [
      { source: '/dev/vg0/web1-swap', vg: 'vg0', lv: 'web1-swap', xen: 'xvda1', kvm: 'vdb' },
      { source: '/dev/vg1/web1-data', vg: 'vg1', lv: 'web1-data', xen: 'xvdb', kvm: 'vdc' },
    ],
  };
  // the vars file's templated values rendered in order, as the engine renders them when used
  const vars = (host: Record<string, unknown>) => {
    const v: Record<string, unknown> = { ...play.varsFromFiles, ...play.vars, ...host, inventory_hostname: 'web1', part: '/dev/mapper/vg0-web1--disk1' };
    for (const k of ['kvm_host', 'moved', 'kvm_vg', 'disk', 'other_disks', 'device_map']) v[k] = renderString(v[k] as string, v);
    return v;
  };

  it('the root LV boots as vda; every other disk is attached as it is, under the name xen-import gave it', () => {
    const disks = (host: Record<string, unknown>) =>
      virshDefineModule.params.parse({ name: 'web1', memory_mb: 512, disks: renderString(define.args.disks as string, vars(host)) }).disks.map((d) => [d.source, d.target]);
    assert.deepEqual(disks(xenTools), [['/dev/vg0/web1-disk', 'vda'], ['/dev/vg0/web1-swap', 'vdb'], ['/dev/vg1/web1-data', 'vdc']]);
    assert.deepEqual(disks(base), [['/dev/vg0/web1-disk', 'vda']]);
  });

  it('fstab and the kernel command line are rewritten with the Xen -> KVM names (the root onto the new partition vda1); fstab is checked against every disk', () => {
    const args = (host: Record<string, unknown>) => ({
      device_map: renderString(fstab.args.device_map as string, vars(host)),
      devices: renderString(fstab.args.devices as string, vars(host)),
    });
    assert.deepEqual(args(xenTools), {
      device_map: { xvda2: 'vda1', xvda1: 'vdb', xvdb: 'vdc' },
      devices: ['/dev/mapper/vg0-web1--disk1', '/dev/vg0/web1-swap', '/dev/vg1/web1-data'],
    });
    // one disk: no map, so the module's own rule (/dev/xvdXN -> /dev/vdXN) applies as before
    assert.deepEqual(args(base), { device_map: {}, devices: ['/dev/mapper/vg0-web1--disk1'] });
    // the kernel command line (root=, resume=, GRUB_DEVICE) and the initramfs's RESUME= follow the same map
    assert.equal(grub.args.device_map, fstab.args.device_map);
    assert.equal(initramfs.args.device_map, fstab.args.device_map);
  });
});

describe("playbooks/xen-to-kvm.yaml and xen-rollback.yaml: Xen's autostart entries are set aside before the first change and put back by a rollback", () => {
  // The scripts alone, run by sh here on a directory of Xen configs made for the test (the
  // hypervisor's /etc/xen/auto and ferry's record are play variables). The lab e2e runs them over SSH.
  const convert = tasks(loadPlaybook(PLAYBOOK, builtinModules()).plays[0]!.tasks);
  const rollback = tasks(loadPlaybook('playbooks/xen-rollback.yaml', builtinModules()).plays[0]!.tasks);
  const script = (list: TaskNode[], name: string) => list.find((t) => t.name === name)!.args.cmd as string;
  const readAuto = script(convert, "Xen's autostart entries for the guest (xendomains boots each one with the hypervisor)");
  const setAside = script(convert, "keep Xen from booting the guest (its autostart entries move to ferry's record; a rollback puts them back)");
  const readKept = script(rollback, "Xen's autostart entries the conversion set aside");
  const putBack = script(rollback, 'give Xen its autostart entries back');
  let top: string;
  let auto: string;
  let kept: string;
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'ferry-xen-auto-'));
    auto = join(top, 'auto');
    kept = join(top, 'record', 'vg1-xr1-disk.xen-auto');
    mkdirSync(auto);
    // as xendomains finds them: links to the configs beside, a copied config, other guests', a dangling link
    writeFileSync(join(top, 'xr1.cfg'), "name = 'xr1'\nmemory = 512\n");
    symlinkSync('../xr1.cfg', join(auto, 'xr1.cfg'));
    writeFileSync(join(auto, 'xr1-copy'), '# copied by hand\n  name="xr1"\n');
    writeFileSync(join(auto, 'xr10.cfg'), "name = 'xr10'\n");
    writeFileSync(join(auto, 'web2.cfg'), 'name="web2"\n');
    symlinkSync('../gone.cfg', join(auto, 'gone.cfg'));
  });
  afterEach(() => rmSync(top, { recursive: true, force: true }));

  const sh = (template: string, vars: Record<string, unknown>) => {
    const cmd = String(renderString(template, { inventory_hostname: 'xr1', xen_auto_dir: auto, xen_auto_kept: kept, ...vars }));
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
  };
  const names = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

  it("finds exactly the guest's entries (by the name in the config, not the file name), sets them aside, and the rollback puts them back as they were", () => {
    const found = sh(readAuto, {});
    assert.deepEqual([found.status, found.stderr], [0, '']);
    assert.deepEqual(found.lines, [join(auto, 'xr1-copy'), join(auto, 'xr1.cfg')]);

    assert.equal(sh(setAside, { xen_auto: { stdout_lines: found.lines } }).status, 0);
    assert.deepEqual(names(auto), ['gone.cfg', 'web2.cfg', 'xr10.cfg']);
    assert.deepEqual(names(kept), ['xr1-copy', 'xr1.cfg']);
    assert.equal(readlinkSync(join(kept, 'xr1.cfg')), '../xr1.cfg', 'the link was replaced, not moved');
    assert.deepEqual(sh(readAuto, {}).lines, [], 'a second run finds nothing left to set aside');

    const toPutBack = sh(readKept, {});
    assert.deepEqual([toPutBack.status, toPutBack.lines], [0, [join(kept, 'xr1-copy'), join(kept, 'xr1.cfg')]]);
    assert.deepEqual(sh(putBack, { kept_auto: { stdout_lines: toPutBack.lines } }).status, 0);
    assert.deepEqual(names(auto), ['gone.cfg', 'web2.cfg', 'xr1-copy', 'xr1.cfg', 'xr10.cfg']);
    assert.equal(readlinkSync(join(auto, 'xr1.cfg')), '../xr1.cfg');
    assert.equal(readFileSync(join(auto, 'xr1-copy'), 'utf8'), '# copied by hand\n  name="xr1"\n');
    assert.ok(!existsSync(kept), "ferry's record of the entries is gone");
    assert.deepEqual(sh(readKept, {}).lines, [], 'a second rollback finds nothing to put back');
  });

  it('a hypervisor without the directory (or without entries for the guest) has nothing to set aside', () => {
    rmSync(auto, { recursive: true });
    assert.deepEqual(sh(readAuto, {}), { status: 0, stdout: '', stderr: '', lines: [] });
  });

  it('the rollback refuses to overwrite an entry of the same name made since, and moves nothing', () => {
    const found = sh(readAuto, {}).lines;
    sh(setAside, { xen_auto: { stdout_lines: found } });
    writeFileSync(join(auto, 'xr1.cfg'), "name = 'xr1'\n# written again by the admin\n");
    const r = sh(putBack, { kept_auto: { stdout_lines: sh(readKept, {}).lines } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `${join(auto, 'xr1.cfg')} exists already (made since the conversion): compare it with ${join(kept, 'xr1.cfg')}, keep one, then run the rollback again`);
    assert.deepEqual(names(kept), ['xr1-copy', 'xr1.cfg']);
    assert.ok(!existsSync(join(auto, 'xr1-copy')));
  });
});
