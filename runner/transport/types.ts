// The Transport interface: deliberately small (run a command, stream it, put and get files),
// so that a chroot transport or a persistent-shell transport can wrap another one.
import type { Readable, Writable } from 'node:stream';
import type { Command, CommandResult, Secret } from '../command.js';

/** How to become another user (sudo). */
export interface BecomeOptions {
  user?: string; // default root
  password?: Secret; // sent on stdin after sudo's prompt, never on a command line
  method?: 'sudo';
}

/** Options of one command run. */
export interface RunOptions {
  stdin?: string | Buffer | Readable;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  become?: BecomeOptions | false;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /** Keep stdout as raw bytes in `stdoutBuffer` (for binary reads). */
  binary?: boolean;
  /**
   * Run on a terminal, as Ansible's ssh connection runs raw (`ssh -tt`): over SSH a pty, so stderr is
   * merged into stdout and lines end in \r\n (sudo's password prompt is answered there too). Transports
   * without one (local) run without it, as Ansible's local connection does.
   */
  tty?: boolean;
}

/** The result of a run, with the raw stdout when asked for. */
export interface RunResult extends CommandResult {
  stdoutBuffer?: Buffer;
}

/** A command still running, whose streams the caller drives (e.g. a block copy). */
export interface RunningCommand {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles when the command exits; stdout/stderr in the result are empty (the caller consumed them). */
  done: Promise<RunResult>;
}

/** Options for writing a file. */
export interface PutOptions {
  mode?: number;
  become?: BecomeOptions | false;
}

/** A connection to one host. */
export interface Transport {
  readonly host: string;
  /** Opens the connection (idempotent). Throws UnreachableError / HostKeyError. */
  connect(): Promise<void>;
  /** Runs a command to completion; a non-zero exit is a result, not an exception. */
  run(cmd: Command, opts?: RunOptions): Promise<RunResult>;
  /** Starts a command whose stdin/stdout the caller streams. */
  spawn(cmd: Command, opts?: Omit<RunOptions, 'stdin' | 'onStdout' | 'onStderr' | 'binary'>): Promise<RunningCommand>;
  /** Writes a file atomically (temp file beside it, then rename). */
  put(path: string, data: string | Buffer, opts?: PutOptions): Promise<void>;
  /** Reads a whole file; null when it does not exist. */
  get(path: string, opts?: { become?: BecomeOptions | false }): Promise<Buffer | null>;
  close(): Promise<void>;
}
