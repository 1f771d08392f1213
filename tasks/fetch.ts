// fetch: copy a file from the host to the controller (Ansible's fetch), by default into
// dest/<inventory_hostname>/<src path> so that several hosts' files do not collide; with flat: true
// into dest itself. Compared by SHA-1 (Ansible's checksum) first, so an unchanged file is not copied.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { probeFollowingLink } from './lib/path-state.js';
import { pathField } from './lib/schema.js';

const params = z.strictObject({
  src: pathField('The file on the host to fetch (a file, not a directory)'),
  dest: pathField('A folder on the controller (relative: to the playbook\'s folder); the file lands in dest/<inventory_hostname>/<src path>'),
  flat: z.boolean().default(false).describe('Put the file at dest itself (dest ending in / : dest/<basename of src>), without the host name and src path'),
  fail_on_missing: z.boolean().default(true).describe('Fail when src is missing or a directory (false: report it and go on)'),
  validate_checksum: z.boolean().default(true).describe('Check that the copy has the SHA-1 the host reported'),
});

type Params = z.output<typeof params>;

/** What is at src on the host: a file with its SHA-1, or why not. */
export type RemoteFile = { found: 'file'; sha1: string } | { found: 'missing' } | { found: 'directory' } | { found: 'other'; type: string };
/** What is at the computed dest on the controller. */
export type LocalFile = { found: 'file'; sha1: string; md5: string } | { found: 'missing' } | { found: 'directory' } | { found: 'other' };

/** What read found: the host's name and the playbook's folder (they place dest), src on the host, dest here. */
export interface FetchFacts {
  host: string;
  baseDir: string;
  remote: RemoteFile;
  local: LocalFile;
}

/** Where the file goes on the controller (pure): dest/<host>/<src> or, flat, dest (dest/ + basename of src). */
export function fetchDest(p: Pick<Params, 'src' | 'dest' | 'flat'>, host: string, baseDir: string): string {
  const base = resolve(baseDir, p.dest);
  if (p.flat) return p.dest.endsWith('/') ? posix.join(base, posix.basename(p.src)) : base;
  return posix.normalize(`${base}/${host}/${p.src}`);
}

const hex = (algo: string, data: Buffer): string => createHash(algo).update(data).digest('hex');

/** Decides fetch (pure): the copy to make, no change when dest has the host's SHA-1, or Ansible's failure. */
export function decideFetch(p: Params, f: FetchFacts): Verdict {
  const dest = fetchDest(p, f.host, f.baseDir);
  // src with '..' must not lead out of dest/<host> (Ansible's "directory traversal" check).
  const root = p.flat ? undefined : posix.join(resolve(f.baseDir, p.dest), f.host);
  if (root !== undefined && !dest.startsWith(`${root}/`)) {
    return { refused: `src ${p.src} would put the file at ${dest}, outside ${root}; give src without '..'` };
  }
  const missing = (why: string): Verdict =>
    p.fail_on_missing
      ? { refused: `${why}, not transferring (fail_on_missing: false reports it and goes on)`, data: { file: p.src } }
      : { changed: false, reason: `${why}, not transferring, ignored`, data: { file: p.src } };
  if (f.remote.found === 'missing') return missing(`the remote file ${p.src} does not exist`);
  if (f.remote.found === 'directory') return missing(`remote file ${p.src} is a directory, fetch cannot work on directories`);
  if (f.remote.found === 'other') return missing(`remote file ${p.src} is a ${f.remote.type}, fetch works on regular files`);
  if (f.local.found === 'directory') {
    return { refused: p.flat ? `dest ${dest} is an existing directory, use a trailing slash if you want to fetch src into that directory` : `dest ${dest} is a directory` };
  }
  if (f.local.found === 'other') return { refused: `dest ${dest} exists and is not a regular file` };
  const remoteSha1 = f.remote.sha1;
  if (f.local.found === 'file' && f.local.sha1 === remoteSha1) {
    return { changed: false, reason: `${dest} already has ${p.src} (sha1 ${remoteSha1.slice(0, 12)}…)`, data: { md5sum: f.local.md5, file: p.src, dest, checksum: remoteSha1 } };
  }
  return {
    changed: true,
    steps: [
      {
        title: `fetch ${p.src} to ${dest}`,
        run: async (ctx) => {
          const data = await ctx.transport.get(p.src, { become: ctx.become });
          if (data === null) throw new TaskFailedError(`the remote file ${p.src} disappeared before it was fetched`, { file: p.src });
          const checksum = hex('sha1', data);
          if (p.validate_checksum && checksum !== remoteSha1) {
            throw new TaskFailedError(`checksum mismatch: ${p.src} changed while it was fetched (sha1 ${remoteSha1} before, ${checksum} fetched)`, { file: p.src, dest, checksum, remote_checksum: remoteSha1 });
          }
          // Written beside dest, then renamed: a reader never sees half a file.
          await mkdir(posix.dirname(dest), { recursive: true });
          const tmp = `${dest}.ferry-${process.pid}-${Date.now()}.tmp`;
          await writeFile(tmp, data);
          await rename(tmp, dest);
          return { md5sum: hex('md5', data), dest, remote_md5sum: null, checksum, remote_checksum: remoteSha1 };
        },
      },
    ],
    data: { dest, remote_checksum: remoteSha1, remote_md5sum: null },
  };
}

/** What is at src on the host, a symlink followed (as Ansible's stat with follow does). */
async function readRemote(ctx: TaskContext, src: string): Promise<RemoteFile> {
  const { state: st } = await probeFollowingLink(ctx, src);
  if (!st.exists) return { found: 'missing' };
  if (st.type === 'directory') return { found: 'directory' };
  if (st.type !== 'file') return { found: 'other', type: st.type };
  const r = await ctx.runOk(sh`sha1sum < ${src}`);
  const m = /^([0-9a-f]{40}) /.exec(r.stdout);
  if (!m) throw new TaskFailedError(`unexpected sha1sum output for ${src}: ${JSON.stringify(r.stdout.slice(0, 100))}`);
  return { found: 'file', sha1: m[1]! };
}

/** What is at dest on the controller. */
async function readLocal(dest: string): Promise<LocalFile> {
  const st = await stat(dest).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
  if (!st) return { found: 'missing' };
  if (st.isDirectory()) return { found: 'directory' };
  if (!st.isFile()) return { found: 'other' };
  const data = await readFile(dest);
  return { found: 'file', sha1: hex('sha1', data), md5: hex('md5', data) };
}

export const fetchModule = defineModule({
  name: 'fetch',
  params,
  doc: {
    summary: 'Copy a file from the host to the controller (dest/<inventory_hostname>/<src path>, or flat)',
    description:
      "Ansible's fetch: without flat the file lands in dest/<inventory_hostname>/<src path>, so each host's copy has " +
      'its own place; with flat: true at dest (a dest ending in / gets the basename of src). A relative dest is taken ' +
      "from the playbook's folder. The copy is skipped when dest already has the host file's SHA-1, and is written " +
      'atomically. A symlink on the host is followed; a directory cannot be fetched. The file is held in memory while copied.',
    checkMode: 'full',
    checkModeNote: 'compares the checksums and reports what would be copied; nothing is written on the controller (Ansible skips fetch in check mode)',
    result: {
      dest: 'the path of the copy on the controller',
      checksum: 'SHA-1 of the copy',
      remote_checksum: "SHA-1 of the host's file (when copied)",
      md5sum: 'MD5 of the copy',
      remote_md5sum: 'always null (as in Ansible)',
      file: 'src, when nothing was copied',
    },
    example: [
      '- fetch:',
      '    src: /etc/xen/{{ inventory_hostname }}.cfg',
      '    dest: saved-configs/',
      '',
      '- fetch: { src: /etc/fstab, dest: "backup/{{ inventory_hostname }}-fstab", flat: true }',
    ].join('\n'),
  },
  async read(ctx, p): Promise<FetchFacts> {
    const remote = await readRemote(ctx, p.src);
    const local = await readLocal(fetchDest(p, ctx.host, ctx.baseDir));
    return { host: ctx.host, baseDir: ctx.baseDir, remote, local };
  },
  decide: decideFetch,
});
