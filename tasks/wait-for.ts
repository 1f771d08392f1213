// wait_for: poll ON THE HOST until a port opens/closes, a path appears/disappears or a command
// succeeds. The loop is a small POSIX sh script, so it costs one command however long it waits.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { optionLikeProblem } from './lib/operands.js';
import { checkedBy } from './lib/schema.js';

const params = z
  .strictObject({
    port: z.number().int().min(1).max(65535).optional().describe('TCP port to wait for (on host, as seen from the target)'),
    host: z.string().min(1).superRefine(checkedBy(optionLikeProblem)).default('127.0.0.1').describe('Address the port is checked on, from the target host'),
    path: z.string().min(1).optional().describe('File to wait for'),
    cmd: z.string().min(1).optional().describe('Shell text run by sh on the target until it exits 0'),
    state: z
      .enum(['started', 'stopped', 'present', 'absent'])
      .optional()
      .describe('started/present: wait until open/existing/succeeding (default); stopped/absent: until closed/gone'),
    timeout: z.number().positive().default(300).describe('Seconds to wait in all (counting delay) before failing'),
    delay: z.number().nonnegative().default(0).describe('Seconds to wait before the first check'),
    sleep: z.number().positive().default(1).describe('Seconds between checks'),
    msg: z.string().optional().describe('Failure message instead of the default'),
  })
  .superRefine((p, ctx) => {
    const given = [p.port, p.path, p.cmd].filter((x) => x !== undefined).length;
    if (given > 1) ctx.addIssue({ code: 'custom', path: ['port'], message: 'give one of port, path and cmd' });
    if (p.cmd !== undefined && (p.state === 'stopped' || p.state === 'absent')) {
      ctx.addIssue({ code: 'custom', path: ['state'], message: 'cmd waits until the command succeeds; state stopped/absent does not apply' });
    }
    if (p.port !== undefined && (p.state === 'present' || p.state === 'absent')) {
      ctx.addIssue({ code: 'custom', path: ['state'], message: 'for a port, state is started or stopped' });
    }
  });

type Params = z.output<typeof params>;

/** Exit code of the probe when the host has neither bash nor nc to test a port with. */
const NO_PORT_TOOL = 97;

/** What the task waits for, in words: `what` for titles and failures, `already` for the no-change reason. */
export function describeWait(p: Params): { what: string; already: string } {
  const gone = p.state === 'stopped' || p.state === 'absent';
  if (p.port !== undefined) {
    const where = `port ${p.port} on ${p.host}`;
    return { what: `${where} to be ${gone ? 'closed' : 'open'}`, already: `${where} is already ${gone ? 'closed' : 'open'}` };
  }
  if (p.path !== undefined) return { what: `${p.path} to ${gone ? 'disappear' : 'exist'}`, already: gone ? `${p.path} does not exist` : `${p.path} exists` };
  if (p.cmd !== undefined) return { what: `\`${p.cmd}\` to succeed`, already: `\`${p.cmd}\` already succeeds` };
  return { what: `${p.timeout}s`, already: '' };
}

/** A shell function `met` that returns 0 once the wanted condition holds (97: no tool to check a port). */
export function conditionFunction(p: Params): Command {
  const gone = p.state === 'stopped' || p.state === 'absent';
  if (p.port !== undefined) {
    // bash's /dev/tcp is on nearly every Linux; nc is the fallback. Host and port reach bash as $0/$1, never as code.
    const probe = sh`if command -v bash >/dev/null 2>&1; then timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' ${p.host} ${p.port} 2>/dev/null; elif command -v nc >/dev/null 2>&1; then nc -z -w 5 -- ${p.host} ${p.port} >/dev/null 2>&1; else return ${NO_PORT_TOOL}; fi`;
    return gone ? sh`met() { ${probe}; rc=$?; [ $rc -eq ${NO_PORT_TOOL} ] && return ${NO_PORT_TOOL}; [ $rc -ne 0 ]; }` : sh`met() { ${probe}; }`;
  }
  if (p.path !== undefined) return gone ? sh`met() { ! test -e ${p.path}; }` : sh`met() { test -e ${p.path}; }`;
  if (p.cmd !== undefined) return sh`met() { sh -c ${p.cmd} >/dev/null 2>&1 </dev/null; }`;
  return sh`met() { false; }`;
}

/** The polling loop: exits 0 when met, 124 on timeout, 97 when a port cannot be checked. */
export function waitScript(p: Params): Command {
  if (sleepsOnly(p)) return sh`sleep ${p.timeout}`;
  return sh`${conditionFunction(p)}; end=$(( $(date +%s) + ${Math.ceil(p.timeout)} )); sleep ${p.delay}; while :; do met; rc=$?; [ $rc -eq 0 ] && exit 0; [ $rc -eq ${NO_PORT_TOOL} ] && exit ${NO_PORT_TOOL}; [ "$(date +%s)" -ge "$end" ] && exit 124; sleep ${p.sleep}; done`;
}

function sleepsOnly(p: Params): boolean {
  return p.port === undefined && p.path === undefined && p.cmd === undefined;
}

/** What wait_for's read found: the exit code of one check of the condition (not read when it sleeps only or has a delay). */
export interface WaitFacts {
  host: string;
  /** 0: the condition holds; NO_PORT_TOOL: a port cannot be checked; else: not yet. */
  check?: number;
}

/** Checks the condition once, unless the task only sleeps or is asked to wait a delay first. */
export async function readWait(ctx: TaskContext, p: Params): Promise<WaitFacts> {
  if (sleepsOnly(p) || p.delay !== 0) return { host: ctx.host };
  const r = await ctx.run(sh`${conditionFunction(p)}; met`, { timeoutMs: 30_000 });
  return { host: ctx.host, ...(r.exitCode !== null ? { check: r.exitCode } : {}) };
}

/** Decides whether to wait (pure): no change when the check found the condition already met. */
export function decideWait(p: Params, f: WaitFacts): Verdict {
  const { what, already } = describeWait(p);
  if (f.check === NO_PORT_TOOL) return { refused: `cannot check ports on ${f.host}: neither bash nor nc is installed` };
  if (f.check === 0) return { changed: false, reason: `no wait needed: ${already}` };
  const state = p.state ?? (p.path !== undefined ? 'present' : 'started');
  const script = waitScript(p);
  return {
    changed: true,
    steps: [
      {
        title: sleepsOnly(p) ? `sleep ${p.timeout}s` : `wait up to ${p.timeout}s for ${what}`,
        // cmd is what runs (and what --check -v prints); run is the escape hatch that gives its exit codes
        // their messages (124: timed out) and bounds the command by the task's timeout.
        cmd: script,
        run: async (c) => {
          const start = Date.now();
          const r = await c.run(script, { timeoutMs: (p.timeout + 30) * 1000 });
          const elapsed = Math.round((Date.now() - start) / 100) / 10;
          if (r.exitCode === 0) return { elapsed, state };
          if (r.exitCode === 124) throw new TaskFailedError(p.msg ?? `timed out after ${p.timeout}s waiting for ${what}`, { elapsed, state });
          if (r.exitCode === NO_PORT_TOOL) throw new TaskFailedError(`cannot check ports on ${c.host}: neither bash nor nc is installed`);
          throw new TaskFailedError(`waiting for ${what} failed: ${describeFailure(r)}`, { elapsed, state });
        },
      },
    ],
    data: { state },
  };
}

export const waitForModule = defineModule({
  name: 'wait_for',
  params,
  doc: {
    summary: 'Wait on the host for a port, a path or a command (or just sleep)',
    description:
      'The check runs on the target (a port is tested with bash /dev/tcp, or nc): host 127.0.0.1 means the target itself. ' +
      'Plan checks once: when the condition already holds (and there is no delay) nothing is waited for. Without port, path ' +
      'or cmd it sleeps for timeout seconds.',
    checkMode: 'full',
    checkModeNote: 'check mode reports whether it would wait and does not wait',
    result: { elapsed: 'seconds waited', state: 'the state waited for' },
    example: [
      '- name: the guest answers on ssh',
      '  wait_for: { port: 22, host: "{{ guest_ip }}", timeout: 600, delay: 10 }',
      '',
      '- wait_for: { path: /dev/vg0/guest-root, timeout: 30 }',
      '- wait_for: { cmd: "virsh domstate guest | grep -q running", timeout: 120 }',
    ].join('\n'),
  },
  read: readWait,
  decide: decideWait,
});
