// How one host reaches another itself over SSH for a copy that leaves the controller out of the
// data path (rsync's and blockcopy's `direct`): the parameter, the words of the ssh, and what is
// refused in them. The copy runs on dest's host with that host's own keys and known_hosts.
import { z } from 'zod';
import { TaskFailedError } from '../../runner/errors.js';
import { optionLikeProblem } from './operands.js';
import { checkedBy } from './schema.js';

/** An ssh option word for the direct copy's remote shell: rsync splits -e on blanks and reads quotes, so neither may be in one. */
export function sshOptionProblem(word: string): string | undefined {
  return /^[A-Za-z0-9_=.,:/@+%~-]+$/.test(word) ? undefined : `'${word}': an ssh option of a direct copy is one word of letters, digits and _=.,:/@+%~- (rsync splits its -e on blanks and reads quotes)`;
}

/** A host or user name the direct copy's ssh gets: never an option, never a second word. */
function sshNameProblem(word: string): string | undefined {
  return optionLikeProblem(word) ?? (/^[A-Za-z0-9_.%:[\]-]+$/.test(word) ? undefined : `'${word}': a host or user name of a direct copy is one word`);
}

const directParams = z.strictObject({
  host: z.string().min(1).superRefine(checkedBy(sshNameProblem)).optional().describe("src_host's address as dest_host reaches it (default: its ansible_host, else its inventory name)"),
  port: z.number().int().min(1).max(65535).optional().describe('Its SSH port (default: its ansible_port, else 22)'),
  user: z.string().min(1).superRefine(checkedBy(sshNameProblem)).optional().describe('The user dest_host logs in as (default: its ansible_user, else root); with the task\'s become and another user than root, the copy\'s reader (rsync, dd) runs there with sudo -n'),
  ssh_options: z.array(z.string().superRefine(checkedBy(sshOptionProblem))).default([]).describe('More ssh words for dest_host\'s ssh, e.g. [-i, /root/.ssh/id_move, -o, StrictHostKeyChecking=accept-new]'),
});

/** The `direct` parameter of a copy between two hosts (rsync, blockcopy). */
export const directField = z
  .union([z.boolean(), directParams])
  .default(false)
  .describe(
    "Between two hosts: dest_host connects to src_host itself over SSH, with its own keys and known_hosts, and the data does not pass through the controller (true: src_host's ansible_host, ansible_port and ansible_user; or {host, port, user, ssh_options} as dest_host reaches it). On one host it has nothing to do",
  );

/** How dest's host reaches src's host itself in a direct copy. */
export interface DirectSsh {
  host: string;
  port: number;
  user: string;
  sshOptions: string[];
  /** The copy's reader runs under `sudo -n` on src's host (the task's become, another user than root). */
  sudo: boolean;
}

/** The direct copy's ssh, from `direct` and src's inventory variables (pure). */
export function directSsh(direct: z.output<typeof directField>, src: { host: string; vars: Record<string, unknown>; become: unknown }): DirectSsh | undefined {
  if (direct === false) return undefined;
  const d = direct === true ? { ssh_options: [] as string[] } : direct;
  const v = src.vars;
  const host = d.host ?? (typeof v.ansible_host === 'string' ? v.ansible_host : src.host);
  const user = d.user ?? (typeof v.ansible_user === 'string' ? v.ansible_user : 'root');
  const port = d.port ?? (v.ansible_port === undefined ? 22 : Number(v.ansible_port));
  for (const [what, word] of [['host', host], ['user', user]] as const) {
    const problem = sshNameProblem(word);
    if (problem) throw new TaskFailedError(`direct copy from ${src.host}: its ${what} ${problem}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TaskFailedError(`direct copy from ${src.host}: its port '${String(v.ansible_port)}' is not a port number`);
  return { host, port, user, sshOptions: d.ssh_options, sudo: src.become !== false && user !== 'root' };
}

/** The ssh program and its options (never the target): BatchMode, so a missing key fails at once instead of waiting for a prompt. */
export function sshWords(d: DirectSsh): string[] {
  return ['ssh', '-o', 'BatchMode=yes', '-p', String(d.port), ...d.sshOptions];
}

/** user@host for ssh; an IPv6 address in brackets where a `:path` follows it (rsync's remote spec). */
export function sshTarget(d: DirectSsh, beforePath = false): string {
  return `${d.user}@${beforePath && d.host.includes(':') ? `[${d.host}]` : d.host}`;
}

/** How a direct copy's failure starts: which program on which host pulled from which, and how it connected. */
export function directFailure(program: string, d: DirectSsh, srcHost: string, destHost: string): string {
  return `${program} on ${destHost} pulling from ${srcHost} directly (${d.user}@${d.host}:${d.port}, ${destHost}'s own ssh)`;
}
