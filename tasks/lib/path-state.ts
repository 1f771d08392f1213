// What is at a path on the host, from ONE read-only command: type, mode, owner, size,
// a symlink's target and (when asked) a regular file's sha256. A pure parser turns its output
// into a PathState, so the parsing is tested on real output without a host.
import { raw, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { describeFailure } from '../../runner/task-context.js';

/** The kinds of filesystem object stat reports (from the S_IFMT bits, so no locale is involved). */
export type PathType = 'file' | 'directory' | 'link' | 'fifo' | 'socket' | 'block' | 'char';

/** A path that exists: everything copy/file/template compare against. */
export interface PresentPath {
  exists: true;
  type: PathType;
  /** Permission bits including setuid/setgid/sticky (0o7777 mask). */
  mode: number;
  owner: string;
  group: string;
  uid: number;
  gid: number;
  size: number;
  /** The target of a symlink, as readlink prints it. */
  linkTarget?: string;
  /** Hex sha256 of a regular file's content, when asked for. */
  sha256?: string;
}

/** What `probePath` found at a path. */
export type PathState = { exists: false } | PresentPath;

/** The file type of a raw st_mode (stat's %f, in hex), as ferry names it. */
export const TYPES: Record<number, PathType> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'link',
  0o010000: 'fifo',
  0o140000: 'socket',
  0o060000: 'block',
  0o020000: 'char',
};

/** The probe command for `path`; with `checksum`, a regular file's sha256 is appended. */
export function probeCommand(path: string, opts: { checksum?: boolean } = {}): Command {
  // The name never appears in the output (sha256sum reads stdin), so odd names cannot confuse the parser.
  const hash = opts.checksum ? raw(` elif [ -f "$P" ]; then printf 'sha256:'; sha256sum < "$P" || exit 1;`) : raw('');
  return sh`P=${path}; if [ -e "$P" ] || [ -L "$P" ]; then stat -c '%f|%U|%G|%u|%g|%s' -- "$P" || exit 1; if [ -L "$P" ]; then printf 'link:'; readlink -- "$P" || exit 1;${hash} fi; else echo absent; fi`;
}

/** Parses the probe's output; throws on output it does not recognise (a probe bug, not user error). */
export function parsePathState(out: string): PathState {
  if (out.trim() === 'absent') return { exists: false };
  const nl = out.indexOf('\n');
  const first = nl < 0 ? out : out.slice(0, nl);
  const rest = nl < 0 ? '' : out.slice(nl + 1);
  const f = first.split('|');
  if (f.length !== 6 || !/^[0-9a-f]+$/.test(f[0]!)) throw new Error(`unexpected stat output: ${JSON.stringify(out.slice(0, 200))}`);
  const rawMode = parseInt(f[0]!, 16);
  const type = TYPES[rawMode & 0o170000];
  if (!type) throw new Error(`unknown file type in stat output: ${f[0]}`);
  const state: PresentPath = {
    exists: true,
    type,
    mode: rawMode & 0o7777,
    owner: f[1]!,
    group: f[2]!,
    uid: Number(f[3]),
    gid: Number(f[4]),
    size: Number(f[5]),
  };
  if (rest.startsWith('link:')) {
    // A link target may itself hold newlines: everything up to readlink's final newline is the target.
    state.linkTarget = rest.slice(5).replace(/\n$/, '');
  } else if (rest.startsWith('sha256:')) {
    const m = /^sha256:([0-9a-f]{64}) {2}-\n?$/.exec(rest);
    if (!m) throw new Error(`unexpected sha256sum output: ${JSON.stringify(rest.slice(0, 200))}`);
    state.sha256 = m[1];
  }
  return state;
}

/**
 * What `path` names with a symlink followed as open() follows it: the resolved path and its state
 * (a dangling link: absent). Anything but a link is probed once.
 */
export async function probeFollowingLink(ctx: TaskContext, path: string): Promise<{ path: string; state: PathState }> {
  const state = await probePath(ctx, path);
  if (!state.exists || state.type !== 'link') return { path, state };
  const real = (await ctx.runOk(sh`readlink -f -- ${path}`)).stdout.replace(/\n$/, '');
  return { path: real, state: await probePath(ctx, real) };
}

/** Reads the state of `path` on the host (with the task's become). */
export async function probePath(ctx: TaskContext, path: string, opts: { checksum?: boolean } = {}): Promise<PathState> {
  const r = await ctx.run(probeCommand(path, opts));
  if (r.exitCode !== 0) {
    throw new TaskFailedError(`cannot inspect ${path}: ${describeFailure(r)}`, { path, exitCode: r.exitCode, stderr: r.stderr });
  }
  return parsePathState(r.stdout);
}
