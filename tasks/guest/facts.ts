// Read-only facts about a guest root that several conversion modules need.
import { sh } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { chrootContext } from './chroot-session.js';
import { detectGuestOs, type GuestOs } from './os-family.js';

/** Refuses a root that is not a mounted guest (no /bin/sh to chroot into); returns the chroot context. */
export async function openGuestRoot(ctx: TaskContext, root: string): Promise<TaskContext> {
  if (!root.startsWith('/') || root.replace(/\/+$/, '') === '') throw new TaskFailedError(`root must be an absolute path other than /, got ${JSON.stringify(root)}`);
  const r = await ctx.run(sh`test -d ${root} && test -x ${root}/bin/sh`);
  if (r.exitCode !== 0) {
    throw new TaskFailedError(`${root} on ${ctx.host} is not a guest root (no executable /bin/sh in it); is the guest filesystem mounted there?`);
  }
  return chrootContext(ctx, root);
}

/** The guest's distribution, from its /etc/os-release (read inside the chroot, so a symlink to /usr/lib/os-release resolves in the guest). */
export async function readGuestOs(g: TaskContext): Promise<GuestOs> {
  const text = (await g.transport.get('/etc/os-release', { become: g.become })) ?? (await g.transport.get('/usr/lib/os-release', { become: g.become }));
  if (!text) throw new TaskFailedError('the guest has no /etc/os-release (nor /usr/lib/os-release); cannot tell its distribution');
  try {
    return detectGuestOs(text.toString('utf8'));
  } catch (e) {
    throw new TaskFailedError((e as Error).message);
  }
}

/** A guest text file, or undefined when it does not exist. */
export async function readGuestText(g: TaskContext, path: string): Promise<string | undefined> {
  const b = await g.transport.get(path, { become: g.become });
  return b === null ? undefined : b.toString('utf8');
}
