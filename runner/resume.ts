// Opening a run's state: a new one, or with --resume the previous one, refused when the playbook
// has changed in a way that makes what it recorded ambiguous.
import { resolve } from 'node:path';
import { ValidationError } from './errors.js';
import type { InventoryView } from './inventory-view.js';
import type { ModuleRegistry } from './module.js';
import type { Playbook } from './playbook/model.js';
import { RunState } from './state.js';
import { resumeConflicts, type TaskIdentities } from './task-identity.js';
import { isTemplated } from './template.js';

/** Where a run's state is kept and whether it continues the previous one (EngineOptions). */
export interface RunStateOptions {
  inventory: InventoryView;
  modules: ModuleRegistry;
  stateDir?: string;
  resume?: boolean;
  runKey?: string;
}

/**
 * Starts the run state, or continues the previous one with --resume: refused (bad input, before
 * any host is contacted) when the playbook changed in a way that makes the saved state ambiguous.
 */
export function openRunState(pb: Playbook, ids: TaskIdentities, o: RunStateOptions): RunState {
  const state = new RunState(o.stateDir ?? resolve('.ferry/runs'), o.runKey ?? pb.file);
  if (!o.resume) {
    state.start(ids.list);
    return state;
  }
  const prev = state.readPrevious();
  if (prev) {
    const playHosts = new Map<number, Set<string> | undefined>();
    for (const play of pb.plays) {
      let hosts: Set<string> | undefined;
      try {
        hosts = isTemplated(play.hosts) ? undefined : new Set(o.inventory.resolve(play.hosts));
      } catch {
        hosts = undefined;
      }
      playHosts.set(play.index, hosts);
    }
    const problems = resumeConflicts(prev, ids.list, {
      runsEveryTime: (m) => o.modules.get(m)?.runsEveryTime === true,
      playHasHost: (p, h) => playHosts.get(p)?.has(h) ?? true,
    });
    if (problems.length) throw new ValidationError(problems);
  }
  state.resume(ids.list);
  return state;
}
