// Processes on this machine (where the harness sshd runs too), found by a marker in their
// command line: how tests prove that nothing a run started is left behind.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

/** A number no other process of the machine has in its command line (for `sleep 1N`, `count=2N`). */
export function uniqueMarker(): string {
  return String(randomInt(100_000_000, 999_999_999));
}

/** `pid args` of every process whose command line holds `marker`. */
export function processesMatching(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Polls `cond` every 50 ms; throws naming `what` when it is still false after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills whatever a failed test left running with `marker` in its command line. */
export function killMatching(marker: string): void {
  try {
    execFileSync('pkill', ['-KILL', '-f', marker]);
  } catch {
    // nothing left
  }
}
