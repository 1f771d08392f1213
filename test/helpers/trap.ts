// A TCP listener that counts the connections made to it and closes each at once: the host of an
// inventory that bad input must never reach (a test asserts its count stayed 0). The kernel queues a
// connection until this process's event loop accepts it, which a test blocked in spawnSync does not
// let happen: the count lets the loop turn first, so a contact made during a synchronous run counts.
import { createServer } from 'node:net';

/** A counting listener on 127.0.0.1. */
export interface Trap {
  port: number;
  /** How many connections were made to it so far (the ones still queued accepted first). */
  contacts(): Promise<number>;
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
    contacts: async () => {
      await new Promise((r) => setTimeout(r, 50));
      return contacts;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
