// Talks to the lab host with the OpenSSH client and strict host-key checking (the lab's own
// known_hosts). Remote commands are built with runner/command.ts so values are quoted.
import fs from 'node:fs';
import { Command } from '../runner/command.js';
import { FerryError } from '../runner/errors.js';
import { run, type RunResult } from './exec.js';
import { readPid, serialTail, sleep } from './vm.js';

/** How to reach the lab host over SSH. */
export interface SshTarget {
  port: number;
  keyPath: string;
  knownHostsPath: string;
}

/** The known_hosts line for the lab host on `port` (OpenSSH's `[host]:port` form). */
export function knownHostsLine(port: number, hostKeyPub: string): string {
  const [type, key] = fs.readFileSync(hostKeyPub, 'utf8').trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type} ${key}\n`;
}

/** OpenSSH client arguments for the lab host, strict about its host key, never prompting. */
export function sshArgs(t: SshTarget, connectTimeoutS = 10): string[] {
  return [
    '-p', String(t.port), '-i', t.keyPath,
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${t.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `ConnectTimeout=${connectTimeoutS}`, '-o', 'LogLevel=ERROR',
    'root@127.0.0.1',
  ];
}

/** Runs `cmd` on the lab host; throws with stderr when it exits non-zero (unless allowFailure). */
export function sshRun(t: SshTarget, cmd: Command | string, opts: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  const text = typeof cmd === 'string' ? cmd : cmd.text;
  return run('ssh', [...sshArgs(t), text], opts);
}

/** Waits until the lab host answers over SSH; fails early if qemu dies, with the serial log. */
export async function waitForSsh(t: SshTarget, pidFile: string, serialLog: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    if (!readPid(pidFile)) {
      throw new FerryError(`the lab VM exited while booting; serial console (${serialLog}):\n${serialTail(serialLog)}`);
    }
    const r = await run('ssh', [...sshArgs(t, 5), 'true'], { allowFailure: true, timeoutMs: 15_000 });
    if (r.code === 0) return Date.now() - t0;
    last = r.stderr.trim();
    await sleep(1000);
  }
  throw new FerryError(
    `the lab VM did not answer SSH on port ${t.port} within ${timeoutMs / 1000} s (last: ${last});` +
      ` serial console (${serialLog}):\n${serialTail(serialLog)}`,
  );
}
