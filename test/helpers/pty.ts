// Runs a command on a pseudo-terminal (util-linux `script`), as a person's shell would, so that
// the CLI draws with listr2 and colours; returns what the terminal received.
import { spawn, spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';

/** What a command printed on a pty: `raw` with escape sequences, `screen` without them. */
export interface PtyRun {
  status: number | null;
  raw: string;
  screen: string;
  stderr: string;
}

/** Runs argv on a pty of the given size in cwd. */
export function runOnPty(argv: string[], cwd: string, size = { cols: 120, rows: 40 }): PtyRun {
  const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', `stty cols ${size.cols} rows ${size.rows}; ${cmd}`, '/dev/null'], { cwd, encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
  return { status: r.status, raw: r.stdout, screen: stripVTControlCharacters(r.stdout), stderr: r.stderr };
}

/** One answer typed on a pty: `answer` then Enter, once `prompt` has appeared since the previous answer. */
export interface PtyAnswer {
  prompt: RegExp;
  answer: string;
  /**
   * How long to wait after the prompt shows before typing. For a program that flushes the terminal's
   * input after drawing its prompt (ansible-playbook's pause): keys typed before the flush are lost.
   */
  graceMs?: number;
}

/**
 * Runs argv on a pty and types `answer` (then Enter) once `prompt` has appeared on the screen, as a
 * person would: never before, whatever the machine's load (keys typed early would be echoed).
 */
export function answerOnPty(argv: string[], cwd: string, prompt: RegExp, answer: string, env: NodeJS.ProcessEnv = process.env): Promise<PtyRun> {
  return answersOnPty(argv, cwd, [{ prompt, answer }], env);
}

/** Runs argv on a pty and types each answer in turn once its prompt has appeared after the previous one (see answerOnPty). */
export function answersOnPty(argv: string[], cwd: string, answers: PtyAnswer[], env: NodeJS.ProcessEnv = process.env): Promise<PtyRun> {
  const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd, env });
  let raw = '';
  let stderr = '';
  // the next answer, and where on the screen its prompt may start (after what the previous one saw)
  let next = 0;
  let from = 0;
  let waiting = false;
  // (the command may end without reading what was typed)
  child.stdin.on('error', () => {});
  const typeWhenPrompted = (): void => {
    const a = answers[next];
    if (!a || waiting) return;
    const screen = stripVTControlCharacters(raw);
    if (!a.prompt.test(screen.slice(from))) return;
    waiting = true;
    setTimeout(() => {
      child.stdin.write(`${a.answer}\r`);
      next += 1;
      from = stripVTControlCharacters(raw).length;
      waiting = false;
      typeWhenPrompted();
    }, a.graceMs ?? 0);
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
    typeWhenPrompted();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      child.stdin.destroy();
      resolve({ status, raw, screen: stripVTControlCharacters(raw), stderr });
    });
  });
}
