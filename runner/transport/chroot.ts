// A transport that runs everything inside a chroot on another transport's host: the command
// text is handed to the guest's own /bin/sh, so globs, redirections, cwd and absolute symlinks
// resolve inside the guest root, never on the host. Files are read and written by the host's own
// tools, on a path resolved inside the root without following a guest link out of it (guest-path.ts):
// no guest binary runs for them, and a link through /proc (/proc/1/root/...) cannot reach the host
// even while the chroot binds are mounted. Become (sudo) stays outside: it is the host that needs
// root to call chroot.
import { asArgument, sh, type Command } from '../command.js';
import { TaskFailedError } from '../errors.js';
import { wrapCommand } from './become.js';
import { getViaShell, putViaShell } from './files.js';
import type { BecomeOptions, PutOptions, RunningCommand, RunOptions, RunResult, Transport } from './types.js';

/** PATH inside the chroot: the host session's PATH may name directories the guest does not have. */
export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The host-side command that runs `cmd` in the guest root: env and cwd are applied inside the
 * chroot (a host cwd would be the wrong directory). LC_ALL=C: the host's locale is rarely
 * installed in the guest, and tools like perl and dpkg complain on every call when it is not.
 */
export function chrootCommand(root: string, cmd: Command, opts: { env?: Record<string, string>; cwd?: string } = {}): Command {
  const inner = wrapCommand(cmd, { env: opts.env, cwd: opts.cwd, become: false }).command;
  return sh`env PATH=${CHROOT_PATH} LC_ALL=C chroot ${root} /bin/sh -c ${asArgument(inner)}`;
}

/** Options for the wrapped transport: env and cwd were moved inside the chroot command. */
function outerOptions<T extends { env?: Record<string, string>; cwd?: string }>(opts: T): Omit<T, 'env' | 'cwd'> {
  const { env: _env, cwd: _cwd, ...rest } = opts;
  return rest;
}

/** Runs commands and file transfers inside `root` on the host of another transport. */
export class ChrootTransport implements Transport {
  constructor(
    readonly inner: Transport,
    readonly root: string,
  ) {
    if (!root.startsWith('/')) throw new TaskFailedError(`chroot root must be an absolute path, got ${JSON.stringify(root)}`);
  }

  get host(): string {
    return this.inner.host;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    return this.inner.run(chrootCommand(this.root, cmd, opts), outerOptions(opts));
  }

  spawn(cmd: Command, opts: Omit<RunOptions, 'stdin' | 'onStdout' | 'onStderr' | 'binary'> = {}): Promise<RunningCommand> {
    return this.inner.spawn(chrootCommand(this.root, cmd, opts), outerOptions(opts));
  }

  /**
   * Writes `path` (a guest path) atomically: its directory is resolved inside the root (a guest
   * symlink, even an absolute one, never leads onto the host's files); a link at the last component is replaced.
   */
  async put(path: string, data: string | Buffer, opts: PutOptions = {}): Promise<void> {
    if (!path.startsWith('/')) {
      throw new TaskFailedError(`put in chroot: ${JSON.stringify(path)} is not an absolute file path`, { host: this.host });
    }
    await putViaShell(this.inner, path, data, opts, { label: `in chroot ${this.root}`, guestRoot: this.root, defaultMode: 0o644 });
  }

  /** Reads a guest file (symlinks resolved inside the root; only a regular file is read); null when it does not exist. */
  get(path: string, opts: { become?: BecomeOptions | false } = {}): Promise<Buffer | null> {
    return getViaShell(this.inner, path, opts, { label: `in chroot ${this.root}`, guestRoot: this.root });
  }

  /** Leaves the wrapped transport open: it belongs to the engine's connection pool, not to the chroot. */
  async close(): Promise<void> {}
}

/** Wraps a host transport so that a task's commands and files go into the chroot `root` (the `chroot:` task keyword). */
export function wrapChroot(transport: Transport, root: string): Transport {
  return new ChrootTransport(transport, root);
}
