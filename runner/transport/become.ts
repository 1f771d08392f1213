// Wrapping a command for env, cwd and become (sudo), and reading sudo's prompt back out of
// stderr. Shared by every transport: the same shell text runs over SSH and locally.
import { randomBytes } from 'node:crypto';
import { asArgument, raw, sh, type Command } from '../command.js';
import { TaskFailedError, ValidationError } from '../errors.js';
import { listedBecomeCommand } from './exec-watcher.js';
import type { BecomeOptions } from './types.js';

/** sudo asked again for the become password: it was wrong (or the user may not sudo). */
export class BecomePasswordError extends TaskFailedError {}

/** A command ready to hand to `sh -c`, with what is needed to answer sudo's prompt. */
export interface WrappedCommand {
  command: Command;
  /** Present only when sudo will read a password from stdin. */
  password?: string;
  promptMarker?: string;
  readyMarker?: string;
  becomeUser?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/;

/**
 * Wraps a command so that it runs in `cwd`, with `env`, as the become user; the password never enters
 * the text. With `watch` (a token, random per transport and become user) the become side also stops
 * the command once the login shell's parent (an SSH session's sshd) is gone.
 */
export function wrapCommand(
  cmd: Command,
  opts: { env?: Record<string, string>; cwd?: string; become?: BecomeOptions | false; watch?: string },
): WrappedCommand {
  let core = cmd;
  const env = Object.entries(opts.env ?? {});
  if (env.length > 0) {
    const bad = env.map(([k]) => k).filter((k) => !ENV_NAME.test(k));
    if (bad.length > 0) {
      throw new ValidationError(
        bad.map((k) => ({
          message: `environment variable name ${JSON.stringify(k)} is not valid`,
          hint: 'names are letters, digits and _ and do not start with a digit',
        })),
      );
    }
    // `env K=V` rather than the SSH env request: sshd's AcceptEnv refuses almost every name.
    core = sh`env ${env.map(([k, v]) => `${k}=${v}`)} sh -c ${asArgument(core)}`;
  }
  if (opts.cwd !== undefined) {
    // `sh -c` keeps a compound user command (`a; b`) from running after a failed cd
    core = env.length > 0 ? sh`cd -- ${opts.cwd} && ${core}` : sh`cd -- ${opts.cwd} && sh -c ${asArgument(core)}`;
  }
  const become = opts.become;
  if (!become) return { command: core };
  const user = become.user ?? 'root';
  if (!USER_NAME.test(user)) {
    throw new ValidationError([{ message: `become user ${JSON.stringify(user)} is not a valid user name` }]);
  }
  const inner = supervised(core, opts.watch);
  // the login shell's parent (the session's sshd) is passed on as $1: the become side cannot know it
  const watched = raw(opts.watch !== undefined ? ' sh "$PPID"' : '');
  if (!become.password) {
    // -n: fail at once ("a password is required") instead of waiting on a prompt nobody answers
    return { command: sh`sudo -H -n -u ${user} -- sh -c ${asArgument(inner)}${watched}`, becomeUser: user };
  }
  const password = become.password.value;
  if (/[\r\n]/.test(password)) {
    throw new ValidationError([{ message: 'the become password holds a newline, which sudo -S cannot read' }]);
  }
  const nonce = randomBytes(9).toString('hex');
  const promptMarker = `[ferry-sudo-prompt-${nonce}]`;
  const readyMarker = `[ferry-become-ready-${nonce}]`;
  // The ready marker tells us sudo is done with stdin (it may not prompt at all when
  // credentials are cached or NOPASSWD), so the command's own stdin can start flowing.
  const announced = sh`printf '%s\n' ${readyMarker} >&2; ${inner}`;
  return {
    command: sh`sudo -H -S -p ${promptMarker} -u ${user} -- sh -c ${asArgument(announced)}${watched}`,
    password,
    promptMarker,
    readyMarker,
    becomeUser: user,
  };
}

// Run by the become user's shell (and by the persistent shell's loop): the command in the background
// (its stdin passed on through fd 3, since sh gives a background job /dev/null), so that a signal
// interrupts `wait` at once; "$p" is the command's pid.
export const SUPERVISE_TRAP = `trap 'trap "" TERM INT HUP; kill -TERM 0; (sleep 2; kill -KILL 0) & wait "$p"; kill -KILL 0' TERM INT HUP`;

/**
 * The command as the become user runs it. sudo passes a signal on to its own child only, and the
 * login user may not signal the become user's processes (sshd's signal request and the local
 * transport's group kill run as the login user), so that child stops the whole process group
 * itself: TERM to every process of the command, KILL to what is left 2 s later. With `watch`, that
 * child lists itself for its connection's watcher as the become user (who alone may signal the
 * command), which HUPs it once process $1 is gone, so that a lost connection stops the command as a
 * signal does.
 */
function supervised(core: Command, watch: string | undefined): Command {
  const listed = raw(watch !== undefined ? listedBecomeCommand(watch, '$1') : '');
  return sh`${raw(SUPERVISE_TRAP)}; ${listed}exec 3<&0; sh -c ${asArgument(core)} <&3 3<&- & p=$!; exec 3<&-; wait "$p"`;
}

/** An event found in stderr while sudo is still talking. */
export type MarkerEvent = 'prompt' | 'ready';

/**
 * Finds sudo's prompt marker and the ready marker in a stderr byte stream (markers may be
 * split across chunks) and removes them; after the ready marker everything passes through.
 * On a terminal the stream is the merged output, where the ready marker's line ends in \r\n.
 */
export class MarkerScanner {
  private pending = Buffer.alloc(0);
  private passthrough = false;
  private readonly prompt: Buffer;
  private readonly ready: Buffer;

  constructor(promptMarker: string, readyMarker: string, lineEnd: '\n' | '\r\n' = '\n') {
    this.prompt = Buffer.from(promptMarker);
    this.ready = Buffer.from(readyMarker + lineEnd);
  }

  /** Feeds a chunk; returns the bytes to pass on as stderr and the markers seen, in order. */
  push(chunk: Buffer): { out: Buffer; events: MarkerEvent[] } {
    if (this.passthrough) return { out: chunk, events: [] };
    let buf = Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    const events: MarkerEvent[] = [];
    for (;;) {
      const p = buf.indexOf(this.prompt);
      const r = buf.indexOf(this.ready);
      if (p < 0 && r < 0) break;
      const isPrompt = p >= 0 && (r < 0 || p < r);
      const at = isPrompt ? p : r;
      out.push(buf.subarray(0, at));
      buf = buf.subarray(at + (isPrompt ? this.prompt.length : this.ready.length));
      events.push(isPrompt ? 'prompt' : 'ready');
      if (!isPrompt) {
        this.passthrough = true;
        out.push(buf);
        this.pending = Buffer.alloc(0);
        return { out: Buffer.concat(out), events };
      }
    }
    // keep a tail that could be the start of a marker split across chunks
    const keep = Math.min(buf.length, Math.max(this.prompt.length, this.ready.length) - 1);
    out.push(buf.subarray(0, buf.length - keep));
    this.pending = Buffer.from(buf.subarray(buf.length - keep));
    return { out: Buffer.concat(out), events };
  }

  /** Returns what is still held back (at the end of the stream). */
  flush(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }
}
