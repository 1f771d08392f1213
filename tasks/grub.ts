// grub: make a converted guest boot with GRUB from its whole disk under KVM (BIOS, i386-pc):
// /etc/default/grub for a serial console, grub.cfg regenerated with a root= the guest will have,
// and grub-install run in the guest's chroot against the whole disk — after refusing the setups
// known to produce a disk that does not boot.
// read: the host's mounts and the disk (lsblk, losetup, blkid, its first sectors), the guest's files
// (read inside the root, never mounting anything) and, in a real run only, what grub-mkconfig would
// write; decide: pure, table-tested (test/fixtures/decide/grub).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { raw, sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Diff, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { chrootCommand } from '../runner/transport/chroot.js';
import { bindTargetsCheck, canonicalRootCommand, canonicalRootFrom, chrootBindState } from './guest/chroot-binds.js';
import { editDefaultGrub, type DefaultGrubOptions } from './grub/default-grub.js';
import { moveAside, withGuestChroot, type ChrootSetup } from './guest/chroot-session.js';
import { guestFileReads, guestOsFrom, guestRootCommand, guestRootFrom, openGuestRoot, readGuestText } from './guest/facts.js';
import {
  addCmdlineTokens,
  coreEmbedded,
  coreImageModules,
  ensureGrubSetting,
  grubCfgRootProblems,
  grubFsModule,
  grubPartModule,
  hasGrubBootCode,
} from './grub/install.js';
import type { GuestOs } from './guest/os-family.js';
import { installPackages } from './guest/packages.js';
import { runBatch } from './lib/run-command.js';
import { absolutePathField, deviceMapField } from './lib/schema.js';
import { interpretBlkidProbe, type BlockSignature } from './storage/blkid.js';
import { MOUNTINFO_COMMAND, mountsFrom } from './storage/facts.js';
import { findMount, type MountEntry } from './storage/mountinfo.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host: the guest filesystem, mounted from a partition of disk'),
  disk: absolutePathField('The WHOLE disk the guest boots from (an LV like /dev/vg1/xr1-disk, or a loop device /dev/loop0), never a partition'),
  boot_device: absolutePathField('The partition the guest\'s /boot (or /) is mounted from, e.g. /dev/mapper/vg1-xr1--disk1; checked against the mount').optional(),
  serial: z.boolean().default(true).describe('Serial console: console=tty0 console=ttyS0,115200 on the kernel command line, GRUB_TERMINAL="serial console"'),
  net_ifnames: z.boolean().default(true).describe('Add net.ifnames=0 biosdevname=0 (keep the eth0 name the guest\'s network config uses)'),
  rename_sd: z.boolean().default(false).describe('Also rename root=/dev/sdXN to /dev/vdXN'),
  device_map: deviceMapField('root=, resume= and GRUB_DEVICE naming /dev/KEY get /dev/VALUE (give it the map fstab gets)'),
  cmdline_add: z.array(z.string().min(1)).default([]).describe('More kernel parameters for GRUB_CMDLINE_LINUX'),
  install: z.boolean().default(true).describe('Run grub-install to the disk (false: only /etc/default/grub and grub.cfg)'),
  packages_dir: absolutePathField('A host directory with the GRUB package files and their missing dependencies, installed when grub-install is missing (offline mode)').optional(),
});

type Params = z.output<typeof params>;

/** What the host says about the disk and the guest's mounts (read from the host side, nothing mounted). */
export interface GrubDiskFacts {
  /** /proc/self/mountinfo, parsed. */
  mounts: MountEntry[];
  /** The offset (losetup -O OFFSET) of each loop device among the root and boot sources and the disk. */
  loopOffsets: Record<string, number>;
  /** `lsblk -dno TYPE,KNAME -- DISK`. */
  lsblk: ToolOutput;
  /** The disk's partition table type as blkid names it (dos, gpt). */
  ptType?: string;
  /** boot_device and the boot filesystem's source, each with its links resolved. */
  bootDeviceReal?: string;
  bootSourceReal?: string;
  /** `lsblk -no PKNAME` of the boot source: the kernel name of the disk that holds it. */
  bootParent?: string;
  /** The root filesystem's UUID (blkid). */
  rootUuid?: string;
}

/** What the guest root holds, read inside it (a chroot without binds, or the guest-path-safe file transport). */
export interface GrubGuestFacts {
  os: GuestOs;
  /** `GRUB-install` is there and /usr/lib/grub/i386-pc exists. */
  hasGrub: boolean;
  /** /etc/default/grub ('' when missing). */
  defaultGrub: string;
  /** /etc/default/grub.d/*.cfg with their text. */
  dropIns: { path: string; text: string }[];
  /** grub.cfg as it is, when there is one. */
  grubCfg?: string;
  /** What `GRUB-mkconfig` prints (with /dev, /proc, /sys bound); read in a real run only, and only when it can tell the verdict. */
  freshCfg?: string;
  /** What grub-install left: core.img's sha256, whether the disk's MBR holds GRUB's boot code and the sectors after it this core.img, ferry's stamp. */
  core?: { sha256: string; mbrHasGrub: boolean; embedded: boolean; stamp?: string };
  /** What the chroot sessions of the steps would refuse in this root (a bind target that is a guest symlink), read without mounting. */
  chrootRefusal?: string;
}

/** What grub's read found; `guest` is absent when the disk facts already refuse (nothing is read inside such a guest). */
export interface GrubFacts extends GrubDiskFacts {
  host: string;
  guest?: GrubGuestFacts;
}

/** The disk facts decide goes on with once nothing refuses. */
interface DiskPlan {
  fsModule: string;
  partModule: string;
  rootUuid: string;
}

const LOSETUP_FIX = 'attach the whole image with `losetup -P IMAGE` (or map an LV\'s partitions with kpartx) and mount the partition device (/dev/loop0p1, /dev/mapper/vg-lv1)';

/**
 * Refuses the setups that give an unbootable disk: a filesystem mounted through an offset loop device
 * ("diskfilter writes are not supported"), a partition given as the disk ("will not proceed with
 * blocklists"), a boot filesystem on another disk, a disk without a partition table.
 */
export function checkGrubDisk(p: Params, f: GrubFacts): { refused: string } | DiskPlan {
  const root = p.root.replace(/\/+$/, '');
  const rootMount = findMount(f.mounts, root);
  if (!rootMount) return { refused: `${root} is not a mount point on ${f.host}: mount the guest's root filesystem (a partition of ${p.disk}) there first` };
  const bootMount = findMount(f.mounts, `${root}/boot`) ?? rootMount;
  for (const m of new Set([rootMount, bootMount])) {
    const off = f.loopOffsets[m.source] ?? 0;
    if (off > 0) {
      return {
        refused:
          `${m.mountPoint} is mounted from ${m.source}, a loop device with offset ${off} (a partition attached with losetup -o): ` +
          `grub-install cannot map it to a disk and fails with "diskfilter writes are not supported"; ${LOSETUP_FIX}`,
      };
    }
  }
  if (f.lsblk.exitCode !== 0) return { refused: `disk ${p.disk} is not a block device on ${f.host}: ${f.lsblk.stderr.trim()}` };
  const [diskType = '', diskName = ''] = f.lsblk.stdout.trim().split(/\s+/);
  if (diskType === 'part') {
    return {
      refused:
        `disk ${p.disk} is a partition, not a whole disk: grub-install would stop with "will not proceed with blocklists" ` +
        '(a partition has no room for core.img); give the disk that holds it (e.g. /dev/loop0 rather than /dev/loop0p1, /dev/vg1/xr1-disk rather than /dev/mapper/vg1-xr1--disk1)',
    };
  }
  const diskOff = f.loopOffsets[p.disk] ?? 0;
  if (diskOff > 0) return { refused: `disk ${p.disk} is a loop device with offset ${diskOff}, i.e. a partition; give the whole disk; ${LOSETUP_FIX}` };
  const partModule = grubPartModule(f.ptType);
  if (!partModule) return { refused: `disk ${p.disk} has ${f.ptType ? `a ${f.ptType} partition table` : 'no partition table'}; GRUB for BIOS needs an msdos (or gpt with a BIOS boot partition) table` };
  const bootSource = bootMount.source;
  if (p.boot_device !== undefined && f.bootDeviceReal !== f.bootSourceReal) return { refused: `${bootMount.mountPoint} is mounted from ${bootSource}, not from boot_device ${p.boot_device}` };
  if (f.bootParent && diskName && f.bootParent !== diskName) {
    return { refused: `${bootMount.mountPoint} is mounted from ${bootSource}, which is on /dev/${f.bootParent}, not on disk ${p.disk} (/dev/${diskName})` };
  }
  const fsModule = grubFsModule(bootMount.fstype);
  if (!fsModule) return { refused: `${bootMount.mountPoint} is ${bootMount.fstype}, a filesystem ferry does not know the GRUB module of` };
  if (!f.rootUuid) return { refused: `blkid finds no filesystem UUID on ${rootMount.source} (mounted on ${root})` };
  return { fsModule, partModule, rootUuid: f.rootUuid };
}

/** `losetup -O OFFSET` of a loop device (nothing for other devices: their offset is 0). */
const loopOffsetCommand = (dev: string): Command | undefined => (/^\/dev\/loop\d+$/.test(dev) ? sh`losetup -n -O OFFSET -- ${dev}` : undefined);
const loopOffsetFrom = (r: ToolOutput | undefined): number => (r && r.exitCode === 0 ? Number(r.stdout.trim()) || 0 : 0);

/** The canonical path readlink -f printed, or the path itself when it does not resolve (canonicalPath). */
const canonicalFrom = (path: string, r: ToolOutput | undefined): string => (r && r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : path);

/** A blkid -p read's signature, failing the task as probeSignature does. */
function signatureFrom(dev: string, r: ToolOutput): BlockSignature {
  try {
    return interpretBlkidProbe(r.exitCode, r.stdout, r.stderr, dev);
  } catch (e) {
    throw new TaskFailedError((e as Error).message, { stderr: r.stderr });
  }
}

/** The shared editor's options from the params (the same for /etc/default/grub and its drop-ins). */
function editOptions(p: Params): DefaultGrubOptions {
  return { serialConsole: p.serial, netIfnames: p.net_ifnames, renameSd: p.rename_sd, deviceMap: p.device_map };
}

/** The wanted /etc/default/grub for the current text (the shared editor plus ferry's additions). */
function wantedDefaultGrub(text: string, p: Params, rootUuid: string): { text: string; notes: string[] } {
  const e = editDefaultGrub(text, editOptions(p));
  const withTokens = addCmdlineTokens(e.text, p.cmdline_add);
  // grub-mkconfig writes root=UUID= only when /dev/disk/by-uuid/UUID exists where it runs; on a host without
  // udev (or for a device-mapper root) it writes the host's device (/dev/loop0p1, /dev/mapper/…) instead.
  const dev = ensureGrubSetting(withTokens.text, 'GRUB_DEVICE', `UUID=${rootUuid}`, 'root filesystem by UUID, so grub-mkconfig never puts a converting host\'s device in root=');
  return { text: dev.text, notes: e.notes ?? [] };
}

/** Where grub-mkconfig finds the drop-ins it sources after /etc/default/grub. */
const DROP_IN_DIR = '/etc/default/grub.d';

/** One /etc/default/grub.d/*.cfg and what it should say. */
interface DropInEdit {
  path: string;
  before: string;
  after: string;
  notes: string[];
}

/**
 * The drop-ins grub-mkconfig sources after /etc/default/grub, with their wanted text. They are sourced
 * last, so a Xen-era one (console=hvc0, GRUB_TERMINAL=console, root=/dev/xvda1) would undo the main
 * file's edit: each is rewritten in place, but nothing is added to them (the additions live in /etc/default/grub).
 */
function dropInEdits(dropIns: { path: string; text: string }[], p: Params): DropInEdit[] {
  return dropIns.map(({ path, text }) => {
    const e = editDefaultGrub(text, { ...editOptions(p), dropIn: true, ensure: false });
    return { path, before: text, after: e.text, notes: (e.notes ?? []).map((n) => `${path}: ${n}`) };
  });
}

/** Lists the drop-ins (grub-mkconfig's own `grub.d/*.cfg` glob, run in the guest's shell), one path a line. */
const DROP_IN_LIST = sh`${raw(`for f in ${DROP_IN_DIR}/*.cfg; do [ -f "$f" ] && echo "$f"; done; true`)}`;

/** The drop-ins as they are. */
async function readDropIns(g: TaskContext): Promise<{ path: string; text: string }[]> {
  const r = await g.run(DROP_IN_LIST);
  const out: { path: string; text: string }[] = [];
  for (const path of r.stdout.split('\n').filter(Boolean)) out.push({ path, text: (await readGuestText(g, path)) ?? '' });
  return out;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Where grub-install leaves core.img and where ferry records a verified install. */
function grubPaths(os: GuestOs): { dir: string; core: string; stamp: string; deviceMap: string } {
  const dir = `/boot/${os.grubPrefix}`;
  return { dir, core: `${dir}/i386-pc/core.img`, stamp: `${dir}/ferry-grub-install`, deviceMap: `${dir}/device.map` };
}

/** Reads the guest's core.img, the disk's first sectors (on the host) and ferry's stamp. */
async function readCore(ctx: TaskContext, g: TaskContext, os: GuestOs, disk: string): Promise<GrubGuestFacts['core']> {
  const paths = grubPaths(os);
  const core = await g.transport.get(paths.core, { become: g.become });
  if (!core) return undefined;
  const head = await ctx.run(diskHeadCommand(disk, core), { binary: true });
  const stamp = await readGuestText(g, paths.stamp);
  return coreFacts(disk, core, head, head.stdoutBuffer ?? Buffer.alloc(0), stamp);
}

/** The MBR and the sectors after it that core.img fills when embedded (`hex`: as od hex, for a text batch). */
function diskHeadCommand(disk: string, core: Buffer, output: 'bytes' | 'hex' = 'bytes'): Command {
  const sectors = 1 + Math.ceil(core.length / 512);
  // od reads the disk itself (no pipe to hide a failed read)
  return output === 'bytes' ? sh`dd if=${disk} bs=512 count=${sectors} status=none` : sh`od -An -v -tx1 -N ${sectors * 512} -- ${disk}`;
}

/** What readCore found, from core.img, the disk's first sectors and the stamp. */
function coreFacts(disk: string, core: Buffer, head: Pick<ToolOutput, 'exitCode' | 'stderr'>, bytes: Buffer, stamp: string | undefined): NonNullable<GrubGuestFacts['core']> {
  if (head.exitCode !== 0) throw new TaskFailedError(`cannot read the first sectors of ${disk}: ${head.stderr.trim()}`);
  return { sha256: sha256(core), mbrHasGrub: hasGrubBootCode(bytes), embedded: coreEmbedded(bytes, core), ...(stamp !== undefined ? { stamp } : {}) };
}

/**
 * Whether GRUB is installed on the disk as ferry left it (undefined), or what is wrong: the MBR holds
 * GRUB's boot code, the sectors after it hold the guest's core.img, and the stamp written after a
 * verified install (core.img's sha256 + the modules grub-install -v reported) matches that core.img.
 */
export function installProblem(core: GrubGuestFacts['core'], os: GuestOs, disk: string, fsModule: string): string | undefined {
  const paths = grubPaths(os);
  if (!core) return `no ${paths.core} in the guest`;
  if (!core.mbrHasGrub) return `the MBR of ${disk} holds no GRUB boot code`;
  if (!core.embedded) return `the sectors after the MBR of ${disk} do not hold the guest's ${paths.core}`;
  const stamp = core.stamp?.trim().split(/\s+/) ?? [];
  if (stamp[0] !== core.sha256) return `${paths.stamp} does not vouch for this core.img (not installed by ferry, or reinstalled since)`;
  if (!stamp.slice(1).includes(fsModule)) return `core.img was built without the ${fsModule} module`;
  return undefined;
}

/** Why check mode leaves grub.cfg uncompared (see the module's checkModeNote). */
const cfgUnreadInCheck = (root: string, os: GuestOs): string =>
  `${os.grubCfg} was not compared with what ${os.grubPrefix}-mkconfig generates: that needs /dev, /proc and /sys bound into ${root}, and check mode mounts nothing (a real run compares it)`;

/** The chroot session the steps run in: the API filesystems bound, no daemons started. */
const SESSION: ChrootSetup = { mounts: true, policyRcD: true, resolvConf: 'copy' };

/**
 * Reads the disk from the host, then (unless that already refuses) the guest's files inside its root,
 * in as few round trips as the reads' dependencies allow (runBatch): (1) what needs nothing: the guest
 * root, mountinfo, the disk, the os-release files and /etc/default/grub; (2) what needs the mounts or the
 * guest's OS: the mounted sources, the chroot bind targets, grub.cfg, core.img and the stamp; then, once
 * the disk is not refused, (3) what runs in the guest (is GRUB there, the drop-ins' names) and the disk's
 * first sectors (as many as core.img fills); (4) the drop-ins, when there are any. Each record is
 * interpreted in the order the reads ran in before, so the same problem is reported first.
 * Check mode mounts nothing; a real run binds /dev, /proc, /sys, /run for a grub-mkconfig to stdout
 * when only that can tell whether grub.cfg is current.
 */
export async function readGrub(ctx: TaskContext, p: Params): Promise<GrubFacts> {
  const root = p.root.replace(/\/+$/, '');
  const files = guestFileReads(ctx.host, p.root);
  const text = (path: string, r: ToolOutput | undefined): string | undefined => (r ? files.from(path, r)?.toString('utf8') : undefined);
  const first = await runBatch(ctx, {
    root: guestRootCommand(p.root),
    mountinfo: MOUNTINFO_COMMAND,
    lsblk: sh`lsblk -dno TYPE,KNAME -- ${p.disk}`,
    pt: sh`blkid -p -o export -- ${p.disk}`,
    diskLoop: loopOffsetCommand(p.disk),
    bootDevice: p.boot_device !== undefined ? sh`readlink -f -- ${p.boot_device}` : undefined,
    realRoot: canonicalRootCommand(p.root),
    osRelease: files.command('/etc/os-release'),
    usrOsRelease: files.command('/usr/lib/os-release'),
    defaultGrub: files.command('/etc/default/grub'),
  });
  guestRootFrom(ctx, p.root, first.root!); // refuses what is not a guest root, before anything else
  const mounts = mountsFrom(first.mountinfo!);
  const rootMount = findMount(mounts, root);
  const bootMount = findMount(mounts, `${root}/boot`) ?? rootMount;
  const diskReadable = first.lsblk!.exitCode === 0 && rootMount !== undefined && bootMount !== undefined;
  // the guest's OS names grub.cfg and core.img; a guest without one is refused once the disk is not
  const os = attempt(() => guestOsFrom(files.from('/etc/os-release', first.osRelease!), files.from('/usr/lib/os-release', first.usrOsRelease!)));
  const real = attempt(() => canonicalRootFrom(ctx, p.root, first.realRoot!));
  const binds = 'value' in real ? bindTargetsCheck(real.value, chrootBindState(real.value, mounts).missing) : undefined;
  const sources = [...new Set([rootMount?.source, bootMount?.source].filter((d): d is string => d !== undefined && d !== p.disk))];
  const paths = 'value' in os ? grubPaths(os.value) : undefined;
  const second = await runBatch(ctx, {
    ...Object.fromEntries(sources.map((d, i) => [`loop${i}`, loopOffsetCommand(d)])),
    bootSource: diskReadable && p.boot_device !== undefined ? sh`readlink -f -- ${bootMount.source}` : undefined,
    parent: diskReadable ? sh`lsblk -no PKNAME -- ${bootMount.source}` : undefined,
    rootSig: diskReadable ? sh`blkid -p -o export -- ${rootMount.source}` : undefined,
    binds: binds?.cmd,
    grubCfg: 'value' in os ? files.command(os.value.grubCfg) : undefined,
    core: paths && p.install ? files.command(paths.core, 'hex') : undefined,
    stamp: paths && p.install ? files.command(paths.stamp) : undefined,
  } as Record<string, Command | undefined>);

  const loopOffsets: Record<string, number> = {};
  for (const [i, d] of sources.entries()) loopOffsets[d] = loopOffsetFrom(second[`loop${i}`]);
  loopOffsets[p.disk] = loopOffsetFrom(first.diskLoop);
  const f: GrubFacts = { host: ctx.host, mounts, loopOffsets, lsblk: first.lsblk! };
  if (diskReadable) {
    const pt = signatureFrom(p.disk, first.pt!).ptType;
    if (pt !== undefined) f.ptType = pt;
    if (p.boot_device !== undefined) {
      f.bootDeviceReal = canonicalFrom(p.boot_device, first.bootDevice);
      f.bootSourceReal = canonicalFrom(bootMount.source, second.bootSource);
    }
    const parent = second.parent!.stdout.trim().split('\n')[0] ?? '';
    if (parent) f.bootParent = parent;
    const uuid = signatureFrom(rootMount.source, second.rootSig!).uuid;
    if (uuid !== undefined) f.rootUuid = uuid;
  }
  // the disk comes first: a broken setup is refused before anything runs in the guest
  const disk = checkGrubDisk(p, f);
  if ('refused' in disk) return f;
  const guestOs = settle(os);
  // core.img counts only when GRUB is there (known after the next batch); its refusal is reported then, as before
  const coreRead = second.core ? attempt(() => files.from(paths!.core, second.core!, 'hex')) : undefined;
  const core = coreRead && 'value' in coreRead ? coreRead.value : null;
  const third = await runBatch(ctx, {
    hasGrub: chrootCommand(p.root, sh`command -v ${guestOs.grubPrefix}-install && test -d /usr/lib/grub/i386-pc`),
    dropIns: chrootCommand(p.root, DROP_IN_LIST),
    head: core ? diskHeadCommand(p.disk, core, 'hex') : undefined,
  });
  const dropInPaths = third.dropIns!.stdout.split('\n').filter(Boolean);
  const dropIns = await runBatch(ctx, Object.fromEntries(dropInPaths.map((path, i) => [`dropIn${i}`, files.command(path)])) as Record<string, Command>);
  const hasGrub = third.hasGrub!.exitCode === 0;
  const guest: GrubGuestFacts = {
    os: guestOs,
    hasGrub,
    defaultGrub: text('/etc/default/grub', first.defaultGrub) ?? '',
    dropIns: dropInPaths.map((path, i) => ({ path, text: text(path, dropIns[`dropIn${i}`]) ?? '' })),
  };
  f.guest = guest;
  const cfg = text(guestOs.grubCfg, second.grubCfg);
  if (cfg !== undefined) guest.grubCfg = cfg;
  if (hasGrub && p.install && coreRead && settle(coreRead) && core) {
    const head = third.head!;
    guest.core = coreFacts(p.disk, core, head, head.exitCode === 0 ? Buffer.from(head.stdout.replace(/\s+/g, ''), 'hex') : Buffer.alloc(0), text(paths!.stamp, second.stamp));
  }
  try {
    settle(real);
    if (second.binds) binds!.verdict(second.binds);
  } catch (e) {
    if (!(e instanceof TaskFailedError)) throw e;
    guest.chrootRefusal = e.message;
  }
  // grub-mkconfig to stdout tells whether grub.cfg is current only when nothing before it is stale.
  const edits = defaultGrubEdits(p, guest, disk.rootUuid);
  if (!ctx.check && hasGrub && !edits.changed && !guest.chrootRefusal) {
    guest.freshCfg = await withGuestChroot(ctx, p.root, { mounts: true, policyRcD: false, resolvConf: 'keep' }, async (cg) => (await cg.runOk(sh`${guestOs.grubPrefix}-mkconfig`)).stdout);
  }
  return f;
}

/** A value, or the TaskFailedError computing it threw (reported later, when the value is needed). */
type Attempt<T> = { value: T } | { error: TaskFailedError };

function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof TaskFailedError) return { error: e };
    throw e;
  }
}

function settle<T>(a: Attempt<T>): T {
  if ('error' in a) throw a.error;
  return a.value;
}

/** /etc/default/grub and its drop-ins as they should be, and whether either changes. */
function defaultGrubEdits(p: Params, guest: GrubGuestFacts, rootUuid: string): { want: { text: string; notes: string[] }; dropIns: DropInEdit[]; changed: boolean } {
  const want = wantedDefaultGrub(guest.defaultGrub, p, rootUuid);
  const dropIns = dropInEdits(guest.dropIns, p).filter((d) => d.after !== d.before);
  return { want, dropIns, changed: want.text !== guest.defaultGrub || dropIns.length > 0 };
}

/** The step that installs the GRUB packages (the escape hatch: a package install around the chroot session's binds). */
function installPackagesStep(p: Params, os: GuestOs): Step {
  const source = p.packages_dir !== undefined ? `the packages in ${p.packages_dir}` : `${os.grubPackages.join(', ')} from the guest's mirror`;
  return {
    title: `install ${source} into ${p.root} (no ${os.grubPrefix}-install for i386-pc)`,
    run: (c) => withGuestChroot(c, p.root, SESSION, async (cg) => ({ packages: await installPackages(c, cg, { root: p.root, os, names: os.grubPackages, packagesDir: p.packages_dir }) })),
  };
}

/**
 * The step that writes /etc/default/grub and the drop-ins (the escape hatch: files written through the guest
 * root's own transport, which resolves the guest's links inside the root). It re-reads them first: installing
 * the package may have created the file from its template (and Ubuntu's a drop-in).
 */
function editDefaultGrubStep(p: Params, dropIns: DropInEdit[], rootUuid: string): Step {
  return {
    title: `edit ${p.root}/etc/default/grub${dropIns.length ? ` and ${dropIns.map((d) => d.path).join(', ')}` : ''} (serial console, kernel parameters, GRUB_DEVICE)`,
    run: async (c) => {
      const cg = await openGuestRoot(c, p.root);
      const now = (await readGuestText(cg, '/etc/default/grub')) ?? '';
      const w = wantedDefaultGrub(now, p, rootUuid);
      if (w.text !== now) await cg.transport.put('/etc/default/grub', w.text, { mode: 0o644, become: c.become });
      const edits = dropInEdits(await readDropIns(cg), p).filter((d) => d.after !== d.before);
      for (const d of edits) await cg.transport.put(d.path, d.after, { mode: 0o644, become: c.become });
      return { notes: [...w.notes, ...edits.flatMap((d) => d.notes)] };
    },
  };
}

/**
 * grub-mkconfig -o in the chroot session. `cmd` is exactly what runs inside the root; the escape hatch
 * binds /dev, /proc, /sys, /run around it (and always unbinds them), then checks the root= it wrote.
 */
function mkconfigStep(p: Params, os: GuestOs): Step {
  const inner = sh`${os.grubPrefix}-mkconfig -o ${os.grubCfg}`;
  return {
    title: `${os.grubPrefix}-mkconfig -o ${os.grubCfg} in ${p.root}`,
    cmd: chrootCommand(p.root, inner),
    run: (c) =>
      withGuestChroot(c, p.root, { ...SESSION, resolvConf: 'keep' }, async (cg) => {
        await cg.runOk(inner);
        const cfg = (await readGuestText(cg, os.grubCfg)) ?? '';
        const problems = grubCfgRootProblems(cfg, os.grubCfg);
        if (problems.length) {
          throw new TaskFailedError(`${os.grubPrefix}-mkconfig wrote a root= the guest will not have under KVM:\n${problems.join('\n')}\nset GRUB_DEVICE="UUID=…" in /etc/default/grub (ferry adds it unless the file sets GRUB_DEVICE)`);
        }
      }),
  };
}

/**
 * grub-install to the whole disk from the chroot. `cmd` is exactly what runs inside the root; the escape
 * hatch binds the API filesystems around it (without them core.img lacks the filesystem module), puts a
 * temporary device.map naming the disk as hd0, checks what went into core.img and writes ferry's stamp.
 */
function grubInstallStep(p: Params, os: GuestOs, disk: DiskPlan): Step {
  const paths = grubPaths(os);
  // the guest's own grub-install, of whatever version: no `--`, disk is an absolute path (schema)
  const inner = sh`${os.grubPrefix}-install --target=i386-pc --boot-directory=/boot --modules=${`${disk.partModule} ${disk.fsModule}`} --verbose ${p.disk}`;
  return {
    title: `${os.grubPrefix}-install --target=i386-pc --modules='${disk.partModule} ${disk.fsModule}' ${p.disk} (from the chroot)`,
    cmd: chrootCommand(p.root, inner),
    run: async (c) => {
      const modules = await withGuestChroot(c, p.root, { ...SESSION, resolvConf: 'keep' }, async (cg) => {
        // grub-install maps the mounted partition to a BIOS drive; device.map names the whole disk as hd0
        // ("cannot find a GRUB drive for /dev/mapper/…" otherwise). The guest's own device.map comes back after.
        const restore = await moveAside(c, p.root, paths.deviceMap);
        let r;
        try {
          await cg.transport.put(paths.deviceMap, `(hd0) ${p.disk}\n`, { mode: 0o644, become: c.become });
          r = await cg.run(inner, { timeoutMs: 10 * 60_000 });
        } finally {
          await restore.run().catch(() => undefined); // as before: a failed restore does not hide grub-install's outcome
        }
        const out = `${r.stdout}\n${r.stderr}`;
        if (r.exitCode !== 0) throw new TaskFailedError(`${os.grubPrefix}-install failed: ${out.split('\n').filter((l) => !/: info: /.test(l)).slice(-15).join('\n')}`);
        const mods = coreImageModules(out);
        if (!mods) throw new TaskFailedError(`${os.grubPrefix}-install -v did not show the grub-mkimage call; cannot tell what went into core.img`);
        if (!mods.includes(disk.fsModule)) {
          throw new TaskFailedError(`core.img was built without ${disk.fsModule} (modules: ${mods.join(' ')}); the guest would stop at "grub rescue>"`);
        }
        const core = await cg.transport.get(paths.core, { become: c.become });
        if (!core) throw new TaskFailedError(`${paths.core} is missing after ${os.grubPrefix}-install`);
        await cg.transport.put(paths.stamp, `${sha256(core)} ${mods.join(' ')}\n`, { mode: 0o644, become: c.become });
        return mods;
      });
      const still = installProblem(await readCore(c, await openGuestRoot(c, p.root), os, p.disk), os, p.disk, disk.fsModule);
      if (still) throw new TaskFailedError(`after ${os.grubPrefix}-install: ${still}`);
      return { modules };
    },
  };
}

/** Decides one grub task from what read found (pure). */
export function decideGrub(p: Params, f: GrubFacts): Verdict {
  const disk = checkGrubDisk(p, f);
  if ('refused' in disk) return disk;
  const guest = f.guest!;
  const { os, hasGrub } = guest;
  const steps: Step[] = [];
  const diff: Diff[] = [];
  const reasons: string[] = [];
  if (!hasGrub) steps.push(installPackagesStep(p, os));

  const edits = defaultGrubEdits(p, guest, disk.rootUuid);
  const notes = [...edits.want.notes, ...edits.dropIns.flatMap((d) => d.notes)];
  if (edits.changed || !hasGrub) {
    // without the package the files are edited as it leaves them: their diff is known only after the install
    if (hasGrub) {
      if (edits.want.text !== guest.defaultGrub) diff.push({ path: `${p.root}/etc/default/grub`, before: guest.defaultGrub, after: edits.want.text });
      for (const d of edits.dropIns) diff.push({ path: `${p.root}${d.path}`, before: d.before, after: d.after });
    }
    reasons.push(['/etc/default/grub', ...edits.dropIns.map((d) => d.path)].join(', '));
    steps.push(editDefaultGrubStep(p, edits.dropIns, disk.rootUuid));
  }

  let cfgStale = edits.changed || !hasGrub;
  let partial: string | undefined;
  if (!cfgStale) {
    const problems = guest.grubCfg !== undefined ? grubCfgRootProblems(guest.grubCfg, os.grubCfg) : [];
    if (guest.freshCfg !== undefined) {
      cfgStale = guest.grubCfg !== guest.freshCfg || problems.length > 0;
      if (cfgStale) diff.push({ path: `${p.root}${os.grubCfg}`, before: guest.grubCfg ?? '', after: guest.freshCfg });
    } else if (guest.grubCfg === undefined || problems.length > 0) {
      cfgStale = true; // stale whatever grub-mkconfig would print
    } else if (guest.chrootRefusal) {
      return { refused: guest.chrootRefusal }; // grub-mkconfig's session would refuse the root
    } else {
      partial = cfgUnreadInCheck(p.root, os);
    }
  }
  if (cfgStale) {
    reasons.push(os.grubCfg);
    steps.push(mkconfigStep(p, os));
  }

  if (p.install) {
    const stale = hasGrub ? installProblem(guest.core, os, p.disk, disk.fsModule) : `${os.grubPrefix}-install is not installed yet`;
    if (stale) {
      reasons.push(`grub-install (${stale})`);
      steps.push(grubInstallStep(p, os, disk));
    }
  }

  if (!steps.length) {
    return {
      changed: false,
      reason: `/etc/default/grub is right, ${os.grubCfg} is ${partial ? 'there with no host device in root=' : `what ${os.grubPrefix}-mkconfig generates`}${p.install ? `, and ${p.disk} boots the guest's core.img (MBR, embedded core.img, ${disk.fsModule} module)` : ''}`,
      data: { notes },
      ...(partial ? { partial } : {}),
    };
  }
  // every step but the /etc/default/grub edit runs in a chroot session: refuse now what it would refuse, before that edit
  if (guest.chrootRefusal) return { refused: guest.chrootRefusal };
  return { changed: true, steps, diff, data: { notes, reasons }, ...(partial ? { partial } : {}) };
}

export const grubModule = defineModule({
  name: 'grub',
  params,
  doc: {
    summary: 'Install GRUB (BIOS) for a converted guest: /etc/default/grub, grub.cfg and grub-install to the whole disk',
    description:
      'Refuses up front: a root or /boot mounted through a loop device with an offset (grub-install: "diskfilter writes are ' +
      'not supported"), a partition given as disk ("will not proceed with blocklists"), a boot filesystem on another disk, ' +
      'a disk without a partition table. /etc/default/grub gets the serial console, net.ifnames=0 biosdevname=0, cmdline_add ' +
      'and GRUB_DEVICE="UUID=<root fs>" (unless the file sets GRUB_DEVICE itself), because grub-mkconfig otherwise puts the ' +
      'converting host\'s device (/dev/loop0p1, /dev/mapper/…) in root= whenever /dev/disk/by-uuid is missing (no udev). ' +
      'The drop-ins grub-mkconfig sources after it (/etc/default/grub.d/*.cfg: Ubuntu ships one, cloud images add their ' +
      'own) are rewritten in place, as they would otherwise undo that: console=hvc0, xvd root= devices, a GRUB_TERMINAL ' +
      'without serial; nothing is added to them. ' +
      'root=, resume= and GRUB_DEVICE devices are renamed as the fstab module renames them: /dev/xvdXN becomes /dev/vdXN, or ' +
      'what device_map says (a xen-tools guest\'s root=/dev/xvda2 resume=/dev/xvda1 becomes root=/dev/vda1 resume=/dev/vdb with ' +
      '{xvda2: vda1, xvda1: vdb}), each device once. ' +
      'GRUB packages are installed when grub-install is missing (packages_dir for offline files, as in the kernel module). ' +
      'grub-mkconfig and grub-install run in a chroot session with /dev, /proc, /sys bound (without them grub-install ' +
      'reports success but builds core.img without the filesystem module: "grub rescue>"), with a temporary device.map ' +
      '"(hd0) DISK" and --modules naming the partition and filesystem modules. Verified afterwards: grub.cfg has no host ' +
      'device in root=, grub-install -v listed the filesystem module, the MBR holds GRUB\'s boot code and the sectors after ' +
      'it hold core.img; a stamp in /boot/grub records core.img\'s sha256 and modules. No change when /etc/default/grub is ' +
      'right, grub-mkconfig (to stdout) reproduces grub.cfg byte for byte, and the MBR, embedded core.img and stamp agree.',
    checkMode: 'partial',
    checkModeNote:
      'check mode mounts nothing: the disk is read from the host side and the guest\'s files inside its root. Whether grub.cfg ' +
      'is what grub-mkconfig generates needs /dev, /proc, /sys bound into root, so check mode does not compare it (the result ' +
      'says so in check_mode_partial; a missing grub.cfg or one with a host device in root= is still reported); a real run ' +
      'binds them for a grub-mkconfig to stdout and compares. When the packages are missing the /etc/default/grub diff is ' +
      'computed after they are installed.',
    result: { modules: 'the modules grub-install put into core.img', notes: 'what a person should check' },
    example: [
      '- grub:',
      '    root: /mnt/xr1',
      '    disk: /dev/vg1/xr1-disk',
      '    boot_device: /dev/mapper/vg1-xr1--disk1',
      '    packages_dir: /srv/ferry/debs/bookworm',
      '',
      '# a xen-tools guest: root on xvda2, swap (resume=) on xvda1, which becomes the whole disk vdb',
      '- grub:',
      '    root: /mnt/web1',
      '    disk: /dev/vg1/web1-disk',
      '    device_map: {xvda2: vda1, xvda1: vdb}',
      '# GRUB_CMDLINE_LINUX="root=/dev/xvda2 resume=/dev/xvda1"  -> "root=/dev/vda1 resume=/dev/vdb ..."',
    ].join('\n'),
  },
  read: readGrub,
  decide: decideGrub,
});
