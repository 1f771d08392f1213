// Block device names of a guest moving from Xen to KVM: the one renaming that fstab, the kernel
// command line (root=, resume=) and GRUB_DEVICE share, so each file names the same disk the same way.
// A device map (what the migration knows: the xen-tools guest's root xvda2 is vda1, its swap LV
// xvda1 the whole disk vdb) comes first; a name not in it follows the rule /dev/xvdXN -> /dev/vdXN.

/** How to rename devices: the map first, else the rule. */
export interface DeviceNameOptions {
  /** Also rename /dev/sdXN to /dev/vdXN (guests whose Xen config exported disks as sdX). */
  renameSd?: boolean;
  /**
   * Xen device -> KVM device, both without /dev/ (xvda2: vda1, xvda1: vdb). A key naming a whole
   * disk (xvdb) also maps its partitions (xvdb1 -> vdc1). Devices not in the map follow the rule.
   */
  deviceMap?: Record<string, string>;
}

/** Rewrites a Xen block device path (/dev/xvdb1, and /dev/sdb1 when asked) to its virtio name, or undefined. */
export function renameDiskDevice(path: string, renameSd = false): string | undefined {
  const m = /^\/dev\/(xvd|sd)([a-z]+)(\d*)$/.exec(path);
  if (!m) return undefined;
  if (m[1] === 'sd' && !renameSd) return undefined;
  return `/dev/vd${m[2]}${m[3]}`;
}

/** A device name as a device map holds it: without /dev/. */
export function deviceMapName(name: string): string {
  return name.replace(/^\/dev\//, '');
}

/**
 * The KVM device a device map gives a Xen device path (/dev/xvda1), or undefined: an exact key
 * wins over a whole-disk key, which maps the disk's partitions too (xvdb: vdc makes xvdb1 vdc1).
 */
export function mapDevice(path: string, deviceMap: Record<string, string>): string | undefined {
  const m = /^\/dev\/([a-z]+)(\d*)$/.exec(path);
  if (!m) return undefined;
  const map = new Map(Object.entries(deviceMap).map(([k, v]) => [deviceMapName(k), deviceMapName(v)]));
  const exact = map.get(m[1] + m[2]);
  if (exact !== undefined) return `/dev/${exact}`;
  const disk = m[2] !== '' ? map.get(m[1]) : undefined;
  // A partition of a disk mapped to a partition (xvda: vda1) has no name: leave it to the rule.
  return disk !== undefined && !/\d$/.test(disk) ? `/dev/${disk}${m[2]}` : undefined;
}

/**
 * The KVM name of a device path, or undefined when it keeps its name: deviceMap first, else the rule.
 * Each path is renamed once: a mapped xvda1 -> vdb is not taken through the rule again.
 */
export function renameDevice(path: string, opts: DeviceNameOptions = {}): string | undefined {
  return (opts.deviceMap ? mapDevice(path, opts.deviceMap) : undefined) ?? renameDiskDevice(path, opts.renameSd);
}

/** The virtio name of the n-th disk (0: vda, 25: vdz, 26: vdaa), as Linux names them. */
export function virtioDiskName(n: number): string {
  let letters = '';
  for (let i = n + 1; i > 0; i = Math.floor((i - 1) / 26)) letters = String.fromCharCode(97 + ((i - 1) % 26)) + letters;
  return `vd${letters}`;
}
