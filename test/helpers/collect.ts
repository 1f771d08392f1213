// A reporter that keeps every event, so tests can assert on statuses and the recap.
import type { FerryEvent, Reporter, TaskStatus } from '../../runner/events.js';

type Result = Extract<FerryEvent, { type: 'task_result' }>;

/** Collects events; `statuses()` gives `task/host → status` for final (non-item) results. */
export class CollectingReporter implements Reporter {
  readonly events: FerryEvent[] = [];
  emit(ev: FerryEvent): void {
    this.events.push(ev);
  }
  async close(): Promise<void> {}
  results(): Result[] {
    return this.events.filter((e): e is Result => e.type === 'task_result' && e.item === undefined);
  }
  statuses(): Record<string, TaskStatus> {
    const out: Record<string, TaskStatus> = {};
    for (const r of this.results()) out[`${r.task}/${r.host}`] = r.status;
    return out;
  }
  result(task: string, host: string): Result | undefined {
    return this.results().find((r) => r.task === task && r.host === host);
  }
}
