// NDJSON events (--json): one JSON object per line, to stdout or a file, for machines.
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { FerryError } from '../errors.js';
import type { FerryEvent, Reporter } from '../events.js';

/** Writes each event as one JSON line. */
export class JsonReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  private readonly file?: WriteStream;
  private failed?: Error;

  /** A file target is opened here, synchronously: a path that cannot be written throws now, before any host is contacted. */
  constructor(target?: string | NodeJS.WritableStream) {
    if (typeof target === 'string') {
      // Created 0600 (the events name hosts, commands and paths); an existing file keeps its mode.
      // Opened now, so a path that cannot be written is a command-line error before any host is contacted.
      this.file = createWriteStream(target, { fd: openSync(target, 'w', 0o600) });
      // A write that fails later (a full disk) is reported when the run ends, not as a crash.
      this.file.on('error', (e) => (this.failed ??= e));
      this.out = this.file;
    } else this.out = target ?? process.stdout;
  }

  emit(ev: FerryEvent): void {
    if (!this.failed) this.out.write(JSON.stringify(ev) + '\n');
  }

  async close(): Promise<void> {
    const f = this.file;
    if (f && !this.failed) await new Promise<void>((r) => f.end(r));
    if (this.failed) throw new FerryError(`--json: writing ${String(f?.path ?? 'the events')} failed: ${this.failed.message}`);
  }
}

/** Sends every event to several reporters (e.g. listr2 on the TTY and NDJSON to a file). */
export class TeeReporter implements Reporter {
  constructor(private readonly reporters: Reporter[]) {}
  emit(ev: FerryEvent): void {
    for (const r of this.reporters) r.emit(ev);
  }
  async close(): Promise<void> {
    await Promise.all(this.reporters.map((r) => r.close()));
  }
}
