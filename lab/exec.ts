// Runs local programs with argument arrays (never a shell string) and says which step is running.
import { spawn } from 'node:child_process';
import { FerryError } from '../runner/errors.js';

/** A local program exited non-zero or could not start. */
export class LabCommandError extends FerryError {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (exit ${code ?? 'signal'}): ${lastLines(stderr, 15)}`);
  }
}

/** The last `n` lines of `text`, to keep error messages readable. */
export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export interface RunOptions {
  /** Text written to the program's stdin. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the program after this many ms. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the exit code is non-zero. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args…` to completion and returns its output; throws LabCommandError when it fails. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LabCommandError([cmd, ...args], null, e.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const r = { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code !== 0 && !opts.allowFailure) reject(new LabCommandError([cmd, ...args], code, r.stderr || r.stdout));
      else resolve(r);
    });
    // A program that never reads stdin closes it early; that EPIPE is not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Prints one progress line on stderr (the lab is a developer tool; stdout stays for results). */
export function say(message: string): void {
  if (process.env.FERRY_LAB_QUIET) return;
  process.stderr.write(`[lab] ${message}\n`);
}

/** Runs `fn`, printing how long the step took. */
export async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  say(`${title}...`);
  const r = await fn();
  say(`${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}
