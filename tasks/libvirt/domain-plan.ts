// What virsh_define must do, from the state asked for and what `virsh dominfo` (and the XML
// comparison) found: pure, so every combination is a table row in the unit tests.
import type { Step, Verdict } from '../../runner/module.js';
import { describeDifferences, type DomainDifference } from './kvm-domain-xml.js';

/** The states virsh_define can bring a domain to. */
export const DOMAIN_STATES = ['defined', 'started', 'autostart', 'shutdown', 'destroyed', 'undefined'] as const;
/** One of DOMAIN_STATES. */
export type DomainState = (typeof DOMAIN_STATES)[number];

/** Whether a state needs the domain's XML (and so memory, disks, ...). */
export function statesWithXml(state: DomainState): boolean {
  return state === 'defined' || state === 'started' || state === 'autostart';
}

/** What `virsh dominfo` says about a domain; exists false when libvirt does not know it. */
export interface DomainFacts {
  exists: boolean;
  /** domstate's words: running, shut off, paused, in shutdown, crashed, pmsuspended, idle. */
  state?: string;
  persistent?: boolean;
  autostart?: boolean;
  uuid?: string;
}

/** Reads `virsh dominfo` output (`Key:   value` lines). */
export function parseDominfo(out: string): DomainFacts {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([^:]+):\s*(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1]!.trim().toLowerCase(), m[2]!);
  }
  const yes = (k: string): boolean | undefined => (kv.has(k) ? /^(yes|enable)$/i.test(kv.get(k)!) : undefined);
  const facts: DomainFacts = { exists: kv.has('name') || kv.has('uuid') };
  if (kv.has('state')) facts.state = kv.get('state');
  const persistent = yes('persistent');
  if (persistent !== undefined) facts.persistent = persistent;
  const autostart = yes('autostart');
  if (autostart !== undefined) facts.autostart = autostart;
  if (kv.has('uuid')) facts.uuid = kv.get('uuid')!.toLowerCase();
  return facts;
}

/** One virsh action, in the order it must run; `refusal` marks it destructive (the engine wants force for it). */
export type DomainAction =
  | { kind: 'define'; why: string }
  | { kind: 'start' }
  | { kind: 'resume' }
  | { kind: 'autostart' }
  | { kind: 'shutdown'; force: boolean }
  | { kind: 'destroy'; refusal?: string }
  | { kind: 'undefine'; refusal: string };

/** What the comparison of the defined XML with the wanted one found (states that manage XML only). */
export interface XmlComparison {
  /** Differences in the settings ferry manages; empty when equal. Absent when there is no persistent definition. */
  differences?: DomainDifference[];
  wantedUuid?: string;
}

/** Decides the virsh actions for `state` given the facts, as steps (stepFor); never touches a host. */
export function planDomain(
  name: string,
  state: DomainState,
  facts: DomainFacts,
  opts: { force: boolean; xml?: XmlComparison },
  stepFor: (a: DomainAction) => Step,
): Verdict {
  const running = facts.exists && facts.state !== 'shut off';
  if (statesWithXml(state)) {
    const actions: DomainAction[] = [];
    const reasons: string[] = [];
    const wantedUuid = opts.xml?.wantedUuid;
    if (facts.exists && wantedUuid !== undefined && facts.uuid !== undefined && facts.uuid !== wantedUuid) {
      return {
        refused:
          `domain ${name} exists with UUID ${facts.uuid}, not ${wantedUuid}; libvirt cannot change a domain's UUID. ` +
          `Undefine it first (state: undefined, force: true) or leave uuid out`,
      };
    }
    if (!facts.exists) actions.push({ kind: 'define', why: 'not defined' });
    else if (!facts.persistent) actions.push({ kind: 'define', why: 'only a transient (running, undefined) domain exists' });
    else {
      const d = opts.xml?.differences ?? [];
      if (d.length > 0) {
        const note = running ? ' (the running domain picks it up at its next start)' : '';
        actions.push({ kind: 'define', why: `${describeDifferences(d)}${note}` });
      } else reasons.push('defined with the same settings');
    }
    if (state === 'started') {
      if (facts.state === 'paused') actions.push({ kind: 'resume' });
      else if (!running) actions.push({ kind: 'start' });
      else reasons.push(`already ${facts.state}`);
    }
    if (state === 'autostart') {
      if (facts.autostart !== true) actions.push({ kind: 'autostart' });
      else reasons.push('autostart already enabled');
    }
    if (actions.length === 0) return { changed: false, reason: `domain ${name} ${reasons.join(', ')}` };
    return { changed: true, steps: actions.map(stepFor) };
  }
  if (!facts.exists) return { changed: false, reason: `domain ${name} does not exist` };
  switch (state) {
    case 'shutdown':
      if (!running) return { changed: false, reason: `domain ${name} is already shut off` };
      return { changed: true, steps: [stepFor({ kind: 'shutdown', force: opts.force })] };
    case 'destroyed':
      if (!running) return { changed: false, reason: `domain ${name} is already shut off` };
      return { changed: true, steps: [stepFor({ kind: 'destroy' })] };
    case 'undefined': {
      // Destructive: the engine refuses these steps without force (guardDestructive), with this message.
      const refusal =
        `domain ${name} exists (${facts.state ?? 'state unknown'}); undefining it needs force: true ` +
        `(its disks are never deleted${running ? ', and a running domain is destroyed first' : ''})`;
      const actions: DomainAction[] = [];
      if (running) actions.push({ kind: 'destroy', refusal });
      // A transient domain disappears once destroyed: there is no definition left to remove.
      if (facts.persistent !== false) actions.push({ kind: 'undefine', refusal });
      return { changed: true, steps: actions.map(stepFor) };
    }
  }
  // statesWithXml covered the rest; kept for the compiler's exhaustiveness check.
  return { refused: `unknown state ${String(state)}` };
}
