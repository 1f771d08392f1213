// Runs commands on the controller itself (`localhost`, `ferry_connection: local`), with the
// same wrapping, become and file semantics as SSH (all of it lives in BaseTransport).
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { BaseTransport, type RawProcess } from './base.js';

/** Options of a local transport. */
export interface LocalTransportOptions {
  host?: string;
  /** Grace between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
}

/** A transport that runs `sh -c` as a child process of ferry. */
export class LocalTransport extends BaseTransport {
  readonly host: string;
  private readonly killGraceMs: number;
  private readonly running = new Set<RawProcess>();

  constructor(opts: LocalTransportOptions = {}) {
    super();
    this.host = opts.host ?? 'localhost';
    this.killGraceMs = opts.killGraceMs ?? 1000;
  }

  protected loginUser(): string | undefined {
    return userInfo().username;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    for (const p of this.running) p.kill();
  }

  protected async start(text: string): Promise<RawProcess> {
    // its own process group, so a kill reaches the whole pipeline and not only sh
    const child = spawn('sh', ['-c', text], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // the group is already gone
      }
    };
    const proc: RawProcess = {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exit,
      kill: () => {
        if (killTimer) return;
        signalGroup('SIGTERM');
        killTimer = setTimeout(() => signalGroup('SIGKILL'), this.killGraceMs);
        killTimer.unref();
      },
    };
    this.running.add(proc);
    void exit
      .finally(() => {
        if (killTimer) clearTimeout(killTimer);
        this.running.delete(proc);
      })
      .catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return proc;
  }
}
