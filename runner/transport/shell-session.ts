// A persistent `sh` on one SSH channel: each command is sent framed by a random delimiter and
// runs as `$SHELL -c TEXT` (the same text and the same shell an exec channel runs; /bin/sh for a login shell that is not POSIX: login-shell.ts) in a child
// of that sh, so a command costs a fork on the host instead of a new SSH session. Its stdout and
// stderr travel on the channel's own two streams, each closed by the delimiter, so both are exact
// and binary-safe; its stdin, when it has one, is sent in length-prefixed frames that GNU
// `head -c` cuts back out. One command at a time per shell.
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { quote } from '../command.js';
import { TaskFailedError } from '../errors.js';
import { runQuietly, type RawProcess } from './base.js';
import { SUPERVISE_TRAP } from './become.js';
import { START_TIME } from './exec-watcher.js';
import { CHOOSE_SHELL } from './login-shell.js';

const HELLO = 'ferry-shell ';

/**
 * The watcher's script: HUPs the loop (pid $s) once its parent (pid $pp) is gone. GNU `tail --pid`
 * waits for that without a process a second (a `sleep 1` poll per shell forked hundreds of
 * processes a second on a host that many connections reach, a loopback benchmark's 250 hosts
 * among them); where tail has no --pid it polls as before. The loop's start time (field 22 of
 * /proc/PID/stat) is read first and checked before the HUP, so that a watcher outliving its loop
 * never signals another process that got the loop's pid (a /proc without it: the pid alone, as before).
 */
export const SHELL_WATCHER = `st() { ${START_TIME} && echo "$t"; }
t0=$(st "$s")
tail --pid="$pp" -f /dev/null 2>/dev/null || while [ -d "/proc/$pp" ] && [ -d "/proc/$s" ]; do sleep 1; done
[ "$(st "$s" 2>/dev/null)" = "$t0" ] && [ -d "/proc/$s" ] && kill -HUP "$s"`;

// The loop the channel runs. Headers are read with `read` (byte by byte on a pipe, so it never
// reads past its line); a command's lines are joined back with the newlines they had. A command
// without stdin gets /dev/null; one with stdin reads a pipe fed by frames `N\nBYTES` up to `0\n`,
// and its exit frame is printed as soon as it exits (so the controller stops sending stdin), the
// rest of its input then drained. Commands run in the background and are waited for, so that a
// TERM (a timeout, an abort) reaches the trap at once: it stops the whole process group and the shell.
// A lost connection (the controller killed, the network cut) must stop the commands too, or a
// resumed run would meet the old command still at work (two update-initramfs in one guest ran it
// out of space): sshd does not signal a session without a terminal when its client goes, so a
// watcher (SHELL_WATCHER), forked twice so that \`wait\` never waits for it, HUPs the loop once the
// loop's parent (the connection's sshd) is gone. Only where /proc shows it; elsewhere nothing changes.
const LOOP = `exec 3<&0
${SUPERVISE_TRAP}
if [ -d "/proc/$PPID" ]; then s=$$ pp=$PPID; ( ( ${SHELL_WATCHER} ) </dev/null >/dev/null 2>&1 & ) 3<&-; fi
${CHOOSE_SHELL}
g=0; head --version 2>/dev/null | grep -q 'GNU coreutils' && g=1
printf '${HELLO}%s %s %s\\n' "$g" "$$" "$SHELL"
while IFS= read -r d && IFS= read -r m && IFS= read -r k; do
  c= i=0
  while [ "$i" -lt "$k" ] && IFS= read -r l; do
    if [ "$i" = 0 ]; then c=$l; else c="$c
$l"; fi
    i=$((i + 1))
  done
  printf '%sB\\n' "$d"
  if [ "$m" = 1 ]; then
    { while IFS= read -r n && [ "$n" != 0 ]; do head -c "$n"; done; } <&3 | { "$ferry_sh" -c "$c" 3<&-; r=$?; printf '%s\\n' "$d" >&2; printf '%sE%s\\n' "$d" "$r"; cat >/dev/null; } &
    p=$!; wait "$p"; wait
  else
    "$ferry_sh" -c "$c" </dev/null 3<&- & p=$!
    wait "$p"; r=$?
    printf '%s\\n' "$d" >&2; printf '%sE%s\\n' "$d" "$r"
  fi
done`;

/** The text of the exec channel that becomes a persistent shell. */
export const SHELL_LOOP_COMMAND = `exec sh -c ${quote(LOOP)}`;

/** Finds a delimiter in a byte stream cut into chunks, holding back only what could be its beginning. */
export class Splitter {
  private held = Buffer.alloc(0);
  constructor(private readonly mark: Buffer) {}

  /**
   * Feeds bytes; returns the bytes before the mark (all safe ones when it is not there yet) and,
   * once the mark is found, what follows it (the splitter is then spent).
   */
  push(chunk: Buffer): { before: Buffer; after?: Buffer } {
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.mark);
    if (at >= 0) {
      this.held = Buffer.alloc(0);
      return { before: buf.subarray(0, at), after: buf.subarray(at + this.mark.length) };
    }
    // only an end that may be the mark's beginning waits: a prompt without a newline (sudo's) must pass at once
    const keep = this.partialMarkAtEnd(buf);
    this.held = Buffer.from(buf.subarray(buf.length - keep));
    return { before: buf.subarray(0, buf.length - keep) };
  }

  /** The length of the longest end of `buf` that is a beginning of the mark. */
  private partialMarkAtEnd(buf: Buffer): number {
    for (let k = Math.min(buf.length, this.mark.length - 1); k > 0; k--) {
      if (buf.compare(this.mark, 0, k, buf.length - k) === 0) return k;
    }
    return 0;
  }
}

/** One command on a shell, from its header to its exit frame. */
interface Pending {
  delimiter: string;
  stdout: PassThrough;
  stderr: PassThrough;
  /** 'begin': waiting for the begin frame; 'data': passing stdout on; 'rc': reading the exit frame; 'done'. */
  out: 'begin' | 'data' | 'rc' | 'done';
  outSplit: Splitter;
  errSplit: Splitter;
  errDone: boolean;
  rcText: string;
  rc?: number;
  /** Whether stdin frames may still be sent (mode 1 only). */
  stdinOpen: boolean;
  /** Write callbacks waiting for the channel to drain. */
  drains: (() => void)[];
  begun: (ran: boolean) => void;
  exited: (status: { code: number | null; signal: string | null }) => void;
  failed: (e: Error) => void;
}

/** A persistent shell on one channel. */
export class ShellSession {
  private current: Pending | undefined;
  private claimed = false;
  private ended = false;
  private killed = false;
  /** Settles when the shell's channel has closed. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly proc: RawProcess,
    private readonly host: string,
    /** Whether the host's `head` reads exactly N bytes from a pipe (GNU), which stdin frames need. */
    readonly acceptsStdin: boolean,
    /** The loop's pid, which is also its process group's (sshd made it a session leader). */
    private readonly pgid: number,
    /** The user's login shell ($SHELL on the host). */
    readonly loginShell: string,
    /** Starts another command on the host (an exec channel), to signal the group from outside it. */
    private readonly start: (text: string) => Promise<RawProcess>,
    rest: Buffer,
  ) {
    proc.stdout.on('data', (c: Buffer) => this.onStdout(c));
    proc.stderr.on('data', (c: Buffer) => this.onStderr(c));
    proc.stdin.on('error', () => undefined); // a dying shell: its close settles the command
    this.closed = proc.exit.then(
      (status) => this.onClose(undefined, status.signal),
      (e: unknown) => this.onClose(e instanceof Error ? e : new Error(String(e)), null),
    );
    if (rest.length > 0) this.onStdout(rest);
  }

  /** Starts a shell on a channel `start` opens; rejects when the host's shell does not answer within `timeoutMs`. */
  static async open(start: (text: string) => Promise<RawProcess>, host: string, timeoutMs: number): Promise<ShellSession> {
    const proc = await start(SHELL_LOOP_COMMAND);
    proc.stdin.on('error', () => undefined);
    proc.stderr.resume(); // nothing is expected there before the first command
    let text = Buffer.alloc(0);
    const hello = await new Promise<{ gnu: boolean; pgid: number; loginShell: string; rest: Buffer }>((resolve, reject) => {
      const onData = (c: Buffer): void => {
        text = Buffer.concat([text, c]);
        const at = text.indexOf(HELLO);
        const nl = at < 0 ? -1 : text.indexOf('\n', at);
        if (nl < 0) return;
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        proc.stdout.pause();
        const [gnu = '', pid = '', ...shell] = text.subarray(at + HELLO.length, nl).toString().split(' ');
        resolve({ gnu: gnu === '1', pgid: Number(pid), loginShell: shell.join(' '), rest: text.subarray(nl + 1) });
      };
      // a login shell that waits on something (a prompt in its rc files) must not hold the command back
      const timer = setTimeout(() => {
        proc.kill();
        reject(new TaskFailedError(`the persistent shell on ${host} did not answer within ${timeoutMs / 1000}s`, { host }));
      }, timeoutMs);
      timer.unref();
      proc.stdout.on('data', onData);
      proc.exit.finally(() => clearTimeout(timer)).catch(() => undefined);
      proc.exit.then(
        (s) => reject(new TaskFailedError(`the persistent shell on ${host} did not start (exit ${s.code ?? s.signal})`, { host })),
        reject,
      );
    });
    proc.stderr.pause();
    const session = new ShellSession(proc, host, hello.gnu, hello.pgid, hello.loginShell, start, hello.rest);
    proc.stdout.resume();
    proc.stderr.resume();
    return session;
  }

  /** True when the shell is alive and runs nothing. */
  get idle(): boolean {
    return !this.ended && !this.claimed;
  }

  /** Reserves the idle shell for the next `run` (callers take it between awaits). */
  claim(): boolean {
    if (!this.idle) return false;
    this.claimed = true;
    return true;
  }

  /**
   * Stops the shell and whatever runs in it. The loop's trap stops its process group, but sudo
   * (in a command that calls it itself) passes on no signal sent from its own process group, so
   * the group is also sent TERM from outside it, over an exec channel.
   */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    if (Number.isInteger(this.pgid) && this.pgid > 1) {
      void runQuietly(this.start(`kill -TERM -${this.pgid}`)); // dash takes no `--` here; no connection: no shell either
    }
    this.proc.kill();
  }

  /** Ends the shell by closing its input (it exits after the command in flight). */
  close(): void {
    if (!this.ended) this.proc.stdin.end();
  }

  /**
   * Runs `text` on the claimed shell. `begun` resolves true once the shell has started it, false
   * when the shell ended before (nothing ran: the caller may run it elsewhere); `proc` is the command.
   */
  run(text: string, withStdin: boolean): { begun: Promise<boolean>; proc: RawProcess } {
    if (!this.claimed || this.current || this.ended) throw new Error('internal: the shell was not claimed or is busy');
    if (withStdin && !this.acceptsStdin) throw new Error('internal: this shell cannot pass stdin');
    const delimiter = `ferry-${randomBytes(18).toString('base64url')}`;
    let begun!: (ran: boolean) => void;
    const begunP = new Promise<boolean>((resolve) => (begun = resolve));
    let exited!: Pending['exited'];
    let failed!: Pending['failed'];
    const exit = new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
      exited = res;
      failed = rej;
    });
    const mark = Buffer.from(delimiter);
    const c: Pending = {
      delimiter,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      out: 'begin',
      outSplit: new Splitter(Buffer.concat([mark, Buffer.from('B\n')])),
      errSplit: new Splitter(Buffer.concat([mark, Buffer.from('\n')])),
      errDone: false,
      rcText: '',
      stdinOpen: withStdin,
      drains: [],
      begun,
      exited,
      failed,
    };
    this.current = c;
    const lines = text.split('\n');
    this.proc.stdin.write(`${delimiter}\n${withStdin ? 1 : 0}\n${lines.length}\n${text}\n`);
    const stdin = withStdin ? this.stdinFor(c) : new Writable({ write: (_chunk, _enc, cb) => cb() });
    return {
      begun: begunP,
      proc: { stdin, stdout: c.stdout, stderr: c.stderr, exit, kill: () => this.kill() },
    };
  }

  /** The command's stdin: every write becomes one frame, the end the `0` frame. */
  private stdinFor(c: Pending): Writable {
    const send = (data: Buffer, cb: (e?: Error | null) => void): void => {
      if (!c.stdinOpen || data.length === 0) return cb();
      this.proc.stdin.write(`${data.length}\n`);
      if (this.proc.stdin.write(data)) return cb();
      c.drains.push(cb);
      this.proc.stdin.once('drain', () => {
        const i = c.drains.indexOf(cb);
        if (i >= 0) c.drains.splice(i, 1)[0]?.();
      });
    };
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => send(chunk, cb),
      // what piled up while the channel was full goes as one frame: one `head` instead of many
      writev: (chunks, cb) => send(Buffer.concat(chunks.map((x) => x.chunk as Buffer)), cb),
      final: (cb) => {
        this.endStdin(c);
        cb();
      },
    });
  }

  private endStdin(c: Pending): void {
    if (!c.stdinOpen) return;
    c.stdinOpen = false;
    if (!this.ended) this.proc.stdin.write('0\n');
    for (const cb of c.drains.splice(0)) cb();
  }

  private onStdout(chunk: Buffer): void {
    const c = this.current;
    if (!c) return; // stray output (a background child of an earlier command): nobody's
    let rest: Buffer | undefined = chunk;
    while (rest && rest.length > 0) {
      if (c.out === 'begin') {
        const { after } = c.outSplit.push(rest);
        rest = after;
        if (after === undefined) return;
        c.out = 'data';
        c.outSplit = new Splitter(Buffer.from(c.delimiter));
        c.begun(true);
      } else if (c.out === 'data') {
        const { before, after } = c.outSplit.push(rest);
        if (before.length > 0) c.stdout.write(before);
        rest = after;
        if (after !== undefined) c.out = 'rc';
      } else if (c.out === 'rc') {
        const nl = rest.indexOf(10);
        c.rcText += rest.subarray(0, nl < 0 ? rest.length : nl).toString('latin1');
        if (nl < 0) return;
        rest = undefined;
        c.rc = Number(c.rcText.slice(1));
        c.out = 'done';
        // the command exited: no more of its stdin is wanted, and the `0` frame must precede the next header
        this.endStdin(c);
        this.settle(c);
      } else return;
    }
  }

  private onStderr(chunk: Buffer): void {
    const c = this.current;
    if (!c || c.errDone) return;
    const { before, after } = c.errSplit.push(chunk);
    if (before.length > 0) c.stderr.write(before);
    if (after === undefined) return;
    c.errDone = true;
    this.settle(c);
  }

  /** Finishes the command once both exit frames have come. */
  private settle(c: Pending): void {
    if (c.out !== 'done' || !c.errDone) return;
    this.current = undefined;
    this.claimed = false;
    c.stdout.end();
    c.stderr.end();
    c.exited({ code: c.rc ?? null, signal: null });
  }

  private onClose(lost: Error | undefined, signal: string | null): void {
    this.ended = true;
    const c = this.current;
    this.current = undefined;
    if (!c) return;
    c.stdinOpen = false;
    for (const cb of c.drains.splice(0)) cb();
    c.stdout.end();
    c.stderr.end();
    if (c.out === 'begin') {
      c.begun(false);
      return;
    }
    if (this.killed) c.exited({ code: null, signal: signal ?? 'TERM' });
    else if (lost) c.failed(lost);
    else {
      c.failed(
        new TaskFailedError(
          `the persistent shell on ${this.host} ended${signal ? ` (signal ${signal})` : ''} while this command ran; whether it finished is unknown`,
          { host: this.host },
        ),
      );
    }
  }
}
