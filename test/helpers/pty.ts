// Runs a command on a pseudo-terminal (util-linux `script`), as a person's shell would, so that
// the CLI draws with listr2 and colours; returns what the terminal received.
import { spawnSync } from 'node:child_process';
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
