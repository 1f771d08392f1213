// Handlers: at a flush (meta: flush_handlers, the end of each batch), each handler runs once on the
// hosts that notified it, in the order the play lists handlers, not the order they were notified.
import type { FerryEvent } from './events.js';
import { formatLoc } from './errors.js';
import type { HostState } from './host-state.js';
import { lower, type Inherited } from './inherited.js';
import { taskDisplayName, type Play, type TaskNode } from './playbook/model.js';

type Obj = Record<string, unknown>;

/** What running handlers needs of the engine. */
export interface HandlerRun {
  play: Play;
  /** The play's handlers, and those of roles included at run time. */
  handlers: TaskNode[];
  /** --force-handlers: they run on failed hosts too (so does the play's force_handlers). */
  forceHandlers: boolean | undefined;
  interrupted(): boolean;
  host(name: string): HostState;
  emit(ev: FerryEvent): void;
  /** Runs the handler on one host, as a task (forks, throttle, limits). */
  runOn(handler: TaskNode, host: string, inh: Inherited): Promise<void>;
}

/** Runs the handlers the hosts notified, then forgets their notifications. */
export async function runHandlers(run: HandlerRun, hosts: string[]): Promise<void> {
  const { play, handlers } = run;
  if (!handlers.length || run.interrupted()) return;
  const pending = hosts.filter((h) => run.host(h).notified.size > 0);
  if (!pending.length) return;
  run.emit({ type: 'handlers_start', play: play.name });
  for (const handler of handlers) {
    if (run.interrupted()) break;
    const keys = [handler.name, ...handler.listen].filter((x): x is string => !!x);
    const targets = hosts.filter((h) => {
      const s = run.host(h);
      if (s.unreachable || s.ended) return false;
      if (s.failed && !(run.forceHandlers || play.forceHandlers)) return false;
      return keys.some((k) => s.notified.has(k));
    });
    if (!targets.length) continue;
    const wasFailed = targets.filter((h) => run.host(h).failed);
    for (const h of wasFailed) run.host(h).failed = false;
    const environment = [play.environment, handler.environment].filter((e): e is Obj | string => e !== undefined);
    const inh: Inherited = { when: handler.when, become: handler.become ?? play.become, becomeUser: handler.becomeUser ?? play.becomeUser, tags: [], vars: [], ignoreErrors: handler.ignoreErrors, noLog: handler.noLog, environment, throttle: lower(play.throttle, handler.throttle), ...(handler.limits ? { limits: handler.limits } : {}), role: handler.role };
    run.emit({ type: 'task_start', play: play.name, task: taskDisplayName(handler), module: handler.module, loc: formatLoc(handler.loc), hosts: targets });
    await Promise.all(targets.map((h) => run.runOn(handler, h, inh)));
    for (const h of wasFailed) run.host(h).failed = true;
  }
  for (const h of hosts) run.host(h).notified.clear();
}
