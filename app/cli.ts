#!/usr/bin/env node
// The command line's entry: a bare --version / -V is answered here, with nothing loaded but the
// package's version (app/version.cts, shared with the package's bin; issue 15 §4: `ferry --version`
// ≤ 150 ms); anything else loads the command line itself (app/cli-main.ts: exit codes, final errors,
// signals) and the command it runs.
import { readFileSync } from 'node:fs';
import { bareVersionAnswer, ferryVersion } from './version.cjs';

const readBesideEntry = (p: string): string => readFileSync(new URL(p, import.meta.url), 'utf8');
const argv = process.argv.slice(2);
// commander prints the same for --version; loading it (and the commands) is what this skips
const answer = bareVersionAnswer(argv, readBesideEntry);
if (answer !== undefined) process.stdout.write(answer);
else (await import('./cli-main.js')).start(argv, ferryVersion(readBesideEntry));
