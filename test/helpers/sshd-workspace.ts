// One sshd host and a world-writable work folder with an inventory naming the host, set up before a
// describe's tests and removed after them (the shape most single-host integration tests share).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, writeInventory, type SshdHost } from '../harness/sshd.js';

export interface SshdWorkspace {
  host: SshdHost;
  /** The folder (mode 0777, so the host's plain user can write in it). */
  dir: string;
  /** inventory.yml in dir, naming the host. */
  inv: string;
}

/** Registers before/after hooks in the calling describe; the fields are set once `before` ran. */
export function sshdWorkspace(prefix: string): SshdWorkspace {
  const ws = {} as SshdWorkspace;
  before(async () => {
    ws.host = await startSshd();
    ws.dir = await mkdtemp(join(tmpdir(), `ferry-${prefix}-`));
    await chmod(ws.dir, 0o777);
    ws.inv = await writeInventory([ws.host], ws.dir);
  });
  after(async () => {
    await ws.host?.stop();
    if (ws.dir) await rm(ws.dir, { recursive: true, force: true });
  });
  return ws;
}
