// rsync between two hosts that do not trust each other, through the controller: the rsync client
// runs on the destination host with a "remote shell" that is really a relay back into its own SSH
// channel, and the controller starts the `rsync --server --sender` it asked for on the source host
// and pipes the two protocol streams together. No key or agent of one host reaches the other.
//
// On the destination, the client's command is
//   rsync -e RELAY ... -- ferry-src:SRC DEST 3<&0 4>&1 1>&2 </dev/null
// so the channel's stdin and stdout stay reachable as fds 3 and 4 while rsync's own messages,
// itemized lines and progress go to the channel's stderr. rsync starts RELAY with the server's
// argv; the relay writes that argv as a header on fd 4, then forwards its stdin (the client's
// protocol output) to fd 4 and fd 3 (what the controller sends back) to its stdout.
import type { Readable } from 'node:stream';
import { raw, sh, type Command } from '../../runner/command.js';
import type { TaskContext } from '../../runner/module.js';

/** The host name the client is given for the source; the relay checks it came back unchanged. */
export const RELAY_HOST = 'ferry-src';
const MAGIC = 'ferry-rsync-relay';

// rsync splits -e on spaces and keeps quoted parts whole (no backslash escapes there, so printf's
// \n and \0 reach sh as written). A background list's stdin is /dev/null in sh, hence fd 5.
// The relay ends when the controller closes fd 3, i.e. when the server has finished.
export const RELAY_SCRIPT = `exec 5<&0; { printf "${MAGIC} %s\\n" $#; printf "%s\\0" "$@"; exec cat <&5; } >&4 & exec cat <&3`;
export const RELAY_RSH = `sh -c '${RELAY_SCRIPT}' ${MAGIC}`;

/** The server command the relay read from its header, and the protocol bytes after it. */
export interface RelayHeader {
  argv: string[];
  rest: Buffer;
}

/**
 * Parses the relay's header at the start of `buf`: "ferry-rsync-relay N\n" then N NUL-terminated
 * arguments. Returns null while more bytes are needed; throws when the bytes are not a header.
 */
export function parseRelayHeader(buf: Buffer): RelayHeader | null {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) {
    if (buf.length > MAGIC.length + 16) throw new Error(`not a relay header: ${JSON.stringify(buf.subarray(0, 80).toString())}`);
    return null;
  }
  const m = new RegExp(`^${MAGIC} (\\d+)$`).exec(buf.subarray(0, nl).toString());
  if (!m) throw new Error(`not a relay header: ${JSON.stringify(buf.subarray(0, Math.min(nl, 80)).toString())}`);
  const n = Number(m[1]);
  const argv: string[] = [];
  let at = nl + 1;
  while (argv.length < n) {
    const end = buf.indexOf(0, at);
    if (end < 0) return null;
    argv.push(buf.subarray(at, end).toString());
    at = end + 1;
  }
  return { argv, rest: buf.subarray(at) };
}

/** The command to run on the source: the relay's argv without the host, checked to be an rsync server. */
export function serverArgv(argv: string[]): string[] {
  const [host, prog, server, ...rest] = argv;
  if (host !== RELAY_HOST || prog !== 'rsync' || server !== '--server') {
    throw new Error(`the relay was asked to run '${argv.join(' ')}', not 'rsync --server' on ${RELAY_HOST}`);
  }
  // Pulling from the source: the server must be the sender, so nothing on the source is written.
  if (!rest.includes('--sender')) throw new Error(`the relay was asked for a receiving rsync server on the source: '${argv.join(' ')}'`);
  return ['rsync', '--server', ...rest];
}

/** Reads the header from a stream, leaving the bytes after it unread in the stream. */
function readHeader(stream: Readable): Promise<RelayHeader> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      let h: RelayHeader | null;
      try {
        h = parseRelayHeader(buf);
      } catch (e) {
        done();
        stream.resume();
        reject(e as Error);
        return;
      }
      if (!h) return;
      done();
      stream.pause();
      if (h.rest.length) stream.unshift(h.rest);
      resolve(h);
    };
    const onEnd = (): void => {
      done();
      reject(new Error('rsync ended before it started its remote shell'));
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

/** What a relayed run printed and how each end exited. */
export interface RelayResult {
  exitCode: number | null;
  /** The client's stdout and stderr (itemized lines, progress, messages), as it printed them. */
  output: string;
  /** The server's stderr on the source. */
  serverStderr: string;
  serverExit: number | null;
  /** Why the relay itself failed (no header, a refused server command), when it did. */
  relayError?: string;
}

/**
 * Runs `rsync FLAGS ferry-src:SRC DEST` on `client` (the destination host) with the server on
 * `server` (the source host), relayed through the controller. `onOutput` sees the client's output
 * as it comes (progress records).
 */
export async function relayRsync(
  client: TaskContext,
  server: TaskContext,
  flags: string[],
  src: string,
  dest: string,
  onOutput?: (chunk: Buffer) => void,
): Promise<RelayResult> {
  // -s: file names travel inside the protocol, never through a shell's word splitting.
  // --blocking-io: rsync leaves the remote shell's stdout non-blocking otherwise (ssh copes; the
  // relay's cat fails with EAGAIN as soon as rsync falls behind).
  // The only remote spec rsync is given is this one, built here; `--` keeps dest an operand.
  const cmd: Command = sh`rsync -e ${RELAY_RSH} -s --blocking-io ${flags} -- ${`${RELAY_HOST}:${src}`} ${dest} ${raw('3<&0 4>&1 1>&2 </dev/null')}`;
  const c = await client.transport.spawn(cmd, { become: client.become });
  let output = '';
  c.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    onOutput?.(chunk);
  });
  let serverStderr = '';
  let serverExit: number | null = null;
  let relayError: string | undefined;
  const relay = (async (): Promise<void> => {
    const header = await readHeader(c.stdout);
    const s = await server.transport.spawn(sh`${serverArgv(header.argv)}`, { become: server.become });
    s.stderr.on('data', (chunk: Buffer) => (serverStderr += chunk.toString()));
    // .pipe, not stream.pipeline: with ssh2 a channel's stdin and stdout are one duplex, and
    // pipeline destroys its source when the destination closes first (the server exits before the
    // client has finished), which would tear down the client's channel before it reports its exit.
    s.stdin.on('error', () => undefined);
    c.stdin.on('error', () => undefined);
    c.stdout.pipe(s.stdin);
    s.stdout.pipe(c.stdin);
    const exited = await s.done;
    // Whatever the client still says goes nowhere; reading it lets its channel close.
    c.stdout.unpipe(s.stdin);
    c.stdout.resume();
    serverExit = exited.exitCode;
  })().catch((e: unknown) => {
    relayError = (e as Error).message;
    // Let the client see the end of its "connection" and exit.
    c.stdin.end();
    c.stdout.resume();
  });
  const [r] = await Promise.all([c.done, relay]);
  return { exitCode: r.exitCode, output, serverStderr, serverExit, ...(relayError ? { relayError } : {}) };
}
