// Files over a shell: put (atomic: a temp file beside the target, then rename) and get, built on
// a transport's `run`, so the SSH and local transports and the chroot transport share one rule.
// A host path is used as given; a guest path (the chroot transport) is first resolved inside the
// guest root by the host's shell (guest-path.ts), and the file is then named relative to the
// directory that resolution reached.
import { randomBytes } from 'node:crypto';
import { asArgument, raw, sh, type Command } from '../command.js';
import { TaskFailedError } from '../errors.js';
import { GUEST_PATH_REFUSED, refusalReason, resolveInRoot } from './guest-path.js';
import type { BecomeOptions, PutOptions, RunOptions, RunResult } from './types.js';

/** Exit status `get` uses for "no such file". */
export const GET_MISSING_EXIT = 44;

type Runner = { readonly host: string; run(cmd: Command, opts?: RunOptions): Promise<RunResult> };

/** Where a file operation acts: a guest root to resolve the path inside, and a label for errors (e.g. "in chroot /mnt"). */
export interface FilePlace {
  label?: string;
  /** The path is a guest path, resolved inside this host directory without following a link out of it. */
  guestRoot?: string;
}

function failure(what: string, t: { readonly host: string }, path: string, r: Pick<RunResult, 'exitCode' | 'stderr'>): TaskFailedError {
  const why = r.exitCode === GUEST_PATH_REFUSED ? `refused: ${refusalReason(r.stderr)}` : r.stderr.trim() || `exit ${r.exitCode}`;
  return new TaskFailedError(`${what} failed on ${t.host}: ${why}`, {
    host: t.host,
    path,
    exitCode: r.exitCode,
    stderr: r.stderr,
  });
}

/** The shell words naming the file and a fresh temp file beside it, after `prelude` has run. */
function locate(path: string, place: FilePlace, followLast: boolean): { prelude: Command; file: Command; tmp: Command } {
  const suffix = `.ferry-${randomBytes(6).toString('hex')}`;
  if (place.guestRoot !== undefined) {
    return {
      prelude: resolveInRoot(place.guestRoot, path, followLast),
      file: sh`${raw('"./$ferry_base"')}`,
      tmp: sh`${raw(`"./.$ferry_base${suffix}"`)}`,
    };
  }
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '' : path.slice(0, slash);
  // same directory as the target, so the final mv is a rename on one filesystem (atomic)
  return { prelude: sh``, file: sh`${path}`, tmp: sh`${`${dir}/.${path.slice(slash + 1)}${suffix}`}` };
}

/**
 * Writes `path` atomically through `t`'s shell; `defaultMode` applies when opts.mode is not given
 * (undefined: the umask decides). A guest path's last component is not followed: a link there is
 * replaced, as rename(2) replaces it on the host.
 */
export async function putViaShell(
  t: Runner,
  path: string,
  data: string | Buffer,
  opts: PutOptions = {},
  o: FilePlace & { defaultMode?: number } = {},
): Promise<void> {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const where = o.label ? ` ${o.label}` : '';
  if (base === '' || base === '.' || base === '..') throw new TaskFailedError(`put${where}: ${JSON.stringify(path)} does not name a file`, { host: t.host });
  const { prelude, file, tmp } = locate(path, o, false);
  const modeNum = opts.mode ?? o.defaultMode;
  const mode = modeNum !== undefined ? modeNum.toString(8).padStart(4, '0') : undefined;
  const bytes = Buffer.from(data);
  const write =
    mode !== undefined
      ? // umask first so the bytes are never readable by others before chmod
        sh`umask 077 && cat > ${tmp} && chmod ${mode} -- ${tmp}`
      : sh`cat > ${tmp}`;
  const guest =
    o.guestRoot !== undefined
      ? sh`ferry_cd "$ferry_dir" || ferry_refuse ${`${path}:`} "directory \${ferry_dir:-/} does not exist in the guest"
[ -n "$ferry_base" ] && ! { [ -d ${file} ] && [ ! -L ${file} ]; } || ferry_refuse ${`${path}:`} "$ferry_path is a directory in the guest"
`
      : sh``;
  // cat ends the same way whether all of stdin came or the connection broke: the byte count tells,
  // so a cut-short upload is never renamed into place. `--` keeps a path like `--help` an operand.
  const complete = sh`{ test "$(wc -c < ${tmp})" -eq ${bytes.length} || { printf 'only part of the %s bytes arrived\n' ${bytes.length} >&2; false; }; }`;
  // mv would move the file INTO a directory (or a link to one) at path instead of replacing it.
  const notDir = sh`{ test ! -d ${file} || { printf '%s is a directory\n' ${path} >&2; false; }; }`;
  const cleanup = sh`rm -f -- ${tmp}`;
  // The trap removes the temp file when the shell is stopped by a signal (a channel closed, a timeout).
  const r = await t.run(
    sh`trap ${asArgument(sh`${cleanup}; exit 129`)} HUP INT TERM PIPE; ${prelude}${guest}${write} && ${complete} && ${notDir} && mv -f -- ${tmp} ${file} || { ${cleanup}; exit 1; }`,
    { stdin: bytes, become: opts.become ?? false },
  );
  if (r.exitCode !== 0) throw failure(`put ${path}${where}`, t, path, r);
}

/**
 * The command `get` runs: it prints the file (`hex`: as `od -An -v -tx1` hex, binary-safe in a text
 * batch), exits GET_MISSING_EXIT when there is none, and a guest path must end at a regular file (a
 * device or fifo there is refused rather than read). Batched reads (runner/batch-read.ts) use it too.
 */
export function getCommand(path: string, place: FilePlace = {}, output: 'bytes' | 'hex' = 'bytes'): Command {
  const { prelude, file } = locate(path, place, true);
  const check =
    place.guestRoot !== undefined
      ? sh`ferry_cd "$ferry_dir" || exit ${GET_MISSING_EXIT}
[ -e ${file} ] || [ -L ${file} ] || exit ${GET_MISSING_EXIT}
[ -f ${file} ] && [ ! -L ${file} ] || ferry_refuse ${`${path}:`} "$ferry_path is not a regular file in the guest"
`
      : sh`test -e ${file} || exit ${GET_MISSING_EXIT}; `;
  return output === 'hex' ? sh`${prelude}${check}exec od -An -v -tx1 -- ${file}` : sh`${prelude}${check}exec cat -- ${file}`;
}

/** Reads a whole file through `t`'s shell (getCommand); null when it does not exist. */
export async function getViaShell(t: Runner, path: string, opts: { become?: BecomeOptions | false } = {}, place: FilePlace = {}): Promise<Buffer | null> {
  const r = await t.run(getCommand(path, place), { binary: true, become: opts.become ?? false });
  return getOutcome(t.host, path, place, r, r.stdoutBuffer ?? Buffer.alloc(0));
}

/** What getCommand's run means: the file's bytes, null when there is none; a refusal or failure throws, naming the path. */
export function getOutcome(host: string, path: string, place: FilePlace, r: Pick<RunResult, 'exitCode' | 'stderr'>, bytes: Buffer): Buffer | null {
  if (r.exitCode === GET_MISSING_EXIT) return null;
  if (r.exitCode !== 0) throw failure(`get ${path}${place.label ? ` ${place.label}` : ''}`, { host }, path, r);
  return bytes;
}
