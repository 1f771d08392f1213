// The `chroot_mounts` module: /dev, /dev/pts, /proc, /sys and /run bound into a chroot root, or
// those binds removed. How a guest root is read, checked and bound safely: tasks/guest/chroot-binds.ts.
import { z } from 'zod';
import { defineModule, type Verdict } from '../runner/module.js';
import {
  CHROOT_BINDS, bindScript, canonicalRootOf, chrootBindState, chrootBindsRefusal, mountBinds, readChrootBinds, unmountMounts, unmountScript,
  type ChrootBindFacts,
} from './guest/chroot-binds.js';
import { absolutePathField } from './lib/schema.js';

const params = z.strictObject({
  root: absolutePathField('The directory that will be chrooted into (the mounted guest root)'),
  state: z.enum(['mounted', 'unmounted']).default('mounted').describe('mounted: bind /dev, /dev/pts, /proc, /sys, /run into root; unmounted: remove those binds'),
});

type Params = z.output<typeof params>;

/** Decides chroot_mounts (pure): the missing binds to mount, or everything at or below the bind targets to unmount. */
export function decideChrootMounts(p: Params, f: ChrootBindFacts): Verdict {
  const c = canonicalRootOf(f.host, p.root, f.realRoot);
  if ('refused' in c) return c;
  const root = c.real;
  const { missing, mounted } = chrootBindState(root, f.mounts);
  if (p.state === 'mounted') {
    if (!missing.length) return { changed: false, reason: `all chroot binds are mounted under ${root}` };
    const refused = chrootBindsRefusal(p.root, f);
    if (refused) return { refused };
    return {
      changed: true,
      steps: [
        {
          title: `bind ${missing.join(', ')} into ${root}`,
          cmd: bindScript(root, missing, 'mount'),
          // the escape hatch: what mountinfo shows afterwards is checked, and a bind that did not land is undone
          run: async (ctx) => void (await mountBinds(ctx, root, missing)),
        },
      ],
    };
  }
  if (!mounted.length) return { changed: false, reason: `nothing is mounted at or below ${CHROOT_BINDS.filter((d) => d !== '/dev/pts').map((d) => root + d).join(', ')}` };
  return {
    changed: true,
    steps: [
      {
        title: `unmount ${mounted.map((m) => m.mountPoint).join(', ')}`,
        cmd: unmountScript(mounted),
        // the escape hatch: a refusal to unmount through a guest link is reported in the script's own words
        run: async (ctx) => void (await unmountMounts(ctx, mounted)),
      },
    ],
  };
}

/** The chroot_mounts module. */
export const chrootMountsModule = defineModule({
  name: 'chroot_mounts',
  params,
  doc: {
    summary: 'Bind-mount /dev, /dev/pts, /proc, /sys and /run into a chroot root (or remove those binds)',
    description:
      'Binds already in place are left as they are. A target that is a symlink in the guest (or has one on its way, ' +
      'like run -> /tmp/x or sys -> /etc) is refused: the host\'s directory is bound only onto a real directory inside ' +
      'the root. unmounted removes everything mounted at or below ROOT/dev, /proc, /sys and /run, deepest first, found ' +
      'in /proc/self/mountinfo by real mount point. Prefer the chroot_exec module, which mounts them for its own commands only.',
    checkMode: 'full',
    example: ['- chroot_mounts:', '    root: /mnt/xr1', '    state: mounted'].join('\n'),
  },
  read: (ctx, p) => readChrootBinds(ctx, p.root),
  decide: decideChrootMounts,
});
