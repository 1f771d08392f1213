// grub: make a converted guest boot with GRUB from its whole disk under KVM (BIOS, i386-pc):
// /etc/default/grub for a serial console, grub.cfg regenerated with a root= the guest will have,
// and grub-install run in the guest's chroot against the whole disk — after refusing the setups
// known to produce a disk that does not boot.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { raw, sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Diff, type Step, type TaskContext } from '../runner/module.js';
import { checkChrootBinds } from './chroot-mounts.js';
import { editDefaultGrub } from './guest-files/default-grub.js';
import { moveAside, withGuestChroot, type ChrootSetup } from './guest/chroot-session.js';
import { openGuestRoot, readGuestOs, readGuestText } from './guest/facts.js';
import {
  addCmdlineTokens,
  coreEmbedded,
  coreImageModules,
  ensureGrubSetting,
  grubCfgRootProblems,
  grubFsModule,
  grubPartModule,
  hasGrubBootCode,
} from './guest/grub.js';
import type { GuestOs } from './guest/os-family.js';
import { installPackages } from './guest/packages.js';
import { absolutePathField } from './lib/schema.js';
import { canonicalPath, probeSignature, readMounts } from './storage/facts.js';
import { findMount } from './storage/mountinfo.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host: the guest filesystem, mounted from a partition of disk'),
  disk: absolutePathField('The WHOLE disk the guest boots from (an LV like /dev/vg1/xr1-disk, or a loop device /dev/loop0), never a partition'),
  boot_device: absolutePathField('The partition the guest\'s /boot (or /) is mounted from, e.g. /dev/mapper/vg1-xr1--disk1; checked against the mount').optional(),
  serial: z.boolean().default(true).describe('Serial console: console=tty0 console=ttyS0,115200 on the kernel command line, GRUB_TERMINAL="serial console"'),
  net_ifnames: z.boolean().default(true).describe('Add net.ifnames=0 biosdevname=0 (keep the eth0 name the guest\'s network config uses)'),
  rename_sd: z.boolean().default(false).describe('Also rename root=/dev/sdXN to /dev/vdXN'),
  cmdline_add: z.array(z.string().min(1)).default([]).describe('More kernel parameters for GRUB_CMDLINE_LINUX'),
  install: z.boolean().default(true).describe('Run grub-install to the disk (false: only /etc/default/grub and grub.cfg)'),
  packages_dir: absolutePathField('A host directory with the GRUB package files and their missing dependencies, installed when grub-install is missing (offline mode)').optional(),
});

type Params = z.output<typeof params>;

/** What the host says about the disk and the guest's mounts. */
interface DiskFacts {
  bootSource: string;
  fsModule: string;
  partModule: string;
  rootUuid: string;
}

async function loopOffset(ctx: TaskContext, dev: string): Promise<number> {
  if (!/^\/dev\/loop\d+$/.test(dev)) return 0;
  const r = await ctx.run(sh`losetup -n -O OFFSET -- ${dev}`);
  return r.exitCode === 0 ? Number(r.stdout.trim()) || 0 : 0;
}

/**
 * Refuses, before anything is written, the setups that give an unbootable disk: a filesystem
 * mounted through an offset loop device ("diskfilter writes are not supported"), a partition
 * given as the disk ("will not proceed with blocklists"), a boot filesystem on another disk.
 */
async function checkDisk(ctx: TaskContext, p: Params): Promise<DiskFacts> {
  const mounts = await readMounts(ctx);
  const root = p.root.replace(/\/+$/, '');
  const rootMount = findMount(mounts, root);
  if (!rootMount) throw new TaskFailedError(`${root} is not a mount point on ${ctx.host}: mount the guest's root filesystem (a partition of ${p.disk}) there first`);
  const bootMount = findMount(mounts, `${root}/boot`) ?? rootMount;
  const fix = 'attach the whole image with `losetup -P IMAGE` (or map an LV\'s partitions with kpartx) and mount the partition device (/dev/loop0p1, /dev/mapper/vg-lv1)';
  for (const m of new Set([rootMount, bootMount])) {
    const off = await loopOffset(ctx, m.source);
    if (off > 0) {
      throw new TaskFailedError(
        `${m.mountPoint} is mounted from ${m.source}, a loop device with offset ${off} (a partition attached with losetup -o): ` +
          `grub-install cannot map it to a disk and fails with "diskfilter writes are not supported"; ${fix}`,
      );
    }
  }
  const lsblk = await ctx.run(sh`lsblk -dno TYPE,KNAME -- ${p.disk}`);
  if (lsblk.exitCode !== 0) throw new TaskFailedError(`disk ${p.disk} is not a block device on ${ctx.host}: ${lsblk.stderr.trim()}`);
  const [diskType = '', diskName = ''] = lsblk.stdout.trim().split(/\s+/);
  if (diskType === 'part') {
    throw new TaskFailedError(
      `disk ${p.disk} is a partition, not a whole disk: grub-install would stop with "will not proceed with blocklists" ` +
        '(a partition has no room for core.img); give the disk that holds it (e.g. /dev/loop0 rather than /dev/loop0p1, /dev/vg1/xr1-disk rather than /dev/mapper/vg1-xr1--disk1)',
    );
  }
  const diskOff = await loopOffset(ctx, p.disk);
  if (diskOff > 0) throw new TaskFailedError(`disk ${p.disk} is a loop device with offset ${diskOff}, i.e. a partition; give the whole disk; ${fix}`);
  const pt = (await probeSignature(ctx, p.disk)).ptType;
  const partModule = grubPartModule(pt);
  if (!partModule) throw new TaskFailedError(`disk ${p.disk} has ${pt ? `a ${pt} partition table` : 'no partition table'}; GRUB for BIOS needs an msdos (or gpt with a BIOS boot partition) table`);
  const bootSource = bootMount.source;
  if (p.boot_device !== undefined && (await canonicalPath(ctx, p.boot_device)) !== (await canonicalPath(ctx, bootSource))) {
    throw new TaskFailedError(`${bootMount.mountPoint} is mounted from ${bootSource}, not from boot_device ${p.boot_device}`);
  }
  const parent = (await ctx.run(sh`lsblk -no PKNAME -- ${bootSource}`)).stdout.trim().split('\n')[0] ?? '';
  if (parent && diskName && parent !== diskName) {
    throw new TaskFailedError(`${bootMount.mountPoint} is mounted from ${bootSource}, which is on /dev/${parent}, not on disk ${p.disk} (/dev/${diskName})`);
  }
  const fsModule = grubFsModule(bootMount.fstype);
  if (!fsModule) throw new TaskFailedError(`${bootMount.mountPoint} is ${bootMount.fstype}, a filesystem ferry does not know the GRUB module of`);
  const rootUuid = (await probeSignature(ctx, rootMount.source)).uuid;
  if (!rootUuid) throw new TaskFailedError(`blkid finds no filesystem UUID on ${rootMount.source} (mounted on ${root})`);
  return { bootSource, fsModule, partModule, rootUuid };
}

/** The wanted /etc/default/grub for the current text (the shared editor plus ferry's additions). */
function wantedDefaultGrub(text: string, p: Params, facts: DiskFacts): { text: string; notes: string[] } {
  const e = editDefaultGrub(text, { serialConsole: p.serial, netIfnames: p.net_ifnames, renameSd: p.rename_sd });
  const withTokens = addCmdlineTokens(e.text, p.cmdline_add);
  // grub-mkconfig writes root=UUID= only when /dev/disk/by-uuid/UUID exists where it runs; on a host without
  // udev (or for a device-mapper root) it writes the host's device (/dev/loop0p1, /dev/mapper/…) instead.
  const dev = ensureGrubSetting(withTokens.text, 'GRUB_DEVICE', `UUID=${facts.rootUuid}`, 'root filesystem by UUID, so grub-mkconfig never puts a converting host\'s device in root=');
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
 * The drop-ins grub-mkconfig sources after /etc/default/grub (its own `grub.d/*.cfg` glob, in the
 * guest's shell) with their wanted text. They are sourced last, so a Xen-era one (console=hvc0,
 * GRUB_TERMINAL=console, root=/dev/xvda1) would undo the main file's edit: each is rewritten in
 * place, but nothing is added to them (the additions live in /etc/default/grub).
 */
async function readDropIns(g: TaskContext, p: Params): Promise<DropInEdit[]> {
  const r = await g.run(sh`${raw(`for f in ${DROP_IN_DIR}/*.cfg; do [ -f "$f" ] && echo "$f"; done; true`)}`);
  const out: DropInEdit[] = [];
  for (const path of r.stdout.split('\n').filter(Boolean)) {
    const before = (await readGuestText(g, path)) ?? '';
    const e = editDefaultGrub(before, { serialConsole: p.serial, netIfnames: p.net_ifnames, renameSd: p.rename_sd, dropIn: true, ensure: false });
    out.push({ path, before, after: e.text, notes: (e.notes ?? []).map((n) => `${path}: ${n}`) });
  }
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

/**
 * Whether GRUB is installed on the disk as ferry left it: the MBR holds GRUB's boot code, the
 * sectors after it hold the guest's core.img, and the stamp written after a verified install
 * (core.img's sha256 + the modules grub-install -v reported) matches that core.img.
 */
async function installState(ctx: TaskContext, g: TaskContext, os: GuestOs, disk: string, fsModule: string): Promise<string | undefined> {
  const paths = grubPaths(os);
  const core = await g.transport.get(paths.core, { become: g.become });
  if (!core) return `no ${paths.core} in the guest`;
  const sectors = 1 + Math.ceil(core.length / 512);
  const head = await ctx.run(sh`dd if=${disk} bs=512 count=${sectors} status=none`, { binary: true });
  if (head.exitCode !== 0) throw new TaskFailedError(`cannot read the first sectors of ${disk}: ${head.stderr.trim()}`);
  const bytes = head.stdoutBuffer ?? Buffer.alloc(0);
  if (!hasGrubBootCode(bytes)) return `the MBR of ${disk} holds no GRUB boot code`;
  if (!coreEmbedded(bytes, core)) return `the sectors after the MBR of ${disk} do not hold the guest's ${paths.core}`;
  const stamp = (await readGuestText(g, paths.stamp))?.trim().split(/\s+/) ?? [];
  if (stamp[0] !== sha256(core)) return `${paths.stamp} does not vouch for this core.img (not installed by ferry, or reinstalled since)`;
  if (!stamp.slice(1).includes(fsModule)) return `core.img was built without the ${fsModule} module`;
  return undefined;
}

/** Runs grub-mkconfig to stdout inside the guest (with the API filesystems bound) and returns the text. */
async function generateGrubCfg(ctx: TaskContext, root: string, os: GuestOs): Promise<string> {
  return withGuestChroot(ctx, root, { mounts: true, policyRcD: false, resolvConf: 'keep' }, async (g) => {
    const r = await g.runOk(sh`${os.grubPrefix}-mkconfig`);
    return r.stdout;
  });
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
      'GRUB packages are installed when grub-install is missing (packages_dir for offline files, as in the kernel module). ' +
      'grub-mkconfig and grub-install run in a chroot session with /dev, /proc, /sys bound (without them grub-install ' +
      'reports success but builds core.img without the filesystem module: "grub rescue>"), with a temporary device.map ' +
      '"(hd0) DISK" and --modules naming the partition and filesystem modules. Verified afterwards: grub.cfg has no host ' +
      'device in root=, grub-install -v listed the filesystem module, the MBR holds GRUB\'s boot code and the sectors after ' +
      'it hold core.img; a stamp in /boot/grub records core.img\'s sha256 and modules. No change when /etc/default/grub is ' +
      'right, grub-mkconfig (to stdout) reproduces grub.cfg byte for byte, and the MBR, embedded core.img and stamp agree.',
    checkMode: 'partial',
    checkModeNote:
      'exact once GRUB is installed in the guest; when the packages are missing the /etc/default/grub diff is computed after they are installed. ' +
      'Planning binds /dev, /proc, /sys, /run into root for the duration of a grub-mkconfig to stdout.',
    result: { modules: 'the modules grub-install put into core.img', notes: 'what a person should check' },
    example: ['- grub:', '    root: /mnt/xr1', '    disk: /dev/vg1/xr1-disk', '    boot_device: /dev/mapper/vg1-xr1--disk1', '    packages_dir: /srv/ferry/debs/bookworm'].join('\n'),
  },
  async plan(ctx, p) {
    const g = await openGuestRoot(ctx, p.root);
    // the disk checks come first: they refuse broken setups before anything runs in the guest
    const facts = await checkDisk(ctx, p);
    const os = await readGuestOs(g);
    const paths = grubPaths(os);
    const hasGrub = (await g.run(sh`command -v ${os.grubPrefix}-install && test -d /usr/lib/grub/i386-pc`)).exitCode === 0;
    const session: ChrootSetup = { mounts: true, policyRcD: true, resolvConf: 'copy' };
    const steps: Step[] = [];
    const diff: Diff[] = [];
    const reasons: string[] = [];

    if (!hasGrub) {
      const source = p.packages_dir !== undefined ? `the packages in ${p.packages_dir}` : `${os.grubPackages.join(', ')} from the guest's mirror`;
      steps.push({
        title: `install ${source} into ${p.root} (no ${os.grubPrefix}-install for i386-pc)`,
        run: (c) => withGuestChroot(c, p.root, session, async (cg) => ({ packages: await installPackages(c, cg, { root: p.root, os, names: os.grubPackages, packagesDir: p.packages_dir }) })),
      });
    }

    const defaultGrub = (await readGuestText(g, '/etc/default/grub')) ?? '';
    const want = wantedDefaultGrub(defaultGrub, p, facts);
    const dropIns = (await readDropIns(g, p)).filter((d) => d.after !== d.before);
    const notes = [...want.notes, ...dropIns.flatMap((d) => d.notes)];
    const defaultChanges = want.text !== defaultGrub || dropIns.length > 0;
    if (defaultChanges || !hasGrub) {
      if (hasGrub) {
        if (want.text !== defaultGrub) diff.push({ path: `${p.root}/etc/default/grub`, before: defaultGrub, after: want.text });
        for (const d of dropIns) diff.push({ path: `${p.root}${d.path}`, before: d.before, after: d.after });
      }
      reasons.push(['/etc/default/grub', ...dropIns.map((d) => d.path)].join(', '));
      steps.push({
        title: `edit ${p.root}/etc/default/grub${dropIns.length ? ` and ${dropIns.map((d) => d.path).join(', ')}` : ''} (serial console, kernel parameters, GRUB_DEVICE)`,
        run: async (c) => {
          // re-read: installing the package may have created the file from its template (and Ubuntu's a drop-in)
          const cg = await openGuestRoot(c, p.root);
          const now = (await readGuestText(cg, '/etc/default/grub')) ?? '';
          const w = wantedDefaultGrub(now, p, facts);
          if (w.text !== now) await cg.transport.put('/etc/default/grub', w.text, { mode: 0o644, become: c.become });
          const edits = (await readDropIns(cg, p)).filter((d) => d.after !== d.before);
          for (const d of edits) await cg.transport.put(d.path, d.after, { mode: 0o644, become: c.become });
          return { notes: [...w.notes, ...edits.flatMap((d) => d.notes)] };
        },
      });
    }

    let cfgStale = defaultChanges || !hasGrub;
    if (!cfgStale) {
      const current = await readGuestText(g, os.grubCfg);
      const problems = current !== undefined ? grubCfgRootProblems(current, os.grubCfg) : [];
      const fresh = await generateGrubCfg(ctx, p.root, os);
      cfgStale = current !== fresh || problems.length > 0;
      if (cfgStale) diff.push({ path: `${p.root}${os.grubCfg}`, before: current ?? '', after: fresh });
    }
    if (cfgStale) {
      reasons.push(os.grubCfg);
      steps.push({
        title: `${os.grubPrefix}-mkconfig -o ${os.grubCfg} in ${p.root}`,
        run: (c) =>
          withGuestChroot(c, p.root, { ...session, resolvConf: 'keep' }, async (cg) => {
            await cg.runOk(sh`${os.grubPrefix}-mkconfig -o ${os.grubCfg}`);
            const cfg = (await readGuestText(cg, os.grubCfg)) ?? '';
            const problems = grubCfgRootProblems(cfg, os.grubCfg);
            if (problems.length) {
              throw new TaskFailedError(`${os.grubPrefix}-mkconfig wrote a root= the guest will not have under KVM:\n${problems.join('\n')}\nset GRUB_DEVICE="UUID=…" in /etc/default/grub (ferry adds it unless the file sets GRUB_DEVICE)`);
            }
          }),
      });
    }

    if (p.install) {
      const stale = hasGrub ? await installState(ctx, g, os, p.disk, facts.fsModule) : `${os.grubPrefix}-install is not installed yet`;
      if (stale) {
        reasons.push(`grub-install (${stale})`);
        steps.push({
          title: `${os.grubPrefix}-install --target=i386-pc --modules='${facts.partModule} ${facts.fsModule}' ${p.disk} (from the chroot)`,
          run: async (c) => {
            const modules = await withGuestChroot(c, p.root, { ...session, resolvConf: 'keep' }, async (cg) => {
              // grub-install maps the mounted partition to a BIOS drive; device.map names the whole disk as hd0
              // ("cannot find a GRUB drive for /dev/mapper/…" otherwise). The guest's own device.map comes back after.
              const restore = await moveAside(c, p.root, paths.deviceMap);
              let r;
              try {
                await cg.transport.put(paths.deviceMap, `(hd0) ${p.disk}\n`, { mode: 0o644, become: c.become });
                // the guest's own grub-install, of whatever version: no `--`, disk is an absolute path (schema)
                r = await cg.run(
                  sh`${os.grubPrefix}-install --target=i386-pc --boot-directory=/boot --modules=${`${facts.partModule} ${facts.fsModule}`} --verbose ${p.disk}`,
                  { timeoutMs: 10 * 60_000 },
                );
              } finally {
                await restore.run().catch(() => undefined); // as before: a failed restore does not hide grub-install's outcome
              }
              const out = `${r.stdout}\n${r.stderr}`;
              if (r.exitCode !== 0) throw new TaskFailedError(`${os.grubPrefix}-install failed: ${out.split('\n').filter((l) => !/: info: /.test(l)).slice(-15).join('\n')}`);
              const mods = coreImageModules(out);
              if (!mods) throw new TaskFailedError(`${os.grubPrefix}-install -v did not show the grub-mkimage call; cannot tell what went into core.img`);
              if (!mods.includes(facts.fsModule)) {
                throw new TaskFailedError(`core.img was built without ${facts.fsModule} (modules: ${mods.join(' ')}); the guest would stop at "grub rescue>"`);
              }
              const core = await cg.transport.get(paths.core, { become: c.become });
              if (!core) throw new TaskFailedError(`${paths.core} is missing after ${os.grubPrefix}-install`);
              await cg.transport.put(paths.stamp, `${sha256(core)} ${mods.join(' ')}\n`, { mode: 0o644, become: c.become });
              return mods;
            });
            const still = await installState(c, await openGuestRoot(c, p.root), os, p.disk, facts.fsModule);
            if (still) throw new TaskFailedError(`after ${os.grubPrefix}-install: ${still}`);
            return { modules };
          },
        });
      }
    }

    if (!steps.length) {
      return {
        changed: false,
        reason: `/etc/default/grub is right, ${os.grubCfg} is what ${os.grubPrefix}-mkconfig generates${p.install ? `, and ${p.disk} boots the guest's core.img (MBR, embedded core.img, ${facts.fsModule} module)` : ''}`,
        data: { notes },
      };
    }
    // every step but the /etc/default/grub edit runs in a chroot session: refuse now what it would refuse, before that edit
    await checkChrootBinds(ctx, p.root);
    return { changed: true, steps, diff, data: { notes, reasons } };
  },
});
