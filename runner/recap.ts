// The recap: how each task's outcome counts for its host (as Ansible counts it), the task_result
// event that reports it, and the run's exit code from the counts.
import { EXIT_HOST_FAILED, EXIT_INTERRUPTED, EXIT_UNREACHABLE } from './errors.js';
import type { FerryEvent, HostRecap } from './events.js';
import type { HostState } from './host-state.js';
import { eventResult, outcomeChanged, type TaskOutcome } from './task-outcome.js';

/** How a task's result event is told: the host it was delegated to, no_log, the task's tags. */
export interface ResultHow {
  delegatedTo?: string;
  noLog?: boolean;
  tags?: string[];
}

/** Counts an outcome in the host's recap; a failure (not ignored) marks the host failed, unreachable unreachable. */
export function countOutcome(r: HostRecap, st: HostState, o: TaskOutcome): void {
  switch (o.status) {
    case 'ok': r.ok++; break;
    case 'changed': r.ok++; r.changed++; break;
    case 'skipped': r.skipped++; break;
    case 'interrupted': r.interrupted++; break;
    case 'unreachable':
      r.unreachable++;
      st.unreachable = true;
      break;
    case 'failed':
      // Ansible counts an ignored failure as ok (and changed when it changed) besides ignored
      if (o.ignored) {
        r.ok++;
        r.ignored++;
        if (o.result.changed === true) r.changed++;
      } else {
        r.failed++;
        st.failed = true;
      }
      break;
  }
}

/** A failure that a rescue: section handled: counted as rescued, and no longer against the host. */
export function countRescued(r: HostRecap): void {
  r.rescued++;
  r.failed = Math.max(0, r.failed - 1);
}

/** The task_result event of a host's outcome; a no_log task's carries no result values. */
export function taskResultEvent(h: string, task: string, module: string, o: TaskOutcome, durationMs: number, how: ResultHow): FerryEvent {
  const { delegatedTo, noLog, tags } = how;
  const diff = o.diff;
  return {
    type: 'task_result', host: h, task, module, status: o.status, changed: outcomeChanged(o),
    msg: o.msg, durationMs, ...(o.ignored ? { ignored: true } : {}),
    ...(diff ? { diff } : {}),
    ...(o.steps ? { steps: o.steps } : {}),
    ...(o.commands ? { commands: o.commands } : {}),
    ...(delegatedTo ? { delegatedTo } : {}),
    ...(tags?.length ? { tags } : {}),
    ...(noLog ? {} : { result: eventResult(o.result) }),
  };
}

/** The run's exit code: interrupted, else a host failed, else a host was unreachable, else 0 (README "Exit codes"). */
export function exitCodeOf(recap: Record<string, HostRecap>, interrupted: boolean): number {
  const values = Object.values(recap);
  return interrupted ? EXIT_INTERRUPTED : values.some((r) => r.failed > 0) ? EXIT_HOST_FAILED : values.some((r) => r.unreachable > 0) ? EXIT_UNREACHABLE : 0;
}
