// The `unarchive` module (Ansible's ansible.builtin.unarchive): unpack a tar or zip archive from the
// controller (streamed on standard input, nothing left on the host) or from the host into dest.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { defineModule, type Step, type TaskContext, type ToolOutput, type Verdict } from '../runner/module.js';
import { readControllerFile } from './copy.js';
import { formatMode, parseModeSpec } from './lib/mode.js';
import { absolutePathField, checkedBy, groupField, modeField, ownerField, pathField } from './lib/schema.js';

/** The archive kinds by file name, with the flag GNU tar needs to read them. */
const KINDS: { suffixes: string[]; kind: 'tar' | 'zip'; flag?: string }[] = [
  { suffixes: ['.tar.gz', '.tgz'], kind: 'tar', flag: '-z' },
  { suffixes: ['.tar.bz2', '.tbz2', '.tbz'], kind: 'tar', flag: '-j' },
  { suffixes: ['.tar.xz', '.txz'], kind: 'tar', flag: '-J' },
  { suffixes: ['.tar'], kind: 'tar' },
  { suffixes: ['.zip'], kind: 'zip' },
];
const SUFFIXES = KINDS.flatMap((k) => k.suffixes).join(', ');

/** The kind of archive `src` names (by its suffix), or undefined. */
export function archiveKind(src: string): (typeof KINDS)[number] | undefined {
  const lower = src.toLowerCase();
  return KINDS.find((k) => k.suffixes.some((s) => lower.endsWith(s)));
}

// GNU tar options that run another program; ferry builds the commands, a playbook value may not add one.
const RUNS_A_PROGRAM = /^(--to-command|--use-compress-program|--checkpoint-action|--info-script|--new-volume-script|--rmt-command|--rsh-command|-I|-F)/;

/** Why `opt` may not stand in extra_opts: it is not an option (it would name an entry), or it makes tar run a program. */
export function extraOptProblem(opt: string): string | undefined {
  if (!opt.startsWith('-')) return `'${opt}' is not an option: extra_opts holds options only (one word each, e.g. --strip-components=1)`;
  if (RUNS_A_PROGRAM.test(opt)) return `ferry does not pass '${opt}' to tar: it runs another program`;
  return undefined;
}

const params = z.strictObject({
  src: pathField('The archive: a path on the controller (relative to the playbook, or a role\'s files/), or on the host with remote_src'),
  dest: absolutePathField('Directory to unpack into; it must exist'),
  remote_src: z.boolean().default(false).describe('src is on the host already (false: it is read on the controller and streamed to the host)'),
  creates: absolutePathField('Do nothing when this path exists on the host').optional(),
  list_files: z.boolean().default(false).describe('Return the archive\'s entries as files'),
  exclude: z.array(z.string().min(1)).default([]).describe('Entries (shell patterns, as tar --exclude / unzip -x take them) not to unpack'),
  extra_opts: z.array(z.string().superRefine(checkedBy(extraOptProblem))).default([]).describe('More options for tar or unzip, one word each (e.g. [--strip-components=1])'),
  owner: ownerField,
  group: groupField,
  mode: modeField,
}).refine((p) => !p.remote_src || p.src.startsWith('/'), { message: 'with remote_src: true, src must be an absolute path on the host', path: ['src'] });

type Params = z.output<typeof params>;

/** What read found on the host (and, for a controller archive, its bytes). */
export interface UnarchiveFacts {
  destIsDir: boolean;
  createsExists?: boolean;
  /** `tar --version` (tar archives) or `command -v unzip` (zip), as printed. */
  tool?: ToolOutput;
  /** The archive's entries as tar --list / unzip -Z1 printed them. */
  list?: ToolOutput;
  /** tar --diff against dest, as printed. */
  diff?: ToolOutput;
  /** The controller archive (remote_src: false). */
  archive?: Buffer;
}

/** The words common to tar --list, --diff and --extract: -C dest, the compression flag, extra_opts, excludes and the archive. */
function tarArgs(p: Params, flag: string | undefined): string[] {
  return ['-C', p.dest, ...(flag ? [flag] : []), ...(p.extra_opts.length ? ['--show-transformed-names', ...p.extra_opts] : []), ...p.exclude.map((e) => `--exclude=${e}`), '-f', p.remote_src ? p.src : '-'];
}

/** An unzip command on the archive: on the host's src, or on the controller's bytes copied to a temp file from stdin (removed after). */
function unzipCommand(p: Params, args: (string | Command)[], tail: string[] = []): Command {
  if (p.remote_src) return sh`unzip ${args} -- ${p.src} ${tail}`;
  return sh`t=$(mktemp) && cat >"$t" && unzip ${args} -- "$t" ${tail}; r=$?; rm -f -- "$t"; exit $r`;
}

/** Reads whether dest and creates exist, the tool, the archive's entries and (tar) what tar --diff finds (I/O only). */
async function readUnarchive(ctx: TaskContext, p: Params): Promise<UnarchiveFacts> {
  const f: UnarchiveFacts = { destIsDir: (await ctx.run(sh`test -d ${p.dest}`)).exitCode === 0 };
  if (p.creates !== undefined) f.createsExists = (await ctx.run(sh`test -e ${p.creates}`)).exitCode === 0;
  const kind = archiveKind(p.src);
  if (f.createsExists || !f.destIsDir || !kind) return f;
  if (!p.remote_src) f.archive = (await readControllerFile(ctx.baseDir, p.src, ctx.roleDir)).data;
  const stdin = f.archive ? { stdin: f.archive } : {};
  if (kind.kind === 'tar') {
    f.tool = await ctx.run(sh`tar --version`);
    f.list = await ctx.run(sh`tar --list ${tarArgs(p, kind.flag)}`, stdin);
    if (f.list.exitCode === 0) f.diff = await ctx.run(sh`LC_ALL=C tar --diff ${tarArgs(p, kind.flag)}`, stdin);
  } else {
    f.tool = await ctx.run(sh`command -v unzip`);
    if (f.tool.exitCode === 0) f.list = await ctx.run(unzipCommand(p, ['-Z1']), stdin);
  }
  return f;
}

// tar --diff lines that mean dest differs (Ansible's unarchive reads the same ones): ownership only when
// owner/group are not given (they are set afterwards), the mode only when mode is not.
const MISSING = /: Warning: Cannot stat: No such file or directory$/;
const EMPTY_NAME = /: : Warning: Cannot stat: No such file or directory$/;
const ALWAYS = [/: Mod time differs$/, /: Size differs$/, /: Contents differ$/, /: File type differs$/, /: Symlink differs$/, /: Not linked to /, /: Invalid owner/, /: Invalid group/];

/** The lines of tar --diff output that say dest differs from the archive, given which attributes the task sets itself. */
export function tarDifferences(p: Params, out: ToolOutput): string[] {
  const checks = [...ALWAYS, ...(p.owner === undefined ? [/: Uid differs$/] : []), ...(p.group === undefined ? [/: Gid differs$/] : []), ...(p.mode === undefined ? [/: Mode differs$/] : [])];
  return (out.stdout + '\n' + out.stderr).split('\n').filter((l) => !EMPTY_NAME.test(l) && (MISSING.test(l) || checks.some((re) => re.test(l))));
}

/** The archive's entries (leading '/' removed; the one --strip-components leaves empty dropped), from the listing. */
function entries(list: ToolOutput): string[] {
  return list.stdout.split('\n').map((l) => l.replace(/^\/+/, '')).filter(Boolean);
}

/** chown / chmod of every unpacked entry and top folder, when owner, group or mode are given. */
function attributeSteps(p: Params, names: string[]): Step[] {
  const tops = [...new Set(names.filter((n) => n.includes('/')).map((n) => n.split('/')[0]!))];
  const paths = [...new Set([...names.map((n) => n.replace(/\/+$/, '')), ...tops])].filter(Boolean).map((n) => `${p.dest.replace(/\/+$/, '')}/${n}`);
  const steps: Step[] = [];
  if (!paths.length) return steps;
  if (p.owner !== undefined || p.group !== undefined) {
    const spec = `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
    steps.push({ title: `chown ${spec} the ${paths.length} unpacked path(s)`, cmd: sh`chown -h -- ${spec} ${paths}` });
  }
  if (p.mode !== undefined) {
    const spec = parseModeSpec(p.mode);
    const m = spec.kind === 'octal' ? formatMode(spec.value) : spec.text;
    steps.push({ title: `chmod ${m} the ${paths.length} unpacked path(s)`, cmd: sh`chmod -- ${m} ${paths}` });
  }
  return steps;
}

/** Decides whether to unpack (pure): creates, dest, the tool, the listing, then tar --diff (zip: always, unless creates). */
export function decideUnarchive(p: Params, f: UnarchiveFacts): Verdict {
  const base = { src: p.src, dest: p.dest };
  if (f.createsExists) return { changed: false, reason: `${p.creates} exists (creates)`, data: base };
  if (!f.destIsDir) return { refused: `Destination '${p.dest}' is not a directory (unarchive does not create it: add a file task with state: directory before)` };
  const kind = archiveKind(p.src);
  if (!kind) return { refused: `cannot tell what kind of archive '${p.src}' is from its name; ferry unpacks ${SUFFIXES}` };
  if (kind.kind === 'zip' && f.tool?.exitCode !== 0) return { refused: `unzip is not installed on the host (apt-get install unzip), so '${p.src}' cannot be unpacked` };
  if (kind.kind === 'tar' && !/GNU tar/.test(f.tool?.stdout ?? '')) return { refused: "GNU tar is needed to unpack and compare tar archives (tar --version does not say 'GNU tar')" };
  if (!f.list || f.list.exitCode !== 0) return { refused: `cannot list '${p.src}' (is it a ${kind.suffixes[0]} archive?): ${(f.list?.stderr ?? '').trim()}` };
  const names = entries(f.list);
  if (!names.length) return { refused: `'${p.src}' holds no files: empty archives are not unpacked` };
  const data = { ...base, handler: kind.kind === 'zip' ? 'ZipArchive' : 'TgzArchive', ...(p.list_files ? { files: names } : {}) };
  const differs = kind.kind === 'tar' ? tarDifferences(p, f.diff ?? { exitCode: 1, stdout: '', stderr: '' }) : ['(zip archives are not compared)'];
  if (!differs.length) return { changed: false, reason: `the ${names.length} entries of ${p.src} match ${p.dest} (tar --diff)`, data };
  const cmd = kind.kind === 'tar' ? sh`tar --extract ${tarArgs(p, kind.flag)}` : unzipCommand(p, ['-o', '-q', ...p.extra_opts], ['-d', p.dest, ...(p.exclude.length ? ['-x', ...p.exclude] : [])]);
  const stdin = f.archive ? { stdin: f.archive } : {};
  // A run step (the controller's archive is a stream on stdin) that returns the result's data; cmd is what it runs.
  const unpack: Step = {
    title: `unpack ${p.src} into ${p.dest}${kind.kind === 'tar' ? ` (${differs.length} difference(s): ${differs[0]}${differs.length > 1 ? ', ...' : ''})` : ''}`,
    cmd,
    run: async (ctx) => {
      await ctx.runOk(cmd, stdin);
      return data;
    },
  };
  return { changed: true, steps: [unpack, ...attributeSteps(p, names)], data };
}

/** The unarchive module. */
export const unarchiveModule = defineModule({
  name: 'unarchive',
  params,
  doc: {
    summary: 'Unpack a tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) or .zip archive from the controller or the host into a directory',
    description:
      "As Ansible's unarchive (without include, keep_newer and URLs). The kind of archive is told by the name of src. A controller " +
      'archive (remote_src: false) is streamed to tar on standard input; nothing is left on the host (a zip goes through a temp file ' +
      'that is removed). dest must exist. What is compared: creates first (when that path exists nothing is done); then, for tar ' +
      'archives, `tar --diff` of the archive against dest: a missing entry or a different size, content, modification time, type, ' +
      'link target, mode (unless mode is given) or owner/group (unless owner/group are given) makes the task unpack the whole ' +
      'archive. Zip archives are not compared: they are unpacked (unzip -o) every run unless creates says not to. owner, group and ' +
      'mode are set on every unpacked entry after unpacking. unzip must be on the host for zip archives (GNU tar for tar ones).',
    checkMode: 'full',
    checkModeNote: 'reads only: lists the archive and runs tar --diff; says what would be unpacked and why',
    result: { src: 'the archive', dest: 'the directory', handler: 'TgzArchive or ZipArchive (as Ansible names them)', files: 'list_files: the entries of the archive' },
    example: [
      '- unarchive:',
      '    src: app-1.2.tar.gz',
      '    dest: /opt/app',
      '    extra_opts: [--strip-components=1]',
      '    owner: app',
      '',
      '- unarchive: { src: /var/cache/x.zip, dest: /srv/x, remote_src: true, creates: /srv/x/README }',
    ].join('\n'),
  },
  read: readUnarchive,
  decide: decideUnarchive,
});
