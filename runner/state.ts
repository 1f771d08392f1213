// Run state for --resume: per host, which tasks completed (and their registered values),
// written atomically after every task. Never holds secrets: values of `no_log` tasks and values
// that show a secret are not kept (the engine decides), and Secret values serialise as a mask.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

interface StateFile {
  version: 1;
  key: string;
  startedAt: string;
  finishedAt?: string;
  succeeded?: boolean;
  hosts: Record<string, { completed: string[]; registered: Record<string, unknown> }>;
}

/** The state of one run of one playbook, keyed by playbook (and inventory) so --resume finds it. */
export class RunState {
  private data: StateFile;
  readonly path: string;
  private previous?: StateFile;

  constructor(dir: string, key: string) {
    mkdirSync(dir, { recursive: true });
    const id = createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.path = join(dir, `${id}.json`);
    this.data = { version: 1, key, startedAt: new Date().toISOString(), hosts: {} };
  }

  /** Starts a fresh run (the previous state of this playbook is replaced). */
  start(): void {
    this.write();
  }

  /** Loads the previous run's state so completed tasks are skipped; a finished successful run resumes nothing. */
  loadPrevious(): void {
    if (existsSync(this.path)) {
      const prev = JSON.parse(readFileSync(this.path, 'utf8')) as StateFile;
      if (prev.version === 1 && !prev.succeeded) this.previous = prev;
    }
    if (this.previous) this.data.hosts = structuredClone(this.previous.hosts);
    this.write();
  }

  /** Whether a task completed on a host in the run being resumed. */
  completed(host: string, taskId: string): boolean {
    return this.previous?.hosts[host]?.completed.includes(taskId) ?? false;
  }

  /** The registered value a completed task left, if it was kept. */
  registered(host: string, taskId: string): unknown {
    return this.previous?.hosts[host]?.registered[taskId];
  }

  /** Records a completed task (atomically rewrites the file). */
  markCompleted(host: string, taskId: string, registered?: unknown): void {
    const h = (this.data.hosts[host] ??= { completed: [], registered: {} });
    if (!h.completed.includes(taskId)) h.completed.push(taskId);
    if (registered !== undefined) h.registered[taskId] = JSON.parse(JSON.stringify(registered)) as unknown;
    this.write();
  }

  /** Marks the run finished. */
  finish(succeeded: boolean): void {
    this.data.finishedAt = new Date().toISOString();
    this.data.succeeded = succeeded;
    this.write();
  }

  private write(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.path);
  }
}
