// What every transport shares: wrapping (env, cwd, sudo), answering sudo's prompt, timeouts,
// aborts, collecting output, and put/get built on plain shell commands. A transport only
// has to start `sh -c TEXT` somewhere and hand back its three streams.
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { maskSecrets, type Command } from '../command.js';
import { BecomePasswordError, MarkerScanner, wrapCommand } from './become.js';
import { getViaShell, putViaShell } from './files.js';
import type { BecomeOptions, PutOptions, RunningCommand, RunOptions, RunResult, Transport } from './types.js';

/** A started `sh -c TEXT`, as a transport reports it. */
export interface RawProcess {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles once the process exited and its output streams are closed. */
  exit: Promise<{ code: number | null; signal: string | null }>;
  /** Stops the process (polite first, then by force); safe to call more than once. */
  kill(): void;
  /** It runs on a terminal: its stderr is merged into stdout (and lines end in \r\n). */
  tty?: boolean;
}

/**
 * Runs a started process to its end without input, any failure dropped; settles at its end. Its
 * stderr is dropped, its stdout too unless `onStdout` is given: then it gets the whole stdout once
 * the process exited.
 */
export function runQuietly(started: Promise<RawProcess>, onStdout?: (stdout: string) => void): Promise<void> {
  return started
    .then(async (p) => {
      p.stdin.end();
      let out = '';
      if (onStdout) p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      else p.stdout.resume();
      p.stderr.resume();
      await p.exit;
      onStdout?.(out);
    })
    .then(
      () => undefined,
      () => undefined, // the connection is gone: nothing to do
    );
}

/** What a command needs of the channel it starts on. */
export interface StartNeeds {
  /** The caller drives the streams itself (spawn: a relay, a copy with progress): a channel of its own. */
  stream?: boolean;
  /** Bytes will be written to its stdin (a stdin option, or a sudo password). */
  stdin?: boolean;
  /** It runs through sudo. */
  become?: boolean;
  /** On a terminal (RunOptions.tty), where the transport has one. */
  tty?: boolean;
}

interface Launched {
  proc: RawProcess;
  /** The process's output with sudo's markers taken out (stdout on a terminal, where sudo writes to it). */
  stdout: Readable;
  stderr: Readable;
  /** Resolves when the command's own stdin may flow (sudo is done reading the password). */
  stdinReady: Promise<void>;
  /** True when stdin must wait for stdinReady (sudo reads a password first). */
  gated: boolean;
  secrets: string[];
  /** Set when sudo rejected the password. */
  rejected: () => string | undefined;
}

/** The shared half of every transport: everything above "start sh -c TEXT". */
export abstract class BaseTransport implements Transport {
  abstract readonly host: string;
  abstract connect(): Promise<void>;
  abstract close(): Promise<void>;
  /** Starts `sh -c text` on the target (for SSH: an exec channel or a persistent shell; locally: a child process). */
  protected abstract start(text: string, needs: StartNeeds): Promise<RawProcess>;

  /** The user commands run as without become (so becoming that same user needs no sudo). */
  protected abstract loginUser(): string | undefined;

  /** Whether a become command stops itself once its login shell's parent is gone (an SSH session's sshd). */
  protected readonly watchesLoginParent: boolean = false;
  /** The token naming the become-side watcher's list, one per become user (exec-watcher.ts). */
  private readonly becomeWatchTokens = new Map<string, string>();

  /** The become-side watch token for `become`'s user, when become commands are watched. */
  private becomeWatchToken(become: BecomeOptions | false | undefined): string | undefined {
    if (!this.watchesLoginParent || !become) return undefined;
    const user = become.user ?? 'root';
    let token = this.becomeWatchTokens.get(user);
    if (token === undefined) {
      token = randomBytes(12).toString('hex');
      this.becomeWatchTokens.set(user, token);
    }
    return token;
  }

  private async launch(cmd: Command, opts: Omit<RunOptions, 'stdin' | 'onStdout' | 'onStderr' | 'binary'>, needs: StartNeeds): Promise<Launched> {
    // Becoming the user we already are needs no sudo (which hosts logged into as root may lack).
    if (opts.become && (opts.become.user ?? 'root') === this.loginUser()) opts = { ...opts, become: false };
    const wrapped = wrapCommand(cmd, { ...opts, watch: this.becomeWatchToken(opts.become) });
    const proc = await this.start(wrapped.command.text, {
      ...needs,
      stdin: needs.stdin === true || wrapped.password !== undefined,
      become: wrapped.becomeUser !== undefined,
    });
    const secrets = [...cmd.secrets, ...(wrapped.password ? [wrapped.password] : [])];
    if (!wrapped.password || !wrapped.promptMarker || !wrapped.readyMarker) {
      return { proc, stdout: proc.stdout, stderr: proc.stderr, stdinReady: Promise.resolve(), gated: false, secrets, rejected: () => undefined };
    }
    const password = wrapped.password;
    // sudo -S writes its prompt to stderr, which a terminal merges into stdout: the markers are read
    // where they arrive, and the password typed on the terminal (sudo turns its echo off first, as
    // Ansible's raw relies on).
    const talk = proc.tty ? proc.stdout : proc.stderr;
    const scanner = new MarkerScanner(wrapped.promptMarker, wrapped.readyMarker, proc.tty ? '\r\n' : '\n');
    const cleaned = new PassThrough();
    let prompts = 0;
    let rejected: string | undefined;
    let release!: () => void;
    const stdinReady = new Promise<void>((resolve) => (release = resolve));
    talk.on('data', (chunk: Buffer) => {
      const { out, events } = scanner.push(chunk);
      if (out.length > 0) cleaned.write(out);
      for (const ev of events) {
        if (ev === 'ready') release();
        else if (++prompts === 1) proc.stdin.write(password + '\n');
        else {
          // A second prompt means sudo did not take the password: stop before it asks a third time.
          rejected = `become password rejected by sudo (user ${wrapped.becomeUser ?? 'root'} on ${this.host})`;
          proc.kill();
        }
      }
    });
    talk.on('end', () => cleaned.end(scanner.flush()));
    talk.on('error', (e) => cleaned.destroy(e));
    const streams = proc.tty ? { stdout: cleaned, stderr: proc.stderr } : { stdout: proc.stdout, stderr: cleaned };
    return { proc, ...streams, stdinReady, gated: true, secrets, rejected: () => rejected };
  }

  /** Kills on timeout or abort; returns what happened and a cleanup. */
  private watch(proc: RawProcess, opts: { timeoutMs?: number; signal?: AbortSignal }) {
    const state = { timedOut: false, aborted: false };
    const timer =
      opts.timeoutMs !== undefined && opts.timeoutMs > 0
        ? setTimeout(() => {
            state.timedOut = true;
            proc.kill();
          }, opts.timeoutMs)
        : undefined;
    const onAbort = (): void => {
      state.aborted = true;
      proc.kill();
    };
    // An abort while the command was being started (a channel opening) found no listener yet.
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    return { state, cleanup };
  }

  async run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    opts.signal?.throwIfAborted();
    const t0 = performance.now();
    const l = await this.launch(cmd, opts, { stdin: opts.stdin !== undefined, tty: opts.tty });
    const { proc } = l;
    const { state, cleanup } = this.watch(proc, opts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    l.stdout.on('data', (c: Buffer) => {
      out.push(c);
      opts.onStdout?.(c);
    });
    l.stderr.on('data', (c: Buffer) => {
      err.push(c);
      opts.onStderr?.(c);
    });
    // not awaited: a command may exit without reading all of a stream given as stdin
    this.feedStdin(l, opts.stdin).catch(() => undefined); // a lost connection is reported by proc.exit
    try {
      const [status] = await Promise.all([
        proc.exit,
        finished(l.stdout, { writable: false }).catch(() => undefined),
        finished(l.stderr, { writable: false }).catch(() => undefined),
      ]);
      if (state.aborted) throw opts.signal?.reason ?? new Error('aborted');
      const rejected = l.rejected();
      if (rejected) throw new BecomePasswordError(rejected, { host: this.host, command: cmd.display });
      const stdoutBuffer = Buffer.concat(out);
      const result: RunResult = {
        host: this.host,
        command: cmd.display,
        exitCode: state.timedOut ? null : status.code,
        signal: status.signal,
        // binary output is returned as bytes only: decoding it as text would both mangle and double it
        stdout: opts.binary ? '' : maskSecrets(stdoutBuffer.toString('utf8'), l.secrets),
        stderr: maskSecrets(Buffer.concat(err).toString('utf8'), l.secrets),
        durationMs: Math.round(performance.now() - t0),
      };
      if (state.timedOut) result.timedOut = true;
      if (opts.binary) result.stdoutBuffer = stdoutBuffer;
      return result;
    } finally {
      cleanup();
    }
  }

  /** Writes the caller's stdin once sudo is done with it; a command that exits without reading is fine. */
  private async feedStdin(l: Launched, stdin: RunOptions['stdin']): Promise<void> {
    const exited = l.proc.exit.then(() => 'exited' as const);
    if ((await Promise.race([l.stdinReady.then(() => 'ready' as const), exited])) === 'exited') return;
    const sink = l.proc.stdin;
    sink.on('error', () => undefined); // EPIPE when the command does not read its stdin
    if (stdin === undefined) {
      sink.end();
      return;
    }
    if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
      sink.end(stdin);
      return;
    }
    // pipeline ends only the writable half of the ssh channel duplex (EOF), its stdout keeps flowing
    await pipeline(stdin, sink).catch(() => undefined);
  }

  async spawn(cmd: Command, opts: Omit<RunOptions, 'stdin' | 'onStdout' | 'onStderr' | 'binary'> = {}): Promise<RunningCommand> {
    opts.signal?.throwIfAborted();
    const t0 = performance.now();
    const l = await this.launch(cmd, opts, { stream: true, stdin: true });
    const { proc } = l;
    const { state, cleanup } = this.watch(proc, opts);
    let stdin: Writable = proc.stdin;
    if (l.gated) {
      // with a become password the caller's bytes must wait until sudo has read it
      const gate = new PassThrough();
      stdin = gate;
      Promise.race([l.stdinReady, proc.exit]).then(
        () => gate.pipe(proc.stdin),
        () => gate.destroy(), // the connection is gone: `done` reports it
      );
    }
    const done = proc.exit.then((status) => {
      cleanup();
      if (state.aborted) throw opts.signal?.reason ?? new Error('aborted');
      const rejected = l.rejected();
      if (rejected) throw new BecomePasswordError(rejected, { host: this.host, command: cmd.display });
      const result: RunResult = {
        host: this.host,
        command: cmd.display,
        exitCode: state.timedOut ? null : status.code,
        signal: status.signal,
        stdout: '',
        stderr: '',
        durationMs: Math.round(performance.now() - t0),
      };
      if (state.timedOut) result.timedOut = true;
      return result;
    });
    return { stdin, stdout: l.stdout, stderr: l.stderr, done };
  }

  async put(path: string, data: string | Buffer, opts: PutOptions = {}): Promise<void> {
    await putViaShell(this, path, data, opts);
  }

  async get(path: string, opts: { become?: BecomeOptions | false } = {}): Promise<Buffer | null> {
    return getViaShell(this, path, opts);
  }
}
