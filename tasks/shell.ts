// shell: run the user's text with a shell (pipes, redirections, $VARS) — the text is theirs, passed whole.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { FAILURE_DOC, readGuard, runResult, runVerdict, type GuardFacts } from './lib/run-command.js';

const params = z.strictObject({
  cmd: z.string().min(1).describe('Shell text run as `EXECUTABLE -c CMD`'),
  executable: z.string().min(1).default('/bin/sh').describe('The shell that runs cmd'),
  creates: z.string().min(1).optional().describe('Do nothing when this path exists (relative to chdir)'),
  removes: z.string().min(1).optional().describe('Do nothing unless this path exists (relative to chdir)'),
  chdir: z.string().min(1).optional().describe('Directory to run in'),
  stdin: z.string().optional().describe('Text fed to the command on standard input'),
  stdin_add_newline: z.boolean().default(true).describe('Append a newline to stdin (as Ansible does)'),
});

/** Decides what shell does: nothing when creates/removes say so, else run the text with the shell (pure). */
export function decideShell(p: z.output<typeof params>, facts: GuardFacts): Verdict {
  return runVerdict(p, facts, `run ${p.cmd}`, sh`${p.executable} -c ${p.cmd}`);
}

export const shellModule = defineModule({
  name: 'shell',
  params,
  freeForm: 'cmd',
  runsEveryTime: true,
  doc: {
    summary: 'Run shell text on the host (pipes, redirections, variables)',
    description:
      'The text is handed whole to the shell as one argument of `-c`; ferry adds nothing to it. Prefer command ' +
      'when no shell feature is needed. ' +
      FAILURE_DOC,
    checkMode: 'partial',
    checkModeNote: 'reports that it would run (changed) unless creates/removes say there is nothing to do; nothing runs',
    result: {
      stdout: 'standard output, final newline removed',
      stderr: 'standard error, final newline removed',
      stdout_lines: 'stdout split into lines',
      exitCode: 'the exit status (also rc)',
      start: 'ISO time the command started',
      end: 'ISO time it ended',
      delta: 'duration',
    },
    example: ['- shell: blkid -o export /dev/xvda1 | grep ^UUID=', '  register: uuid', '', '- shell:', '    cmd: set -o pipefail; dmesg | tail -n 50', '    executable: /bin/bash'].join('\n'),
  },
  read: (ctx, p) => readGuard(ctx, p),
  decide: decideShell,
  result: runResult,
});
