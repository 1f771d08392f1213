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

/**
 * Runs argv on a pty and types `answer` (then Enter) once `prompt` has appeared on the screen, as a
 * person would: never before, whatever the machine's load (keys typed early would be echoed).
 */
export function answerOnPty(argv: string[], cwd: string, prompt: RegExp, answer: string, env: NodeJS.ProcessEnv = process.env): Promise<PtyRun> {
  const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd, env });
  let raw = '';
  let stderr = '';
  let typed = false;
  // (the command may end without reading what was typed)
  child.stdin.on('error', () => {});
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
    if (!typed && prompt.test(stripVTControlCharacters(raw))) {
      typed = true;
      child.stdin.write(`${answer}\r`);
    }
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
