// Mode and ownership: the comparison against what probePath found, and the chmod/chown
// steps that close the gap. Shared by copy, template and file.
import { sh } from '../../runner/command.js';
import type { Diff, Step } from '../../runner/module.js';
import { applyModeSpec, formatMode, parseModeSpec } from './mode.js';
import type { PresentPath } from './path-state.js';

/** The attributes a task asks for; absent fields are left as they are. */
export interface WantedAttributes {
  mode?: string | number;
  owner?: string;
  group?: string;
}

/** One attribute that differs, for the plan's diff. */
export interface AttributeChange {
  what: 'mode' | 'owner' | 'group';
  before: string;
  after: string;
}

/** What planAttributes found to do: the steps and each difference (for the plan's diff). */
export interface AttributePlan {
  steps: Step[];
  changes: AttributeChange[];
  /** The mode the path will have, when one was asked for. */
  mode?: number;
}

/** Whether `want` (a name or a numeric id) names the same principal as the probe's name/id. */
export function samePrincipal(want: string, name: string, id: number): boolean {
  return /^\d+$/.test(want) ? Number(want) === id : want === name;
}

/**
 * Steps that give `path` the wanted mode/owner/group. `current` is what is there now, or undefined
 * when an earlier step creates the path (then ownership is set whenever asked, mode only when
 * `createdMode` differs from it).
 */
export function planAttributes(
  path: string,
  current: PresentPath | undefined,
  want: WantedAttributes,
  opts: { isDirectory: boolean; createdMode?: number; isLink?: boolean },
): AttributePlan {
  const steps: Step[] = [];
  const changes: AttributeChange[] = [];
  const isLink = opts.isLink ?? current?.type === 'link';
  let mode: number | undefined;
  if (want.mode !== undefined && !isLink) {
    const base = current?.mode ?? opts.createdMode ?? (opts.isDirectory ? 0o755 : 0o644);
    mode = applyModeSpec(parseModeSpec(want.mode), base, opts.isDirectory);
    const have = current?.mode ?? opts.createdMode;
    if (have !== mode) {
      // GNU chmod keeps a directory's setuid/setgid bits on a 4-digit mode; 5 digits say "exactly this".
      const m = opts.isDirectory ? '0' + formatMode(mode) : formatMode(mode);
      changes.push({ what: 'mode', before: have === undefined ? '(new)' : formatMode(have), after: formatMode(mode) });
      steps.push({ title: `chmod ${formatMode(mode)} ${path}`, cmd: sh`chmod ${m} -- ${path}` });
    }
  }
  const ownerDiffers = want.owner !== undefined && (!current || !samePrincipal(want.owner, current.owner, current.uid));
  const groupDiffers = want.group !== undefined && (!current || !samePrincipal(want.group, current.group, current.gid));
  if (ownerDiffers || groupDiffers) {
    const spec = ownerDiffers ? (groupDiffers ? `${want.owner}:${want.group}` : want.owner!) : `:${want.group}`;
    if (ownerDiffers) changes.push({ what: 'owner', before: current ? current.owner : '(new)', after: want.owner! });
    if (groupDiffers) changes.push({ what: 'group', before: current ? current.group : '(new)', after: want.group! });
    // -h: a link's own ownership, never its target's.
    steps.push({ title: `chown ${spec} ${path}`, cmd: isLink ? sh`chown -h -- ${spec} ${path}` : sh`chown -- ${spec} ${path}` });
  }
  return { steps, changes, mode };
}

/** The attribute changes as a before/after pair for --diff. */
export function attributeDiff(path: string, changes: AttributeChange[]): Diff[] {
  if (changes.length === 0) return [];
  return [
    {
      path,
      before: changes.map((c) => `${c.what}: ${c.before}\n`).join(''),
      after: changes.map((c) => `${c.what}: ${c.after}\n`).join(''),
    },
  ];
}
