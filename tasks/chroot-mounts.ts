// The API filesystems a chroot needs (/dev, /dev/pts, /proc, /sys, /run) bind-mounted into a root,
// as a scoped helper (always unmounted afterwards) and as the `chroot_mounts` module.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { absolutePathField } from './lib/schema.js';
import { pathKind, readMounts } from './storage/facts.js';
import { findMount, normalizeMountPath } from './storage/mountinfo.js';

/** The host directories bound into a chroot, in mount order (/dev before /dev/pts). */
export const CHROOT_BINDS = ['/dev', '/dev/pts', '/proc', '/sys', '/run'] as const;

/** The mount points of the chroot binds under `root`. */
export function chrootTargets(root: string): string[] {
  const r = normalizeMountPath(root);
  return CHROOT_BINDS.map((d) => (r === '/' ? d : `${r}${d}`));
}

/** Which chroot binds are not mounted yet under root (returned as [host dir, target] pairs, in mount order). */
async function missingBinds(ctx: TaskContext, root: string): Promise<[string, string][]> {
  const mounts = await readMounts(ctx);
  const targets = chrootTargets(root);
  return CHROOT_BINDS.map((d, i) => [d, targets[i]!] as [string, string]).filter(([, t]) => !findMount(mounts, t));
}

async function checkRoot(ctx: TaskContext, root: string): Promise<void> {
  if (normalizeMountPath(root) === '/') throw new TaskFailedError('chroot_mounts: root must not be / (the host itself)');
  if ((await pathKind(ctx, root)) !== 'dir') throw new TaskFailedError(`chroot root ${root} is not a directory on ${ctx.host}`);
}

async function mountBinds(ctx: TaskContext, binds: [string, string][]): Promise<string[]> {
  const done: string[] = [];
  try {
    for (const [src, target] of binds) {
      await ctx.runOk(sh`mkdir -p -- ${target}`);
      await ctx.runOk(sh`mount --bind -- ${src} ${target}`);
      done.push(target);
    }
  } catch (e) {
    await unmountAll(ctx, done).catch(() => undefined);
    throw e;
  }
  return done;
}

async function unmountAll(ctx: TaskContext, targets: string[]): Promise<void> {
  const failures: string[] = [];
  for (const t of [...targets].reverse()) {
    const r = await ctx.run(sh`umount -- ${t}`);
    if (r.exitCode !== 0) failures.push(`${t}: ${r.stderr.trim()}`);
  }
  if (failures.length) throw new TaskFailedError(`could not unmount chroot binds: ${failures.join('; ')}`);
}

/**
 * Runs `fn` with /dev, /dev/pts, /proc, /sys and /run bound into root, then unmounts what it mounted,
 * in reverse order, also when fn throws (those already mounted before are left alone).
 */
export async function withChrootMounts<T>(ctx: TaskContext, root: string, fn: () => Promise<T>): Promise<T> {
  await checkRoot(ctx, root);
  const mounted = await mountBinds(ctx, await missingBinds(ctx, root));
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await unmountAll(ctx, mounted).catch(() => undefined); // the callback's error is the one to report
    throw e;
  }
  await unmountAll(ctx, mounted);
  return result;
}

const params = z
  .object({
    root: absolutePathField('The directory that will be chrooted into (the mounted guest root).'),
    state: z.enum(['mounted', 'unmounted']).default('mounted').describe('mounted: bind /dev, /dev/pts, /proc, /sys, /run into root; unmounted: remove those binds.'),
  })
  .strict();

/** The chroot_mounts module. */
export const chrootMountsModule = defineModule({
  name: 'chroot_mounts',
  params,
  doc: {
    summary: 'Bind-mount /dev, /dev/pts, /proc, /sys and /run into a chroot root (or remove those binds).',
    description: 'Binds already in place are left as they are; unmounted removes them in reverse order. Prefer the chroot module, which mounts them for its own commands only.',
    checkMode: 'full',
    example: ['- chroot_mounts:', '    root: /mnt/xr1', '    state: mounted'].join('\n'),
  },
  async plan(ctx, p) {
    await checkRoot(ctx, p.root);
    if (p.state === 'mounted') {
      const missing = await missingBinds(ctx, p.root);
      if (!missing.length) return { changed: false, reason: `all chroot binds are mounted under ${p.root}` };
      return {
        changed: true,
        steps: [{ title: `bind ${missing.map(([s]) => s).join(', ')} into ${p.root}`, run: async (c) => void (await mountBinds(c, missing)) }],
      };
    }
    const mounts = await readMounts(ctx);
    const present = chrootTargets(p.root).filter((t) => findMount(mounts, t));
    if (!present.length) return { changed: false, reason: `no chroot binds are mounted under ${p.root}` };
    return {
      changed: true,
      steps: [{ title: `unmount ${present.slice().reverse().join(', ')}`, run: async (c) => void (await unmountAll(c, present)) }],
    };
  },
});
