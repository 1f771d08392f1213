// reboot: reboot the host and wait until it is back (Ansible's reboot). "Back" means what Ansible
// means: the boot id (boot_time_command) differs from the one read before, then test_command works.
// The connection lost on the way is expected; ferry's transport reconnects on the next command.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { sleep } from '../runner/sleep.js';
import type { RunResult } from '../runner/transport/types.js';

const params = z.strictObject({
  msg: z.string().default('Reboot initiated by ferry').describe('The message shutdown broadcasts to logged-in users'),
  pre_reboot_delay: z.number().int().nonnegative().default(0).describe('Seconds before the reboot (given to shutdown in whole minutes, as Ansible does)'),
  post_reboot_delay: z.number().int().nonnegative().default(0).describe('Seconds to wait once the new boot is seen, before test_command'),
  reboot_timeout: z.number().int().positive().default(600).describe('Seconds the host has to come back and pass test_command'),
  connect_timeout: z.number().int().positive().default(10).describe('Seconds each probe (one command, reconnecting if needed) may take while waiting'),
  test_command: z.string().min(1).default('whoami').describe('Shell text that must succeed once the host is back'),
  reboot_command: z.string().min(1).optional().describe("Shell text that reboots the host (default: shutdown -r with pre_reboot_delay's minutes and msg)"),
  boot_time_command: z.string().min(1).default('cat /proc/sys/kernel/random/boot_id').describe('Shell text whose output changes with every boot'),
});

type Params = z.output<typeof params>;

/** What read found: the boot id before the reboot. */
export interface RebootFacts {
  bootId: string;
}

/** The reboot command a real run executes. */
export function rebootCommand(p: Params) {
  if (p.reboot_command !== undefined) return sh`/bin/sh -c ${p.reboot_command}`;
  return sh`shutdown -r ${`+${Math.floor(p.pre_reboot_delay / 60)}`} ${p.msg}`;
}

/** Decides reboot (pure): always one step, the reboot; what "back" means travels in data. */
export function decideReboot(p: Params, f: RebootFacts): Verdict {
  return { changed: true, steps: [{ title: `reboot (boot id now ${f.bootId.slice(0, 12)})`, cmd: rebootCommand(p) }] };
}

/** The boot id now (boot_time_command's output). */
async function readBootId(ctx: TaskContext, p: Params): Promise<RebootFacts> {
  const r = await ctx.run(sh`/bin/sh -c ${p.boot_time_command}`);
  const bootId = r.stdout.trim();
  if (r.exitCode !== 0 || !bootId) throw new TaskFailedError(`boot_time_command printed no boot id (${r.stderr.trim() || `exit ${r.exitCode}`}): give one whose output changes with every boot`, { rc: r.exitCode });
  return { bootId };
}

/** Runs `text` with `sh -c`, bounded by `seconds`; undefined when the host could not be reached. */
async function probe(ctx: TaskContext, text: string, seconds: number): Promise<RunResult | undefined> {
  try {
    return await ctx.run(sh`/bin/sh -c ${text}`, { timeoutMs: seconds * 1000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch (e) {
    if (ctx.signal?.aborted) throw e;
    return undefined;
  }
}


export const rebootModule = defineModule({
  name: 'reboot',
  params,
  doc: {
    summary: 'Reboot the host and wait until it is back (a new boot id, then test_command succeeds)',
    description:
      'The boot id is read first (boot_time_command); after the reboot command ferry probes the host every second, ' +
      'reconnecting as needed, until the boot id differs, waits post_reboot_delay, and runs test_command until it ' +
      'succeeds, all within reboot_timeout. Reboot needs root: use become.',
    checkMode: 'full',
    checkModeNote: 'check mode reads the boot id and reports the reboot as a change without rebooting',
    result: { rebooted: 'true once the host came back', elapsed: 'seconds from the reboot command to a working host' },
    example: ['- name: boot the new kernel', '  reboot: { reboot_timeout: 300 }', '  become: true'].join('\n'),
  },
  read: readBootId,
  decide: decideReboot,
  async apply(ctx, p, plan) {
    // read again right before the reboot: the one compared against is the one the reboot ends
    const before = (await readBootId(ctx, p)).bootId;
    const t0 = Date.now();
    const deadline = t0 + p.reboot_timeout * 1000;
    const elapsed = (): number => Math.round((Date.now() - t0) / 1000);
    // The connection may drop before the command returns: only a clear non-zero exit is a failure.
    let ran: RunResult | undefined;
    try {
      ran = await ctx.run(plan.steps[0]!.cmd!, ctx.signal ? { signal: ctx.signal } : {});
    } catch (e) {
      if (ctx.signal?.aborted) throw e;
    }
    if (ran && ran.exitCode !== null && ran.exitCode !== 0 && !ran.signal) {
      throw new TaskFailedError(`Reboot command failed. Error was: ${(ran.stderr || ran.stdout).trim() || `exit ${ran.exitCode}`}`, { rebooted: false, rc: ran.exitCode });
    }
    ctx.progress({ message: 'waiting for the host to boot again' });
    for (;;) {
      if (ctx.signal?.aborted) throw new TaskFailedError('interrupted while waiting for the host to boot again', { rebooted: false });
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) throw new TaskFailedError(`Timed out waiting for last boot time check (timeout=${p.reboot_timeout})`, { rebooted: false, elapsed: elapsed() });
      const b = await probe(ctx, p.boot_time_command, Math.min(p.connect_timeout, left));
      if (b?.exitCode === 0 && b.stdout.trim() && b.stdout.trim() !== before) break;
      await sleep(1000, ctx.signal);
    }
    if (p.post_reboot_delay) await sleep(p.post_reboot_delay * 1000, ctx.signal);
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0 || ctx.signal?.aborted) throw new TaskFailedError(`Timed out waiting for post-reboot test command (timeout=${p.reboot_timeout})`, { rebooted: true, elapsed: elapsed() });
      const t = await probe(ctx, p.test_command, Math.min(p.connect_timeout, left));
      if (t?.exitCode === 0) break;
      await sleep(1000, ctx.signal);
    }
    return { rebooted: true, elapsed: elapsed() };
  },
});
