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
}

/** The inventory entry of a guest on lab-hv, as `ferry xen-import` writes one (memory 256 MiB unless given). */
export function labGuestEntry(g: LabGuest): Record<string, unknown> {
  return { ferry_connection: 'none', ferry_hypervisor: 'lab-hv', vg: g.vg, lv: g.lv, memory_mb: g.memoryMb ?? 256, vcpus: 1, mac: g.mac, bridge: 'br0' };
}

/** Writes an inventory of guests (group xen_guests) to `file`, to use beside the lab's own. */
export function writeGuestInventory(file: string, guests: Record<string, LabGuest>): void {
  const hosts = Object.fromEntries(Object.entries(guests).map(([name, g]) => [name, labGuestEntry(g)]));
  fs.writeFileSync(file, JSON.stringify({ xen_guests: { hosts } }));
}

/** The variables for guests of data only: no domain defined, no room asked inside for a kernel or GRUB. */
export const DATA_GUEST_VARS = { kvm_define: false, guest_min_free_mb: 0, guest_kernel_mb: 0 } as const;

/** Makes each guest's LV (NAME-disk in its VG, lvMb big): ext4 holding dataMb MiB of random data in one file. */
export async function makeDataGuests(lab: LabInfo, guests: { name: string; vg: string }[], o: { dataMb: number; lvMb: number }): Promise<void> {
  await labSsh(lab, ['set -e', ...guests.flatMap(({ name, vg }) => [
    `lvcreate -q -y -L ${o.lvMb}M -n ${name}-disk ${vg}`,
    `mkfs.ext4 -q /dev/${vg}/${name}-disk`,
    `mkdir -p /mnt/${name} && mount /dev/${vg}/${name}-disk /mnt/${name}`,
    `head -c ${o.dataMb * 1024 * 1024} /dev/urandom > /mnt/${name}/data && umount /mnt/${name}`,
  ])].join('\n'));
}
