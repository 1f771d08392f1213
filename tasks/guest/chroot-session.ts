// Working inside a guest root from the host: a TaskContext whose commands run in the chroot, and
// a scoped session that prepares the root for package work (API filesystems bound, no daemons
// started by maintainer scripts, a working resolv.conf) and ALWAYS undoes that in reverse order,
// also when the work failed.
import { sh } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { chrootCommand, wrapChroot } from '../../runner/transport/chroot.js';
import type { RunOptions } from '../../runner/transport/types.js';
import { describeFailure } from '../../runner/task-context.js';
import { withChrootMounts } from '../chroot-mounts.js';

/** A context whose run/runOk/transport act inside `root`; commands still go through the host context (logging, become). */
export function chrootContext(ctx: TaskContext, root: string): TaskContext {
  const transport = wrapChroot(ctx.transport, root);
  const inner = (opts: RunOptions): RunOptions => ({ ...opts, env: undefined, cwd: undefined });
  const g: TaskContext = {
    ...ctx,
    transport,
    run: (cmd, opts = {}) => ctx.run(chrootCommand(root, cmd, opts), inner(opts)),
    runOk: async (cmd, opts = {}) => {
      const r = await g.run(cmd, opts);
      if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r), { command: r.command, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
      return r;
    },
  };
  return g;
}

/** How a session prepares the guest root. */
export interface ChrootSetup {
  /** Bind /dev, /dev/pts, /proc, /sys, /run (the chroot_mounts helper). */
  mounts: boolean;
  /** Debian family (the guest has invoke-rc.d): a policy-rc.d that forbids starting services. */
  policyRcD: boolean;
  /** copy: the host's resolv.conf during the work; none: no resolv.conf during the work; keep: the guest's as it is. */
  resolvConf: 'copy' | 'keep' | 'none';
}

/** What was changed in the guest, to be undone. */
export interface Undo {
  title: string;
  run(): Promise<void>;
}

const POLICY = '/usr/sbin/policy-rc.d';
const RESOLV = '/etc/resolv.conf';
/** Suffix of a guest file moved aside for the session; its presence before a session means an earlier one was interrupted. */
export const SAVED_SUFFIX = '.ferry-saved';
/** policy-rc.d(8): exit 101 = "action forbidden", so invoke-rc.d starts nothing. */
export const POLICY_RC_D = '#!/bin/sh\n# Written by ferry for the duration of a chroot session: start no services.\nexit 101\n';

async function exists(g: TaskContext, path: string): Promise<boolean> {
  // -L too: a dangling symlink (resolv.conf -> ../run/...) is still a file to move aside
  return (await g.run(sh`test -e ${path} || test -L ${path}`)).exitCode === 0;
}

/** Moves a guest file aside (a symlink is moved as a link) and returns its undo; refuses a leftover from an interrupted session. */
export async function moveAside(g: TaskContext, path: string): Promise<Undo> {
  const saved = path + SAVED_SUFFIX;
  if (await exists(g, saved)) {
    throw new TaskFailedError(
      `${saved} exists in the guest: an earlier chroot session was interrupted before it restored ${path}; ` +
        `check it and move it back (mv ${saved} ${path}) or delete it, then run again`,
    );
  }
  if (!(await exists(g, path))) return { title: `remove ${path}`, run: async () => void (await g.runOk(sh`rm -f ${path}`)) };
  await g.runOk(sh`mv -f ${path} ${saved}`);
  return { title: `restore ${path}`, run: async () => void (await g.runOk(sh`rm -f ${path} && mv -f ${saved} ${path}`)) };
}

/** Sets up the guest as asked, in this order: mounts, policy-rc.d, resolv.conf; returns the undos (run them in reverse). */
async function prepare(ctx: TaskContext, g: TaskContext, setup: ChrootSetup, undos: Undo[]): Promise<void> {
  if (setup.policyRcD && (await exists(g, '/usr/sbin/invoke-rc.d'))) {
    undos.push(await moveAside(g, POLICY));
    await g.transport.put(POLICY, POLICY_RC_D, { mode: 0o755, become: ctx.become });
  }
  if (setup.resolvConf !== 'keep') {
    const host = setup.resolvConf === 'copy' ? await ctx.transport.get(RESOLV, { become: ctx.become }) : null;
    if (setup.resolvConf === 'copy' && host === null) throw new TaskFailedError(`resolv_conf: copy, but the host ${ctx.host} has no ${RESOLV}`);
    undos.push(await moveAside(g, RESOLV));
    if (host) await g.transport.put(RESOLV, host, { mode: 0o644, become: ctx.become });
  }
}

/**
 * Runs `fn` with a context inside `root`, after preparing the root as `setup` says; every change is
 * undone in reverse order afterwards, also when preparing or `fn` failed (fn's error is the one thrown).
 */
export async function withGuestChroot<T>(ctx: TaskContext, root: string, setup: ChrootSetup, fn: (g: TaskContext) => Promise<T>): Promise<T> {
  const g = chrootContext(ctx, root);
  const session = async (): Promise<T> => {
    const undos: Undo[] = [];
    let result: T;
    try {
      await prepare(ctx, g, setup, undos);
      result = await fn(g);
    } catch (e) {
      await undoAll(undos).catch(() => undefined); // the work's error is the one to report
      throw e;
    }
    await undoAll(undos);
    return result;
  };
  return setup.mounts ? withChrootMounts(ctx, root, session) : session();
}

async function undoAll(undos: Undo[]): Promise<void> {
  const failures: string[] = [];
  for (const u of [...undos].reverse()) {
    try {
      await u.run();
    } catch (e) {
      failures.push(`${u.title}: ${(e as Error).message}`);
    }
  }
  if (failures.length) throw new TaskFailedError(`could not undo the chroot session: ${failures.join('; ')}`);
}
