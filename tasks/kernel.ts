// kernel: make sure a guest has a kernel that boots under KVM (virtio_blk built in, or as a module
// that is really installed), installing the distribution's generic kernel when it has none.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { checkChrootBinds } from './chroot-mounts.js';
import { withGuestChroot } from './guest/chroot-session.js';
import { openGuestRoot, readGuestOs } from './guest/facts.js';
import { chooseKvmKernel, KERNEL_LISTING, parseKernelListing, type KernelVerdict } from './guest/kernels.js';
import { installPackages } from './guest/packages.js';
import { absolutePathField } from './lib/schema.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host (the mounted guest filesystem)'),
  packages_dir: absolutePathField(
    'A directory on the host with the kernel package files (.deb/.rpm/.pkg.tar.*) and their missing dependencies; all of them are installed (offline mode)',
  ).optional(),
  state: z.enum(['present']).default('present').describe('present: a KVM-capable kernel is installed'),
});

/** Judges the guest's installed kernels (read-only, inside the chroot). */
async function judgeKernels(g: TaskContext): Promise<{ good?: KernelVerdict; verdicts: KernelVerdict[] }> {
  const r = await g.runOk(KERNEL_LISTING);
  return chooseKvmKernel(parseKernelListing(r.stdout));
}

function describeVerdicts(verdicts: KernelVerdict[]): string {
  return verdicts.length ? verdicts.map((v) => v.why).join('; ') : 'no /boot/vmlinuz-* at all';
}

export const kernelModule = defineModule({
  name: 'kernel',
  params,
  doc: {
    summary: 'Make sure a guest has a kernel with virtio_blk, installing the generic kernel when it has none',
    description:
      'A kernel is good when it is not a Xen-only build and its /boot/config-VERSION has CONFIG_VIRTIO_BLK=y, or =m with ' +
      'virtio_blk.ko* under /lib/modules/VERSION (without a config, modules.builtin or the module file decide). ' +
      'With none, the family\'s kernel is installed in a chroot session (see the chroot module): Debian linux-image-amd64, ' +
      'Ubuntu linux-image-virtual, RHEL family kernel (dnf or yum), Arch linux. packages_dir installs every package file ' +
      'of that host directory instead (dpkg -i / rpm -Uvh / pacman -U), copied to /tmp/ferry-pkgs in the guest and removed ' +
      'after. Without packages_dir the guest\'s package manager must reach its mirror; when it cannot, the task fails and ' +
      'says how to give the packages offline. The kernels are judged again after the install.',
    checkMode: 'full',
    result: { kernel: 'the version of the good kernel', verdicts: 'why each installed kernel is or is not usable' },
    example: ['- kernel:', '    root: /mnt/xr1', '    packages_dir: /srv/ferry/debs/bookworm'].join('\n'),
  },
  async plan(ctx, p) {
    const g = await openGuestRoot(ctx, p.root);
    const os = await readGuestOs(g);
    const { good, verdicts } = await judgeKernels(g);
    if (good) return { changed: false, reason: `kernel ${good.version} boots under KVM: ${good.why}`, data: { kernel: good.version, verdicts } };
    await checkChrootBinds(ctx, p.root);
    const source = p.packages_dir !== undefined ? `the packages in ${p.packages_dir}` : `${os.kernelPackage} from the guest's mirror`;
    return {
      changed: true,
      diff: [{ path: `${p.root}/boot`, before: `${describeVerdicts(verdicts)}\n`, after: `a kernel with virtio_blk (${source})\n` }],
      steps: [
        {
          title: `install ${source} into ${p.root} (${os.prettyName ?? os.id}: no kernel with virtio_blk)`,
          run: async (c) => {
            const installed = await withGuestChroot(c, p.root, { mounts: true, policyRcD: true, resolvConf: 'copy' }, (cg) =>
              installPackages(c, cg, { root: p.root, os, names: [os.kernelPackage], packagesDir: p.packages_dir }),
            );
            const after = await judgeKernels(await openGuestRoot(c, p.root));
            if (!after.good) {
              throw new TaskFailedError(`${installed}, but the guest still has no kernel with virtio_blk: ${describeVerdicts(after.verdicts)}`);
            }
            return { kernel: after.good.version, verdicts: after.verdicts, msg: installed };
          },
        },
      ],
    };
  },
});
