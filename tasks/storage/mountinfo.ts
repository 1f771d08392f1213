// Questions about mounts, asked of /proc/self/mountinfo as runner/facts/mountinfo.ts parses it.
import type { MountEntry } from '../../runner/facts/mountinfo.js';

export { parseMountinfo, unescapeOctal, type MountEntry } from '../../runner/facts/mountinfo.js';

/** The mount that is visible at `path` (the last one mounted there wins, as the kernel shows it). */
export function findMount(mounts: MountEntry[], path: string): MountEntry | undefined {
  const p = normalizeMountPath(path);
  let found: MountEntry | undefined;
  for (const m of mounts) if (m.mountPoint === p) found = m;
  return found;
}

/** Every mount at or below `path`, deepest first (the order to unmount them in). */
export function mountsUnder(mounts: MountEntry[], path: string): MountEntry[] {
  const p = normalizeMountPath(path);
  const prefix = p === '/' ? '/' : `${p}/`;
  return mounts
    .filter((m) => m.mountPoint === p || m.mountPoint.startsWith(prefix))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.id - a.id);
}

/** Strips trailing slashes so "/mnt/x/" and "/mnt/x" name the same mount point. */
export function normalizeMountPath(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}

/** Options asked for that the mount does not have yet (per-mount and superblock options both count). */
export function missingOptions(m: MountEntry, wanted: string[]): string[] {
  const have = new Set([...m.options, ...m.superOptions]);
  return wanted.filter((o) => o !== 'defaults' && o !== 'remount' && !have.has(o));
}
