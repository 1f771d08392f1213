// What the command line's entry (cli.ts) and its lazily loaded commands (cli-run.ts) share: the
// secrets to mask in final errors, and the run a signal stops. Kept light: --version loads it.
import { EXIT_INTERRUPTED } from '../runner/errors.js';
import { SecretValues } from '../runner/secrets.js';

/** The secret values the run marks (password variables, no_log results): final errors are masked too. */
export const secrets = new SecretValues();

/** The run in progress (run, exec): what the first SIGINT or SIGTERM stops, and what may still run. */
export const current: {
  stop?: AbortController;
  /** The commands that may still run, one line each (set with `stop`). */
  live?: () => string[];
  signal?: NodeJS.Signals;
} = {};

/** The exit code of a run stopped by a signal: 128 + its number, as shells report it. */
export function exitCodeFor(sig: NodeJS.Signals): number {
  return sig === 'SIGTERM' ? 143 : EXIT_INTERRUPTED;
}
