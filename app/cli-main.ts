// The command line (loaded by the entry, app/cli.ts, for anything but a bare --version): a thin layer
// over the library. The only place that prints final errors and calls process.exit. Exit codes (README "Exit codes"):
//   0 all ok · 1 internal error · 2 a host failed · 3 a host was unreachable (none failed)
//   4 bad input (inventory, playbook, vars: nothing was contacted) · 5 bad command line
//   130 interrupted by SIGINT (Ctrl-C) · 143 by SIGTERM
import { current, exitCodeFor, secrets } from './cli-session.js';
import { EXIT_BAD_INPUT, EXIT_HOST_FAILED, EXIT_USAGE, FerryError, InterruptedError, RunStoppedError, ValidationError, formatProblem } from '../runner/errors.js';

/**
 * The first SIGINT/SIGTERM stops the run (commands stopped, always: blocks run, state and recap
 * written); a second one exits at once, naming what was still running. With no run in progress
 * there is nothing to stop: exit at once.
 */
function onSignal(sig: NodeJS.Signals): void {
  if (!current.stop) process.exit(exitCodeFor(sig));
  if (!current.signal) {
    current.signal = sig;
    const again = sig === 'SIGINT' ? 'Ctrl-C' : sig;
    process.stderr.write(`\nferry: ${sig}: stopping the commands that run, starting no other task; always: blocks still run (${again} again exits at once)\n`);
    current.stop.abort(new InterruptedError(sig));
    return;
  }
  const live = current.live?.() ?? [];
  process.stderr.write(
    `\nferry: ${sig} again: exiting at once; ` +
      (live.length
        ? 'these commands were still running (one in a persistent shell is stopped by the host once the connection closes; ' +
          `one on an exec channel — become through sudo, a streamed copy, ferry_persistent_shell: false — may run on):\n${live.join('\n')}\n`
        : 'no command was running\n'),
  );
  process.exit(exitCodeFor(current.signal));
}

function formatProblems(e: ValidationError): string {
  return e.problems.map((p) => '  ' + formatProblem(p).replace(/\n/g, '\n  ')).join('\n');
}

/** Runs the command line; returns the exit code, having printed what went wrong (masked). */
async function main(argv: string[], version: string): Promise<number> {
  // Loaded only now: a bare --version needs neither commander nor the commands' definitions.
  const { runProgram, CommanderError } = await import('./cli-program.js');
  try {
    return await runProgram(argv, version);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code !== 'commander.executeSubCommandAsync') process.stderr.write(e.code.startsWith('ferry.') ? `ferry: ${e.message}\n` : '');
      return EXIT_USAGE;
    }
    if (e instanceof ValidationError) {
      process.stderr.write(secrets.mask(`ferry: bad input, nothing was run:\n${formatProblems(e)}\n`));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof RunStoppedError) {
      process.stderr.write(secrets.mask(`ferry: ${e.message.split("\n")[0]}\n${formatProblems(e.problem)}\n`));
      return EXIT_HOST_FAILED;
    }
    if (e instanceof FerryError) {
      process.stderr.write(secrets.mask(`ferry: ${e.message}\n`));
      return 1;
    }
    // the built CLI is a bundle: its stack is shown in terms of the sources (their maps read only now)
    const stack = (e as Error).stack;
    const shown = stack === undefined ? String(e) : await import('./stack-source.js').then(({ sourceStack }) => sourceStack(stack), () => stack);
    process.stderr.write(secrets.mask(`ferry: internal error: ${shown}\n`));
    return 1;
  }
}

/** Runs the command line and exits with its code; the first signal stops a run (onSignal). */
export function start(argv: string[], version: string): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(argv, version).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(secrets.mask(`ferry: internal error: ${String(e)}\n`));
      process.exit(1);
    },
  );
}
