// A minimal QMP client (qemu's JSON control socket): enough to pause the VM and save its state.
import net from 'node:net';
import { FerryError } from '../runner/errors.js';

/** One QMP connection: send a command, get its `return` (events are skipped). */
export class Qmp {
  private buffer = '';
  private waiters: ((msg: Record<string, unknown>) => void)[] = [];
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        // Asynchronous events (STOP, RESUME, MIGRATION...) are not answers to our commands.
        if ('event' in msg) continue;
        this.waiters.shift()?.(msg);
      }
    });
  }

  /** Connects to the QMP socket at `path` and leaves capabilities negotiation done. */
  static async connect(path: string): Promise<Qmp> {
    const socket = net.connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const qmp = new Qmp(socket);
    await qmp.next(); // the greeting
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Runs one QMP command and returns its result; throws with qemu's error description. */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const answer = this.next();
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    const msg = await answer;
    if ('error' in msg) {
      const err = msg.error as { desc?: string };
      throw new FerryError(`qemu QMP ${command}: ${err.desc ?? JSON.stringify(msg.error)}`);
    }
    return msg.return;
  }

  close(): void {
    this.socket.destroy();
  }
}
