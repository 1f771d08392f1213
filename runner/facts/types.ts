// The shape of gathered facts: what `gather_facts` registers for each host as `ferry_facts`.
import type { AnsibleFactName } from './ansible.js';

/** The distribution families ferry knows how to handle, from os-release ID / ID_LIKE. */
export type OsFamily = 'debian' | 'redhat' | 'arch' | 'suse' | 'alpine' | 'unknown';

/** The operating system, from /etc/os-release. */
export interface OsFacts {
  family: OsFamily;
  /** os-release ID, lower case: debian, ubuntu, centos, rhel, rocky, arch, opensuse-leap, alpine, … ('' when unknown). */
  distribution: string;
  /** VERSION_ID: '12', '22.04', '7', '9.3'; '' for rolling releases (Arch) or Debian testing. */
  version: string;
  /** The part of `version` before the first dot. */
  majorVersion: string;
  /** VERSION_CODENAME (or UBUNTU_CODENAME): 'bookworm', 'jammy'; '' when the release has none (RHEL, CentOS). */
  codename: string;
  /** PRETTY_NAME, for messages. */
  prettyName: string;
}

/** One block device from lsblk, flattened; `parent` is the name of the device it sits on. */
export interface BlockDevice {
  name: string;
  /** /dev path (lsblk PATH, or /dev/NAME where lsblk is too old to report it). */
  path: string;
  /** disk, part, lvm, loop, rom, crypt, … */
  type: string;
  sizeBytes: number;
  fstype: string | null;
  mountpoint: string | null;
  uuid: string | null;
  parent: string | null;
}

/** A volume group, from `vgs --reportformat json`. */
export interface VolumeGroup {
  name: string;
  uuid: string;
  sizeBytes: number;
  freeBytes: number;
  extentSizeBytes: number;
  pvCount: number;
  lvCount: number;
  attr: string;
}

/** A logical volume, from `lvs --reportformat json`. */
export interface LogicalVolume {
  name: string;
  vg: string;
  sizeBytes: number;
  /** '' for LVs without a device node (hidden/internal ones). */
  path: string;
  attr: string;
  /** lv_attr character 5 is 'a': the LV is active (has a device-mapper node). */
  active: boolean;
  /** lv_attr character 6 is 'o': the LV is open (mounted, or used by a running guest). */
  open: boolean;
  /** The origin of a snapshot ('' for an LV that is not one). */
  origin: string;
}

/** A physical volume, from `pvs --reportformat json` (vg is '' for a PV in no VG). */
export interface PhysicalVolume {
  name: string;
  vg: string;
  sizeBytes: number;
}

/** LVM state: `status` says whether vgs/lvs could be read, since an empty list is only meaningful when they could. */
export interface LvmFacts {
  /** ok: both reports read; missing: lvm2 is not installed; failed: a report failed (usually not root: use become). */
  status: 'ok' | 'missing' | 'failed';
  error?: string;
  vgs: VolumeGroup[];
  lvs: LogicalVolume[];
}

/** A mounted filesystem, from /proc/self/mountinfo (or /proc/mounts). */
export interface Mount {
  source: string;
  mountpoint: string;
  fstype: string;
  options: string[];
  /** major:minor of the mounted device; null when only /proc/mounts could be read. */
  device: string | null;
}

/**
 * Which of the tools the facts were asked about are installed, by each one's name in camelCase
 * (`kpartx`, `grubInstall` for grub-install): what the caller of gathering named (ferry's own list is
 * the migration's, tasks/fact-tools.ts).
 */
export interface ToolFacts {
  /** The path `command -v` found, by tool name as run (`grub-install`, …). */
  paths: Record<string, string>;
  [tool: string]: boolean | Record<string, string>;
}

/** Everything gather_facts learns about a host in its one round trip. */
export interface Facts {
  os: OsFacts;
  /** Kernel release (`uname -r`), '' when unknown. */
  kernel: string;
  /** Machine hardware name (`uname -m`): x86_64, aarch64, … */
  architecture: string;
  hostname: string;
  /** MemTotal in MiB (rounded down); 0 when unknown. */
  memoryMb: number;
  /** MemAvailable in MiB; null on kernels that do not report it. */
  memoryAvailableMb: number | null;
  cpus: number;
  blockDevices: BlockDevice[];
  lvm: LvmFacts;
  mounts: Mount[];
  tools: ToolFacts;
  /** The facts Ansible's setup module gives, by its names without the `ansible_` prefix (what `ansible_facts` holds). */
  ansible: Record<AnsibleFactName, unknown>;
  /** Sections that could not be read or parsed, one line each (the facts above hold defaults for them). */
  warnings: string[];
}
