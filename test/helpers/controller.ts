// A controller to SIGKILL: a child node process that runs one command over its own SshTransport to
// a harness sshd, so that a test can kill it mid-command and check what is left on the host.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { SshTransportOptions } from '../../runner/transport/ssh.js';
import { killMatching, processesMatching, uniqueMarker, waitUntil } from './processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** What the child does: `run` (an ordinary command) or `spawn` (a stream), with these run options. */
export interface ChildPlan {
  opts: SshTransportOptions;
  how: 'run' | 'spawn';
  text: string;
  become?: { user: string; password?: string };
  tty?: boolean;
  /** How many quick commands (with the same options) run first, so that the watcher is an earlier command's. */
  before?: number;
}

/** Starts a node process that runs `plan` over its own connection and waits; returns its pid. */
export function controller(plan: ChildPlan): { pid: number; exited: Promise<void> } {
  const script = `
import { SshTransport } from './runner/transport/ssh.ts';
import { secret, shellText } from './runner/command.ts';
const plan = JSON.parse(process.env.FERRY_CHILD_PLAN);
const t = new SshTransport(plan.opts);
const become = plan.become ? { user: plan.become.user, ...(plan.become.password ? { password: secret(plan.become.password) } : {}) } : undefined;
const opts = { ...(become ? { become } : {}), ...(plan.tty ? { tty: true } : {}) };
for (let i = 0; i < (plan.before ?? 0); i++) await t.run(shellText('true'), opts);
if (plan.how === 'spawn') await (await t.spawn(shellText(plan.text), opts)).done;
else await t.run(shellText(plan.text), opts);
`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, FERRY_CHILD_PLAN: JSON.stringify(plan) },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((res) => child.once('close', () => res()));
  return { pid: child.pid!, exited };
}

/**
 * Starts a controller running the plan made for a fresh marker (its command must hold `sleep 1MARKER`),
 * SIGKILLs it once that command runs on the host, and fails unless no process holding the marker is left.
 */
export async function killControllerMidCommand(plan: (marker: string) => ChildPlan): Promise<void> {
  const m = uniqueMarker();
  try {
    const child = controller(plan(m));
    await waitUntil(() => processesMatching(`sleep 1${m}`).length > 0, 30_000, 'the command started on the host');
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    await waitUntil(() => processesMatching(m).length === 0, 15_000, `no process of the command left: ${processesMatching(m).join('; ')}`);
  } finally {
    killMatching(m);
  }
}
