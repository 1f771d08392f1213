// Where a host's share of a task waits for its turn: a fork slot (--forks), the task's `throttle`,
// and the resources its `limits` name — one queue each, for the whole run.
import PQueue from 'p-queue';
import { TaskFailedError, formatLoc } from './errors.js';
import { hostCount } from './playbook/load.js';
import type { ResourceLimit, TaskNode } from './playbook/model.js';
import { renderString } from './template.js';

type Obj = Record<string, unknown>;

/** The run's queues: forks, one per throttled task node, one per resource key. */
export class Scheduler {
  private readonly queue: PQueue;
  /** `throttle`: one limit per task node. */
  private readonly throttles = new WeakMap<TaskNode, PQueue>();
  /** `limits`: one queue per resource key, for the whole run. */
  private readonly resources = new Map<string, PQueue>();

  constructor(forks: number) {
    this.queue = new PQueue({ concurrency: forks });
  }

  /** Runs `fn` in a fork slot alone (gathering facts). */
  fork<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.add(fn);
  }

  /**
   * Runs one host's share of a task in a fork slot and, under `throttle`, within the task's own limit:
   * one queue per task node, so the free strategy's hosts share it too. Under `limits` (`held`, from
   * resourceLimits), first within each resource's limit (one queue per rendered key, shared by every
   * task that names it; taken in one order for every host — reverse key order — so two hosts never
   * wait for each other, and a key that extends another (`hv1:vg0` after `hv1`, the narrower
   * resource) is taken before it, so a host waiting for its volume group holds no slot of its
   * hypervisor). The slots are taken outermost first, so a host waiting for one holds no fork.
   * `onWait` hears of each resource the host has to wait for.
   */
  run(task: TaskNode, throttle: number | undefined, held: [string, number][], fn: () => Promise<void>, onWait: (key: string, max: number) => void): Promise<void> {
    const forked = (): Promise<void> => this.queue.add(fn);
    let run = forked;
    if (throttle !== undefined) {
      // a task node has one chain of enclosing blocks, so one throttle: its queue is made once
      let limit = this.throttles.get(task);
      if (!limit) this.throttles.set(task, (limit = new PQueue({ concurrency: throttle })));
      const throttled = limit;
      run = () => throttled.add(forked);
    }
    for (const [key, max] of [...held].reverse()) {
      let q = this.resources.get(key);
      if (!q) this.resources.set(key, (q = new PQueue({ concurrency: max })));
      // hosts that render a different number for the same key: the smallest holds
      else if (max < q.concurrency) q.concurrency = max;
      const inner = run;
      const queue = q;
      run = () => {
        if (queue.pending >= queue.concurrency) onWait(key, queue.concurrency);
        return queue.add(inner);
      };
    }
    return run();
  }
}

/** A task's `limits` for one host: [key, max] rendered, in reverse key order (narrower first); the lowest max per key. */
export function resourceLimits(limits: ResourceLimit[], vars: Obj, h: string): [string, number][] {
  const out = new Map<string, number>();
  for (const l of limits) {
    const where = l.loc ? `${formatLoc(l.loc)}: ` : '';
    const key = String(renderString(l.key, vars)).trim();
    const raw = typeof l.max === 'number' ? l.max : renderString(l.max, vars);
    const max = hostCount(raw);
    if (!key) throw new TaskFailedError(`${where}limits: '${l.key}' rendered to an empty resource key for ${h}`);
    if (max === undefined) throw new TaskFailedError(`${where}limits: '${l.key}' must be a whole number of hosts from 1, got ${JSON.stringify(raw)} for ${h}`);
    out.set(key, Math.min(max, out.get(key) ?? max));
  }
  return [...out].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
}
