// initramfs: make the guest's initramfs images carry the virtio drivers (and not depend on Xen's),
// with the guest's own generator, then prove it by listing every image. read: the generator, its config files, /boot,
// the kernels and each image's listing, all inside the guest root, and the chroot binds when a rebuild is needed (nothing
// mounted); decide: pure (test/fixtures/decide/initramfs).
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Diff, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { raw, sh } from '../runner/command.js';
import { editDracutConf, dracutDropIn, DRACUT_DROP_IN_NAME } from './initramfs/dracut.js';
import { editInitramfsConf, editInitramfsModules } from './initramfs/initramfs-tools.js';
import { editMkinitcpio } from './initramfs/mkinitcpio.js';
import { chrootBindsRefusal, readChrootBinds, type ChrootBindFacts } from './guest/chroot-binds.js';
import { withGuestChroot } from './guest/chroot-session.js';
import { openGuestRoot, readGuestOs, readGuestText } from './guest/facts.js';
import {
  chooseGenerator,
  GENERATOR_PROBE,
  initramfsImages,
  listImageCommand,
  listingHasModule,
  rebuildCommand,
  type InitramfsImage,
} from './initramfs/images.js';
import { chooseKvmKernel, readKernelListing, rootFsModulesNeeded, type KernelFacts } from './guest/kernels.js';
import type { GuestOs } from './guest/os-family.js';
import { absolutePathField, deviceMapField } from './lib/schema.js';
import type { DeviceNameOptions } from './guest-files/device-names.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host (the mounted guest filesystem)'),
  device_map: deviceMapField("initramfs-tools' RESUME= (conf.d/resume) naming /dev/KEY gets /dev/VALUE (give it the map fstab gets)"),
});

type Params = z.output<typeof params>;

/** How the guest's device names change (RESUME=). */
function deviceNames(p: Params): DeviceNameOptions {
  return p.device_map ? { deviceMap: p.device_map } : {};
}
type Generator = GuestOs['initramfs'];

/** One config file edit: the path in the guest, its text now and after. */
interface FileEdit {
  path: string;
  before: string;
  after: string;
  notes: string[];
}

/** A config file the generator's edit touches: its editor, and the text a missing file starts from (absent: a missing file is left alone). */
interface ConfigFile {
  path: string;
  edit(text: string): { text: string; changed: boolean; notes?: string[] };
  missing?: string;
}

/** The generator's conf.d directory, whose files are edited too. */
function confDir(generator: Generator): string | undefined {
  if (generator === 'initramfs-tools') return '/etc/initramfs-tools/conf.d';
  if (generator === 'dracut') return '/etc/dracut.conf.d';
  return undefined;
}

/** The config files the generator needs edited, in the order they are edited; `confD` lists its conf.d directory. */
function configFiles(generator: Generator, confD: string[], names: DeviceNameOptions = {}): ConfigFile[] {
  if (generator === 'initramfs-tools') {
    const edit = (text: string) => editInitramfsConf(text, names);
    return [
      { path: '/etc/initramfs-tools/modules', edit: editInitramfsModules, missing: '' },
      { path: '/etc/initramfs-tools/initramfs.conf', edit },
      ...confD.map((f) => ({ path: `/etc/initramfs-tools/conf.d/${f}`, edit })),
    ];
  }
  if (generator === 'dracut') {
    const want = dracutDropIn();
    return [
      { path: '/etc/dracut.conf', edit: editDracutConf },
      ...confD.filter((f) => f !== DRACUT_DROP_IN_NAME && f.endsWith('.conf')).map((f) => ({ path: `/etc/dracut.conf.d/${f}`, edit: editDracutConf })),
      { path: `/etc/dracut.conf.d/${DRACUT_DROP_IN_NAME}`, edit: () => ({ text: want, changed: false }), missing: want },
    ];
  }
  return [{ path: '/etc/mkinitcpio.conf', edit: editMkinitcpio }];
}

/** The config edits the guest's generator needs (only files that change); pure. */
function configEdits(generator: Generator, confD: string[], texts: Record<string, string>, names: DeviceNameOptions): FileEdit[] {
  const edits: FileEdit[] = [];
  for (const cf of configFiles(generator, confD, names)) {
    const before = texts[cf.path];
    if (before === undefined && cf.missing === undefined) continue;
    const r = cf.edit(before ?? cf.missing!);
    if (r.changed || before === undefined) edits.push({ path: cf.path, before: before ?? '', after: r.text, notes: r.notes ?? [] });
  }
  // a drop-in that already holds the wanted text is no edit
  return edits.filter((e) => e.before !== e.after);
}

/** What the guest's /boot and kernels say about its images: the names in /boot, the kernels, and each listed image's listing. */
export interface ImageFacts {
  /** `ls -1 /boot`. */
  boot: string[];
  /** KERNEL_LISTING, parsed. */
  kernels: KernelFacts[];
  /** What listing each image printed; images whose kernel has virtio_blk and the root's driver built in are not listed. */
  listings: Record<string, ToolOutput>;
  /** The guest root's filesystem type as mounted on the host (undefined: not a mount point, not judged). */
  rootFs?: string;
  /** parseMtimes of /boot's entries and of the config files that exist. */
  mtimes: Record<string, number>;
}

/** `stat -c '%Y %n'` of /boot's entries and the config files (seconds since the epoch by guest path); pure. */
export function parseMtimes(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) (\/.*)$/.exec(line);
    if (m) out[m[2]!] = Number(m[1]);
  }
  return out;
}

/**
 * Images older than a config file the generator reads: the edit was made (by ferry's rebuild or by
 * hand) and no rebuild finished after it — a cut rebuild writes the files first. Pure; an image or
 * file without a time is not judged.
 */
function staleImages(images: InitramfsImage[], configPaths: string[], mtimes: Record<string, number>): { image: string; config: string }[] {
  const newest = configPaths.filter((c) => mtimes[c] !== undefined).sort((a, b) => mtimes[b]! - mtimes[a]!)[0];
  if (newest === undefined) return [];
  return images.filter((i) => mtimes[i.path] !== undefined && mtimes[i.path]! < mtimes[newest]!).map((i) => ({ image: i.path, config: newest }));
}

/** What an image must hold: virtio_blk unless its kernel has it built in, and one of the root filesystem's driver modules when the kernel has it only as a module. */
interface ImageNeeds {
  virtio: boolean;
  rootFs: string[];
}

/** The images in /boot, and those that need listing with what each must hold (a kernel with both built in needs nothing of its image). */
function imagesToList(generator: Generator, boot: string[], kernels: KernelFacts[], rootFs: string | undefined): { images: InitramfsImage[]; toList: (InitramfsImage & ImageNeeds)[] } {
  const images = initramfsImages(generator, boot);
  const byVersion = new Map(kernels.map((k) => [k.version, k]));
  const toList = images.flatMap((i) => {
    const k = byVersion.get(i.version);
    const needs: ImageNeeds = { virtio: !(k && (k.virtioBlk === 'y' || k.virtioBuiltin)), rootFs: k ? rootFsModulesNeeded(k, rootFs) : [] };
    return needs.virtio || needs.rootFs.length ? [{ ...i, ...needs }] : [];
  });
  return { images, toList };
}

/**
 * Reads /boot with each entry's time (and the times of `configs`, in the same command), the kernels and
 * the listing of each image that needs one (inside the guest, nothing mounted); `rootFs` as mounted.
 */
async function readImages(g: TaskContext, generator: Generator, rootFs: string | undefined, configs: string[] = []): Promise<ImageFacts> {
  // stat, not ls: one command gives /boot's names and the times staleImages compares (an empty /boot: the glob stays literal, stat prints nothing for it)
  const mtimes = parseMtimes((await g.run(sh`stat -c ${'%Y %n'} -- ${raw('/boot/*')} ${configs}`)).stdout);
  const boot = Object.keys(mtimes).flatMap((path) => (path.startsWith('/boot/') ? [path.slice('/boot/'.length)] : []));
  const kernels = await readKernelListing(g);
  const listings: Record<string, ToolOutput> = {};
  for (const img of imagesToList(generator, boot, kernels, rootFs).toList) listings[img.path] = await g.run(listImageCommand(generator, img.path));
  return { boot, kernels, listings, mtimes, ...(rootFs !== undefined ? { rootFs } : {}) };
}

/** The filesystem type mounted at root on the host (undefined when root is not a mount point). */
async function readRootFs(ctx: TaskContext, root: string): Promise<string | undefined> {
  const r = await ctx.run(sh`findmnt -n -o FSTYPE -M ${root}`);
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** Each image and whether it holds virtio_blk, or why an image could not be listed; pure. */
function judgeImages(generator: Generator, f: ImageFacts): { images: InitramfsImage[]; missing: string[]; noRootFs: string[]; noImage: string[] } | { refused: string } {
  const { images, toList } = imagesToList(generator, f.boot, f.kernels, f.rootFs);
  const missing: string[] = [];
  const noRootFs: string[] = [];
  for (const img of toList) {
    const r = f.listings[img.path] ?? { exitCode: 1, stdout: '', stderr: 'not listed' };
    if (r.exitCode !== 0) return { refused: `cannot list ${img.path} in the guest: ${r.stderr.trim() || `exit ${r.exitCode}`}` };
    if (img.virtio && !listingHasModule(r.stdout)) missing.push(img.path);
    if (img.rootFs.length && !img.rootFs.some((m) => listingHasModule(r.stdout, m))) noRootFs.push(`${img.path} (no ${img.rootFs.join(' or ')} module for the ${f.rootFs} root)`);
  }
  // a good kernel without any image is as unbootable as an image without the driver
  const good = chooseKvmKernel(f.kernels).verdicts.filter((v) => v.ok);
  // Arch names images after the package, not the version: only the other generators can be checked per kernel
  const noImage = generator === 'mkinitcpio' ? [] : good.map((k) => k.version).filter((v) => !images.some((i) => i.version === v));
  missing.push(...noImage.map((v) => `(no image for kernel ${v})`));
  return { images, missing, noRootFs, noImage };
}

async function listDir(g: TaskContext, dir: string): Promise<string[]> {
  const r = await g.run(sh`ls -1 ${dir}`);
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** What initramfs's read found, all of it inside the guest root except the chroot binds (nothing is mounted). */
export interface InitramfsFacts extends ImageFacts {
  /** The guest's distribution, with the generator it really has installed (a Debian guest may use dracut). */
  os: GuestOs;
  /** Why that generator. */
  generatorWhy: string;
  /** The generator's conf.d directory as listed. */
  confD: string[];
  /** The generator's config files as they are (a missing file has no entry). */
  texts: Record<string, string>;
  /** Read only when a rebuild is needed (its chroot session mounts them). */
  binds?: ChrootBindFacts;
}

/**
 * Reads the guest's generator, its config files and its images (refusing a root that is not a mounted guest),
 * and the chroot binds when a rebuild is needed.
 */
async function readInitramfs(ctx: TaskContext, p: Params): Promise<InitramfsFacts> {
  const g = await openGuestRoot(ctx, p.root);
  const family = await readGuestOs(g);
  const { generator, why } = chooseGenerator(family.initramfs, (await g.runOk(GENERATOR_PROBE)).stdout);
  const dir = confDir(generator);
  const confD = dir === undefined ? [] : await listDir(g, dir);
  const texts: Record<string, string> = {};
  for (const cf of configFiles(generator, confD)) {
    const text = await readGuestText(g, cf.path);
    if (text !== undefined) texts[cf.path] = text;
  }
  const images = await readImages(g, generator, await readRootFs(ctx, p.root), Object.keys(texts));
  const f: InitramfsFacts = { os: { ...family, initramfs: generator }, generatorWhy: why, confD, texts, ...images };
  return 'verdict' in judgeInitramfs(f, deviceNames(p)) ? f : { ...f, binds: await readChrootBinds(ctx, p.root) };
}

/** What to look at when a rebuilt image still lacks virtio_blk. */
function configHint(generator: GuestOs['initramfs']): string {
  if (generator === 'dracut') {
    return 'look for no_kernel, hostonly, drivers= or omit_drivers settings in /etc/dracut.conf, /etc/dracut.conf.d/*.conf and /usr/lib/dracut/dracut.conf.d/*.conf';
  }
  if (generator === 'initramfs-tools') return 'look at MODULES= in /etc/initramfs-tools/initramfs.conf and conf.d/*, and at hooks that remove modules';
  return 'look at MODULES and HOOKS (autodetect, modconf) in /etc/mkinitcpio.conf and /etc/mkinitcpio.conf.d';
}

/**
 * The config edits and the images a rebuild must fix, from all but the binds; or the verdict when there is
 * no rebuild: no change (the config asks for virtio, every image holds virtio_blk), or an image that cannot be listed. Pure.
 */
function judgeInitramfs(f: InitramfsFacts, names: DeviceNameOptions): { verdict: Verdict } | { edits: FileEdit[]; missing: string[]; noRootFs: string[]; stale: { image: string; config: string }[]; noImage: string[] } {
  const { os } = f;
  const edits = configEdits(os.initramfs, f.confD, f.texts, names);
  const judged = judgeImages(os.initramfs, f);
  if ('refused' in judged) return { verdict: judged };
  const { images, missing, noRootFs, noImage } = judged;
  const stale = staleImages(images, Object.keys(f.texts), f.mtimes);
  if (edits.length || missing.length || noRootFs.length || stale.length) return { edits, missing, noRootFs, stale, noImage };
  return {
    verdict: {
      changed: false,
      reason: `${os.initramfs} config already asks for virtio and every image holds virtio_blk (${images.map((i) => i.path).join(', ') || 'no images'})`,
      data: { images: images.map((i) => i.path), generator: os.initramfs },
    },
  };
}

/** Decides initramfs (pure): no change when the config asks for virtio and every image holds virtio_blk, a refusal of binds the rebuild could not mount, else the rebuild. */
export function decideInitramfs(p: Params, f: InitramfsFacts): Verdict {
  const { os } = f;
  const judged = judgeInitramfs(f, deviceNames(p));
  if ('verdict' in judged) return judged.verdict;
  const { edits, missing, noRootFs, stale, noImage } = judged;
  const refused = f.binds && chrootBindsRefusal(p.root, f.binds);
  if (refused) return { refused };
  const diff: Diff[] = edits.map((e) => ({ path: `${p.root}${e.path}`, before: e.before, after: e.after }));
  const why = [
    ...(edits.length ? [`edit ${edits.map((e) => e.path).join(', ')}`] : []),
    ...(missing.length ? [`without virtio_blk: ${missing.join(', ')}`] : []),
    ...(noRootFs.length ? [`without the root filesystem's driver: ${noRootFs.join(', ')}`] : []),
    ...(stale.length ? [`older than ${stale[0]!.config}, so built without its settings: ${stale.map((x) => x.image).join(', ')}`] : []),
  ];
  return {
    changed: true,
    diff,
    data: { notes: edits.flatMap((e) => e.notes.map((n) => `${e.path}: ${n}`)), generator: os.initramfs },
    steps: [rebuildStep(p, os.initramfs, edits, noImage, `${f.generatorWhy}; ${why.join('; ')}`, f.rootFs)],
  };
}

/**
 * The rebuild (the escape hatch: a chroot session around several commands): the config files written,
 * update-initramfs -c for a kernel without an image, the generator's rebuild, then every image listed again.
 */
function rebuildStep(p: Params, generator: Generator, edits: FileEdit[], noImage: string[], why: string, rootFs: string | undefined): Step {
  return {
    title: `rebuild the initramfs of ${p.root} with ${generator} (${why})`,
    run: async (c) => {
      await withGuestChroot(c, p.root, { mounts: true, policyRcD: true, resolvConf: 'keep' }, async (cg) => {
        for (const e of edits) await cg.transport.put(e.path, e.after, { mode: 0o644, become: c.become });
        // update-initramfs -u only refreshes images that exist; a kernel without one needs -c
        if (generator === 'initramfs-tools') for (const v of noImage) await cg.runOk(sh`update-initramfs -c -k ${v}`, { timeoutMs: 20 * 60_000 });
        await cg.runOk(rebuildCommand(generator), { timeoutMs: 20 * 60_000 });
      });
      const after = judgeImages(generator, await readImages(await openGuestRoot(c, p.root), generator, rootFs));
      if ('refused' in after) throw new TaskFailedError(after.refused);
      if (after.missing.length) {
        throw new TaskFailedError(`after the ${generator} rebuild these images still lack virtio_blk: ${after.missing.join(', ')}; ${configHint(generator)}`);
      }
      if (after.noRootFs.length) {
        throw new TaskFailedError(`after the ${generator} rebuild these images cannot mount the root filesystem: ${after.noRootFs.join(', ')}; ${configHint(generator)}`);
      }
      if (!after.images.length) throw new TaskFailedError(`the rebuild left no initramfs image in ${p.root}/boot`);
      return { images: after.images.map((i) => i.path), edited: edits.map((e) => e.path), generator };
    },
  };
}

export const initramfsModule = defineModule({
  name: 'initramfs',
  params,
  doc: {
    summary: "Put the virtio drivers into the guest's initramfs (initramfs-tools, dracut or mkinitcpio) and verify every image",
    description:
      'The generator is the one installed in the guest: the family\'s usual one, else whichever of update-initramfs, ' +
      'dracut and mkinitcpio is there (a Debian guest may run dracut; its images keep the name initrd.img-VERSION). ' +
      'initramfs-tools (Debian/Ubuntu): /etc/initramfs-tools/modules loses the Xen frontends and gains virtio_blk virtio_pci virtio_net ' +
      'virtio_scsi, MODULES=dep becomes most (initramfs.conf and conf.d), RESUME=/dev/xvd… gets its KVM name (device_map, else ' +
      'xvdXN -> vdXN), then update-initramfs -u -k all. dracut (RHEL family): ' +
      `a dracut drop-in /etc/dracut.conf.d/${DRACUT_DROP_IN_NAME} (add virtio, omit Xen), Xen drivers removed from other ` +
      'dracut conf files, then dracut -f --regenerate-all. mkinitcpio (Arch): MODULES in /etc/mkinitcpio.conf, then mkinitcpio -P. ' +
      'The rebuild runs in a chroot session (see the chroot module). Afterwards every image is listed (lsinitramfs, ' +
      'lsinitrd, lsinitcpio) and the task fails if one lacks virtio_blk (unless its kernel has it built in), or lacks the ' +
      "driver of the root's filesystem (ext2/3/4, xfs; as mounted at root) where its kernel has that driver only as a module. No change " +
      'when the files are already right, every image already holds virtio_blk and no image is older than a config file ' +
      '(an image older than its config was built without it: a rebuild cut after the files were written is done again).',
    checkMode: 'full',
    result: { images: 'the images checked', edited: 'the config files written', generator: 'initramfs-tools, dracut or mkinitcpio' },
    example: ['- initramfs:', '    root: /mnt/xr1', '- initramfs:        # a xen-tools guest: its swap LV xvda1 is vdb under KVM', '    root: /mnt/web1', '    device_map: {xvda2: vda1, xvda1: vdb}'].join('\n'),
  },
  read: readInitramfs,
  decide: decideInitramfs,
});
