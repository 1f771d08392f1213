// pause: wait a number of seconds or minutes, or until a person answers a prompt (Ansible's pause).
// It runs once for all the task's hosts (as Ansible's pause bypasses the host loop), on the controller:
// the wait (or the answer) is what `read` reads; an interrupt (Ctrl-C) stops it like any task.
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { PromptInterrupted, readTerminal } from '../runner/prompt.js';

const duration = (what: string) =>
  z
    .union([z.number(), z.string().regex(/^\s*\d+(\.\d+)?\s*$/, `must be a number of ${what}`).transform(Number)])
    .pipe(z.number().nonnegative(`must not be negative`))
    .optional()
    .describe(`How many ${what} to wait (exclusive with ${what === 'seconds' ? 'minutes' : 'seconds'})`);

const params = z
  .strictObject({
    seconds: duration('seconds'),
    minutes: duration('minutes'),
    prompt: z.string().optional().describe('The text shown; without seconds/minutes, wait for Enter on the terminal and return what was typed'),
    echo: z.boolean().default(true).describe('Show what is typed at the prompt'),
  })
  .refine((p) => p.seconds === undefined || p.minutes === undefined, { path: ['minutes'], message: 'give seconds or minutes, not both' });

type Params = z.output<typeof params>;

/** What the pause saw: when it started and stopped, what was typed, and whether anyone could answer. */
export interface PauseFacts {
  start: string;
  stop: string;
  /** Seconds waited. */
  waited: number;
  userInput: string;
  /** False when a prompt had no terminal to read from (Ansible does not wait then). */
  interactive: boolean;
}

const NOT_INTERACTIVE = 'Not waiting for response to prompt as stdin is not interactive';

/** Decides pause (pure): nothing changes; the result has Ansible's keys and the wait as the reason. */
export function decidePause(p: Params, f: PauseFacts) {
  // Ansible counts in minutes unless seconds were given (a prompt's wait too).
  const inMinutes = p.seconds === undefined;
  const amount = Math.round((inMinutes ? f.waited / 60 : f.waited) * 100) / 100;
  // Printed as Python prints a float (2.0, not 2), so stdout reads as Ansible's.
  const stdout = `Paused for ${Number.isInteger(amount) ? amount.toFixed(1) : amount} ${inMinutes ? 'minutes' : 'seconds'}`;
  const timed = p.seconds !== undefined || p.minutes !== undefined;
  const reason = !timed && !f.interactive ? `${NOT_INTERACTIVE}; ${stdout}` : stdout;
  const data = { user_input: f.userInput, start: f.start, stop: f.stop, delta: Math.trunc(f.waited), echo: p.echo, stdout, stderr: '', rc: 0 };
  return { changed: false as const, reason, data };
}

/** Waits ms on the controller; an abort ends the wait early with the signal's reason. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new TaskFailedError('interrupted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wait itself: seconds/minutes, else a line read on the terminal (Ctrl-C there interrupts the run, as anywhere). */
async function pauseFor(ctx: TaskContext, p: Params): Promise<PauseFacts> {
  const t0 = Date.now();
  const start = new Date(t0).toISOString();
  const hidden = p.echo ? '' : ' (output is hidden)';
  let userInput = '';
  let interactive = true;
  const seconds = p.minutes !== undefined ? p.minutes * 60 : p.seconds;
  if (seconds !== undefined) {
    if (p.prompt !== undefined) process.stderr.write(`${p.prompt}${hidden}\n`);
    await wait(Math.max(seconds, 1) * 1000, ctx.signal);
  } else if (process.stdin.isTTY) {
    try {
      userInput = await readTerminal(process.stdin, process.stderr, `${p.prompt ?? 'Press enter to continue, Ctrl+C to interrupt'}${hidden}:\n`, p.echo);
    } catch (e) {
      if (!(e instanceof PromptInterrupted)) throw e;
      // The terminal is raw while it reads, so Ctrl-C came as a key: pass it on as the interrupt it is.
      process.kill(process.pid, 'SIGINT');
      throw new TaskFailedError('interrupted at the prompt');
    }
  } else {
    interactive = false;
  }
  const t1 = Date.now();
  return { start, stop: new Date(t1).toISOString(), waited: (t1 - t0) / 1000, userInput, interactive };
}

export const pauseModule = defineModule({
  name: 'pause',
  params,
  runsOnce: true,
  doc: {
    summary: 'Wait some seconds or minutes, or until Enter is pressed at a prompt (once for all hosts)',
    description:
      "Ansible's pause: runs once for the task's hosts, on the controller, and every host registers the same result. " +
      'With seconds or minutes it waits that long (at least 1 second), showing prompt if given; Ctrl-C interrupts the ' +
      'run as it does anywhere. Without them it shows prompt on the terminal and waits for Enter, returning what was ' +
      'typed (echo: false hides it). Without a terminal (stdin is not a TTY) it does not wait, as Ansible does, and says so.',
    checkMode: 'full',
    checkModeNote: 'waits in check mode too, as Ansible does; nothing is changed on any host',
    result: {
      user_input: 'what was typed at the prompt',
      start: 'ISO time the pause started',
      stop: 'ISO time it ended',
      delta: 'whole seconds paused',
      stdout: "'Paused for N seconds' (or minutes)",
      echo: 'the echo parameter',
    },
    example: [
      '- pause: { seconds: 30 }',
      '',
      '- pause:',
      '    prompt: Check the guest console, then press Enter',
      '  register: answer',
    ].join('\n'),
  },
  read: pauseFor,
  decide: decidePause,
});
