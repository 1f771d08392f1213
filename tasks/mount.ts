// The `mount` module: mount, unmount, bind and remount, judged against /proc/self/mountinfo;
// /etc/fstab is only written when asked (fstab: true).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Plan, type Step, type TaskContext } from '../runner/module.js';
import { absolutePathField, operandField } from './lib/schema.js';
import { mountsOfDevice, pathKind, readMounts } from './storage/facts.js';
import { findMount, missingOptions, mountsUnder, normalizeMountPath, unescapeOctal } from './storage/mountinfo.js';

const params = z
  .object({
    path: absolutePathField('The mount point (absolute).'),
    src: operandField('What to mount: a device, UUID=…, a remote export, or the directory to bind (bind/rbind). Required for mounted, bind, rbind.').optional(),
    fstype: operandField('Filesystem type (-t); default: let mount detect it.').optional(),
    opts: z.union([z.string(), z.array(z.string())]).optional().describe('Mount options, "ro,noatime" or a list.'),
    state: z
      .enum(['mounted', 'unmounted', 'bind', 'rbind', 'remounted'])
      .default('mounted')
      .describe('mounted / unmounted; bind and rbind (recursive bind) of src on path; remounted: apply opts with mount -o remount.'),
    fstab: z.boolean().default(false).describe('Also write the entry to /etc/fstab (mounted) or remove it (unmounted). Off by default.'),
    recursive: z.boolean().default(false).describe('unmounted: also unmount everything below path (umount -R).'),
  })
  .strict()
  .refine((p) => !['mounted', 'bind', 'rbind'].includes(p.state) || p.src !== undefined, { message: 'src is required for state mounted, bind and rbind', path: ['src'] });

type Params = z.output<typeof params>;

function optsList(o: string | string[] | undefined): string[] {
  if (o === undefined) return [];
  return (Array.isArray(o) ? o : o.split(',')).map((x) => x.trim()).filter(Boolean);
}

/** Refuses a mount point that exists but is not a directory; returns whether it must be created. */
async function checkMountPoint(ctx: TaskContext, path: string): Promise<boolean> {
  const kind = await pathKind(ctx, path);
  if (kind === 'missing') return true;
  if (kind !== 'dir') throw new TaskFailedError(`mount point ${path} on ${ctx.host} exists and is a ${kind === 'file' ? 'regular file' : kind}, not a directory`);
  return false;
}

/** dev:inode of a path, to tell whether path is already a bind of src. */
async function identity(ctx: TaskContext, path: string): Promise<string | null> {
  const r = await ctx.run(sh`stat -L -c %d:%i -- ${path}`);
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

function fstabLine(p: Params): string {
  const opts = optsList(p.opts);
  const o = p.state === 'bind' ? ['bind', ...opts] : p.state === 'rbind' ? ['rbind', ...opts] : opts;
  const esc = (s: string): string => s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${esc(p.src ?? 'none')} ${esc(p.path)} ${p.fstype ?? (p.state === 'bind' || p.state === 'rbind' ? 'none' : 'auto')} ${o.length ? o.join(',') : 'defaults'} 0 0`;
}

/** Plans the /etc/fstab edit (add/replace or remove the line for this mount point); null when none is needed. */
async function planFstab(ctx: TaskContext, p: Params, remove: boolean): Promise<Step | null> {
  const text = (await ctx.transport.get('/etc/fstab', { become: ctx.become }))?.toString('utf8') ?? '';
  const path = normalizeMountPath(p.path);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const target = (l: string): boolean => {
    const f = l.trim().split(/\s+/);
    return !l.trim().startsWith('#') && f.length >= 2 && normalizeMountPath(unescapeOctal(f[1]!)) === path;
  };
  const want = fstabLine(p);
  const next = remove ? lines.filter((l) => !target(l)) : lines.some(target) ? lines.map((l) => (target(l) ? want : l)) : [...lines, want];
  const after = next.length ? next.join('\n') + '\n' : '';
  if (after === text) return null;
  return {
    title: `${remove ? 'remove' : 'write'} the /etc/fstab entry for ${path}`,
    run: async (c) => void (await c.transport.put('/etc/fstab', after, { mode: 0o644, become: c.become })),
  };
}

async function planMounted(ctx: TaskContext, p: Params): Promise<Plan> {
  const mounts = await readMounts(ctx);
  const path = normalizeMountPath(p.path);
  const m = findMount(mounts, path);
  const steps: Step[] = [];
  const opts = optsList(p.opts);
  if (m) {
    // mountinfo names an LV /dev/mapper/VG-LV whatever name it was mounted by: compare the devices.
    if (!(await mountsOfDevice(ctx, p.src!, [m])).length) {
      throw new TaskFailedError(`${path} is already mounted from ${m.source}, not ${p.src}: unmount it first (state: unmounted)`);
    }
  } else {
    if (await checkMountPoint(ctx, path)) steps.push({ title: `mkdir -p ${path}`, run: async (c) => void (await c.runOk(sh`mkdir -p -- ${path}`)) });
    const cmd = sh`mount ${p.fstype ? ['-t', p.fstype] : []} ${opts.length ? ['-o', opts.join(',')] : []} -- ${p.src!} ${path}`;
    steps.push({ title: cmd.display, run: async (c) => void (await c.runOk(cmd)) });
  }
  if (p.fstab) {
    const f = await planFstab(ctx, p, false);
    if (f) steps.push(f);
  }
  if (!steps.length) return { changed: false, reason: `${p.src} is already mounted on ${path}` };
  return { changed: true, steps };
}

async function planBind(ctx: TaskContext, p: Params): Promise<Plan> {
  const path = normalizeMountPath(p.path);
  const srcKind = await pathKind(ctx, p.src!);
  if (srcKind === 'missing') throw new TaskFailedError(`bind source ${p.src} does not exist on ${ctx.host}`);
  const m = findMount(await readMounts(ctx), path);
  // A bind mount shows the source's own inode at the mount point: same dev:inode means it is in place.
  if (m && (await identity(ctx, path)) === (await identity(ctx, p.src!))) {
    return { changed: false, reason: `${p.src} is already bind-mounted on ${path}` };
  }
  if (m) throw new TaskFailedError(`${path} is already a mount point (${m.source}, ${m.fstype}), not a bind of ${p.src}: unmount it first`);
  const steps: Step[] = [];
  if (srcKind === 'dir') {
    if (await checkMountPoint(ctx, path)) steps.push({ title: `mkdir -p ${path}`, run: async (c) => void (await c.runOk(sh`mkdir -p -- ${path}`)) });
  } else if ((await pathKind(ctx, path)) === 'missing') {
    throw new TaskFailedError(`${path} does not exist: binding a file needs an existing file as its mount point`);
  }
  const opts = optsList(p.opts);
  const cmd = sh`mount ${p.state === 'rbind' ? '--rbind' : '--bind'} -- ${p.src!} ${path}`;
  steps.push({ title: cmd.display, run: async (c) => void (await c.runOk(cmd)) });
  if (opts.length) {
    // A bind mount takes its flags only from a second, remounting call (mount(8), "bind mount operation").
    const re = sh`mount -o ${['remount', 'bind', ...opts].join(',')} -- ${path}`;
    steps.push({ title: re.display, run: async (c) => void (await c.runOk(re)) });
  }
  if (p.fstab) {
    const f = await planFstab(ctx, p, false);
    if (f) steps.push(f);
  }
  return { changed: true, steps };
}

async function planUnmounted(ctx: TaskContext, p: Params): Promise<Plan> {
  const path = normalizeMountPath(p.path);
  const mounts = await readMounts(ctx);
  const m = findMount(mounts, path);
  const steps: Step[] = [];
  if (m) {
    const below = mountsUnder(mounts, path).filter((x) => x.mountPoint !== path);
    if (below.length && !p.recursive) {
      throw new TaskFailedError(`${path} has mounts below it (${below.map((x) => x.mountPoint).join(', ')}): set recursive: true to unmount them too`);
    }
    const cmd = p.recursive ? sh`umount -R -- ${path}` : sh`umount -- ${path}`;
    steps.push({ title: cmd.display, run: async (c) => void (await c.runOk(cmd)) });
  }
  if (p.fstab) {
    const f = await planFstab(ctx, p, true);
    if (f) steps.push(f);
  }
  if (!steps.length) return { changed: false, reason: `nothing is mounted on ${path}` };
  return { changed: true, steps };
}

async function planRemounted(ctx: TaskContext, p: Params): Promise<Plan> {
  const path = normalizeMountPath(p.path);
  const m = findMount(await readMounts(ctx), path);
  if (!m) throw new TaskFailedError(`nothing is mounted on ${path}: cannot remount it`);
  const opts = optsList(p.opts);
  if (!opts.length) throw new TaskFailedError('state: remounted needs opts (the options to apply)');
  const missing = missingOptions(m, opts);
  if (!missing.length) return { changed: false, reason: `${path} is already mounted with ${opts.join(',')}` };
  const cmd = sh`mount -o ${['remount', ...opts].join(',')} -- ${path}`;
  return {
    changed: true,
    diff: [{ path, before: m.options.join(',') + '\n', after: [...m.options, ...missing].join(',') + '\n' }],
    steps: [{ title: cmd.display, run: async (c) => void (await c.runOk(cmd)) }],
  };
}

/** The mount module. */
export const mountModule = defineModule({
  name: 'mount',
  params,
  doc: {
    summary: 'Mount, unmount, bind-mount or remount a filesystem; idempotent from /proc/self/mountinfo.',
    description:
      'mounted: creates the mount point (a file there is an error) and mounts src; a different source already mounted ' +
      'there is an error. bind / rbind: no change when path already shows src\'s own inode. unmounted: refuses mounts ' +
      'below path unless recursive (umount -R). remounted: no change when every option is already in effect. ' +
      '/etc/fstab is untouched unless fstab: true.',
    checkMode: 'full',
    example: ['- mount:', '    path: /mnt/xr1', '    src: /dev/mapper/vg1-xr1--disk1', '    fstype: ext4', '    state: mounted'].join('\n'),
  },
  async plan(ctx, p: Params) {
    switch (p.state) {
      case 'mounted':
        return planMounted(ctx, p);
      case 'bind':
      case 'rbind':
        return planBind(ctx, p);
      case 'unmounted':
        return planUnmounted(ctx, p);
      case 'remounted':
        return planRemounted(ctx, p);
    }
  },
});
