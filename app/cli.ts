#!/usr/bin/env node
// The command line's entry: a bare --version / -V is answered here, with nothing loaded but the
// package's version (issue 15 §4: `ferry --version` ≤ 150 ms); anything else loads the command line
// itself (app/cli-main.ts: exit codes, final errors, signals) and the command it runs.
import { readFileSync } from 'node:fs';

/** ferry's version: the package.json beside dist/ says it ('dev' without one). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'dev';
  }
}

const argv = process.argv.slice(2);
// commander prints the same for --version; loading it (and the commands) is what this skips
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) process.stdout.write(version() + '\n');
else (await import('./cli-main.js')).start(argv, version());
