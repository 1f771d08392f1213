// What a run keeps of each host as it goes: failed, unreachable or ended, its registered values,
// the handlers it notified, its gathered facts.

type Obj = Record<string, unknown>;

/** One host's state in a run. */
export interface HostState {
  name: string;
  failed: boolean;
  unreachable: boolean;
  ended: boolean;
  registered: Obj;
  notified: Set<string>;
  /** The variables gathering facts gave (ferry_facts, ansible_facts, ansible_*): made once, read by every task. */
  facts?: Obj;
  /** In check mode: an earlier task would have changed something on this host. */
  wouldChange: boolean;
}
