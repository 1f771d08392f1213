// The wait for a task that was told to stop (an interrupt, its `timeout:`): a while, not forever.

/**
 * The work's result; or, once `signal` has aborted and the work has not settled `graceMs` later,
 * undefined: a module that does not stop when its commands are stopped does not hold up the run.
 */
export function settledOrAbandoned<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = (): void => {
      timer = setTimeout(() => resolve(undefined), graceMs);
    };
    if (signal.aborted) giveUp();
    else signal.addEventListener('abort', giveUp, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', giveUp);
    });
  });
}
