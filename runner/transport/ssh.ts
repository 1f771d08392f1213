// The SSH transport: one ssh2 connection per host, reused by every command, with a bounded
// number of channels, known_hosts checking, ssh_config and ProxyJump. Everything above
// "start sh -c TEXT on a channel" is shared with the local transport (base.ts).
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import PQueue from 'p-queue';

// ssh2 is CommonJS: named imports other than its class exports do not resolve under ESM
import ssh2, { type AnyAuthMethod, type AuthenticationType, type ClientChannel, type ConnectConfig, type ParsedKey } from 'ssh2';
import type { Secret } from '../command.js';
import { HostKeyError, UnreachableError } from '../errors.js';
import { ansibleBoolean } from '../boolean.js';
import { BaseTransport, runQuietly, type RawProcess, type StartNeeds } from './base.js';
import { ParsedFileCache } from './file-cache.js';
import { connectionWatcherCommand, listedCommand } from './exec-watcher.js';
import { isPosixLoginShell, throughPosixSh } from './login-shell.js';
import { ShellSession } from './shell-session.js';
import {
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  hostToken,
  keyTypeOfBlob,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';
import { expandPathTokens, loadSshConfig, parseJump } from './ssh-config.js';

/** How to reach and authenticate to one host; explicit values win over ssh_config. */
export interface SshTransportOptions {
  /** The inventory name (also the ssh_config alias when hostName is not given). */
  host: string;
  /** The address to connect to (ansible_host). */
  hostName?: string;
  port?: number;
  user?: string;
  /** Private key files, tried in order after the agent. */
  identityFiles?: string[];
  /** Passphrase for encrypted key files. */
  passphrase?: Secret;
  /** Password authentication, used only when given. */
  password?: Secret;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; false: no agent. */
  agent?: string | false;
  /** ssh_config to honour; default ~/.ssh/config; false: none. */
  sshConfigFile?: string | false;
  /** known_hosts to check and record into; default ~/.ssh/known_hosts (plus /etc/ssh/ssh_known_hosts). */
  knownHostsFile?: string;
  /** Record unknown host keys instead of refusing them (a changed key is still refused). */
  acceptNewHosts?: boolean;
  /** Jump hosts (`[user@]host[:port]`, comma-separated, first hop first); overrides ssh_config. "none" disables. */
  proxyJump?: string;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Channels open at once on the connection (sshd's MaxSessions is 10 by default). */
  maxChannels?: number;
  /** TCP_NODELAY on the socket (default true; about 10x faster small execs). */
  noDelay?: boolean;
  /** Grace between SIGTERM and closing the channel when a command is stopped. */
  killGraceMs?: number;
  /** Keys tried when neither the options nor ssh_config name any (default ~/.ssh/id_*). */
  defaultIdentityFiles?: string[];
  /**
   * Run commands in a persistent shell per connection instead of an exec channel each (streams
   * still get exec channels). Default: the environment's FERRY_PERSISTENT_SHELL, else on.
   */
  persistentShell?: boolean;
  /** Persistent shells open at once on the connection (each holds one of maxChannels); default 2. */
  maxShells?: number;
}

interface Resolved {
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  explicitIdentities: boolean;
  proxyJump: string[];
}

// ssh2's default order; the key types already known for a host are moved first, as ssh does,
// so that a host known by its RSA key is not reported "changed" because it also has ed25519.
const HOST_KEY_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algosForKeyType(t: string): string[] {
  return t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
}

const { Client, utils: sshUtils } = ssh2;
type Client = InstanceType<typeof Client>;

const CHANNEL_OPEN_RETRIES = 8;

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

// Shared by every connection of the process: each file is parsed once, not once per host.
const knownHostsCache = new ParsedFileCache((data, path) => parseKnownHosts(data.toString('utf8'), path));
const identityCache = new ParsedFileCache((data) => ({ data, parsed: new Map<string | undefined, ParsedKey | Error>() }));

/** A private key file parsed (decrypted with `passphrase`), or why it cannot be; throws when it cannot be read. */
function parsedIdentity(file: string, passphrase: string | undefined): ParsedKey | Error {
  const f = identityCache.get(file);
  let key = f.parsed.get(passphrase);
  if (!key) {
    key = sshUtils.parseKey(f.data, passphrase);
    f.parsed.set(passphrase, key);
  }
  return key;
}

/** A transport over one pooled SSH connection. */
export class SshTransport extends BaseTransport {
  readonly host: string;
  private readonly opts: SshTransportOptions;
  private readonly queue: PQueue;
  private connecting: Promise<Client> | undefined;
  private client: Client | undefined;
  private jump: SshTransport | undefined;
  private closing = false;
  private readonly persistentShell: boolean;
  private readonly shells: ShellSession[] = [];
  private shellsOpening = 0;
  /** Set when the host's shell could not run the persistent loop: exec channels from then on. */
  private shellRefused = false;
  protected override readonly watchesLoginParent: boolean = true;
  /**
   * Whether the login shell runs ferry's sh texts as they are (login-shell.ts): learnt from $SHELL,
   * which the first exec watcher or persistent shell reports; until then every text is wrapped.
   */
  private posixLogin: boolean | undefined;
  /** The token of each connection's exec watcher (exec-watcher.ts), once it has been asked for. */
  private readonly execWatchers = new WeakMap<Client, Promise<string>>();

  constructor(opts: SshTransportOptions) {
    super();
    this.opts = opts;
    this.host = opts.host;
    this.queue = new PQueue({ concurrency: opts.maxChannels ?? 8 });
    // on unless turned off: a command costs a write to a running shell instead of a new sshd session
    this.persistentShell = opts.persistentShell ?? ansibleBoolean(process.env.FERRY_PERSISTENT_SHELL ?? '') ?? true;
  }

  private resolved: Resolved | undefined;

  protected loginUser(): string | undefined {
    return this.resolve().user;
  }

  /** The settings after merging options over ssh_config (read once per transport). */
  resolve(): Resolved {
    this.resolved ??= this.resolveNow();
    return this.resolved;
  }

  private resolveNow(): Resolved {
    const o = this.opts;
    const target = o.hostName ?? o.host;
    const cfgPath = o.sshConfigFile === undefined ? join(homedir(), '.ssh', 'config') : o.sshConfigFile;
    const cfg = cfgPath ? loadSshConfig(cfgPath, target) : {};
    const hostName = cfg.hostName ?? target;
    const port = o.port ?? cfg.port ?? 22;
    const user = o.user ?? cfg.user ?? process.env.USER ?? 'root';
    const tokens = { host: hostName, user, port };
    const explicit = o.identityFiles ?? cfg.identityFiles;
    const identityFiles = explicit
      ? explicit.map((f) => expandPathTokens(f, tokens))
      : (o.defaultIdentityFiles ?? DEFAULT_IDENTITIES.map((f) => join(homedir(), '.ssh', f)));
    const jumpText = o.proxyJump ?? cfg.proxyJump?.join(',');
    const proxyJump = jumpText && jumpText.toLowerCase() !== 'none' ? jumpText.split(',').map((s) => s.trim()).filter(Boolean) : [];
    return { hostName, port, user, identityFiles, explicitIdentities: explicit !== undefined, proxyJump };
  }

  async connect(): Promise<void> {
    await this.getClient();
  }

  private getClient(): Promise<Client> {
    if (this.closing) return Promise.reject(new UnreachableError(this.host, 'transport is closed'));
    this.connecting ??= this.open().catch((e: unknown) => {
      this.connecting = undefined;
      throw e;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closing = true;
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    if (client) {
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
      });
    }
    await this.jump?.close();
  }

  /** Opens a stream to host:port through this host's connection (how ProxyJump chains). */
  async forwardOut(host: string, port: number): Promise<Duplex> {
    const client = await this.getClient();
    return new Promise((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => {
        if (err) reject(new UnreachableError(this.host, `cannot forward to ${host}:${port} (${err.message})`, { cause: err }));
        else resolve(ch);
      });
    });
  }

  private tcpConnect(r: Resolved, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = netConnect({ host: r.hostName, port: r.port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new UnreachableError(this.host, `connecting to ${r.hostName}:${r.port} timed out after ${timeoutMs / 1000}s`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(sock);
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const what =
          e.code === 'ECONNREFUSED'
            ? 'connection refused'
            : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
              ? 'cannot resolve host name'
              : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH'
                ? 'no route to host'
                : e.message;
        reject(new UnreachableError(this.host, `${what} (${r.hostName}:${r.port})`, { cause: e }));
      });
    });
  }

  private async openSocket(r: Resolved, timeoutMs: number): Promise<Duplex> {
    if (r.proxyJump.length === 0) {
      const sock = await this.tcpConnect(r, timeoutMs);
      // without it every small exec waits on Nagle + delayed ACK (~40 ms)
      sock.setNoDelay(this.opts.noDelay ?? true);
      return sock;
    }
    // "a,b": reach b through a, then this host through b
    const hops = [...r.proxyJump];
    const last = parseJump(hops.pop() ?? '');
    this.jump = new SshTransport({
      host: last.host,
      ...(last.user ? { user: last.user } : {}),
      ...(last.port ? { port: last.port } : {}),
      proxyJump: hops.length > 0 ? hops.join(',') : 'none',
      sshConfigFile: this.opts.sshConfigFile,
      ...(this.opts.knownHostsFile ? { knownHostsFile: this.opts.knownHostsFile } : {}),
      ...(this.opts.acceptNewHosts ? { acceptNewHosts: true } : {}),
      ...(this.opts.agent !== undefined ? { agent: this.opts.agent } : {}),
      ...(this.opts.passphrase ? { passphrase: this.opts.passphrase } : {}),
      // the jump host's own ssh_config IdentityFile wins; else the target's keys, then ssh's defaults
      defaultIdentityFiles: [...r.identityFiles, ...DEFAULT_IDENTITIES.map((f) => join(homedir(), '.ssh', f))],
      connectTimeoutMs: timeoutMs,
      maxChannels: 2,
    });
    try {
      return await this.jump.forwardOut(r.hostName, r.port);
    } catch (e) {
      if (e instanceof UnreachableError && e.host !== this.host) {
        throw new UnreachableError(this.host, `via jump host ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  private knownHostsFiles(): { user: string; all: string[] } {
    if (this.opts.knownHostsFile) return { user: this.opts.knownHostsFile, all: [this.opts.knownHostsFile] };
    const user = join(homedir(), '.ssh', 'known_hosts');
    return { user, all: [user, '/etc/ssh/ssh_known_hosts'] };
  }

  private readKnownHosts(files: string[]): KnownHostEntry[] {
    const entries: KnownHostEntry[] = [];
    for (const f of files) {
      try {
        entries.push(...knownHostsCache.get(f));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return entries;
  }

  /** The authentication methods to try, in order, and why some key files were left out. */
  private authMethods(r: Resolved): { methods: AnyAuthMethod[]; labels: Map<AnyAuthMethod, string>; skipped: string[] } {
    const methods: AnyAuthMethod[] = [];
    const labels = new Map<AnyAuthMethod, string>();
    const skipped: string[] = [];
    const agent = this.opts.agent === undefined ? process.env.SSH_AUTH_SOCK : this.opts.agent;
    if (agent) methods.push({ type: 'agent', username: r.user, agent });
    const passphrase = this.opts.passphrase?.value;
    for (const file of r.identityFiles) {
      let parsed: ParsedKey | Error;
      try {
        parsed = parsedIdentity(file, passphrase);
      } catch (e) {
        // ssh is silent about missing default keys and warns about named ones
        if (r.explicitIdentities) skipped.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
        continue;
      }
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase/i.test(parsed.message);
        skipped.push(
          encrypted
            ? `${file}: encrypted, ${passphrase ? 'wrong passphrase' : 'no passphrase given (ferry_ssh_passphrase)'}`
            : `${file}: ${parsed.message}`,
        );
        continue;
      }
      // the parsed key itself: ssh2 would parse (and decrypt) the file's bytes once more per connection
      const m: AnyAuthMethod = { type: 'publickey', username: r.user, key: parsed };
      labels.set(m, `publickey ${file}`);
      methods.push(m);
    }
    if (this.opts.password) methods.push({ type: 'password', username: r.user, password: this.opts.password.value });
    return { methods, labels, skipped };
  }

  private async open(): Promise<Client> {
    const r = this.resolve();
    const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    const khFiles = this.knownHostsFiles();
    const entries = this.readKnownHosts(khFiles.all);
    const { methods, labels, skipped } = this.authMethods(r);
    const sock = await this.openSocket(r, timeoutMs);
    const client = new Client();
    const tried: string[] = [];
    let hostKeyFailure: HostKeyError | undefined;

    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const verdict = checkHostKey(entries, r.hostName, r.port, key);
      const type = keyTypeOfBlob(key);
      const fp = fingerprintSha256(key);
      const token = hostToken(r.hostName, r.port);
      if (verdict.status === 'known') return verify(true);
      if (verdict.status === 'revoked') {
        hostKeyFailure = new HostKeyError(
          this.host,
          `host key ${type} ${fp} of ${token} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`,
        );
        return verify(false);
      }
      if (verdict.status === 'changed') {
        const where = verdict.entries.map((e) => `${e.file}:${e.line}`).join(', ');
        hostKeyFailure = new HostKeyError(
          this.host,
          `host key of ${token} has CHANGED: it now offers ${type} ${fp}, but ${where} holds another key. ` +
            `Someone may be intercepting the connection; if the host was really reinstalled, remove the old line ` +
            `(ssh-keygen -R '${token}' -f ${verdict.entries[0]?.file ?? khFiles.user}) and connect again.`,
        );
        return verify(false);
      }
      if (!this.opts.acceptNewHosts) {
        hostKeyFailure = new HostKeyError(
          this.host,
          `unknown host key for ${token}: ${type} ${fp} (not in ${khFiles.all.join(' or ')}). ` +
            `Check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), ` +
            `then run again with --accept-new-hosts to record it.`,
        );
        return verify(false);
      }
      // Hashed like the lines already there (OpenSSH's HashKnownHosts); a new file is created 0600,
      // an existing one keeps its mode.
      const hashed = entries.some((e) => e.file === khFiles.user && e.hosts.some((h) => h.kind === 'hashed'));
      const line = formatKnownHostsLine(r.hostName, r.port, key, { hashed }) + '\n';
      mkdir(dirname(khFiles.user), { recursive: true, mode: 0o700 })
        .then(() => appendFile(khFiles.user, line, { mode: 0o600 }))
        .then(
          () => verify(true),
          (e: unknown) => {
            hostKeyFailure = new HostKeyError(this.host, `cannot record the new host key in ${khFiles.user}: ${String(e)}`);
            verify(false);
          },
        );
    };

    const methodsLeft = [...methods];
    const authHandler = (authsLeft: AuthenticationType[] | null, _partial: boolean | null, next: (m: AnyAuthMethod | false) => void): void => {
      let m = methodsLeft.shift();
      while (m && authsLeft && !authsLeft.includes(m.type)) m = methodsLeft.shift();
      if (!m) return next(false);
      tried.push(labels.get(m) ?? m.type);
      next(m);
    };

    const known = knownKeyTypes(entries, r.hostName, r.port).flatMap(algosForKeyType);
    const serverHostKey = [...new Set([...known.filter((a) => HOST_KEY_ALGOS.includes(a)), ...HOST_KEY_ALGOS])];

    const config: ConnectConfig = {
      sock: sock as unknown as ConnectConfig['sock'],
      username: r.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier,
      // ssh2's declared middleware type does not admit `false` (= no more methods), which its code expects
      authHandler: authHandler as unknown as ConnectConfig['authHandler'],
      algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
    };

    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.once('ready', () => {
        ready = true;
        this.client = client;
        resolve(client);
      });
      client.on('error', (e: Error & { level?: string }) => {
        if (ready) return; // a later error closes the connection; running channels see it
        reject(this.connectError(e, r, timeoutMs, tried, skipped, hostKeyFailure));
      });
      client.on('close', () => {
        if (this.client === client) this.client = undefined;
        if (ready) this.connecting = undefined; // the next command reconnects
        if (!ready) reject(hostKeyFailure ?? new UnreachableError(this.host, `connection closed during handshake (${r.hostName}:${r.port})`));
      });
      client.connect(config);
    });
  }

  private connectError(
    e: Error & { level?: string },
    r: Resolved,
    timeoutMs: number,
    tried: string[],
    skipped: string[],
    hostKeyFailure: HostKeyError | undefined,
  ): UnreachableError {
    if (hostKeyFailure) return hostKeyFailure;
    if (e.level === 'client-authentication') {
      const notes = skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : '';
      return new UnreachableError(
        this.host,
        `authentication failed as ${r.user} (tried: ${tried.length > 0 ? tried.join(', ') : 'nothing: no agent, key or password'}${notes})`,
        { cause: e },
      );
    }
    if (e.level === 'client-timeout') {
      return new UnreachableError(this.host, `SSH handshake with ${r.hostName}:${r.port} timed out after ${timeoutMs / 1000}s`, { cause: e });
    }
    return new UnreachableError(this.host, `${e.message} (${r.hostName}:${r.port})`, { cause: e });
  }

  /** Records the login shell a host reported ($SHELL), which decides whether texts are wrapped. */
  private noteLoginShell(shell: string): void {
    if (shell) this.posixLogin = isPosixLoginShell(shell);
  }

  /**
   * Opens an exec channel running POSIX sh `text` (wrapped for /bin/sh unless the login shell is
   * known to be a POSIX one: login-shell.ts), retrying briefly when sshd is still freeing closed sessions.
   */
  private openExec(client: Client, text: string, tty: boolean): Promise<ClientChannel> {
    if (this.posixLogin !== true) text = throughPosixSh(text);
    return new Promise((resolve, reject) => {
      let attempt = 0;
      const tryOpen = (): void => {
        client.exec(text, tty ? { pty: true } : {}, (err, ch) => {
          if (!err) return resolve(ch);
          // sshd frees a closed session a little after confirming the close, so a channel opened
          // right then can meet "no more sessions" (MaxSessions) although we stay under it
          if (attempt < CHANNEL_OPEN_RETRIES && this.client === client) {
            attempt += 1;
            setTimeout(tryOpen, 10 * attempt);
            return;
          }
          reject(new UnreachableError(this.host, `cannot open a channel: ${err.message}`, { cause: err }));
        });
      };
      tryOpen();
    });
  }

  /**
   * Starts a command: in an idle persistent shell when they are on and the caller does not stream
   * it, else on an exec channel (also when every shell is busy and no channel is free for another).
   * sudo commands keep exec channels: sudo passes on no signal sent from its own process group,
   * and a stopped command's root processes were left running now and then when sent from the shell.
   * A command that wants a terminal gets an exec channel with a pty. A command on an exec channel
   * stops on the host once the connection is gone: it is listed for the connection's watcher
   * (exec-watcher.ts), a sudo command watched on the become side instead (become.ts).
   */
  protected async start(text: string, needs: StartNeeds = {}): Promise<RawProcess> {
    const listed = !needs.become;
    // a sudo command starts no watcher of the login side; this one tells the login shell
    if (needs.become && this.posixLogin === undefined) void this.getClient().then((c) => this.execWatcher(c), () => undefined);
    if (needs.tty) return this.startExec(text, true, listed);
    if (needs.stream || needs.become || !this.persistentShell || this.shellRefused) return this.startExec(text, false, listed);
    const shell = await this.claimShell(needs.stdin === true);
    if (shell) {
      const { begun, proc } = shell.run(text, needs.stdin === true);
      if (await begun) return proc;
      // the shell ended before the command began, so nothing ran: an exec channel runs it
    }
    return this.startExec(text, false, listed);
  }

  /** An idle shell reserved for one command, a new one when a channel is free, else undefined. */
  private async claimShell(stdin: boolean): Promise<ShellSession | undefined> {
    const fits = (s: ShellSession): boolean => !stdin || s.acceptsStdin;
    const idle = this.shells.find((s) => s.idle && fits(s));
    if (idle?.claim()) return idle;
    const max = this.opts.maxShells ?? 2;
    const channelFree = this.queue.pending + this.queue.size < this.queue.concurrency;
    if (this.shells.length + this.shellsOpening >= max || !channelFree) return undefined;
    this.shellsOpening += 1;
    let shell: ShellSession;
    try {
      shell = await ShellSession.open((t) => this.startExec(t), this.host, this.opts.connectTimeoutMs ?? 10_000);
      this.noteLoginShell(shell.loginShell);
    } catch (e) {
      if (e instanceof UnreachableError) throw e;
      this.shellRefused = true; // e.g. a login shell that is not a shell: exec channels still work
      return undefined;
    } finally {
      this.shellsOpening -= 1;
    }
    this.shells.push(shell);
    void shell.closed.then(() => {
      const i = this.shells.indexOf(shell);
      if (i >= 0) this.shells.splice(i, 1);
    });
    return fits(shell) && shell.claim() ? shell : undefined;
  }

  /**
   * The token of the connection's exec watcher, started (one exec, waited for: its folder must be
   * there before a command writes into it) when the first listed command asks for it. That exec
   * prints the login shell ($SHELL) first.
   */
  private execWatcher(client: Client): Promise<string> {
    let started = this.execWatchers.get(client);
    if (!started) {
      const token = randomBytes(12).toString('hex');
      // a failure (the connection gone) is met by the command that asked
      started = runQuietly(this.startExec(connectionWatcherCommand(token)), (out) => this.noteLoginShell(out.split('\n')[0] ?? '')).then(() => token);
      this.execWatchers.set(client, started);
    }
    return started;
  }

  /**
   * Opens an exec channel running `text` (`listed`: for the connection's watcher); the channel
   * holds one of maxChannels until it closes.
   */
  private async startExec(text: string, tty = false, listed = false): Promise<RawProcess> {
    const client = await this.getClient();
    if (listed) text = listedCommand(await this.execWatcher(client), text);
    const grace = this.opts.killGraceMs ?? 1000;
    return new Promise<RawProcess>((resolve, reject) => {
      // the slot is held for the channel's whole life, not only while opening it
      void this.queue.add(async () => {
        let ch: ClientChannel;
        try {
          ch = await this.openExec(client, text, tty);
        } catch (e) {
          reject(e);
          return;
        }
        let killed = false;
        // The exit status comes from the close event's arguments: an 'exit' listener attached
        // here could miss it, since the whole reply can arrive in the packet that confirmed the open.
        const exit = new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
          ch.once('close', (code?: number | null, signal?: string) => {
            if (code === undefined && !killed) rej(new UnreachableError(this.host, 'connection lost while a command was running'));
            else res({ code: typeof code === 'number' ? code : null, signal: signal ?? null });
          });
        });
        const kill = (): void => {
          if (killed) return;
          killed = true;
          sendSignal(ch, 'TERM');
          const timer = setTimeout(() => {
            sendSignal(ch, 'KILL');
            ch.close();
          }, grace);
          timer.unref();
          ch.once('close', () => clearTimeout(timer));
        };
        resolve({ stdin: ch, stdout: ch, stderr: ch.stderr, exit, kill, tty });
        await exit.catch(() => undefined); // the caller sees the rejection; the slot is freed either way
      });
    });
  }
}

// The parts of ssh2's channel that `signal()` uses; see sendSignal.
interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
}

/**
 * Sends a signal request on a session channel. ssh2's ClientChannel.signal() silently does
 * nothing once our side has sent EOF (stdin ended), which is the normal state of a command
 * without stdin, so the request goes through ssh2's protocol object directly then.
 */
function sendSignal(ch: ClientChannel, name: 'TERM' | 'KILL'): void {
  try {
    if (ch.writable) {
      ch.signal(name);
      return;
    }
    const internals = ch as unknown as ChannelInternals;
    const id = internals.outgoing?.id;
    const proto = internals._client?._protocol;
    const state = internals.outgoing?.state;
    if ((state === 'open' || state === 'eof') && id !== undefined && proto?.signal) proto.signal(id, name);
  } catch {
    // the channel is already closing: nothing left to signal
  }
}
