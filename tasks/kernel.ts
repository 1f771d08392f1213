// kernel: make sure a guest has a kernel that boots under KVM (virtio_blk built in, or as a module
// that is really installed), installing the distribution's generic kernel when it has none. read: the
// guest's os-release and KERNEL_LISTING inside the guest root, and the chroot binds only when no kernel
// is good (nothing mounted); decide: pure (test/fixtures/decide/kernel).
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { chrootBindsRefusal, readChrootBinds, type ChrootBindFacts } from './guest/chroot-binds.js';
import { withGuestChroot } from './guest/chroot-session.js';
import { openGuestRoot, readGuestOs } from './guest/facts.js';
import { chooseKvmKernel, readKernelListing, type KernelFacts, type KernelVerdict } from './guest/kernels.js';
import type { GuestOs } from './guest/os-family.js';
import { installPackages } from './guest/packages.js';
import { absolutePathField } from './lib/schema.js';

const params = z.strictObject({
  root: absolutePathField('The guest root on the host (the mounted guest filesystem)'),
  packages_dir: absolutePathField(
    'A directory on the host with the kernel package files (.deb/.rpm/.pkg.tar.*) and their missing dependencies; all of them are installed (offline mode)',
  ).optional(),
  state: z.enum(['present']).default('present').describe('present: a KVM-capable kernel is installed'),
});

type Params = z.output<typeof params>;

/** What kernel's read found: the guest's distribution and kernels (inside the guest) and, when none is good, the chroot binds. */
export interface KernelModuleFacts {
  os: GuestOs;
  /** KERNEL_LISTING, parsed. */
  kernels: KernelFacts[];
  /** Read only when no kernel is good (the install's chroot session needs them). */
  binds?: ChrootBindFacts;
}

/** Reads the guest's distribution and kernels (refusing a root that is not a mounted guest), and the binds when no kernel is good; mounts nothing. */
async function readKernel(ctx: TaskContext, p: Params): Promise<KernelModuleFacts> {
  const g = await openGuestRoot(ctx, p.root);
  const os = await readGuestOs(g);
  const kernels = await readKernelListing(g);
  return { os, kernels, ...(chooseKvmKernel(kernels).good ? {} : { binds: await readChrootBinds(ctx, p.root) }) };
}

function describeVerdicts(verdicts: KernelVerdict[]): string {
  return verdicts.length ? verdicts.map((v) => v.why).join('; ') : 'no /boot/vmlinuz-* at all';
}

/** Decides kernel (pure): no change when a kernel boots under KVM, a refusal when the binds could not be mounted, else the install. */
export function decideKernel(p: Params, f: KernelModuleFacts): Verdict {
  const { os } = f;
  const { good, verdicts } = chooseKvmKernel(f.kernels);
  if (good) return { changed: false, reason: `kernel ${good.version} boots under KVM: ${good.why}`, data: { kernel: good.version, verdicts } };
  const refused = f.binds && chrootBindsRefusal(p.root, f.binds);
  if (refused) return { refused };
  const source = p.packages_dir !== undefined ? `the packages in ${p.packages_dir}` : `${os.kernelPackage} from the guest's mirror`;
  return {
    changed: true,
    diff: [{ path: `${p.root}/boot`, before: `${describeVerdicts(verdicts)}\n`, after: `a kernel with virtio_blk (${source})\n` }],
    steps: [
      {
        title: `install ${source} into ${p.root} (${os.prettyName ?? os.id}: no kernel with virtio_blk)`,
        // the escape hatch: the install streams a chroot session (binds, policy-rc.d, resolv.conf), then the kernels are judged again
        run: async (c) => {
          const installed = await withGuestChroot(c, p.root, { mounts: true, policyRcD: true, resolvConf: 'copy' }, (cg) =>
            installPackages(c, cg, { root: p.root, os, names: [os.kernelPackage], packagesDir: p.packages_dir }),
          );
          const after = chooseKvmKernel(await readKernelListing(await openGuestRoot(c, p.root)));
          if (!after.good) {
            throw new TaskFailedError(`${installed}, but the guest still has no kernel with virtio_blk: ${describeVerdicts(after.verdicts)}`);
          }
          return { kernel: after.good.version, verdicts: after.verdicts, msg: installed };
        },
      },
    ],
  };
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
  read: readKernel,
  decide: decideKernel,
});
