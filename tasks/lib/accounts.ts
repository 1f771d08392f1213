// Users and groups as getent prints them (passwd(5), group(5), shadow(5)): pure parsers that the
// group and user modules' facts are made of, and the one read of a database entry.
import { sh, type Command } from '../../runner/command.js';
import type { TaskContext, ToolOutput } from '../../runner/module.js';

/** One /etc/group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** One /etc/passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}

/** One /etc/shadow entry (the fields the user module compares). */
export interface ShadowEntry {
  name: string;
  hash: string;
  /** Days since 1970-01-01 the account expires, or undefined for never. */
  expireDays?: number;
}

/** The fields of the entry named `name` in what `getent DB NAME` printed, or null when it found none (exit 2). */
function entryFields(out: ToolOutput, name: string, db: string, count: number): string[] | null {
  if (out.exitCode === 2) return null;
  if (out.exitCode !== 0) throw new Error(`getent ${db} ${name} failed (exit ${out.exitCode}): ${out.stderr.trim()}`);
  for (const line of out.stdout.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= count) return f;
  }
  return null;
}

function groupFrom(f: string[]): GroupEntry {
  return { name: f[0]!, gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] };
}

/** The group entry in `getent group NAME` output (null when there is none). */
export function parseGroupEntry(out: ToolOutput, name: string): GroupEntry | null {
  const f = entryFields(out, name, 'group', 4);
  return f ? groupFrom(f) : null;
}

/** Every group entry in `getent group KEY...` output (the keys it found; it prints none for the others). */
export function parseGroupEntries(stdout: string): GroupEntry[] {
  return stdout.split('\n').flatMap((l) => {
    const f = l.split(':');
    return f.length >= 4 ? [groupFrom(f)] : [];
  });
}

/** The name of the entry whose id (the third field: UID or GID) is `id` in `getent passwd|group ID` output. */
export function idOwner(out: ToolOutput, id: number): string | undefined {
  return out.stdout.split('\n').find((l) => l.split(':')[2] === String(id))?.split(':')[0];
}

/** The passwd entry in `getent passwd NAME` output (null when there is none). */
export function parsePasswdEntry(out: ToolOutput, name: string): PasswdEntry | null {
  const f = entryFields(out, name, 'passwd', 7);
  return f ? { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), comment: f[4]!, home: f[5]!, shell: f[6]! } : null;
}

/** The shadow entry in `getent shadow NAME` output (null when there is none). */
export function parseShadowEntry(out: ToolOutput, name: string): ShadowEntry | null {
  const f = entryFields(out, name, 'shadow', 8);
  return f ? { name: f[0]!, hash: f[1]!, ...(f[7] ? { expireDays: Number(f[7]) } : {}) } : null;
}

/** `getent [-s files] DB KEY` (files only when `local`); exit 2 (not found) is an answer, not a failure. */
export function getentCommand(db: 'group' | 'passwd' | 'shadow', key: string, local = false): Command {
  const service = local ? ['-s', 'files'] : [];
  return sh`getent ${service} ${db} -- ${key}`;
}

/** Runs getentCommand(db, key, local). */
export function getent(ctx: TaskContext, db: 'group' | 'passwd' | 'shadow', key: string, local = false): Promise<ToolOutput> {
  return ctx.run(getentCommand(db, key, local));
}
