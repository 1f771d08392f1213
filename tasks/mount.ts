// The `mount` module: mount, unmount, bind and remount, judged against /proc/self/mountinfo;
// /etc/fstab is only written when asked (fstab: true).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type Verdict } from '../runner/module.js';
import { absolutePathField, operandField } from './lib/schema.js';
import { mountsOfDevice, pathKind, readMounts } from './storage/facts.js';
import { findMount, missingOptions, mountsUnder, normalizeMountPath, unescapeOctal, type MountEntry } from './storage/mountinfo.js';

const params = z
  .strictObject({
    path: absolutePathField('The mount point (absolute)'),
    src: operandField('What to mount: a device, UUID=…, a remote export, or the directory to bind (bind/rbind). Required for mounted, bind, rbind').optional(),
    fstype: operandField('Filesystem type (-t); default: let mount detect it').optional(),
    opts: z.union([z.string(), z.array(z.string())]).optional().describe('Mount options, "ro,noatime" or a list'),
    state: z
      .enum(['mounted', 'unmounted', 'bind', 'rbind', 'remounted'])
      .default('mounted')
      .describe('mounted / unmounted; bind and rbind (recursive bind) of src on path; remounted: apply opts with mount -o remount'),
    fstab: z.boolean().default(false).describe('Also write the entry to /etc/fstab (mounted) or remove it (unmounted). Off by default'),
    recursive: z.boolean().default(false).describe('unmounted: also unmount everything below path (umount -R)'),
  })
  .refine((p) => !['mounted', 'bind', 'rbind'].includes(p.state) || p.src !== undefined, { message: 'src is required for state mounted, bind and rbind', path: ['src'] });

type Params = z.output<typeof params>;

function optsList(o: string | string[] | undefined): string[] {
  if (o === undefined) return [];
  return (Array.isArray(o) ? o : o.split(',')).map((x) => x.trim()).filter(Boolean);
}

type PathKind = Awaited<ReturnType<typeof pathKind>>;

/** What mount's read found: the kernel's mounts and, per state, what decide needs to know about path and src. */
export interface MountFacts {
  /** The inventory host read, for the messages. */
  host: string;
  /** /proc/self/mountinfo, parsed. */
  mounts: MountEntry[];
  /** mounted, bind, rbind: what is at the mount point. */
  pathKind?: PathKind;
  /** bind, rbind: what src is. */
  srcKind?: PathKind;
  /** mounted, with something mounted on path: whether that is src under any of its names. */
  mountedFromSrc?: boolean;
  /** bind, rbind, with something mounted on path: whether path shows src's own dev:inode. */
  boundFromSrc?: boolean;
  /** fstab: true: the text of /etc/fstab ('' when there is none). */
  fstab?: string;
}

/** dev:inode of a path, to tell whether path is already a bind of src. */
async function identity(ctx: TaskContext, path: string): Promise<string | null> {
  const r = await ctx.run(sh`stat -L -c %d:%i -- ${path}`);
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** Reads the mounts and what the state asks about path, src and /etc/fstab. */
export async function readMount(ctx: TaskContext, p: Params): Promise<MountFacts> {
  const mounts = await readMounts(ctx);
  const path = normalizeMountPath(p.path);
  const m = findMount(mounts, path);
  const facts: MountFacts = { host: ctx.host, mounts };
  const binds = p.state === 'bind' || p.state === 'rbind';
  if (p.state === 'mounted' || binds) facts.pathKind = await pathKind(ctx, path);
  // mountinfo names an LV /dev/mapper/VG-LV whatever name it was mounted by: compare the devices.
  if (p.state === 'mounted' && m) facts.mountedFromSrc = (await mountsOfDevice(ctx, p.src!, [m])).length > 0;
  if (binds) {
    facts.srcKind = await pathKind(ctx, p.src!);
    // A bind mount shows the source's own inode at the mount point.
    if (m && facts.srcKind !== 'missing') facts.boundFromSrc = (await identity(ctx, path)) === (await identity(ctx, p.src!));
  }
  if (p.fstab) facts.fstab = (await ctx.transport.get('/etc/fstab', { become: ctx.become }))?.toString('utf8') ?? '';
  return facts;
}

function fstabLine(p: Params): string {
  const opts = optsList(p.opts);
  const o = p.state === 'bind' ? ['bind', ...opts] : p.state === 'rbind' ? ['rbind', ...opts] : opts;
  const esc = (s: string): string => s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${esc(p.src ?? 'none')} ${esc(p.path)} ${p.fstype ?? (p.state === 'bind' || p.state === 'rbind' ? 'none' : 'auto')} ${o.length ? o.join(',') : 'defaults'} 0 0`;
}

/** The /etc/fstab edit (add/replace or remove the line for this mount point) as steps: none when the text already says it. */
function fstabSteps(p: Params, text: string | undefined, remove: boolean): Step[] {
  if (!p.fstab || text === undefined) return [];
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
  if (after === text) return [];
  return [
    {
      title: `${remove ? 'remove' : 'write'} the /etc/fstab entry for ${path}`,
      // An upload (the escape hatch): the transport writes it atomically with its mode.
      run: async (c) => void (await c.transport.put('/etc/fstab', after, { mode: 0o644, become: c.become })),
    },
  ];
}

/** The mkdir step a missing mount point needs, or a refusal for one that is not a directory. */
function mountPointSteps(path: string, kind: PathKind | undefined, host: string): Step[] | { refused: string } {
  if (kind === undefined || kind === 'dir') return [];
  if (kind === 'missing') return [{ title: `mkdir -p ${path}`, cmd: sh`mkdir -p -- ${path}` }];
  return { refused: `mount point ${path} on ${host} exists and is a ${kind === 'file' ? 'regular file' : kind}, not a directory` };
}

function verdictOf(steps: Step[], reason: string): Verdict {
  return steps.length ? { changed: true, steps } : { changed: false, reason };
}

function decideMounted(p: Params, f: MountFacts): Verdict {
  const path = normalizeMountPath(p.path);
  const m = findMount(f.mounts, path);
  const steps: Step[] = [];
  const opts = optsList(p.opts);
  if (m) {
    if (!f.mountedFromSrc) return { refused: `${path} is already mounted from ${m.source}, not ${p.src}: unmount it first (state: unmounted)` };
  } else {
    const mp = mountPointSteps(path, f.pathKind, f.host);
    if ('refused' in mp) return mp;
    const cmd = sh`mount ${p.fstype ? ['-t', p.fstype] : []} ${opts.length ? ['-o', opts.join(',')] : []} -- ${p.src!} ${path}`;
    steps.push(...mp, { title: cmd.display, cmd });
  }
  steps.push(...fstabSteps(p, f.fstab, false));
  return verdictOf(steps, `${p.src} is already mounted on ${path}`);
}

function decideBind(p: Params, f: MountFacts): Verdict {
  const path = normalizeMountPath(p.path);
  if (f.srcKind === 'missing') return { refused: `bind source ${p.src} does not exist on ${f.host}` };
  const m = findMount(f.mounts, path);
  if (m && f.boundFromSrc) return { changed: false, reason: `${p.src} is already bind-mounted on ${path}` };
  if (m) return { refused: `${path} is already a mount point (${m.source}, ${m.fstype}), not a bind of ${p.src}: unmount it first` };
  const steps: Step[] = [];
  if (f.srcKind === 'dir') {
    const mp = mountPointSteps(path, f.pathKind, f.host);
    if ('refused' in mp) return mp;
    steps.push(...mp);
  } else if (f.pathKind === 'missing') {
    return { refused: `${path} does not exist: binding a file needs an existing file as its mount point` };
  }
  const opts = optsList(p.opts);
  const cmd = sh`mount ${p.state === 'rbind' ? '--rbind' : '--bind'} -- ${p.src!} ${path}`;
  steps.push({ title: cmd.display, cmd });
  if (opts.length) {
    // A bind mount takes its flags only from a second, remounting call (mount(8), "bind mount operation").
    const re = sh`mount -o ${['remount', 'bind', ...opts].join(',')} -- ${path}`;
    steps.push({ title: re.display, cmd: re });
  }
  steps.push(...fstabSteps(p, f.fstab, false));
  return { changed: true, steps };
}

function decideUnmounted(p: Params, f: MountFacts): Verdict {
  const path = normalizeMountPath(p.path);
  const m = findMount(f.mounts, path);
  const steps: Step[] = [];
  if (m) {
    const below = mountsUnder(f.mounts, path).filter((x) => x.mountPoint !== path);
    if (below.length && !p.recursive) {
      return { refused: `${path} has mounts below it (${below.map((x) => x.mountPoint).join(', ')}): set recursive: true to unmount them too` };
    }
    const cmd = p.recursive ? sh`umount -R -- ${path}` : sh`umount -- ${path}`;
    steps.push({ title: cmd.display, cmd });
  }
  steps.push(...fstabSteps(p, f.fstab, true));
  return verdictOf(steps, `nothing is mounted on ${path}`);
}

function decideRemounted(p: Params, f: MountFacts): Verdict {
  const path = normalizeMountPath(p.path);
  const m = findMount(f.mounts, path);
  if (!m) return { refused: `nothing is mounted on ${path}: cannot remount it` };
  const opts = optsList(p.opts);
  if (!opts.length) return { refused: 'state: remounted needs opts (the options to apply)' };
  const missing = missingOptions(m, opts);
  if (!missing.length) return { changed: false, reason: `${path} is already mounted with ${opts.join(',')}` };
  const cmd = sh`mount -o ${['remount', ...opts].join(',')} -- ${path}`;
  return {
    changed: true,
    diff: [{ path, before: m.options.join(',') + '\n', after: [...m.options, ...missing].join(',') + '\n' }],
    steps: [{ title: cmd.display, cmd }],
  };
}

/** Decides one mount task from what read found (pure). */
export function decideMount(p: Params, f: MountFacts): Verdict {
  switch (p.state) {
    case 'mounted':
      return decideMounted(p, f);
    case 'bind':
    case 'rbind':
      return decideBind(p, f);
    case 'unmounted':
      return decideUnmounted(p, f);
    case 'remounted':
      return decideRemounted(p, f);
  }
}

/** The mount module. */
export const mountModule = defineModule({
  name: 'mount',
  params,
  doc: {
    summary: 'Mount, unmount, bind-mount or remount a filesystem; idempotent from /proc/self/mountinfo',
    description:
      'mounted: creates the mount point (a file there is an error) and mounts src; a different source already mounted ' +
      'there is an error. bind / rbind: no change when path already shows src\'s own inode. unmounted: refuses mounts ' +
      'below path unless recursive (umount -R). remounted: no change when every option is already in effect. ' +
      '/etc/fstab is untouched unless fstab: true.',
    checkMode: 'full',
    example: ['- mount:', '    path: /mnt/xr1', '    src: /dev/mapper/vg1-xr1--disk1', '    fstype: ext4', '    state: mounted'].join('\n'),
  },
  read: readMount,
  decide: decideMount,
});
