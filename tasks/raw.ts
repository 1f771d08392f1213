// raw: Ansible's "low-down and dirty" command: the text goes as it is to the login shell on the host,
// on a terminal as Ansible's ssh connection runs it, with no module machinery (so no Python needed).
import { z } from 'zod';
import { sh, shellText, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Verdict } from '../runner/module.js';
import type { RunResult } from '../runner/transport/types.js';
import { describeFailure } from '../runner/task-context.js';

const params = z.strictObject({
  cmd: z.string().min(1).describe('The command text, sent as it is to the login shell of the remote user (the free form: `raw: TEXT`)'),
  executable: z.string().min(1).optional().describe('Run the text as `EXECUTABLE -c TEXT` instead (an absolute path, e.g. /bin/bash)'),
});

type Params = z.output<typeof params>;

/** The command raw sends: the text itself, or the text given to `executable -c`. */
export function rawCommand(p: Params): Command {
  return p.executable !== undefined ? sh`${p.executable} -c ${p.cmd}` : shellText(p.cmd);
}

/** Decides raw (pure): in check mode it is skipped, as Ansible skips it; else it runs the text. */
export function decideRaw(p: Params, facts: { check: boolean }): Verdict {
  if (facts.check) return { changed: false, skipped: true, reason: 'check mode: raw runs nothing (Ansible skips it)' };
  return { changed: true, steps: [{ title: `run ${p.cmd}${p.executable !== undefined ? ` with ${p.executable}` : ''}`, cmd: rawCommand(p) }] };
}

/** Python's str.splitlines: any line break, none after the last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  return text.replace(/(\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])$/, '').split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
}

/** What raw registers: the output as it came (not trimmed: on a terminal lines end in \r\n), its lines, rc. */
export function rawResult(r: Pick<RunResult, 'exitCode' | 'stdout' | 'stderr'>): Record<string, unknown> {
  return { rc: r.exitCode, stdout: r.stdout, stdout_lines: splitLines(r.stdout), stderr: r.stderr, stderr_lines: splitLines(r.stderr) };
}

export const rawModule = defineModule({
  name: 'raw',
  params,
  freeForm: 'cmd',
  runsEveryTime: true,
  doc: {
    summary: 'Run a command text as it is through the remote login shell, without any module machinery',
    description:
      "Ansible's raw: for hosts without Python or a POSIX toolbox (bootstrapping, appliances). The text is not quoted " +
      'or split: it reaches the login shell of the remote user as written. Over SSH it runs on a terminal, as ' +
      "Ansible's ssh connection runs it: standard error is merged into standard output and lines end in \\r\\n " +
      '(with a become password too: sudo asks on the terminal and ferry answers, as Ansible does, so the output ' +
      "starts with the line break sudo prints after the password). Always reports changed, also " +
      "when it fails: a non-zero exit fails the task with Ansible's 'non-zero return code' and changed: true " +
      '(an ignored failure counts as changed in the recap, as in Ansible). Prefer command or shell.',
    checkMode: 'none',
    checkModeNote: 'skipped in check mode, as Ansible skips it: nothing runs',
    result: {
      rc: 'the exit status',
      stdout: 'standard output as it came (final line break kept)',
      stdout_lines: 'stdout split into lines',
      stderr: 'standard error (empty on a terminal: merged into stdout)',
      stderr_lines: 'stderr split into lines',
    },
    example: ['- raw: test -e /usr/bin/python3 || (apt-get update && apt-get install -y python3-minimal)', '', '- raw: echo $0', '  args:', '    executable: /bin/bash'].join('\n'),
  },
  read: async (ctx) => ({ check: ctx.check }),
  decide: decideRaw,
  async apply(ctx, _p, plan) {
    const r = await ctx.run(plan.steps[0]!.cmd!, { tty: true });
    const result = rawResult(r);
    // the person reads what failed; register keeps Ansible's msg, and changed: the text ran, whatever its exit
    if (r.exitCode !== 0) throw new TaskFailedError(describeFailure(r), { ...result, changed: true, msg: 'non-zero return code' });
    return result;
  },
});
