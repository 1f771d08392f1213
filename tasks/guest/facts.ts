// Read-only facts about a guest root that several conversion modules need.
import { sh } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { GUEST_PATH_REFUSED, refusalReason, resolveInRoot } from '../../runner/transport/guest-path.js';
import { chrootContext } from './chroot-session.js';
import { detectGuestOs, type GuestOs } from './os-family.js';

/** Refuses a root that is not a mounted guest (no /bin/sh to chroot into); returns the chroot context. */
export async function openGuestRoot(ctx: TaskContext, root: string): Promise<TaskContext> {
  if (!root.startsWith('/') || root.replace(/\/+$/, '') === '') throw new TaskFailedError(`root must be an absolute path other than /, got ${JSON.stringify(root)}`);
  // /bin/sh as the chroot will see it: merged-/usr guests have bin -> usr/bin, a hostile one bin -> /bin
  const r = await ctx.run(sh`test -d ${root} || exit 1
${resolveInRoot(root, '/bin/sh', true)}ferry_cd "$ferry_dir" && [ -n "$ferry_root" ] && [ -f "./$ferry_base" ] && [ -x "./$ferry_base" ]`);
  if (r.exitCode === GUEST_PATH_REFUSED) throw new TaskFailedError(`${root} on ${ctx.host}: ${refusalReason(r.stderr)}`);
  if (r.exitCode !== 0) {
    throw new TaskFailedError(`${root} on ${ctx.host} is not a guest root (no executable /bin/sh in it); is the guest filesystem mounted there?`);
  }
  return chrootContext(ctx, root);
}

/** The guest's distribution, from its /etc/os-release (a link to ../usr/lib/os-release is followed inside the guest root). */
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
