// command: run a program with arguments, without a shell (no pipes, no $VARS, no globbing).
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { shlexSplit, ShlexError } from '../runner/shlex.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { FAILURE_DOC, readGuard, runResult, runVerdict, type GuardFacts } from './lib/run-command.js';

const params = z
  .strictObject({
    cmd: z.string().optional().describe("The command line, split into words like Ansible (shlex): quotes group, nothing is expanded"),
    argv: z.array(z.string()).min(1).optional().describe('The program and its arguments as a list (exclusive with cmd); each item is one word'),
    creates: z.string().min(1).optional().describe('Do nothing when this path exists (relative to chdir)'),
    removes: z.string().min(1).optional().describe('Do nothing unless this path exists (relative to chdir)'),
    chdir: z.string().min(1).optional().describe('Directory to run in'),
    stdin: z.string().optional().describe('Text fed to the command on standard input'),
    stdin_add_newline: z.boolean().default(true).describe('Append a newline to stdin (as Ansible does)'),
  })
  .refine((p) => (p.cmd === undefined) !== (p.argv === undefined), { message: 'give exactly one of cmd and argv' })
  .superRefine((p, ctx) => {
    if (p.cmd === undefined) return;
    try {
      if (shlexSplit(p.cmd).length === 0) ctx.addIssue({ code: 'custom', path: ['cmd'], message: 'cmd is empty' });
    } catch (e) {
      if (!(e instanceof ShlexError)) throw e;
      ctx.addIssue({ code: 'custom', path: ['cmd'], message: `${e.message.toLowerCase()} (${e.where}); quote it or use argv:` });
    }
  });

type Params = z.output<typeof params>;

/** Decides what command does: nothing when creates/removes say so, else run argv (pure). */
export function decideCommand(p: Params, facts: GuardFacts): Verdict {
  const argv = p.argv ?? shlexSplit(p.cmd!);
  // `exec` puts the first word where sh reads neither assignments (FOO=bar) nor reserved words (if, !):
  // every word is an argv entry, as without a shell.
  return runVerdict(p, facts, `run ${sh`${argv}`.display}`, sh`exec ${argv}`);
}

export const commandModule = defineModule({
  name: 'command',
  params,
  freeForm: 'cmd',
  runsEveryTime: true,
  doc: {
    summary: 'Run a program with arguments on the host, without a shell',
    description:
      'cmd is split into words like Ansible does (shlex): quotes group words, but |, ;, >, $VAR and * are passed ' +
      'as plain arguments; use shell for those. Each word is quoted when the command is built. ' +
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
      delta: 'duration, e.g. 0.012s',
    },
    example: [
      '- command: lvs --reportformat json',
      '  register: lvs',
      '',
      '- command:',
      '    argv: [mkinitramfs, -o, /boot/initrd.img-6.1.0, 6.1.0]',
      '    creates: /boot/initrd.img-6.1.0',
    ].join('\n'),
  },
  read: (ctx, p) => readGuard(ctx, p),
  decide: decideCommand,
  result: runResult,
});
