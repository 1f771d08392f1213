// The API filesystems a chroot needs (/dev, /dev/pts, /proc, /sys, /run) bind-mounted into a root:
// reading what is bound, checking the targets, mounting and unmounting, and a scoped helper (always
// unmounted afterwards). The `chroot_mounts` module (tasks/chroot-mounts.ts) decides with these.
//
// The root is a guest, i.e. untrusted: a guest `run -> /tmp/x` or `sys -> /etc` must not make the
// host bind its /run over /tmp/x or its /sys over /etc. So a bind target is used only when every
// component below the root is a real directory (a symlink is refused with the reason), checked and
// mounted in one host shell that pins the directory with `cd -P` + `pwd -P` and mounts onto "."
// (mount -c: no re-resolution of the path), then each bind is made a slave so that what a package
// script mounts inside (binfmt_misc under /proc) never propagates back onto the host. What is mounted
// is read from /proc/self/mountinfo by real mount point, never through the guest's links.
import { raw, sh, type Command } from '../../runner/command.js';
import { TaskFailedError } from '../../runner/errors.js';
import type { TaskContext, ToolOutput } from '../../runner/module.js';
import { GUEST_PATH_REFUSED, refusalReason } from '../../runner/transport/guest-path.js';
import { runBatch } from '../lib/run-command.js';
import { MOUNTINFO_COMMAND, mountsFrom, readMounts } from '../storage/facts.js';
import { findMount, mountsUnder, type MountEntry } from '../storage/mountinfo.js';

/** The host directories bound into a chroot, in mount order (/dev before /dev/pts). */
export const CHROOT_BINDS = ['/dev', '/dev/pts', '/proc', '/sys', '/run'] as const;

/** The mounts of a root's chroot binds: the binds still missing and everything mounted at or below a bind target. */
export interface ChrootBindState {
  /** Binds not mounted yet (host dirs, in mount order). */
  missing: string[];
  /** Every mount at or below ROOT/dev, /proc, /sys, /run, deepest first (the order to unmount them in). */
  mounted: MountEntry[];
}

/** Which chroot binds are missing under the canonical `root`, and what is mounted below its bind targets. */
export function chrootBindState(root: string, mounts: MountEntry[]): ChrootBindState {
  return { missing: CHROOT_BINDS.filter((d) => !findMount(mounts, root + d)), mounted: mountsBelow(root, CHROOT_BINDS, mounts) };
}

/** Every mount at or below ROOT+dir for the given dirs, deepest first, each mount once. */
function mountsBelow(root: string, dirs: readonly string[], mounts: MountEntry[]): MountEntry[] {
  const found = new Map<number, MountEntry>();
  for (const d of dirs) for (const m of mountsUnder(mounts, root + d)) found.set(m.id, m);
  return [...found.values()].sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.id - a.id);
}

/**
 * The binds whose target must be checked in the guest before mounting: a bind below another missing
 * one (/dev/pts when /dev is missing) lands in the host directory that bind brings, not in the guest's.
 */
export function bindsToCheck(missing: readonly string[]): string[] {
  return missing.filter((d) => !missing.some((o) => o !== d && d.startsWith(`${o}/`)));
}

/** The root as the host's kernel names it (mountinfo lists real paths); refuses / and what is not a directory. */
async function canonicalRoot(ctx: TaskContext, root: string): Promise<string> {
  return canonicalRootFrom(ctx, root, await ctx.run(canonicalRootCommand(root)));
}

/** The command canonicalRoot runs, for a caller that batches it. */
export const canonicalRootCommand = (root: string): Command => sh`cd -P -- ${root} && pwd -P`;

/** The canonical root from what canonicalRootCommand printed, or why it cannot be a chroot root (/, not a directory); pure. */
export function canonicalRootOf(host: string, root: string, r: ToolOutput): { real: string } | { refused: string } {
  const real = r.stdout.trim();
  if (r.exitCode !== 0 || !real.startsWith('/')) return { refused: `chroot root ${root} is not a directory on ${host}` };
  if (real === '/') return { refused: `chroot root ${root} is / (the host itself)${real !== root ? ` once its symlinks are resolved` : ''}` };
  return { real };
}

/** The canonical root from what canonicalRootCommand printed; refuses (throws) / and what is not a directory. */
export function canonicalRootFrom(ctx: Pick<TaskContext, 'host'>, root: string, r: ToolOutput): string {
  const c = canonicalRootOf(ctx.host, root, r);
  if ('refused' in c) throw new TaskFailedError(c.refused);
  return c.real;
}

/**
 * The host shell that checks (and with `mount`, creates and bind-mounts) each bind target under the
 * canonical root: every component below the root must be a directory or missing, never a symlink.
 * `resolve`: root is not canonical yet, the script resolves it itself (for a batch read before the root is known).
 */
export function bindScript(root: string, dirs: readonly string[], mode: 'check' | 'mount', resolve = false): Command {
  const mount = mode === 'mount' ? 1 : 0;
  return sh`${raw(`ferry_refuse() { printf 'ferry: %s\\n' "$*" >&2; exit ${GUEST_PATH_REFUSED}; }`)}
${resolve ? sh`r=$(cd -P -- ${root} && pwd -P) || exit 1` : sh`r=${root}`}
for d in ${[...dirs]}; do
  p=$r rest=\${d#/}
  while [ -n "$rest" ]; do
    c=\${rest%%/*}
    case $rest in */*) rest=\${rest#*/} ;; *) rest= ;; esac
    p=$p/$c
    if [ -L "$p" ]; then
      ferry_refuse "$p is a symbolic link in the guest (-> $(readlink -- "$p")): ferry binds the host's $d only onto a real directory inside the root, never through a guest's link; make \${p#"$r"} a directory in the guest, or run without the chroot binds"
    elif [ -e "$p" ]; then
      [ -d "$p" ] || ferry_refuse "$p is not a directory in the guest: cannot bind the host's $d there"
    elif [ ${mount} = 1 ]; then
      mkdir -- "$p" || exit 1
    fi
  done
  [ ${mount} = 1 ] || continue
  t=$r$d
  cd -P -- "$t" && [ "$(pwd -P)" = "$t" ] || ferry_refuse "$t changed while ferry checked it; not mounting there"
  mount -c --bind "$d" . || exit 1
  cd -P -- "$t" && [ "$(pwd -P)" = "$t" ] && mount -c --make-slave . || exit 1
done`;
}

/** The script's own reason when it refused a target, else its failure. */
function refusalText(r: Pick<ToolOutput, 'exitCode' | 'stderr'>, what: string): string {
  return r.exitCode === GUEST_PATH_REFUSED ? `${what}: ${refusalReason(r.stderr)}` : `${what} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`;
}

/** Fails with the script's own reason when it refused a target. */
function refusal(r: Pick<ToolOutput, 'exitCode' | 'stderr'>, what: string): TaskFailedError {
  return new TaskFailedError(refusalText(r, what));
}

/**
 * The read-only check of the missing binds' targets under the canonical root, for a caller that batches it:
 * its command, and `verdict`, which refuses (throws) what the command found. Undefined when nothing needs checking.
 */
export function bindTargetsCheck(root: string, missing: readonly string[]): { cmd: Command; verdict(r: Pick<ToolOutput, 'exitCode' | 'stderr'>): void } | undefined {
  const dirs = bindsToCheck(missing);
  if (!dirs.length) return undefined;
  return {
    cmd: bindScript(root, dirs, 'check'),
    verdict: (r) => {
      const refused = bindTargetsRefusal(root, missing, r);
      if (refused) throw new TaskFailedError(refused);
    },
  };
}

/** What the check of the missing binds' targets refuses (a guest symlink, not a directory), from what it printed; pure. */
export function bindTargetsRefusal(root: string, missing: readonly string[], r: Pick<ToolOutput, 'exitCode' | 'stderr'>): string | undefined {
  return r.exitCode === 0 ? undefined : refusalText(r, `cannot bind ${bindsToCheck(missing).join(', ')} into ${root}`);
}

/** What a chroot's binds look like on the host: the root as its kernel names it, the mounts, and the check of the missing binds' targets. */
export interface ChrootBindFacts {
  host: string;
  /** What canonicalRootCommand printed. */
  realRoot: ToolOutput;
  /** /proc/self/mountinfo, parsed. */
  mounts: MountEntry[];
  /** What the read-only check of the missing binds' targets printed (absent: nothing to check). */
  targets?: ToolOutput;
}

/** The batch record of one bind target's check (target-dev, target-dev-pts, ...). */
const targetRecord = (dir: string): string => `target${dir.replace(/\//g, '-')}`;

/**
 * Reads the facts of root's chroot binds in one round trip (read-only: nothing is mounted or created):
 * the canonical root, mountinfo, and each bind target checked on its own, of which the missing binds'
 * checks count, in order, as one check of them all would (it stops at the first refusal).
 */
export async function readChrootBinds(ctx: TaskContext, root: string): Promise<ChrootBindFacts> {
  const r = await runBatch<string>(ctx, {
    realRoot: canonicalRootCommand(root),
    mountinfo: MOUNTINFO_COMMAND,
    ...Object.fromEntries(CHROOT_BINDS.map((d) => [targetRecord(d), bindScript(root, [d], 'check', true)])),
  });
  const f: ChrootBindFacts = { host: ctx.host, realRoot: r.realRoot!, mounts: [] };
  const c = canonicalRootOf(ctx.host, root, f.realRoot);
  if ('refused' in c) return f;
  f.mounts = mountsFrom(r.mountinfo!);
  const checks = bindsToCheck(chrootBindState(c.real, f.mounts).missing).map((d) => r[targetRecord(d)]!);
  if (checks.length) f.targets = checks.find((t) => t.exitCode !== 0) ?? { exitCode: 0, stdout: '', stderr: '' };
  return f;
}

/** Why the missing chroot binds of root could not be mounted (the root itself, a target that is a guest symlink or not a directory), or undefined; pure. */
export function chrootBindsRefusal(root: string, f: ChrootBindFacts): string | undefined {
  const c = canonicalRootOf(f.host, root, f.realRoot);
  if ('refused' in c) return c.refused;
  return f.targets && bindTargetsRefusal(c.real, chrootBindState(c.real, f.mounts).missing, f.targets);
}

/** Mounts the missing binds and verifies in mountinfo that each landed on its target; undoes them on any failure. */
export async function mountBinds(ctx: TaskContext, root: string, missing: readonly string[]): Promise<string[]> {
  const r = await ctx.run(bindScript(root, missing, 'mount'));
  const mounts = await readMounts(ctx);
  const absent = missing.filter((d) => !findMount(mounts, root + d));
  if (r.exitCode === 0 && !absent.length) return [...missing];
  await unmountMounts(ctx, mountsBelow(root, missing, mounts)).catch(() => undefined); // the mount's own failure is the one to report
  if (r.exitCode !== 0) throw refusal(r, `cannot bind ${missing.join(', ')} into ${root}`);
  throw new TaskFailedError(`after binding into ${root}, /proc/self/mountinfo shows nothing on ${absent.map((d) => root + d).join(', ')}; undone`);
}

/**
 * The host shell that unmounts the given mounts in order (deepest first), each by its real mount point
 * from mountinfo, only while that path still reaches it without a symlink.
 */
export function unmountScript(mounts: MountEntry[]): Command {
  return sh`rc=0
for t in ${mounts.map((m) => m.mountPoint)}; do
  if [ "$(cd -P -- "$t" 2>/dev/null && pwd -P)" != "$t" ]; then
    printf 'ferry: %s\\n' "$t no longer names that mount without a symlink; not unmounting through it" >&2; rc=1; continue
  fi
  umount -c -- "$t" || rc=1
done
exit $rc`;
}

/** Unmounts the given mounts (unmountScript); fails with what the script said. */
export async function unmountMounts(ctx: TaskContext, mounts: MountEntry[]): Promise<void> {
  if (!mounts.length) return;
  const r = await ctx.run(unmountScript(mounts));
  if (r.exitCode !== 0) throw new TaskFailedError(`could not unmount chroot binds: ${r.stderr.trim().replace(/^ferry: /gm, '')}`);
}

/** Refuses (throws, read-only) the missing binds whose target in the guest is a symlink or not a directory. */
async function checkTargets(ctx: TaskContext, root: string, missing: readonly string[]): Promise<void> {
  const check = bindTargetsCheck(root, missing);
  if (check) check.verdict(await ctx.run(check.cmd));
}

/**
 * Runs `fn` with /dev, /dev/pts, /proc, /sys and /run bound into root, then unmounts what it mounted
 * (and whatever was mounted below it meanwhile), deepest first, also when fn throws; binds already
 * mounted before are left alone.
 */
export async function withChrootMounts<T>(ctx: TaskContext, root: string, fn: () => Promise<T>): Promise<T> {
  const real = await canonicalRoot(ctx, root);
  const { missing } = chrootBindState(real, await readMounts(ctx));
  await checkTargets(ctx, real, missing);
  const mounted = await mountBinds(ctx, real, missing);
  const undo = async (): Promise<void> => unmountMounts(ctx, mountsBelow(real, mounted, await readMounts(ctx)));
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await undo().catch(() => undefined); // the callback's error is the one to report
    throw e;
  }
  await undo();
  return result;
}
