// initramfs: make the guest's initramfs images carry the virtio drivers (and not depend on Xen's),
// with the guest's own generator, then prove it by listing every image.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Diff, type TaskContext } from '../runner/module.js';
import { sh } from '../runner/command.js';
import { editDracutConf, dracutDropIn, DRACUT_DROP_IN_NAME } from './guest-files/dracut.js';
import { editInitramfsConf, editInitramfsModules } from './guest-files/initramfs-tools.js';
import { editMkinitcpio } from './guest-files/mkinitcpio.js';
import { checkChrootBinds } from './chroot-mounts.js';
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
} from './guest/initramfs-images.js';
import { chooseKvmKernel, KERNEL_LISTING, parseKernelListing } from './guest/kernels.js';
import type { GuestOs } from './guest/os-family.js';
import { absolutePathField } from './lib/schema.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host (the mounted guest filesystem)'),
});

/** One config file edit: the path in the guest, its text now and after. */
interface FileEdit {
  path: string;
  before: string;
  after: string;
  notes: string[];
}

async function listDir(g: TaskContext, dir: string): Promise<string[]> {
  const r = await g.run(sh`ls -1 ${dir}`);
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** The config edits the guest's generator needs (only files that change). */
async function planConfigEdits(g: TaskContext, os: GuestOs): Promise<FileEdit[]> {
  const edits: FileEdit[] = [];
  const edit = async (path: string, fn: (t: string) => { text: string; changed: boolean; notes?: string[] }, missing?: string): Promise<void> => {
    const before = await readGuestText(g, path);
    if (before === undefined && missing === undefined) return;
    const r = fn(before ?? missing!);
    if (r.changed || before === undefined) edits.push({ path, before: before ?? '', after: r.text, notes: r.notes ?? [] });
  };
  if (os.initramfs === 'initramfs-tools') {
    await edit('/etc/initramfs-tools/modules', editInitramfsModules, '');
    await edit('/etc/initramfs-tools/initramfs.conf', editInitramfsConf);
    for (const f of await listDir(g, '/etc/initramfs-tools/conf.d')) await edit(`/etc/initramfs-tools/conf.d/${f}`, editInitramfsConf);
  } else if (os.initramfs === 'dracut') {
    await edit('/etc/dracut.conf', editDracutConf);
    for (const f of await listDir(g, '/etc/dracut.conf.d')) {
      if (f !== DRACUT_DROP_IN_NAME && f.endsWith('.conf')) await edit(`/etc/dracut.conf.d/${f}`, editDracutConf);
    }
    const want = dracutDropIn();
    await edit(`/etc/dracut.conf.d/${DRACUT_DROP_IN_NAME}`, () => ({ text: want, changed: false }), want);
  } else {
    await edit('/etc/mkinitcpio.conf', editMkinitcpio);
  }
  // a drop-in that already holds the wanted text is no edit
  return edits.filter((e) => e.before !== e.after);
}

/** Each image and whether it holds virtio_blk (kernels with CONFIG_VIRTIO_BLK=y need no module in it). */
async function checkImages(g: TaskContext, os: GuestOs): Promise<{ images: InitramfsImage[]; missing: string[]; noImage: string[] }> {
  const images = initramfsImages(os.initramfs, await listDir(g, '/boot'));
  const kernels = parseKernelListing((await g.runOk(KERNEL_LISTING)).stdout);
  const builtin = new Set(kernels.filter((k) => k.virtioBlk === 'y' || k.virtioBuiltin).map((k) => k.version));
  const missing: string[] = [];
  for (const img of images) {
    if (builtin.has(img.version)) continue;
    const r = await g.run(listImageCommand(os.initramfs, img.path));
    if (r.exitCode !== 0) throw new TaskFailedError(`cannot list ${img.path} in the guest: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    if (!listingHasModule(r.stdout)) missing.push(img.path);
  }
  // a good kernel without any image is as unbootable as an image without the driver
  const good = chooseKvmKernel(kernels).verdicts.filter((v) => v.ok);
  // Arch names images after the package, not the version: only the other generators can be checked per kernel
  const noImage = os.initramfs === 'mkinitcpio' ? [] : good.map((k) => k.version).filter((v) => !images.some((i) => i.version === v));
  missing.push(...noImage.map((v) => `(no image for kernel ${v})`));
  return { images, missing, noImage };
}

/** The guest's distribution, with the generator it really has installed (a Debian guest may use dracut). */
async function readGuestGenerator(g: TaskContext): Promise<{ os: GuestOs; why: string }> {
  const os = await readGuestOs(g);
  const { generator, why } = chooseGenerator(os.initramfs, (await g.runOk(GENERATOR_PROBE)).stdout);
  return { os: { ...os, initramfs: generator }, why };
}

/** What to look at when a rebuilt image still lacks virtio_blk. */
function configHint(generator: GuestOs['initramfs']): string {
  if (generator === 'dracut') {
    return 'look for no_kernel, hostonly, drivers= or omit_drivers settings in /etc/dracut.conf, /etc/dracut.conf.d/*.conf and /usr/lib/dracut/dracut.conf.d/*.conf';
  }
  if (generator === 'initramfs-tools') return 'look at MODULES= in /etc/initramfs-tools/initramfs.conf and conf.d/*, and at hooks that remove modules';
  return 'look at MODULES and HOOKS (autodetect, modconf) in /etc/mkinitcpio.conf and /etc/mkinitcpio.conf.d';
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
      'virtio_scsi, MODULES=dep becomes most (initramfs.conf and conf.d), then update-initramfs -u -k all. dracut (RHEL family): ' +
      `a dracut drop-in /etc/dracut.conf.d/${DRACUT_DROP_IN_NAME} (add virtio, omit Xen), Xen drivers removed from other ` +
      'dracut conf files, then dracut -f --regenerate-all. mkinitcpio (Arch): MODULES in /etc/mkinitcpio.conf, then mkinitcpio -P. ' +
      'The rebuild runs in a chroot session (see the chroot module). Afterwards every image is listed (lsinitramfs, ' +
      'lsinitrd, lsinitcpio) and the task fails if one lacks virtio_blk (unless its kernel has it built in). No change ' +
      'when the files are already right and every image already holds virtio_blk.',
    checkMode: 'full',
    result: { images: 'the images checked', edited: 'the config files written', generator: 'initramfs-tools, dracut or mkinitcpio' },
    example: ['- initramfs:', '    root: /mnt/xr1'].join('\n'),
  },
  async plan(ctx, p) {
    const g = await openGuestRoot(ctx, p.root);
    const { os, why: generatorWhy } = await readGuestGenerator(g);
    const edits = await planConfigEdits(g, os);
    const { images, missing, noImage } = await checkImages(g, os);
    if (!edits.length && !missing.length) {
      return {
        changed: false,
        reason: `${os.initramfs} config already asks for virtio and every image holds virtio_blk (${images.map((i) => i.path).join(', ') || 'no images'})`,
        data: { images: images.map((i) => i.path), generator: os.initramfs },
      };
    }
    await checkChrootBinds(ctx, p.root);
    const diff: Diff[] = edits.map((e) => ({ path: `${p.root}${e.path}`, before: e.before, after: e.after }));
    const why = [...(edits.length ? [`edit ${edits.map((e) => e.path).join(', ')}`] : []), ...(missing.length ? [`without virtio_blk: ${missing.join(', ')}`] : [])];
    return {
      changed: true,
      diff,
      data: { notes: edits.flatMap((e) => e.notes.map((n) => `${e.path}: ${n}`)), generator: os.initramfs },
      steps: [
        {
          title: `rebuild the initramfs of ${p.root} with ${os.initramfs} (${generatorWhy}; ${why.join('; ')})`,
          run: async (c) => {
            await withGuestChroot(c, p.root, { mounts: true, policyRcD: true, resolvConf: 'keep' }, async (cg) => {
              for (const e of edits) await cg.transport.put(e.path, e.after, { mode: 0o644, become: c.become });
              // update-initramfs -u only refreshes images that exist; a kernel without one needs -c
              if (os.initramfs === 'initramfs-tools') for (const v of noImage) await cg.runOk(sh`update-initramfs -c -k ${v}`, { timeoutMs: 20 * 60_000 });
              await cg.runOk(rebuildCommand(os.initramfs), { timeoutMs: 20 * 60_000 });
            });
            const after = await checkImages(await openGuestRoot(c, p.root), os);
            if (after.missing.length) {
              throw new TaskFailedError(
                `after the ${os.initramfs} rebuild these images still lack virtio_blk: ${after.missing.join(', ')}; ${configHint(os.initramfs)}`,
              );
            }
            if (!after.images.length) throw new TaskFailedError(`the rebuild left no initramfs image in ${p.root}/boot`);
            return { images: after.images.map((i) => i.path), edited: edits.map((e) => e.path), generator: os.initramfs };
          },
        },
      ],
    };
  },
});
