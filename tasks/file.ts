// file: a path's kind (file, directory, symlink, absent) and its mode/ownership, from one stat.
import { posix } from 'node:path';
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type Verdict } from '../runner/module.js';
import { attributeDiff, planAttributes, samePrincipal, type WantedAttributes } from './lib/attributes.js';
import { applyModeSpec, formatMode, parseModeSpec } from './lib/mode.js';
import { probePath, type PathState, type PresentPath } from './lib/path-state.js';
import { groupField, modeField, ownerField, pathField } from './lib/schema.js';

const params = z
  .strictObject({
    path: pathField('The path on the host'),
    state: z
      .enum(['file', 'directory', 'absent', 'link', 'touch'])
      .optional()
      .describe(
        'file: must exist, set attributes; directory: create with parents; absent: remove (directories recursively); ' +
          'link: symlink to src; touch: create empty or update times. Default: what is there (file when missing)',
      ),
    src: z.string().min(1).optional().describe('Target of the symlink (state: link); relative targets are relative to the link'),
    mode: modeField,
    owner: ownerField,
    group: groupField,
    recurse: z.boolean().default(false).describe('state: directory: apply mode/owner/group to everything below too'),
    force: z.boolean().default(false).describe('state: link: replace a file at path, or link to a src that does not exist'),
    modification_time: z.enum(['now', 'preserve']).optional().describe("state: touch: 'preserve' keeps the mtime (default now)"),
    access_time: z.enum(['now', 'preserve']).optional().describe("state: touch: 'preserve' keeps the atime (default now)"),
  })
  .superRefine((p, ctx) => {
    if (p.state === 'link' && p.src === undefined) ctx.addIssue({ code: 'custom', path: ['src'], message: 'state: link needs src (the link target)' });
    if (p.src !== undefined && p.state !== 'link') ctx.addIssue({ code: 'custom', path: ['src'], message: 'src is only used with state: link' });
    if (p.recurse && p.state !== 'directory') ctx.addIssue({ code: 'custom', path: ['recurse'], message: 'recurse needs state: directory' });
  });

type Params = z.output<typeof params>;

/** One entry of `find -printf '%U|%G|%u|%g|%m|%y\n'`. */
interface TreeEntry {
  uid: number;
  gid: number;
  owner: string;
  group: string;
  mode: number;
  type: string;
}

/** Parses `find … -printf '%U|%G|%u|%g|%m|%y\n'` output (no names: they cannot break the parse). */
export function parseFindTree(out: string): TreeEntry[] {
  return out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const f = l.split('|');
      if (f.length !== 6) throw new Error(`unexpected find output line: ${JSON.stringify(l)}`);
      return { uid: Number(f[0]), gid: Number(f[1]), owner: f[2]!, group: f[3]!, mode: parseInt(f[4]!, 8), type: f[5]! };
    });
}

/** How many entries below a directory differ from the wanted attributes (symlinks are skipped: chmod ignores them). */
export function countTreeDifferences(entries: TreeEntry[], want: WantedAttributes): number {
  const spec = want.mode !== undefined ? parseModeSpec(want.mode) : undefined;
  return entries.filter((e) => {
    if (e.type === 'l') return false;
    if (want.owner !== undefined && !samePrincipal(want.owner, e.owner, e.uid)) return true;
    if (want.group !== undefined && !samePrincipal(want.group, e.group, e.gid)) return true;
    return spec !== undefined && applyModeSpec(spec, e.mode, e.type === 'd') !== e.mode;
  }).length;
}

function kindOf(st: PresentPath): string {
  return st.type === 'file' ? 'regular file' : st.type;
}

/** What file's read found: the path, the entries below it (recurse), whether a link's src exists. */
export interface FileFacts {
  path: PathState;
  /** recurse with attributes asked for: what `find PATH -mindepth 1` printed, parsed. */
  tree?: TreeEntry[];
  /** state: link without force: whether src exists, seen from the link's directory. */
  srcExists?: boolean;
}

function wantsAttributes(want: WantedAttributes): boolean {
  return want.mode !== undefined || want.owner !== undefined || want.group !== undefined;
}

/** Reads what is at the path and, only where decide needs it, below it (recurse) or at the link's src. */
export async function readFile(ctx: TaskContext, p: Params): Promise<FileFacts> {
  const st = await probePath(ctx, p.path);
  const facts: FileFacts = { path: st };
  if (p.recurse && st.exists && st.type === 'directory' && wantsAttributes(p)) {
    // A leading '-' would be read by find as an option; './' keeps it a path.
    const findPath = p.path.startsWith('-') ? `./${p.path}` : p.path;
    facts.tree = parseFindTree((await ctx.runOk(sh`find ${findPath} -mindepth 1 -printf '%U|%G|%u|%g|%m|%y\\n'`)).stdout);
  }
  if (p.state === 'link' && !p.force && p.src !== undefined) {
    // Relative targets resolve from the link's directory.
    facts.srcExists = (await ctx.run(sh`test -e ${p.src}`, { cwd: posix.dirname(p.path) })).exitCode === 0;
  }
  return facts;
}

/** chown -R / chmod -R steps for the entries below a directory that differ from the wanted attributes. */
function recurseSteps(path: string, want: WantedAttributes, tree: TreeEntry[] | undefined): { steps: Step[]; count: number } {
  if (!tree || !wantsAttributes(want)) return { steps: [], count: 0 };
  const count = countTreeDifferences(tree, want);
  if (count === 0) return { steps: [], count };
  const steps: Step[] = [];
  if (want.owner !== undefined || want.group !== undefined) {
    const spec = want.owner !== undefined ? (want.group !== undefined ? `${want.owner}:${want.group}` : want.owner) : `:${want.group}`;
    steps.push({ title: `chown -R ${spec} ${path}`, cmd: sh`chown -R -h -- ${spec} ${path}` });
  }
  if (want.mode !== undefined) {
    const spec = parseModeSpec(want.mode);
    // Symbolic modes go to chmod as they are: X and relative changes depend on each entry.
    const m = spec.kind === 'octal' ? formatMode(spec.value) : spec.text;
    steps.push({ title: `chmod -R ${m} ${path}`, cmd: sh`chmod -R ${m} -- ${path}` });
  }
  return { steps, count };
}

/** Decides one file task from what read found (pure). */
export function decideFile(p: Params, facts: FileFacts): Verdict {
  const path = p.path;
  const st = facts.path;
  const want: WantedAttributes = { mode: p.mode, owner: p.owner, group: p.group };
  const state = p.state ?? (st.exists ? (st.type === 'directory' ? 'directory' : st.type === 'link' ? 'link' : 'file') : 'file');
  const data = { path, state };
  const noChange = (reason: string): Verdict => ({ changed: false, reason, data });
  const refuse = (refused: string, more: Record<string, unknown> = {}): Verdict => ({ refused, data: { path, ...more } });

  switch (state) {
    case 'absent': {
      if (!st.exists) return noChange(`${path} does not exist`);
      const title = st.type === 'directory' ? `remove directory ${path} and everything in it` : `remove ${kindOf(st)} ${path}`;
      return { changed: true, steps: [{ title, cmd: sh`rm -rf -- ${path}` }], diff: [{ path, before: `${kindOf(st)}\n`, after: 'absent\n' }], data };
    }
    case 'file': {
      if (!st.exists) return refuse(`${path} does not exist; state: file only changes an existing file (use state: touch to create it, or copy/template)`);
      if (st.type === 'directory' && p.state === 'file') return refuse(`${path} is a directory, not a file`);
      const attrs = planAttributes(path, st, want, { isDirectory: st.type === 'directory' });
      if (attrs.steps.length === 0) return noChange(`${path} exists with the wanted mode and owner`);
      return { changed: true, steps: attrs.steps, diff: attributeDiff(path, attrs.changes), data };
    }
    case 'directory': {
      if (st.exists && st.type !== 'directory') return refuse(`${path} exists and is a ${kindOf(st)}, not a directory; remove it first (state: absent)`);
      const steps: Step[] = [];
      if (!st.exists) steps.push({ title: `create directory ${path}`, cmd: sh`mkdir -p -- ${path}` });
      const attrs = planAttributes(path, st.exists ? st : undefined, want, { isDirectory: true });
      steps.push(...attrs.steps);
      const below = p.recurse ? recurseSteps(path, want, facts.tree) : { steps: [], count: 0 };
      steps.push(...below.steps);
      if (steps.length === 0) return noChange(`${path} is a directory with the wanted mode and owner${p.recurse ? ', and so is everything in it' : ''}`);
      const diff = st.exists ? attributeDiff(path, attrs.changes) : [{ path, before: 'absent\n', after: 'directory\n' }];
      return { changed: true, steps, diff, data: { ...data, ...(below.count ? { recursed: below.count } : {}) } };
    }
    case 'link': {
      const src = p.src ?? (st.exists ? st.linkTarget : undefined);
      if (src === undefined) return refuse(`${path}: state: link needs src`);
      if (st.exists && st.type === 'link' && st.linkTarget === src) {
        const attrs = planAttributes(path, st, { owner: p.owner, group: p.group }, { isDirectory: false, isLink: true });
        if (attrs.steps.length === 0) return noChange(`${path} already links to ${src}`);
        return { changed: true, steps: attrs.steps, diff: attributeDiff(path, attrs.changes), data };
      }
      if (st.exists && st.type === 'directory') return refuse(`${path} is a directory; refusing to replace it with a link (remove it first with state: absent)`);
      // Replacing anything but a link is destructive: the engine refuses it without force.
      const replacesData = st.exists && st.type !== 'link';
      // A dangling link is a mistake unless forced.
      if (!replacesData && !p.force && facts.srcExists === false) {
        return refuse(`link target ${src} does not exist (seen from ${posix.dirname(path)}); set force: true to link anyway`, { src });
      }
      const steps: Step[] = [
        {
          title: st.exists ? `relink ${path} -> ${src} (was ${st.type === 'link' ? st.linkTarget : kindOf(st)})` : `link ${path} -> ${src}`,
          cmd: sh`ln -sfn -- ${src} ${path}`,
          ...(replacesData ? { destructive: true, refusal: `${path} exists and is a ${kindOf(st)}; set force: true to replace it with a link` } : {}),
        },
      ];
      steps.push(...planAttributes(path, undefined, { owner: p.owner, group: p.group }, { isDirectory: false, isLink: true }).steps);
      const before = st.exists ? (st.type === 'link' ? `link -> ${st.linkTarget}\n` : `${kindOf(st)}\n`) : 'absent\n';
      return { changed: true, steps, diff: [{ path, before, after: `link -> ${src}\n` }], data };
    }
    case 'touch': {
      const steps: Step[] = [];
      // touch -m / -a: update one time only, keeping the preserved one.
      const times = p.access_time === 'preserve' ? sh`touch -m -- ${path}` : p.modification_time === 'preserve' ? sh`touch -a -- ${path}` : sh`touch -- ${path}`;
      const preserveBoth = p.access_time === 'preserve' && p.modification_time === 'preserve';
      if (!st.exists) steps.push({ title: `create empty file ${path}`, cmd: sh`touch -- ${path}` });
      else if (!preserveBoth) steps.push({ title: `update the times of ${path}`, cmd: times });
      const attrs = planAttributes(path, st.exists ? st : undefined, want, { isDirectory: st.exists && st.type === 'directory' });
      steps.push(...attrs.steps);
      if (steps.length === 0) return noChange(`${path} exists with the wanted mode and owner; times preserved`);
      return { changed: true, steps, diff: st.exists ? attributeDiff(path, attrs.changes) : [{ path, before: 'absent\n', after: 'file\n' }], data };
    }
  }
}

export const fileModule = defineModule({
  name: 'file',
  params,
  doc: {
    summary: 'Set a path to be a directory, a symlink, an (existing or touched) file, or absent; with mode and ownership',
    description:
      "Ansible's semantics: state: file never creates (use touch, copy or template); absent removes directories " +
      'recursively; link replaces only links unless force: true; touch always updates the times unless both ' +
      'modification_time and access_time are preserve (so it always reports changed, as in Ansible). ' +
      "Modes: '0644', an unquoted 0644, or symbolic 'u=rwX,g=rX,o='.",
    checkMode: 'full',
    result: { path: 'the path', state: 'the state asked for (or found)', recursed: 'entries below a directory that were out of line (recurse)' },
    example: [
      '- file: { path: /srv/migrate, state: directory, mode: "0750", owner: root }',
      '- file: { path: /etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service, state: link, src: /lib/systemd/system/serial-getty@.service }',
      '- file: { path: /etc/modprobe.d/xen-blacklist.conf, state: absent }',
    ].join('\n'),
  },
  read: readFile,
  decide: decideFile,
});
