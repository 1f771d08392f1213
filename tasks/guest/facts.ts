// Read-only facts about a guest root that several conversion modules need.
import { sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext, ToolOutput } from '../../runner/module.js';
import { getCommand, getOutcome } from '../../runner/transport/files.js';
import { GUEST_PATH_REFUSED, refusalReason, resolveInRoot } from '../../runner/transport/guest-path.js';
import { chrootContext } from './chroot-session.js';
import { detectGuestOs, type GuestOs } from './os-family.js';

/** The host command that tells whether root is a mounted guest (an executable /bin/sh, resolved inside it); openGuestRoot runs it, a batch may. */
export function guestRootCommand(root: string): Command {
  if (!root.startsWith('/') || root.replace(/\/+$/, '') === '') throw new TaskFailedError(`root must be an absolute path other than /, got ${JSON.stringify(root)}`);
  // /bin/sh as the chroot will see it: merged-/usr guests have bin -> usr/bin, a hostile one bin -> /bin
  return sh`test -d ${root} || exit 1
${resolveInRoot(root, '/bin/sh', true)}ferry_cd "$ferry_dir" && [ -n "$ferry_root" ] && [ -f "./$ferry_base" ] && [ -x "./$ferry_base" ]`;
}

/** Refuses a root guestRootCommand found not to be a mounted guest; returns the chroot context. */
export function guestRootFrom(ctx: TaskContext, root: string, r: Pick<ToolOutput, 'exitCode' | 'stderr'>): TaskContext {
  if (r.exitCode === GUEST_PATH_REFUSED) throw new TaskFailedError(`${root} on ${ctx.host}: ${refusalReason(r.stderr)}`);
  if (r.exitCode !== 0) {
    throw new TaskFailedError(`${root} on ${ctx.host} is not a guest root (no executable /bin/sh in it); is the guest filesystem mounted there?`);
  }
  return chrootContext(ctx, root);
}

/** Refuses a root that is not a mounted guest (no /bin/sh to chroot into); returns the chroot context. */
export async function openGuestRoot(ctx: TaskContext, root: string): Promise<TaskContext> {
  return guestRootFrom(ctx, root, await ctx.run(guestRootCommand(root)));
}

/** The guest's distribution from its /etc/os-release, else /usr/lib/os-release (null: the file is missing). */
export function guestOsFrom(etc: Buffer | null, usr: Buffer | null): GuestOs {
  const text = etc ?? usr;
  if (!text) throw new TaskFailedError('the guest has no /etc/os-release (nor /usr/lib/os-release); cannot tell its distribution');
  try {
    return detectGuestOs(text.toString('utf8'));
  } catch (e) {
    throw new TaskFailedError((e as Error).message);
  }
}

/** The guest's distribution, from its /etc/os-release (a link to ../usr/lib/os-release is followed inside the guest root). */
export async function readGuestOs(g: TaskContext): Promise<GuestOs> {
  const etc = await g.transport.get('/etc/os-release', { become: g.become });
  return guestOsFrom(etc, etc ?? (await g.transport.get('/usr/lib/os-release', { become: g.become })));
}

/** A guest text file, or undefined when it does not exist. */
export async function readGuestText(g: TaskContext, path: string): Promise<string | undefined> {
  const b = await g.transport.get(path, { become: g.become });
  return b === null ? undefined : b.toString('utf8');
}

/**
 * Guest files read in a batch (runner/batch-read.ts) with the chroot transport's rule: each path resolved
 * inside root by the host's shell, never following a guest link out of it, and only a regular file read.
 * `command` gives a file's read (`hex` for binary content in the text batch); `from` what it found.
 */
export function guestFileReads(host: string, root: string): {
  command(path: string, output?: 'bytes' | 'hex'): Command;
  from(path: string, r: ToolOutput, output?: 'bytes' | 'hex'): Buffer | null;
} {
  const place = { label: `in chroot ${root}`, guestRoot: root };
  return {
    command: (path, output = 'bytes') => getCommand(path, place, output),
    from: (path, r, output = 'bytes') => getOutcome(host, path, place, r, output === 'hex' ? Buffer.from(r.stdout.replace(/\s+/g, ''), 'hex') : Buffer.from(r.stdout, 'utf8')),
  };
}
