// Guests of the lab host that tests and benchmarks make for themselves: how an inventory names one
// (a disk on lab-hv, never connected to), and guests holding only random data in an ext4 LV, with no
// kernel, so that the migration playbook copies them and never converts them (DATA_GUEST_VARS).
import fs from 'node:fs';
import { labSsh, type LabInfo } from './lab.js';

/** A guest of the lab host: its LV and what its KVM domain would get. */
export interface LabGuest {
  vg: string;
  lv: string;
  mac: string;
  memoryMb?: number;
  /** The KVM host it moves to (ferry_kvm_host: lab-kvm), when it does not stay on lab-hv. */
  kvmHost?: string;
  /** More inventory variables of the guest (e.g. ferry_move_direct). */
  vars?: Record<string, unknown>;
}

/** The inventory entry of a guest on lab-hv, as `ferry xen-import` writes one (memory 256 MiB unless given), and where it moves if it does. */
export function labGuestEntry(g: LabGuest): Record<string, unknown> {
  return {
    ferry_connection: 'none', ferry_hypervisor: 'lab-hv', vg: g.vg, lv: g.lv, memory_mb: g.memoryMb ?? 256, vcpus: 1, mac: g.mac, bridge: 'br0',
    ...(g.kvmHost !== undefined ? { ferry_kvm_host: g.kvmHost } : {}),
    ...g.vars,
  };
}

/** Writes an inventory of guests (group xen_guests) to `file`, to use beside the lab's own. */
export function writeGuestInventory(file: string, guests: Record<string, LabGuest>): void {
  const hosts = Object.fromEntries(Object.entries(guests).map(([name, g]) => [name, labGuestEntry(g)]));
  fs.writeFileSync(file, JSON.stringify({ xen_guests: { hosts } }));
}

/** The variables for guests of data only: no domain defined, no room asked inside for a kernel or GRUB. */
export const DATA_GUEST_VARS = { kvm_define: false, guest_min_free_mb: 0, guest_kernel_mb: 0 } as const;

/** Where makeDataGuests puts a partitioned guest's filesystem: partition 1, at 1 MiB. */
export const PARTITION_OFFSET = 1024 * 1024;

/**
 * Makes each guest's LV (NAME-disk in its VG, lvMb big): ext4 holding dataMb MiB of random data in one
 * file; `partitioned`: a guest partitioned already, its ext4 (with an fstab) in partition 1 at 1 MiB.
 */
export async function makeDataGuests(lab: LabInfo, guests: { name: string; vg: string }[], o: { dataMb: number; lvMb: number; partitioned?: boolean }): Promise<void> {
  await labSsh(lab, ['set -e', ...guests.flatMap(({ name, vg }) => {
    const lv = `/dev/${vg}/${name}-disk`;
    const dev = o.partitioned ? '$l' : lv;
    return [
      `lvcreate -q -y -L ${o.lvMb}M -n ${name}-disk ${vg}`,
      ...(o.partitioned ? [`printf 'start=${PARTITION_OFFSET / 512}, type=83\\n' | sfdisk -q ${lv}`, `l=$(losetup -f --show -o ${PARTITION_OFFSET} ${lv})`] : []),
      `mkfs.ext4 -q ${dev}`,
      `mkdir -p /mnt/${name} && mount ${dev} /mnt/${name}`,
      ...(o.partitioned ? [`mkdir /mnt/${name}/etc && echo '/dev/xvda1 / ext4 defaults 0 1' > /mnt/${name}/etc/fstab`] : []),
      `head -c ${o.dataMb * 1024 * 1024} /dev/urandom > /mnt/${name}/data && umount /mnt/${name}`,
      ...(o.partitioned ? ['losetup -d $l'] : []),
    ];
  })].join('\n'));
}

/**
 * No Xen runs in the lab, so a stand-in "runs" a guest: a process writing a file (tick-N) every 0.2 s
 * into its LV, mounted at /mnt/NAME-running, and /usr/local/sbin/xl answering for it as Xen's xl would:
 * `xl domid NAME` succeeds while it runs; `xl shutdown NAME` signals it, and it writes a last file
 * (shut-down), removes the file `doomed` if there is one, and unmounts, as a guest's own shutdown
 * would. For tests and benchmarks of --precopy and --shutdown; a lab reset takes both away.
 */
export async function runStandInGuest(lab: LabInfo, g: { name: string; vg: string; lv: string }): Promise<void> {
  const m = `/mnt/${g.name}-running`;
  await labSsh(lab, String.raw`set -e
mkdir -p /run/fake-xen ${m}
mount /dev/${g.vg}/${g.lv} ${m}
cat > /usr/local/sbin/xl <<'XL'
#!/bin/sh
# the lab's stand-in for Xen's xl (tests' and benchmarks'): a guest is a process writing into its mounted LV
cmd=$1; shift; [ "$1" = -- ] && shift
pid=/run/fake-xen/$1.pid
case "$cmd" in
  domid) [ -s "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null && echo 7 ;;
  shutdown) [ -s "$pid" ] && kill -TERM "$(cat "$pid")" ;;
  *) echo "xl (lab stand-in): $cmd is not known" >&2; exit 1 ;;
esac
XL
chmod 755 /usr/local/sbin/xl
cat > /run/fake-xen/${g.name}.sh <<'GUEST'
m=${m}
stop() { date +%s > $m/shut-down; rm -f $m/doomed; sync; cd /; umount $m; rm -f /run/fake-xen/${g.name}.pid; exit 0; }
trap stop TERM
i=0
while :; do i=$((i + 1)); echo $i > $m/tick-$i; sleep 0.2; done
GUEST
setsid sh /run/fake-xen/${g.name}.sh </dev/null >/dev/null 2>&1 &
echo $! > /run/fake-xen/${g.name}.pid
sleep 1; xl domid -- ${g.name} >/dev/null`);
}
