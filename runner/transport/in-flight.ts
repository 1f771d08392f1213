// The commands a run has started and not yet seen end, and the transport a task sees: every
// command it starts stops when the task's signal aborts (an interrupted run) and is listed as
// running until it ends, so that ferry can say what may still run when it has to exit at once.
import type { Command } from '../command.js';
import { getViaShell, putViaShell } from './files.js';
import type { BecomeOptions, PutOptions, RunningCommand, RunOptions, RunResult, Transport } from './types.js';

/** One command that was started and has not ended. */
export interface LiveCommand {
  host: string;
  task: string;
  /** The display form (secrets masked). */
  command: string;
}

/** What a run has started and not seen end. */
export class InFlight {
  private readonly live = new Set<LiveCommand>();

  /** Records a started command; the returned function records its end. */
  add(c: LiveCommand): () => void {
    this.live.add(c);
    return () => this.live.delete(c);
  }

  /** The commands still running, oldest first. */
  list(): LiveCommand[] {
    return [...this.live];
  }
}

/** Both signals as one (either aborting aborts it). */
function either(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a ? AbortSignal.any([a, b]) : b;
}

/** A pooled transport as one task uses it: its commands stop on `signal` and are tracked in `inFlight`. */
export class InFlightTransport implements Transport {
  constructor(
    readonly inner: Transport,
    private readonly signal: AbortSignal,
    private readonly inFlight: InFlight,
    private readonly task: string,
    /** Told of each command as it starts (-vvv shows them). */
    private readonly onStart?: (c: LiveCommand) => void,
  ) {}

  private started(cmd: Command): () => void {
    const c = { host: this.host, task: this.task, command: cmd.display };
    this.onStart?.(c);
    return this.inFlight.add(c);
  }

  get host(): string {
    return this.inner.host;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  async run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    const ended = this.started(cmd);
    try {
      return await this.inner.run(cmd, { ...opts, signal: either(opts.signal, this.signal) });
    } finally {
      ended();
    }
  }

  async spawn(cmd: Command, opts: Omit<RunOptions, 'stdin' | 'onStdout' | 'onStderr' | 'binary'> = {}): Promise<RunningCommand> {
    const ended = this.started(cmd);
    try {
      const rc = await this.inner.spawn(cmd, { ...opts, signal: either(opts.signal, this.signal) });
      rc.done.finally(ended).catch(() => undefined); // the caller sees the rejection
      return rc;
    } catch (e) {
      ended();
      throw e;
    }
  }

  /** Files go through this transport's own `run`, so a copy stops on the signal too. */
  put(path: string, data: string | Buffer, opts: PutOptions = {}): Promise<void> {
    return putViaShell(this, path, data, opts);
  }

  get(path: string, opts: { become?: BecomeOptions | false } = {}): Promise<Buffer | null> {
    return getViaShell(this, path, opts);
  }

  /** Leaves the pooled transport open: the engine closes it at the end of the run. */
  async close(): Promise<void> {}
}
