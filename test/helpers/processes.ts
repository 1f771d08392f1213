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

/** Polls `cond` every 50 ms; throws naming `what` (a function: read when it fails) when it is still false after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`still not true after ${timeoutMs} ms: ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until no process holds `marker` (up to 15 s: a loaded machine, with a lab VM beside the tests,
 * was seen to take over 5 s to end a sudo wrapper); fails naming those still there then.
 */
export function noProcessLeft(marker: string): Promise<void> {
  return waitUntil(() => processesMatching(marker).length === 0, 15_000, () => `no process left: ${processesMatching(marker).join('; ')}`);
}

/** Kills whatever a failed test left running with `marker` in its command line. */
export function killMatching(marker: string): void {
  try {
    execFileSync('pkill', ['-KILL', '-f', marker]);
  } catch {
    // nothing left
  }
}
