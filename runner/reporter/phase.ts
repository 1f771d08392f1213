// Phases in the live view: a front end names some tags as phases (ferry migrate: preflight, copy,
// convert, define, boot) and the human reporters show each host's current one, taken from the tags of
// the task it is running. Nothing here knows what the phases mean; pure, so it is table-tested.
import type { FerryEvent } from '../events.js';

type TaskStart = Extract<FerryEvent, { type: 'task_start' }>;

/** The first of `phases` among a task's tags, or undefined when it has none of them. */
export function phaseOf<P extends string>(tags: readonly string[] | undefined, phases: readonly P[]): P | undefined {
  return phases.find((p) => tags?.includes(p));
}

/** The line a plain reporter prints when a host enters a phase. */
export function formatPhaseLine(host: string, phase: string): string {
  return `${host}: ${phase}`;
}

/** A host's line in the terminal view: its name, and its phase when it is in one (`xr1 · copy`). */
export function hostLabel(host: string, phase: string | undefined): string {
  return phase === undefined ? host : `${host} · ${phase}`;
}

/** Follows each host's phase across task_start events; a task tagged with no phase leaves it as it was. */
export class PhaseTracker {
  private readonly current = new Map<string, string>();

  constructor(private readonly phases: readonly string[]) {}

  /** The hosts of a starting task that enter a new phase with it, in the task's host order. */
  enter(ev: Pick<TaskStart, 'hosts' | 'tags'>): { host: string; phase: string }[] {
    const phase = phaseOf(ev.tags, this.phases);
    if (phase === undefined) return [];
    const entered = ev.hosts.filter((h) => this.current.get(h) !== phase);
    for (const h of entered) this.current.set(h, phase);
    return entered.map((host) => ({ host, phase }));
  }

  /** A host's current phase, if it has entered one. */
  of(host: string): string | undefined {
    return this.current.get(host);
  }
}
