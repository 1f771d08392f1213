// Counts a transport's round trips: every command run or started, and every file got or put (each
// of which is one command over the connection), with the command texts for a failing assertion.
import type { Transport } from '../../runner/transport/types.js';

/** A transport that forwards to `inner` and records one entry per round trip; `reset()` starts a new count. */
export class RoundTripCounter implements Transport {
  readonly trips: string[] = [];
  constructor(readonly inner: Transport) {}
  get host(): string {
    return this.inner.host;
  }
  reset(): void {
    this.trips.length = 0;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  run(...a: Parameters<Transport['run']>): ReturnType<Transport['run']> {
    this.trips.push(`run ${a[0].display}`);
    return this.inner.run(...a);
  }
  spawn(...a: Parameters<Transport['spawn']>): ReturnType<Transport['spawn']> {
    this.trips.push(`spawn ${a[0].display}`);
    return this.inner.spawn(...a);
  }
  put(...a: Parameters<Transport['put']>): ReturnType<Transport['put']> {
    this.trips.push(`put ${a[0]}`);
    return this.inner.put(...a);
  }
  get(...a: Parameters<Transport['get']>): ReturnType<Transport['get']> {
    this.trips.push(`get ${a[0]}`);
    return this.inner.get(...a);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
