// Working inside a guest root from the host: a TaskContext whose commands run in the chroot, and
// a scoped session that prepares the root for package work (API filesystems bound, no daemons
// started by maintainer scripts, a working resolv.conf) and ALWAYS undoes that in reverse order,
// also when the work failed.
import { raw, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext } from '../../runner/module.js';
import { chrootCommand, wrapChroot } from '../../runner/transport/chroot.js';
import { GUEST_PATH_REFUSED, refusalReason, resolveInRoot } from '../../runner/transport/guest-path.js';
import type { RunOptions, RunResult } from '../../runner/transport/types.js';
import { describeFailure } from '../../runner/task-context.js';
import { withChrootMounts } from './chroot-binds.js';

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

/**
 * Runs `body` on the host in the directory that holds guest `path` (resolved inside root, its last
 * component not followed: "./$ferry_base" is the file or link itself). Guest tools are not used:
 * with /proc bound, a guest link through /proc/1/root would lead them onto the host's files.
 */
async function atGuestPath(ctx: TaskContext, root: string, path: string, body: Command): Promise<RunResult> {
  const r = await ctx.run(sh`${resolveInRoot(root, path, false)}${body}`);
  if (r.exitCode === GUEST_PATH_REFUSED) throw new TaskFailedError(`${path} in ${root}: ${refusalReason(r.stderr)}`);
  return r;
}

/**
 * Moves a guest file aside (a symlink is moved as a link, never followed) and returns its undo;
 * refuses a leftover from an interrupted session. `ctx` is the host context.
 */
export async function moveAside(ctx: TaskContext, root: string, path: string): Promise<Undo> {
  const saved = path + SAVED_SUFFIX;
  const f = raw('"./$ferry_base"');
  const moved = raw(`"./$ferry_base${SAVED_SUFFIX}"`);
  const r = await atGuestPath(
    ctx,
    root,
    path,
    sh`ferry_cd "$ferry_dir" || { echo absent; exit 0; }
if [ -e ${moved} ] || [ -L ${moved} ]; then echo leftover
elif [ -e ${f} ] || [ -L ${f} ]; then mv -f -- ${f} ${moved} && echo moved
else echo absent; fi`,
  );
  if (r.exitCode !== 0) throw new TaskFailedError(`cannot move ${path} aside in ${root}: ${describeFailure(r)}`);
  const outcome = r.stdout.trim();
  if (outcome === 'leftover') {
    throw new TaskFailedError(
      `${saved} exists in the guest: an earlier chroot session was interrupted before it restored ${path}; ` +
        `check it and move it back (mv ${saved} ${path} in the guest) or delete it, then run again`,
    );
  }
  const undo = (title: string, body: Command): Undo => ({
    title,
    run: async () => {
      const u = await atGuestPath(ctx, root, path, body);
      if (u.exitCode !== 0) throw new TaskFailedError(`${title} in ${root}: ${describeFailure(u)}`);
    },
  });
  if (outcome === 'moved') return undo(`restore ${path}`, sh`ferry_cd "$ferry_dir" && rm -f -- ${f} && mv -f -- ${moved} ${f}`);
  return undo(`remove ${path}`, sh`ferry_cd "$ferry_dir" || exit 0; rm -f -- ${f}`);
}

/** Sets up the guest as asked, in this order: mounts, policy-rc.d, resolv.conf; returns the undos (run them in reverse). */
async function prepare(ctx: TaskContext, g: TaskContext, root: string, setup: ChrootSetup, undos: Undo[]): Promise<void> {
  if (setup.policyRcD && (await g.run(sh`test -e /usr/sbin/invoke-rc.d`)).exitCode === 0) {
    undos.push(await moveAside(ctx, root, POLICY));
    await g.transport.put(POLICY, POLICY_RC_D, { mode: 0o755, become: ctx.become });
  }
  if (setup.resolvConf !== 'keep') {
    const host = setup.resolvConf === 'copy' ? await ctx.transport.get(RESOLV, { become: ctx.become }) : null;
    if (setup.resolvConf === 'copy' && host === null) throw new TaskFailedError(`resolv_conf: copy, but the host ${ctx.host} has no ${RESOLV}`);
    undos.push(await moveAside(ctx, root, RESOLV));
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
      await prepare(ctx, g, root, setup, undos);
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
