#!/usr/bin/env node
// The package's `ferry` command (package.json "bin"). CommonJS on purpose: Node starts a CommonJS file
// ~10–15 ms (CPU) sooner than an ES module, which is most of what `ferry --version` costs beyond Node's
// own start (issue 15 §4: ≤ 150 ms; bench/startup.ts). So a bare --version / -V is answered here
// (app/version.cts, shared with the ES module entry; the build inlines it, app/cli-bundle-write.ts);
// anything else runs the command line, an ES module bundle (app/cli.ts, built to dist/app/cli.js).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bareVersionAnswer } from './version.cjs';

const answer = bareVersionAnswer(process.argv.slice(2), (p) => readFileSync(join(__dirname, p), 'utf8'));
if (answer !== undefined) process.stdout.write(answer);
// the entry reads process.argv itself; what it throws it reports (app/cli-main.ts)
else void import('./cli.js');
