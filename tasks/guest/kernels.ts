// Does the guest already have a kernel that boots under KVM? One read-only command run in the
// guest lists each /boot/vmlinuz-*, its config's virtio/Xen lines and where virtio_blk lives;
// the pure parts below parse that and judge each kernel.
import { raw, sh, type Command } from '../../runner/command.js';
import type { TaskContext } from '../../runner/module.js';

/** What the listing says about one installed kernel. */
export interface KernelFacts {
  version: string;
  /** CONFIG_VIRTIO_BLK from /boot/config-VERSION ('y', 'm', 'n' for "is not set"); undefined without a config file. */
  virtioBlk?: 'y' | 'm' | 'n';
  /** virtio_blk.ko* files under /lib/modules/VERSION. */
  virtioModules: string[];
  /** modules.builtin lists virtio_blk (kernels shipped without a /boot/config, e.g. Arch). */
  virtioBuiltin: boolean;
  hasModulesDir: boolean;
  /** The root filesystems' drivers (ext2/3/4, xfs) as the config builds them: `{ ext4: 'y', xfs: 'm' }`. */
  fsConfig: Record<string, 'y' | 'm'>;
  /** Those drivers found as module files under /lib/modules/VERSION/kernel/fs (names: `xfs`). */
  fsModules: string[];
  /** Those drivers modules.builtin lists (names). */
  fsBuiltin: string[];
}

/** One kernel judged: usable under KVM or not, and why. */
export interface KernelVerdict {
  version: string;
  ok: boolean;
  why: string;
}

/**
 * The listing command, run with the guest's /bin/sh inside the chroot (so /boot and /lib/modules are
 * the guest's). Lines: `K ver`, `C ver CONFIG_…=…`, `M ver path`, `B ver` (builtin), `D ver` (modules dir),
 * `F ver path` (a root filesystem's module file), `G ver path` (one modules.builtin lists).
 */
export const KERNEL_LISTING: Command = sh`${raw(
  [
    'for k in /boot/vmlinuz-*; do',
    '  [ -f "$k" ] || continue',
    '  v=${k#/boot/vmlinuz-}',
    '  echo "K $v"',
    '  [ -f "/boot/config-$v" ] && grep -E "^(# )?CONFIG_(VIRTIO_BLK|EXT[234]_FS|XFS_FS)[= ]" "/boot/config-$v" | sed "s|^|C $v |"',
    '  if [ -d "/lib/modules/$v" ]; then',
    '    echo "D $v"',
    '    find "/lib/modules/$v" -name "virtio_blk.ko*" 2>/dev/null | sed "s|^|M $v |"',
    '    grep -qs "/virtio_blk.ko" "/lib/modules/$v/modules.builtin" && echo "B $v"',
    '    find "/lib/modules/$v/kernel/fs" -name "ext[234].ko*" -o -name "xfs.ko*" 2>/dev/null | sed "s|^|F $v |"',
    '    grep -soE "/fs/(ext[234]|xfs)/[a-z0-9]+\\.ko" "/lib/modules/$v/modules.builtin" | sed "s|^|G $v |"',
    '  fi',
    'done',
    'true',
  ].join('\n'),
)}`;

/** Parses the output of KERNEL_LISTING. */
export function parseKernelListing(stdout: string): KernelFacts[] {
  const byVersion = new Map<string, KernelFacts>();
  const get = (v: string): KernelFacts => {
    let k = byVersion.get(v);
    if (!k) byVersion.set(v, (k = { version: v, virtioModules: [], virtioBuiltin: false, hasModulesDir: false, fsConfig: {}, fsModules: [], fsBuiltin: [] }));
    return k;
  };
  for (const line of stdout.split('\n')) {
    const m = /^([KCMBDFG]) (\S+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    const [, tag, version, rest = ''] = m as unknown as [string, string, string, string?];
    const k = get(version);
    if (tag === 'C') {
      const set = /^CONFIG_VIRTIO_BLK=([ym])\s*$/.exec(rest);
      if (set) k.virtioBlk = set[1] as 'y' | 'm';
      else if (/^# CONFIG_VIRTIO_BLK is not set/.test(rest)) k.virtioBlk = 'n';
      const fs = /^CONFIG_(EXT[234]|XFS)_FS=([ym])\s*$/.exec(rest);
      if (fs) k.fsConfig[fs[1]!.toLowerCase()] = fs[2] as 'y' | 'm';
    } else if (tag === 'M') k.virtioModules.push(rest);
    else if (tag === 'F' || tag === 'G') {
      const name = /([a-z0-9]+)\.ko[^/]*$/.exec(rest)?.[1];
      if (name) (tag === 'F' ? k.fsModules : k.fsBuiltin).push(name);
    }
    else if (tag === 'B') k.virtioBuiltin = true;
    else if (tag === 'D') k.hasModulesDir = true;
  }
  return [...byVersion.values()];
}

/** Runs KERNEL_LISTING in the guest (`g`: a chroot context) and parses it. */
export async function readKernelListing(g: TaskContext): Promise<KernelFacts[]> {
  return parseKernelListing((await g.runOk(KERNEL_LISTING)).stdout);
}

/** Whether a kernel version names a Xen-only build (Debian's -xen-686, SUSE's -xen, CentOS 5's el5xen). */
export function isXenOnlyKernel(version: string): boolean {
  return /(^|[-.])xen|el\d+xen/i.test(version);
}

/**
 * Judges one kernel: it needs virtio_blk built in, or as a module that is actually installed.
 * (playbooks/xen-to-kvm.yaml's preflight judges the source's kernels in the same order in shell, from
 * the hypervisor, to ask for room for a kernel install; test/integration/kernel-judgement-parity.test.ts
 * runs both on the same trees, so a change to one that the other lacks fails there.)
 */
export function judgeKernel(k: KernelFacts): KernelVerdict {
  const v = k.version;
  if (isXenOnlyKernel(v)) return { version: v, ok: false, why: `${v} is a Xen-only kernel build` };
  if (k.virtioBlk === 'y') return { version: v, ok: true, why: `${v} has CONFIG_VIRTIO_BLK=y` };
  if (k.virtioBlk === 'n') return { version: v, ok: false, why: `${v} is built without virtio_blk (CONFIG_VIRTIO_BLK is not set)` };
  if (k.virtioBlk === 'm') {
    if (k.virtioModules.length) return { version: v, ok: true, why: `${v} has CONFIG_VIRTIO_BLK=m and ${k.virtioModules[0]}` };
    return { version: v, ok: false, why: `${v} has CONFIG_VIRTIO_BLK=m but no virtio_blk.ko* under /lib/modules/${v}` };
  }
  // No config in /boot (Arch and some custom kernels): the modules tree is the only witness.
  if (k.virtioBuiltin) return { version: v, ok: true, why: `${v} lists virtio_blk in modules.builtin` };
  if (k.virtioModules.length) return { version: v, ok: true, why: `${v} has ${k.virtioModules[0]}` };
  if (!k.hasModulesDir) return { version: v, ok: false, why: `${v} has no /boot/config-${v} and no /lib/modules/${v}` };
  return { version: v, ok: false, why: `${v} has no /boot/config-${v} and no virtio_blk module` };
}

/** The drivers that can mount a root filesystem type, the type's own first (ext4's driver mounts ext2 and ext3 too). */
const ROOT_FS_DRIVERS: Record<string, string[]> = { ext4: ['ext4'], ext3: ['ext3', 'ext4'], ext2: ['ext2', 'ext4'], xfs: ['xfs'] };

/**
 * The modules an initramfs of kernel `k` must hold to mount a root of type `fstype`: none when the
 * kernel has a driver for it built in, or when nothing is known (another type, no module file:
 * a judgement needs a witness); else one of the driver modules the kernel has as files. Pure.
 */
export function rootFsModulesNeeded(k: KernelFacts, fstype: string | undefined): string[] {
  const drivers = fstype === undefined ? undefined : ROOT_FS_DRIVERS[fstype];
  if (!drivers) return [];
  if (drivers.some((d) => k.fsConfig[d] === 'y' || k.fsBuiltin.includes(d))) return [];
  return drivers.filter((d) => k.fsModules.includes(d));
}

/** Compares kernel versions the way `sort -V` does, well enough for picking the newest. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Judges every kernel and picks the newest good one (undefined when none boots under KVM). */
export function chooseKvmKernel(kernels: KernelFacts[]): { good?: KernelVerdict; verdicts: KernelVerdict[] } {
  const verdicts = kernels.map(judgeKernel).sort((a, b) => compareVersions(b.version, a.version));
  return { good: verdicts.find((v) => v.ok), verdicts };
}
