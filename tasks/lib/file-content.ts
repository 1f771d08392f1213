// The shared core of the file-content modules (copy, template, lineinfile, replace, blockinfile): what is at
// the destination, read once (readContentTarget, readEditedFile), and one pure decision that makes the file
// hold exactly these bytes (decideContent: compared by sha256 on the host, so nothing is uploaded when it
// already does), with the wanted mode and ownership, an optional backup and validate, and a text diff for --diff.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { quote, raw, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { Diff, Step, StepRun, TaskContext, Verdict } from '../../runner/module.js';
import { shlexSplit } from '../../runner/shlex.js';
import { ChrootTransport } from '../../runner/transport/chroot.js';
import { attributeDiff, planAttributes, type WantedAttributes } from './attributes.js';
import { applyModeSpec, formatMode, parseModeSpec } from './mode.js';
import { probePath, type PathState, type PathType, type PresentPath } from './path-state.js';

/** What a content module asks decideContent for: these bytes at the destination, with these attributes. */
export interface ContentRequest extends WantedAttributes {
  data: Buffer;
  /** The file name to use when dest is a directory (basename of src); undefined for inline content and edited files. */
  fileName?: string;
  backup?: boolean;
  /** false: leave an existing dest alone even if its content differs (Ansible's force: no). */
  force?: boolean;
  /** Ansible's validate: a command run on the new content (%s: a temporary copy on the host) before it is written. */
  validate?: string;
  /**
   * How a failing validate is reported: 'copy' as Ansible's copy and template report it ('failed to validate' with
   * exit_status, stdout and stderr; the temporary copy gets the mode and owner asked for first), else as the
   * editing modules do ('failed to validate: rc:N error:STDERR').
   */
  validateAs?: 'copy';
  /** Create a missing parent directory first (lineinfile's and blockinfile's create), instead of refusing. */
  makeParents?: boolean;
  /** More values for the task's result (lineinfile's `msg`, `found`): in the plan's data and what the write returns. */
  result?: Record<string, unknown>;
}

/** Files larger than this (or holding NUL bytes) get no text diff. */
export const MAX_DIFF_BYTES = 256 * 1024;

/** Hex sha256 of a buffer, the same as sha256sum prints. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Whether a buffer is worth showing as a text diff. */
export function isDiffableText(data: Buffer): boolean {
  return data.length <= MAX_DIFF_BYTES && !data.includes(0);
}

/**
 * Copies `dest` to a backup named as Ansible's backup_local names it, `dest.PID.YYYY-MM-DD@HH:MM:SS~`
 * (the PID and local time of the process on the host that makes it), printing the name it chose.
 */
export function backupCommand(dest: string): Command {
  return sh`b=${dest}.$$.$(date +%Y-%m-%d@%H:%M:%S)~ && cp -p -- ${dest} "$b" && printf '%s' "$b"`;
}

function becomesRoot(ctx: TaskContext): boolean {
  return ctx.become !== false && (ctx.become.user === undefined || ctx.become.user === 'root');
}

/**
 * The directory a symlinked parent directory resolves to (/var/run -> /run), so the temp file and the
 * rename happen beside the final file; undefined when it names no directory. Inside a chroot the
 * link is left to the chroot transport's own rules: it is not followed here.
 */
async function linkedDirectory(ctx: TaskContext, parent: string): Promise<string | undefined> {
  if (ctx.transport instanceof ChrootTransport) return undefined;
  const r = await ctx.run(sh`R=$(readlink -f -- ${parent}) && test -d "$R" && printf '%s' "$R"`);
  return r.exitCode === 0 && r.stdout.startsWith('/') ? r.stdout : undefined;
}

/** What is at a content task's destination, read once so that deciding the write is pure (decideContent). */
export interface ContentTarget {
  /** The file to write: dest, or dest/fileName when dest is a directory (left as dest when that cannot be: see targetRefusal). */
  dest: string;
  /** What is there now (a regular file's sha256 included). */
  state: PathState;
  /** Where the upload goes: dest, or the same name in the directory a symlinked parent names. */
  target: string;
  /** dest's parent when nothing is at dest: a directory, missing, or something else. */
  parent: 'directory' | 'missing' | 'other';
  /** Whether the write runs as root (a replaced file owned by someone else then needs a chown). */
  asRoot: boolean;
  /** The current content, for --diff (empty for a new file); undefined when no diff is wanted or possible. */
  before?: Buffer;
}

/**
 * Reads what decideContent needs about `dest` (only reads). `before` is the content when the caller
 * already has it (the editing modules); else it is fetched for --diff when `diffData` is worth a diff.
 * `state` is what is at dest when the caller has just probed it with its checksum (it is then not probed again).
 */
export async function readContentTarget(
  ctx: TaskContext,
  req: { dest: string; fileName?: string; before?: Buffer; diffData?: Buffer; state?: PathState },
): Promise<ContentTarget> {
  let dest = req.dest;
  let state = req.state ?? (await probePath(ctx, dest, { checksum: true }));
  const asRoot = becomesRoot(ctx);
  if (dest.endsWith('/') || (state.exists && state.type === 'directory')) {
    // a directory with no file name to put in it, or a missing one: decide refuses it (targetRefusal)
    if (!req.fileName || !state.exists) return { dest, state, target: dest, parent: 'directory', asRoot };
    dest = posix.join(dest, req.fileName);
    state = await probePath(ctx, dest, { checksum: true });
  }
  let target = dest;
  let parent: ContentTarget['parent'] = 'directory';
  if (!state.exists) {
    const dir = posix.dirname(dest);
    const ps = await probePath(ctx, dir);
    const real = ps.exists && ps.type === 'link' ? await linkedDirectory(ctx, dir) : undefined;
    if (real !== undefined) target = posix.join(real, posix.basename(dest));
    else if (!ps.exists) parent = 'missing';
    else if (ps.type !== 'directory') parent = 'other';
  }
  let before = req.before;
  if (before === undefined && ctx.diff && req.diffData && isDiffableText(req.diffData)) {
    if (!state.exists) before = Buffer.alloc(0);
    else if (state.type === 'file' && state.size <= MAX_DIFF_BYTES) before = (await ctx.transport.get(dest, { become: ctx.become })) ?? undefined;
  }
  return { dest, state, target, parent, asRoot, ...(before !== undefined ? { before } : {}) };
}

/** A verdict that refuses, with the data the task's failed result carries. */
type Refusal = Extract<Verdict, { refused: string }>;

/**
 * Why the file cannot go where readContentTarget looked (pure): dest names a directory (a trailing / or a
 * directory there) and there is no file name to put in it, or it is missing; undefined when it can.
 */
export function targetRefusal(t: ContentTarget, fileName: string | undefined): Refusal | undefined {
  const { dest, state } = t;
  if (!dest.endsWith('/') && !(state.exists && state.type === 'directory')) return undefined;
  if (!fileName) return { refused: `dest ${dest} is a directory and there is no src file name to put in it`, data: { dest } };
  if (!state.exists) return { refused: `destination directory ${dest} does not exist; create it first (file: path=${dest} state=directory)`, data: { dest } };
  return undefined;
}

/** A step that backs up a file, marked so that contentResult registers the name it chose as backup_file. */
interface BackupStep extends Step {
  backupOf: string;
}

/**
 * Decides writing `req.data` to what readContentTarget found (pure): no change with the reason, the
 * steps (backup, validate, atomic upload with the mode, chown/chmod) and the diff, or a refusal (dest is
 * a directory or not a regular file, its parent directory is missing and not to be made).
 */
export function decideContent(t: ContentTarget, req: ContentRequest): Verdict {
  const { dest, state, target } = t;
  const misplaced = targetRefusal(t, req.fileName);
  if (misplaced) return misplaced;
  if (!state.exists && t.parent !== 'directory' && !(t.parent === 'missing' && req.makeParents)) {
    const parent = posix.dirname(dest);
    return { refused: `destination directory ${parent} does not exist; create it first (file: path=${parent} state=directory)`, data: { dest } };
  }
  if (state.exists && state.type !== 'file' && state.type !== 'link') {
    return { refused: `dest ${dest} exists and is a ${state.type}, not a regular file`, data: { dest } };
  }
  const current: PresentPath | undefined = state.exists ? state : undefined;
  const checksum = sha256Hex(req.data);
  // A symlink is replaced by a regular file (Ansible's copy without follow), so it never "matches".
  const sameContent = current?.type === 'file' && current.sha256 === checksum;
  const writeContent = !sameContent && (!current || req.force !== false);

  const steps: Step[] = [];
  const diff: Diff[] = [];
  // registered as Ansible's copy and template do: sha1 checksum and md5sum of the content
  const result = { dest, checksum: createHash('sha1').update(req.data).digest('hex'), md5sum: createHash('md5').update(req.data).digest('hex'), size: req.data.length, ...req.result };
  if (!writeContent) {
    const attrs = planAttributes(dest, current, req, { isDirectory: false });
    if (attrs.steps.length === 0) {
      const reason = sameContent ? `${dest} already has this content (sha256 ${checksum.slice(0, 12)}…)` : `${dest} exists and force is false`;
      return { changed: false, reason, data: result };
    }
    return { changed: true, steps: attrs.steps, diff: attributeDiff(dest, attrs.changes), data: result };
  }

  // The upload sets the mode in the same atomic rename; an existing file keeps its mode unless one is asked for.
  const base = current?.type === 'file' ? current.mode : 0o644;
  const mode = req.mode !== undefined ? applyModeSpec(parseModeSpec(req.mode), base, false) : current?.type === 'file' ? current.mode : undefined;
  if (!current && t.parent === 'missing') {
    const parent = posix.dirname(dest);
    steps.push({ title: `create directory ${parent}`, cmd: sh`mkdir -p -- ${parent}` });
  }
  if (req.backup && current?.type === 'file') {
    const backup: BackupStep = { title: `back up ${dest}`, cmd: backupCommand(dest), backupOf: dest };
    steps.push(backup);
  }
  if (req.validate !== undefined) {
    // copy and template validate a copy that has the mode and owner asked for, as Ansible's copy does
    const attrs = req.validateAs === 'copy' ? { ...(req.mode !== undefined ? { mode } : {}), owner: req.owner, group: req.group } : {};
    steps.push(validateStep(req.validate, req.data, req.validateAs, attrs));
  }
  steps.push({
    title: `${current ? 'replace' : 'create'} ${dest} (${req.data.length} bytes, sha256 ${checksum.slice(0, 12)}…)`,
    run: async (c) => {
      await c.transport.put(target, req.data, { mode, become: c.become });
      return { ...result };
    },
  });
  // Without an explicit owner a replaced file keeps its old one, as an in-place write would; the upload
  // itself runs as root, so only a file owned by someone else needs the chown.
  const keepOwner = current?.type === 'file' && t.asRoot && (current.uid !== 0 || current.gid !== 0);
  const want: WantedAttributes = {
    owner: req.owner ?? (keepOwner ? String(current.uid) : undefined),
    group: req.group ?? (keepOwner ? String(current.gid) : undefined),
  };
  steps.push(...planAttributes(dest, undefined, want, { isDirectory: false }).steps);
  if (t.before !== undefined && isDiffableText(req.data) && isDiffableText(t.before)) {
    diff.push({ path: dest, before: t.before.toString('utf8'), after: req.data.toString('utf8') });
  }
  return { changed: true, steps, diff, data: result };
}

/** The result of a content module's steps: the backup's name (backup_file) when one was made; the rest is the plan's data. */
export async function contentResult(_ctx: TaskContext, _params: unknown, ran: StepRun[]): Promise<Record<string, unknown>> {
  const backup = ran.find((r) => 'backupOf' in r.step);
  return backup?.result ? { backup_file: backup.result.stdout } : {};
}

/** Stands for %s while the validate text is split into words (a character no command line holds). */
const TEMP_COPY = '\uE000';

/**
 * The validate command run on the temporary copy ("$t"): %s is the copy, %% a %, as Python's % makes it;
 * split into words as Ansible's run_command splits it (no shell). Every word is quoted, "$t" included.
 */
export function validateCommand(validate: string): Command {
  const words = shlexSplit(validate.replace(/%[%s]/g, (m) => (m === '%%' ? '%' : TEMP_COPY))).map((w) =>
    w === '' ? quote(w) : w.split(TEMP_COPY).map((seg, i) => (i > 0 ? '"$t"' : '') + (seg === '' ? '' : quote(seg))).join(''),
  );
  return sh`exec ${raw(words.join(' '))}`;
}

/** chmod/chown of the temporary copy to validate ("$t"), as the final file will have them, each followed by &&; empty when none is asked. */
function validatedCopyAttributes(a: { mode?: number; owner?: string; group?: string }): Command {
  const chmod = a.mode !== undefined ? sh`chmod -- ${formatMode(a.mode)} "$t" && ` : raw('');
  const spec = a.owner !== undefined ? (a.group !== undefined ? `${a.owner}:${a.group}` : a.owner) : a.group !== undefined ? `:${a.group}` : undefined;
  const chown = spec !== undefined ? sh`chown -- ${spec} "$t" && ` : raw('');
  return sh`${chmod}${chown}`;
}

/**
 * The step that checks the new content before it is written (a stream: in one command on the host
 * the content is written to a new temporary file, the command runs on it, the copy is removed): a
 * non-zero exit fails the task with Ansible's message, and the file is left as it was. Its cmd is the
 * exact command (--check -v prints it); the content reaches it on standard input.
 */
function validateStep(validate: string, data: Buffer, as: 'copy' | undefined, attrs: { mode?: number; owner?: string; group?: string }): Step {
  // mktemp makes a fresh random name exclusively (mode 0600): an existing file or link there is never written through
  const cmd = sh`t=$(mktemp /tmp/.ferry-validate.XXXXXXXXXXXX) && cat > "$t" || { echo "ferry: cannot write \${t:-a temporary file in /tmp}" >&2; [ -z "$t" ] || rm -f -- "$t"; exit 125; }; ${validatedCopyAttributes(attrs)}(${validateCommand(validate)}); rc=$?; rm -f -- "$t"; exit $rc`;
  return {
    title: `validate the new content with ${validate}`,
    cmd,
    run: async (c) => {
      const r = await c.run(cmd, { stdin: data });
      if (r.exitCode !== 0 && r.stderr.startsWith('ferry: cannot write ')) throw new TaskFailedError(`cannot write the copy to validate: ${r.stderr.trim()}`, { rc: r.exitCode });
      if (r.exitCode === 0) return;
      if (as === 'copy') {
        // Ansible's copy registers msg 'failed to validate' with the command's exit status and output; a person reads them in the message
        const output = [r.stdout.trim(), r.stderr.trim()].filter(Boolean).join('\n');
        throw new TaskFailedError(`failed to validate: exit status ${r.exitCode}${output ? `: ${output}` : ''}`, { msg: 'failed to validate', exit_status: r.exitCode, stdout: r.stdout, stderr: r.stderr });
      }
      throw new TaskFailedError(`failed to validate: rc:${r.exitCode} error:${r.stderr}`, { rc: r.exitCode, stdout: r.stdout, stderr: r.stderr });
    },
  };
}

/**
 * What an editing module (lineinfile, replace, blockinfile) read: the file, followed through a symlink to
 * the file it names (the edit goes there and the link stays), its text, and what decideContent needs.
 */
export interface EditedFile {
  path: string;
  /** The text as read (NUL bytes included, which decide refuses); null when nothing is there or it is not a regular file. */
  text: string | null;
  /** Set when the path is neither a regular file nor a symlink: what it is (decide refuses the edit). */
  type?: PathType;
  /** What is at the path; `before` (the text, for --diff) only when --diff is asked. */
  target: ContentTarget;
}

/**
 * Reads the file an editing module edits (only reads). The path is probed once, with the checksum
 * decideContent compares, and that state is what readContentTarget gets: a regular file costs two
 * round trips (the probe, the read). A symlink is probed again where it leads.
 */
export async function readEditedFile(ctx: TaskContext, path: string): Promise<EditedFile> {
  let st = await probePath(ctx, path, { checksum: true });
  if (st.exists && st.type === 'link') {
    const r = await ctx.runOk(sh`readlink -f -- ${path}`);
    path = r.stdout.replace(/\n$/, '');
    st = await probePath(ctx, path, { checksum: true });
  } else if (st.exists && st.type !== 'file') {
    return { path, text: null, type: st.type, target: await readContentTarget(ctx, { dest: path, state: st }) };
  }
  const data = st.exists ? await ctx.transport.get(path, { become: ctx.become }) : null;
  const text = data === null ? null : data.toString('utf8');
  return { path, text, target: await readContentTarget(ctx, { dest: path, state: st, ...(ctx.diff ? { before: data ?? Buffer.alloc(0) } : {}) }) };
}

/** Why `module` cannot edit what readEditedFile found (pure): it is not a regular file, or it holds NUL bytes. */
export function editRefusal(f: EditedFile, module: string): Refusal | undefined {
  if (f.type !== undefined) return { refused: `${f.path} is a ${f.type}, not a text file`, data: { path: f.path, type: f.type } };
  if (f.text?.includes('\0')) return { refused: `${f.path} holds NUL bytes; ${module} edits text files only`, data: { path: f.path } };
  return undefined;
}

/**
 * Decides writing the edited text to the file an editing module read (pure): the steps, or no change with
 * `why` (what the module says about the file), or decideContent's refusal.
 */
export function decideEdit(f: EditedFile, edited: string, req: Omit<ContentRequest, 'data'>, why: string): Verdict {
  const v = decideContent(f.target, { ...req, data: Buffer.from(edited, 'utf8') });
  if (!('changed' in v) || v.changed) return v;
  return { changed: false, reason: `${f.path}: ${why}`, data: v.data };
}
