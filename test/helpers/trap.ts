// A TCP listener that counts the connections made to it and closes each at once: the host of an
// inventory that bad input must never reach (a test asserts its count stayed 0).
import { createServer } from 'node:net';

/** A counting listener on 127.0.0.1. */
export interface Trap {
  port: number;
  /** How many connections it has accepted so far. */
  contacts(): number;
  close(): Promise<void>;
}

/** Starts a trap on a free port of 127.0.0.1. */
export async function startTrap(): Promise<Trap> {
  let contacts = 0;
  const server = createServer((s) => {
    contacts++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    contacts: () => contacts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
