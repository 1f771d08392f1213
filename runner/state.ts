// Run state for --resume: per host, which tasks completed (and their registered values), keyed by
// task identity (runner/task-identity.ts), with the playbook's task list so that a resume can tell
// what changed since. Never holds secrets: values of `no_log` tasks and values that show a secret are
// not kept (the engine decides), and Secret values serialise as a mask.
//
// On disk: a snapshot (`ID.json`, the whole state) and a journal beside it (`ID.journal`: NDJSON, a
// header line naming the snapshot's run, then one complete record per completed task). Recording
// completions appends their lines to the journal, one write per batch, off the event loop: the
// completions of hosts that finish together share one write, and a task counts as recorded only once
// a write holding it is in place. So a batch costs what it adds, not the whole state again (which,
// rewritten after every batch, cost hosts × tasks bytes a write: quadratic over a 500-host run).
// Why a journal and not one file per host: a batch spans many hosts, and one append is one write.
//
// Atomicity. Snapshots are written whole to a fresh 0600 file and renamed over the old one, so a
// snapshot is either the old or the new, never half. A journal line is a complete record ending in a
// newline; a crash mid-append leaves at most one torn last line (no newline), which reading ignores;
// that batch's callers were not told it was recorded. After a failed append the next write compacts
// (below) instead of appending after a torn line. Replaying a record is idempotent (a set, a value
// overwritten with the same one), so a crash between writing a snapshot and replacing the journal
// only replays what the snapshot already holds. The header ties a journal to one snapshot: a journal
// left beside a newer run's snapshot (a crash between start's two renames) is ignored, not replayed.
//
// Compaction (a snapshot, then a fresh journal holding only its header) happens at start and resume,
// at finish (which then removes the journal: a finished run is one file, as before), after a failed
// append, and when the journal outgrows the snapshot (and 64 KiB): each compaction is paid for by at
// least as many journal bytes, so the total written stays linear in what was recorded.
//
// Version 3 is the snapshot with its journal. A version 2 state (the snapshot alone, rewritten whole)
// has the same shape and no journal, and still loads; an older ferry refuses a version 3 state rather
// than resume without its journal (which would run completed commands again).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, constants } from 'node:fs';
import { appendFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { ValidationError } from './errors.js';
import type { PreviousRun, TaskRecord } from './task-identity.js';

const VERSION = 3;
/** The versions this ferry reads: 2 is version 3 without a journal. */
const READABLE_VERSIONS: readonly number[] = [2, VERSION];
/** The journal is compacted once it is larger than the snapshot and than this. */
const COMPACT_MIN_BYTES = 64 * 1024;
/** Appends to an existing journal only: a journal that vanished must not come back without its header. */
const APPEND_ONLY = constants.O_WRONLY | constants.O_APPEND;

type HostState = { completed: string[]; registered: Record<string, unknown> };

/** A whole run state: the snapshot with its journal's records replayed. */
export interface StateFile {
  version: number;
  key: string;
  /** Names this run's snapshot; the journal's header must name it too (absent in version 2). */
  run?: string;
  startedAt: string;
  finishedAt?: string;
  succeeded?: boolean;
  /** The playbook's tasks when this run started, in run order. */
  tasks: TaskRecord[];
  hosts: Record<string, HostState>;
}

/** One journal line: a task that completed on a host (`h`, `t`), with its registered value if kept (`r`). */
interface JournalRecord {
  h: string;
  t: string;
  r?: unknown;
}

/** Adds one completion to a state's hosts; adding the same one again changes nothing. */
function addCompletion(hosts: Record<string, HostState>, rec: JournalRecord): void {
  const h = (hosts[rec.h] ??= { completed: [], registered: {} });
  if (!h.completed.includes(rec.t)) h.completed.push(rec.t);
  if (rec.r !== undefined) h.registered[rec.t] = rec.r;
}

/**
 * Reads a run state from its snapshot and journal; throws an Error saying why when it cannot be read
 * (undefined when there is no snapshot). A torn last journal line is ignored, as is a journal whose
 * header names another run.
 */
export function readRunState(path: string, journalPath: string): StateFile | undefined {
  if (!existsSync(path)) return undefined;
  let state: Partial<StateFile>;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  } catch (e) {
    throw new Error(`it is not valid JSON (${(e as Error).message})`);
  }
  // Version 1 keyed tasks by position, which an edit of the playbook silently shifts.
  if (!READABLE_VERSIONS.includes(state.version ?? -1) || !Array.isArray(state.tasks) || !state.hosts) {
    throw new Error(`it was written by another version of ferry (state version ${state.version ?? '?'})`);
  }
  const whole = state as StateFile;
  if (whole.run === undefined || !existsSync(journalPath)) return whole;
  const lines = readFileSync(journalPath, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or a torn last line: not a record
  const records: JournalRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch (e) {
      throw new Error(`line ${i + 1} of its journal ${journalPath} is not valid JSON (${(e as Error).message})`);
    }
  }
  const header = records.shift() as { run?: unknown } | undefined;
  if (header?.run !== whole.run) return whole;
  for (const rec of records) addCompletion(whole.hosts, rec);
  return whole;
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
  /** The snapshot. */
  readonly path: string;
  /** The journal of completions recorded since the snapshot. */
  readonly journalPath: string;
  private previous?: StateFile;
  /** The write in progress, if any. */
  private writing?: Promise<void>;
  /** The write queued behind it: it will hold every change made before it starts. */
  private queued?: Promise<void>;
  /** Journal lines not yet written (each ends in a newline). */
  private pending: string[] = [];
  /** Sizes at the last compaction and since, to decide the next one. */
  private snapshotBytes = 0;
  private journalBytes = 0;
  /** An append failed: the journal may end in a torn line, so the next write compacts. */
  private journalSuspect = false;

  constructor(dir: string, key: string) {
    // Only the user who runs ferry reads its run state: the folder 0700, the files 0600 (when created).
    makePrivateDir(dir);
    const id = createHash('sha256').update(key).digest('hex').slice(0, 16);
    this.path = join(dir, `${id}.json`);
    this.journalPath = join(dir, `${id}.journal`);
    this.data = { version: VERSION, key, startedAt: new Date().toISOString(), tasks: [], hosts: {} };
  }

  /** Starts a fresh run (the previous state of this playbook is replaced). */
  start(tasks: TaskRecord[]): void {
    this.data.tasks = tasks;
    this.compactNow();
  }

  /**
   * Reads the previous run of this playbook for --resume: undefined when there is none or it
   * finished successfully (nothing to resume). A state ferry cannot read is bad input.
   */
  readPrevious(): PreviousRun | undefined {
    let prev: StateFile | undefined;
    try {
      prev = readRunState(this.path, this.journalPath);
    } catch (e) {
      throw new ValidationError([{ message: `cannot resume from ${this.path}: ${(e as Error).message}`, hint: 'run without --resume to start over' }]);
    }
    if (!prev || prev.succeeded) return undefined;
    this.previous = prev;
    return { tasks: prev.tasks, completed: Object.fromEntries(Object.entries(prev.hosts).map(([h, v]) => [h, v.completed])) };
  }

  /** Continues the run read by readPrevious (its completed tasks are kept) with the playbook's current tasks. */
  resume(tasks: TaskRecord[]): void {
    if (this.previous) this.data.hosts = structuredClone(this.previous.hosts);
    this.data.tasks = tasks;
    this.compactNow();
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
    // A copy as it is now (and Secrets as their mask): the line and the state hold the same value.
    const rec: JournalRecord = { h: host, t: taskKey, r: registered === undefined ? undefined : (JSON.parse(JSON.stringify(registered)) as unknown) };
    addCompletion(this.data.hosts, rec);
    this.pending.push(JSON.stringify(rec) + '\n');
    return this.save();
  }

  /** Marks the run finished, after every recorded task is written. */
  finish(succeeded: boolean): Promise<void> {
    this.data.finishedAt = new Date().toISOString();
    this.data.succeeded = succeeded;
    return this.save();
  }

  /**
   * Writes what changed without blocking the event loop; resolves once a write started after this
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

  private tmpPath(path: string): string {
    return `${path}.${process.pid}.tmp`;
  }

  /** Appends the pending lines in one write, or compacts when that is due. */
  private async writeAsync(): Promise<void> {
    const lines = this.pending.join('');
    this.pending = [];
    const finished = this.data.finishedAt !== undefined;
    if (finished || this.journalSuspect || this.journalBytes + lines.length > Math.max(COMPACT_MIN_BYTES, this.snapshotBytes)) {
      return this.compact(finished);
    }
    if (!lines) return;
    try {
      await appendFile(this.journalPath, lines, { flag: APPEND_ONLY });
    } catch (e) {
      this.journalSuspect = true;
      throw e;
    }
    this.journalBytes += lines.length;
  }

  /** The snapshot's text, with a fresh run id for start and resume. */
  private snapshotText(newRun: boolean): string {
    if (newRun) this.data.run = randomBytes(8).toString('hex');
    const text = JSON.stringify(this.data, null, 1);
    this.snapshotBytes = text.length;
    return text;
  }

  private journalHeader(): string {
    return JSON.stringify({ run: this.data.run }) + '\n';
  }

  // Fresh files every time (a stale one left by a crash could have another mode), created 0600.
  private async compact(finished: boolean): Promise<void> {
    try {
      await replaceFile(this.path, this.tmpPath(this.path), this.snapshotText(false));
      if (finished) await rm(this.journalPath, { force: true });
      else await replaceFile(this.journalPath, this.tmpPath(this.journalPath), this.journalHeader());
    } catch (e) {
      this.journalSuspect = true;
      throw e;
    }
    this.journalSuspect = false;
    this.journalBytes = 0;
  }

  /** start and resume write at once, before any task runs (so no asynchronous write is in progress). */
  private compactNow(): void {
    this.pending = [];
    replaceFileSync(this.path, this.tmpPath(this.path), this.snapshotText(true));
    replaceFileSync(this.journalPath, this.tmpPath(this.journalPath), this.journalHeader());
    this.journalSuspect = false;
    this.journalBytes = 0;
  }
}

/** Writes `text` to a fresh 0600 file and renames it over `path`. */
async function replaceFile(path: string, tmp: string, text: string): Promise<void> {
  await rm(tmp, { force: true });
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}

/** replaceFile, synchronously. */
function replaceFileSync(path: string, tmp: string, text: string): void {
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}
