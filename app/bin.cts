#!/usr/bin/env node
// The package's `ferry` command (package.json "bin"). CommonJS on purpose: Node starts a CommonJS file
// ~10–15 ms (CPU) sooner than an ES module, which is most of what `ferry --version` costs beyond Node's
// own start (issue 15 §4: ≤ 150 ms; bench/startup.ts). So a bare --version / -V is answered here;
// anything else runs the command line, an ES module bundle (app/cli.ts, built to dist/app/cli.js).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  let version = 'dev';
  try {
    version = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // no package.json beside dist/: as app/cli.ts says, 'dev'
  }
  process.stdout.write(version + '\n');
} else {
  // the entry reads process.argv itself; what it throws it reports (app/cli-main.ts)
  void import('./cli.js');
}
