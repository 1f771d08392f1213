// Files over a shell: put (atomic: a temp file beside the target, then rename) and get, built on
// a transport's `run`, so the SSH and local transports and the chroot transport share one rule.
import { randomBytes } from 'node:crypto';
import { asArgument, sh } from '../command.js';
import { TaskFailedError } from '../errors.js';
import type { BecomeOptions, PutOptions, RunOptions, RunResult } from './types.js';

/** Exit status `get` uses for "no such file". */
const GET_MISSING_EXIT = 44;

type Runner = { readonly host: string; run(cmd: ReturnType<typeof sh>, opts?: RunOptions): Promise<RunResult> };

function failure(what: string, t: Runner, path: string, r: RunResult): TaskFailedError {
  return new TaskFailedError(`${what} failed on ${t.host}: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
    host: t.host,
    path,
    exitCode: r.exitCode,
    stderr: r.stderr,
  });
}

/**
 * Writes `path` atomically through `t`'s shell. `label` names where in errors (e.g. "in chroot /mnt");
 * `defaultMode` applies when opts.mode is not given (undefined: the umask decides).
 */
export async function putViaShell(
  t: Runner,
  path: string,
  data: string | Buffer,
  opts: PutOptions = {},
  o: { label?: string; defaultMode?: number } = {},
): Promise<void> {
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
  const base = path.slice(slash + 1);
  const what = `put ${path}${o.label ? ` ${o.label}` : ''}`;
  if (base === '' || base === '.' || base === '..') {
    throw new TaskFailedError(`put${o.label ? ` ${o.label}` : ''}: ${JSON.stringify(path)} does not name a file`, { host: t.host });
  }
  // same directory as the target, so the final mv is a rename on one filesystem (atomic)
  const tmp = `${dir === '/' ? '' : dir}/.${base}.ferry-${randomBytes(6).toString('hex')}`;
  const modeNum = opts.mode ?? o.defaultMode;
  const mode = modeNum !== undefined ? modeNum.toString(8).padStart(4, '0') : undefined;
  const bytes = Buffer.from(data);
  const write =
    mode !== undefined
      ? // umask first so the bytes are never readable by others before chmod
        sh`umask 077 && cat > ${tmp} && chmod ${mode} -- ${tmp}`
      : sh`cat > ${tmp}`;
  // cat ends the same way whether all of stdin came or the connection broke: the byte count tells,
  // so a cut-short upload is never renamed into place. `--` keeps a path like `--help` an operand.
  const complete = sh`{ test "$(wc -c < ${tmp})" -eq ${bytes.length} || { printf 'only part of the %s bytes arrived\n' ${bytes.length} >&2; false; }; }`;
  // mv would move the file INTO a directory (or a link to one) at path instead of replacing it.
  const notDir = sh`{ test ! -d ${path} || { printf '%s is a directory\n' ${path} >&2; false; }; }`;
  const cleanup = sh`rm -f -- ${tmp}`;
  // The trap removes the temp file when the shell is stopped by a signal (a channel closed, a timeout).
  const r = await t.run(
    sh`trap ${asArgument(sh`${cleanup}; exit 129`)} HUP INT TERM PIPE; ${write} && ${complete} && ${notDir} && mv -f -- ${tmp} ${path} || { ${cleanup}; exit 1; }`,
    { stdin: bytes, become: opts.become ?? false },
  );
  if (r.exitCode !== 0) throw failure(what, t, path, r);
}

/** Reads a whole file through `t`'s shell; null when it does not exist. */
export async function getViaShell(t: Runner, path: string, opts: { become?: BecomeOptions | false } = {}, label?: string): Promise<Buffer | null> {
  const r = await t.run(sh`test -e ${path} || exit ${GET_MISSING_EXIT}; exec cat -- ${path}`, { binary: true, become: opts.become ?? false });
  if (r.exitCode === GET_MISSING_EXIT) return null;
  if (r.exitCode !== 0) throw failure(`get ${path}${label ? ` ${label}` : ''}`, t, path, r);
  return r.stdoutBuffer ?? Buffer.alloc(0);
}
