// The `rsync` module: a file-level copy on one host or between two hosts through the controller;
// the plan is rsync's own dry run.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { copyEnds } from './lib/peer.js';
import { directFailure, directField, type DirectSsh, directSsh, sshTarget, sshWords } from './lib/direct-ssh.js';
import { checkedBy, rsyncPathField } from './lib/schema.js';
import { recordSplitter } from './storage/records.js';
import { relayRsync, type RelayResult } from './copy/rsync-relay.js';
import { isRealChange, parseItemizeChanges, parseProgress2 } from './copy/rsync-itemize.js';

/** What the rootfs preset leaves out of a copy of a running system's root (the seed's list). */
export const ROOTFS_EXCLUDES = ['/dev/*', '/proc/*', '/sys/*', '/tmp/*', '/run/*', '/mnt/*', '/media/*', '/lost+found'];

// Flags that would make rsync start another program (a remote shell, a remote rsync), act as a
// daemon or server, or write files beside dest even in a dry run. ferry builds the only remote
// spec rsync ever sees (the relay's), so none of them has work to do here.
const REFUSED_LONG = ['--rsh', '--rsync-path', '--remote-option', '--daemon', '--server', '--sender', '--config', '--dparam', '--write-batch', '--only-write-batch', '--read-batch', '--log-file'];

/** Why an `archive:` entry cannot be passed to rsync, or undefined. */
export function archiveFlagProblem(flag: string): string | undefined {
  if (!flag.startsWith('-')) return `'${flag}' is not an option: only flags belong in archive (src and dest are parameters of their own)`;
  const long = REFUSED_LONG.find((r) => flag === r || flag.startsWith(`${r}=`));
  // In a cluster of short flags (-aAXHe) e and M take the rest, or the next word, as their value.
  const short = /^-[^-]/.test(flag) && /[eM]/.test(flag.slice(1)) ? flag : undefined;
  if (long || short) return `'${flag}': ferry does not pass ${long ?? '-e / -M'} to rsync (it would run another program or write outside dest, also in check mode)`;
  return undefined;
}

const params = z.strictObject({
  src: rsyncPathField(
    "Source path on src_host (default: the task's host); a trailing slash copies the contents of the directory (rsync semantics). Never host:path: name the host with src_host",
  ),
  dest: rsyncPathField("Destination path on dest_host (default: the task's host). Never host:path: name the host with dest_host"),
  exclude: z.array(z.string()).default([]).describe('Patterns passed as --exclude (added to the preset\'s)'),
  delete: z.boolean().default(false).describe('Delete files in dest that are not in src (--delete)'),
  archive: z
    .array(z.string().superRefine(checkedBy(archiveFlagProblem)))
    .default(['-aAXH', '--numeric-ids'])
    .describe('The copy flags; the default keeps owners by number, ACLs, xattrs and hard links (-aAXH --numeric-ids). No -e/--rsh, --rsync-path, --daemon, batch or log files'),
  preset: z.enum(['rootfs']).optional().describe(`rootfs: exclude ${ROOTFS_EXCLUDES.join(' ')} (copying a live root filesystem)`),
  src_host: z.string().optional().describe('Inventory host holding src (default: the task\'s host)'),
  dest_host: z.string().optional().describe('Inventory host holding dest (default: the task\'s host)'),
  direct: directField,
});

type Params = z.output<typeof params>;

type Mode = '--dry-run' | '--info=progress2';

/**
 * rsync's flags for a run: the mode first (no later flag can take --dry-run as its value), then the
 * excludes as single words, then the user's flags. Whatever a last flag of archive takes as its
 * value, src and dest stay operands: they are checked never to look like options.
 */
function rsyncFlags(p: Params, mode: Mode): string[] {
  // The dry run itemizes: it is the plan. The real run reports whole-transfer progress.
  const modeFlags = mode === '--dry-run' ? ['--dry-run', '--itemize-changes'] : ['--info=progress2', '--no-inc-recursive'];
  const excludes = [...(p.preset === 'rootfs' ? ROOTFS_EXCLUDES : []), ...p.exclude].map((x) => `--exclude=${x}`);
  return [...modeFlags, ...excludes, ...(p.delete ? ['--delete'] : []), ...p.archive];
}

/** The one-host rsync command for a dry run (the plan) or the copy. */
export function rsyncCommand(p: Params, mode: Mode): Command {
  return sh`rsync ${rsyncFlags(p, mode)} -- ${p.src} ${p.dest}`;
}

/** Where the copy runs: one host, or the client on dest's host pulling from src's host (through the controller, or directly). */
interface Ends {
  src: TaskContext;
  dest: TaskContext;
  direct?: DirectSsh;
}

/** The ends of the copy seen from `ctx` (the task's context when it reads, the step's when it copies). */
async function rsyncEnds(ctx: TaskContext, p: Params): Promise<Ends> {
  const ends = await copyEnds(ctx, p.src_host, p.dest_host);
  return ends.src === ends.dest ? ends : { ...ends, direct: directSsh(p.direct, ends.src) };
}

/** The command on dest's host of a direct copy: rsync with ferry's own ssh as its remote shell, pulling src from src's host. */
export function directRsyncCommand(p: Params, mode: Mode, d: DirectSsh): Command {
  const path = d.sudo ? ['--rsync-path=sudo -n rsync'] : [];
  return sh`rsync ${rsyncFlags(p, mode)} ${['-e', sshWords(d).join(' '), ...path]} -- ${`${sshTarget(d, true)}:${p.src}`} ${p.dest}`;
}

/** What one rsync run did: its exit code, what it printed, and how it failed in words (naming both hosts for a relayed one). */
export interface RsyncRun {
  exitCode: number | null;
  output: string;
  failure: string;
}

/** Runs rsync in `mode` on one host or relayed between two. */
async function runRsync(ends: Ends, p: Params, mode: Mode, onOutput?: (chunk: Buffer) => void): Promise<RsyncRun> {
  if (ends.src === ends.dest || ends.direct) {
    const on = ends.direct ? ends.dest : ends.src;
    const r = await on.run(ends.direct ? directRsyncCommand(p, mode, ends.direct) : rsyncCommand(p, mode), onOutput ? { onStdout: onOutput } : {});
    const failure = describeFailure(r);
    return { exitCode: r.exitCode, output: r.stdout, failure: ends.direct ? `${directFailure('rsync', ends.direct, ends.src.host, ends.dest.host)}: ${failure}` : failure };
  }
  const r: RelayResult = await relayRsync(ends.dest, ends.src, rsyncFlags(p, mode), p.src, p.dest, onOutput);
  return { exitCode: r.exitCode, output: r.output, failure: describeRelayFailure(ends, r) };
}

/** What rsync's read found: the hosts of the two ends and the dry run (the plan). */
export interface RsyncFacts {
  srcHost: string;
  destHost: string;
  /** dest's host connects to src's itself (direct), else the controller relays between two hosts. */
  direct?: boolean;
  dry: RsyncRun;
}

/** The copy itself, from the step's own context: the ends again (a peer through it), progress from --info=progress2. */
async function copyTree(c: TaskContext, p: Params): Promise<RsyncRun> {
  const onRecord = recordSplitter((line) => {
    const s = parseProgress2(line);
    if (s) c.progress({ bytes: s.bytes, bytesPerSec: s.bytesPerSec, etaSec: s.etaSec });
  });
  return runRsync(await rsyncEnds(c, p), p, '--info=progress2', onRecord);
}

/** Decides rsync (pure): the dry run's itemized changes are the plan; none is no change; a failed dry run is refused with rsync's message. */
export function decideRsync(p: Params, f: RsyncFacts): Verdict {
  const { dry } = f;
  if (!OK_EXITS.has(dry.exitCode ?? -1)) return { refused: dry.failure };
  const between = f.srcHost !== f.destHost;
  const items = parseItemizeChanges(dry.output).filter(isRealChange);
  const where = between ? `${f.srcHost}:${p.src} to ${f.destHost}:${p.dest}` : `${p.src} to ${p.dest}`;
  if (!items.length) return { changed: false, reason: `rsync --dry-run finds nothing to copy from ${where}`, data: { changes: 0 } };
  const lines = dry.output.split('\n').filter((l) => parseItemizeChanges(l).length > 0);
  return {
    changed: true,
    diff: [{ path: p.dest, before: '', after: lines.slice(0, 200).join('\n') + (lines.length > 200 ? `\n... ${lines.length - 200} more\n` : '\n') }],
    steps: [
      {
        title: `rsync ${where}${between ? (f.direct ? `, ${f.destHost} connecting to ${f.srcHost} itself (direct)` : ' through the controller') : ''} (${items.length} change${items.length > 1 ? 's' : ''})`,
        // the escape hatch: a stream with progress, whose exit 24 (files vanished) is a success
        async run(c: TaskContext) {
          const r = await copyTree(c, p);
          if (!OK_EXITS.has(r.exitCode ?? -1)) throw new TaskFailedError(r.failure);
          return { changes: items.length, itemized: lines.slice(0, 200), vanished: r.exitCode === 24 };
        },
      },
    ],
  };
}

function describeRelayFailure(ends: Ends, r: RelayResult): string {
  const tail = (s: string): string => s.split(/[\r\n]+/).filter((l) => l.trim()).slice(-8).join('\n');
  const parts = [`rsync on ${ends.dest.host} pulling from ${ends.src.host} exited ${r.exitCode ?? 'on a signal'}`];
  if (r.relayError) parts.push(`relay: ${r.relayError}`);
  if (r.output.trim()) parts.push(`${ends.dest.host}: ${tail(r.output)}`);
  if (r.serverStderr.trim()) parts.push(`${ends.src.host} (rsync --server, exit ${r.serverExit ?? '?'}): ${tail(r.serverStderr)}`);
  return parts.join('\n');
}

// 24: "some files vanished before they could be transferred" — normal when copying a live root.
const OK_EXITS = new Set([0, 24]);

/** The rsync module. */
export const rsyncModule = defineModule({
  name: 'rsync',
  params,
  hostParams: ['src_host', 'dest_host'],
  doc: {
    summary:
      'Copy a directory tree with rsync (-aAXH --numeric-ids by default), on one host or between two through the controller; no change when a dry run itemizes nothing',
    description:
      'read runs `rsync --dry-run --itemize-changes` with the same flags, so check mode shows exactly what the copy will do. ' +
      'The real run reports progress from --info=progress2. Exit 24 (files vanished while copying) counts as success. ' +
      'Between two hosts (src_host and dest_host name different inventory hosts) the rsync client runs on dest_host and ' +
      'pulls from an `rsync --server --sender` that the controller starts on src_host over its own connection, relaying ' +
      'the protocol between the two SSH channels: the hosts need no SSH trust, keys or agent of each other, nothing is ' +
      'written on src_host, and both ends run with the task\'s become. Both hosts need rsync. With `direct`, dest_host ' +
      'reaches src_host itself instead (its own ssh, keys and known_hosts; BatchMode, so a missing key fails at once): ' +
      'the data takes the path between the two hosts, not the controller\'s, and the plan says which.',
    checkMode: 'full',
    result: { changes: 'The number of itemized changes', itemized: 'The first 200 itemized lines of the dry run', vanished: 'True when rsync exited 24' },
    example: [
      '- rsync:',
      '    src: /mnt/old/',
      '    dest: /mnt/new/',
      '    preset: rootfs',
      '    delete: true',
      '',
      '# from another inventory host (run on the destination host):',
      '- rsync:',
      '    src: /srv/www/',
      '    src_host: web1',
      '    dest: /srv/www/',
      '    delete: true',
    ].join('\n'),
  },
  async read(ctx, p): Promise<RsyncFacts> {
    const ends = await rsyncEnds(ctx, p);
    return { srcHost: ends.src.host, destHost: ends.dest.host, ...(ends.direct ? { direct: true } : {}), dry: await runRsync(ends, p, '--dry-run') };
  },
  decide: decideRsync,
});
