// NDJSON events (--json): one JSON object per line, to stdout or a file, for machines.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { FerryEvent, Reporter } from '../events.js';

/** Writes each event as one JSON line. */
export class JsonReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  private readonly file?: WriteStream;

  constructor(target?: string | NodeJS.WritableStream) {
    if (typeof target === 'string') {
      // Created 0600 (the events name hosts, commands and paths); an existing file keeps its mode.
      this.file = createWriteStream(target, { flags: 'w', mode: 0o600 });
      this.out = this.file;
    } else this.out = target ?? process.stdout;
  }

  emit(ev: FerryEvent): void {
    this.out.write(JSON.stringify(ev) + '\n');
  }

  async close(): Promise<void> {
    const f = this.file;
    if (f) await new Promise<void>((r) => f.end(r));
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
