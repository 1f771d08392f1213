// Run state for --resume: per host, which tasks completed (and their registered values), keyed by
// task identity (runner/task-identity.ts), with the playbook's task list so that a resume can tell
// what changed since. Written atomically (a fresh file renamed over the old one) after every task,
// off the event loop: the completions of hosts that finish together share one write, and a task
// counts as recorded only once a write holding it is in place. Never holds secrets: values of
// `no_log` tasks and values that show a secret are not kept (the engine decides), and Secret
// values serialise as a mask.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { ValidationError } from './errors.js';
import type { PreviousRun, TaskRecord } from './task-identity.js';

const VERSION = 2;

interface StateFile {
  version: typeof VERSION;
  key: string;
  startedAt: string;
  finishedAt?: string;
  succeeded?: boolean;
  /** The playbook's tasks when this run started, in run order. */
  tasks: TaskRecord[];
  hosts: Record<string, { completed: string[]; registered: Record<string, unknown> }>;
}

/**
 * Makes `dir` 0700, its missing parents as any folder (mkdir's recursive mode would make them all
 * 0700: a state folder under /var/tmp/x made x private, and libvirt's qemu could not open an image there).
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dirname(resolve(dir)), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The state of one run of one playbook, keyed by playbook (and inventory) so --resume finds it. */
export class RunState {
  private data: StateFile;
  readonly path: string;
  private previous?: StateFile;
  /** The write in progress, if any. */
  private writing?: Promise<void>;
  /** The write queued behind it: it will hold every change made before it starts. */
  private queued?: Promise<void>;

  constructor(dir: string, key: string) {
    // Only the user who runs ferry reads its run state: the folder 0700, the files 0600 (when created).
    makePrivateDir(dir);
    const id = createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.path = join(dir, `${id}.json`);
    this.data = { version: VERSION, key, startedAt: new Date().toISOString(), tasks: [], hosts: {} };
  }

  /** Starts a fresh run (the previous state of this playbook is replaced). */
  start(tasks: TaskRecord[]): void {
    this.data.tasks = tasks;
    this.write();
  }

  /**
   * Reads the previous run of this playbook for --resume: undefined when there is none or it
   * finished successfully (nothing to resume). A state ferry cannot read is bad input.
   */
  readPrevious(): PreviousRun | undefined {
    if (!existsSync(this.path)) return undefined;
    const problem = (why: string) =>
      new ValidationError([{ message: `cannot resume from ${this.path}: ${why}`, hint: 'run without --resume to start over' }]);
    let prev: Partial<StateFile> & { version?: number };
    try {
      prev = JSON.parse(readFileSync(this.path, 'utf8')) as StateFile;
    } catch (e) {
      throw problem(`it is not valid JSON (${(e as Error).message})`);
    }
    if (prev.succeeded) return undefined;
    // Version 1 keyed tasks by position, which an edit of the playbook silently shifts.
    if (prev.version !== VERSION || !Array.isArray(prev.tasks) || !prev.hosts) throw problem(`it was written by another version of ferry (state version ${prev.version ?? '?'})`);
    this.previous = prev as StateFile;
    return { tasks: prev.tasks, completed: Object.fromEntries(Object.entries(prev.hosts).map(([h, v]) => [h, v.completed])) };
  }

  /** Continues the run read by readPrevious (its completed tasks are kept) with the playbook's current tasks. */
  resume(tasks: TaskRecord[]): void {
    if (this.previous) this.data.hosts = structuredClone(this.previous.hosts);
    this.data.tasks = tasks;
    this.write();
  }

  /** Whether a task completed on a host in the run being resumed. */
  completed(host: string, taskKey: string): boolean {
    return this.previous?.hosts[host]?.completed.includes(taskKey) ?? false;
  }

  /** The registered value a completed task left, if it was kept. */
  registered(host: string, taskKey: string): unknown {
    return this.previous?.hosts[host]?.registered[taskKey];
  }

  /**
   * Records a completed task; resolves once the file holds it (the caller starts nothing that
   * depends on the record before then, so a crash never loses a completed task).
   */
  markCompleted(host: string, taskKey: string, registered?: unknown): Promise<void> {
    const h = (this.data.hosts[host] ??= { completed: [], registered: {} });
    if (!h.completed.includes(taskKey)) h.completed.push(taskKey);
    if (registered !== undefined) h.registered[taskKey] = JSON.parse(JSON.stringify(registered)) as unknown;
    return this.save();
  }

  /** Marks the run finished, after every recorded task is written. */
  finish(succeeded: boolean): Promise<void> {
    this.data.finishedAt = new Date().toISOString();
    this.data.succeeded = succeeded;
    return this.save();
  }

  /**
   * Writes the state without blocking the event loop; resolves once a write started after this
   * call is in place. Changes made while a write runs share the one queued behind it.
   */
  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const queued = (this.writing ?? Promise.resolve())
      .catch(() => undefined) // that write's callers saw its error; this one starts afresh
      .then(() => {
        this.queued = undefined;
        const writing = this.writeAsync();
        this.writing = writing;
        return writing;
      });
    this.queued = queued;
    return queued;
  }

  private tmpPath(): string {
    return `${this.path}.${process.pid}.tmp`;
  }

  // A fresh file every time (a stale one left by a crash could have another mode), created 0600.
  private async writeAsync(): Promise<void> {
    const text = JSON.stringify(this.data, null, 1);
    const tmp = this.tmpPath();
    await rm(tmp, { force: true });
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, this.path);
  }

  /** start and resume write at once, before any task runs (so no asynchronous write is in progress). */
  private write(): void {
    const tmp = this.tmpPath();
    rmSync(tmp, { force: true });
    writeFileSync(tmp, JSON.stringify(this.data, null, 1), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, this.path);
  }
}
