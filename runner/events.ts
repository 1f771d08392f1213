// The events a run emits: the reporters (listr2, plain, NDJSON, silent) are views over these.
import type { Diff, Progress } from './module.js';
import type { LiveCommand } from './transport/in-flight.js';

/** The status of one task on one host, as Ansible reports it; `interrupted`: it was running when the run was interrupted. */
export type TaskStatus = 'ok' | 'changed' | 'skipped' | 'failed' | 'unreachable' | 'interrupted';

/** Per-host counters printed in the recap. */
export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
  /** Tasks that were running when the run was interrupted (not completed: --resume runs them again). */
  interrupted: number;
}

/** Every event of a run. */
export type FerryEvent =
  | { type: 'run_start'; playbook: string; check: boolean; time: string }
  | { type: 'play_start'; play: string; hosts: string[]; loc: string }
  /** `tags`: the task's tags, its blocks', role's and play's included (absent when it has none), as on task_result. */
  | { type: 'task_start'; play: string; task: string; module: string; loc: string; hosts: string[]; tags?: string[] }
  | {
      type: 'task_result';
      host: string;
      task: string;
      module: string;
      status: TaskStatus;
      /** It changed the host: a changed task, or a failed one whose result says changed (command, shell, raw ran), as in Ansible. */
      changed: boolean;
      /** Why nothing changed, why it was skipped, or what failed. */
      msg?: string;
      item?: string;
      diff?: Diff[];
      steps?: string[];
      /** --check: the exact command of each step ('' for a stream step), secrets masked. */
      commands?: string[];
      durationMs: number;
      ignored?: boolean;
      delegatedTo?: string;
      /** The task's tags, its blocks', role's and play's included (absent when it has none). */
      tags?: string[];
      /** The result (as `register` stores it: stdout, stderr, rc and the module's values); absent for a no_log task. */
      result?: Record<string, unknown>;
    }
  | { type: 'progress'; host: string; task: string; progress: Progress }
  /** A command a task started (only with -vvv; secrets masked; never a no_log task's). */
  | { type: 'command'; host: string; task: string; command: string }
  | { type: 'handlers_start'; play: string }
  | {
      type: 'interrupt';
      /** Why (`interrupted by SIGINT`). */
      reason: string;
      /** The commands being stopped. */
      running: LiveCommand[];
      /** How long always: blocks may still take. */
      cleanupTimeoutMs: number;
    }
  | { type: 'recap'; hosts: Record<string, HostRecap>; durationMs: number }
  /** A front end's own summary after the recap (e.g. `ferry migrate`'s per guest): lines for people, data for NDJSON. */
  | { type: 'summary'; title: string; lines: string[]; data: unknown };

/** Receives events; reporters implement it. */
export interface Reporter {
  emit(ev: FerryEvent): void;
  close(): Promise<void>;
}

/** A reporter that discards everything (tests, library use). */
export const silentReporter: Reporter = { emit() {}, async close() {} };

/** A new zeroed recap entry. */
export function emptyRecap(): HostRecap {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0, interrupted: 0 };
}
