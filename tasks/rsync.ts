// The `rsync` module: a file-level copy on one host; the plan is rsync's own dry run.
import { z } from 'zod';
import { sh, type Command } from '../runner/command.js';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type TaskContext } from '../runner/module.js';
import { describeFailure } from '../runner/task-context.js';
import { recordSplitter } from './storage/records.js';
import { isRealChange, parseItemizeChanges, parseProgress2 } from './storage/rsync-itemize.js';

/** What the rootfs preset leaves out of a copy of a running system's root (the seed's list). */
export const ROOTFS_EXCLUDES = ['/dev/*', '/proc/*', '/sys/*', '/tmp/*', '/run/*', '/mnt/*', '/media/*', '/lost+found'];

const params = z
  .object({
    src: z.string().min(1).describe('Source path; a trailing slash copies the contents of the directory (rsync semantics).'),
    dest: z.string().min(1).describe('Destination path.'),
    exclude: z.array(z.string()).default([]).describe('Patterns passed as --exclude (added to the preset\'s).'),
    delete: z.boolean().default(false).describe('Delete files in dest that are not in src (--delete).'),
    archive: z
      .array(z.string())
      .default(['-aAXH', '--numeric-ids'])
      .describe('The copy flags; the default keeps owners by number, ACLs, xattrs and hard links (-aAXH --numeric-ids).'),
    preset: z.enum(['rootfs']).optional().describe(`rootfs: exclude ${ROOTFS_EXCLUDES.join(' ')} (copying a live root filesystem).`),
    src_host: z.string().optional().describe('Not supported yet: copies between two hosts use blockcopy (see doc).'),
    dest_host: z.string().optional().describe('Not supported yet: copies between two hosts use blockcopy (see doc).'),
  })
  .strict();

type Params = z.output<typeof params>;

function rsyncArgs(p: Params): (string | string[])[] {
  for (const f of p.archive) {
    if (!f.startsWith('-')) throw new TaskFailedError(`archive flag '${f}' is not an option: only flags belong in archive`);
  }
  const excludes = [...(p.preset === 'rootfs' ? ROOTFS_EXCLUDES : []), ...p.exclude].flatMap((x) => ['--exclude', x]);
  return [p.archive, excludes, p.delete ? ['--delete'] : []];
}

function rsyncCommand(p: Params, mode: '--dry-run' | '--info=progress2'): Command {
  // --itemize-changes in both runs: the dry run is the plan, the real run's list is the result.
  const extra = mode === '--dry-run' ? ['--dry-run', '--itemize-changes'] : ['--info=progress2', '--no-inc-recursive'];
  return sh`rsync ${rsyncArgs(p).flat()} ${extra} ${p.src} ${p.dest}`;
}

// 24: "some files vanished before they could be transferred" — normal when copying a live root.
const OK_EXITS = new Set([0, 24]);

/** The rsync module. */
export const rsyncModule = defineModule({
  name: 'rsync',
  params,
  doc: {
    summary: 'Copy a directory tree with rsync on one host (-aAXH --numeric-ids by default); no change when a dry run itemizes nothing.',
    description:
      'plan runs `rsync --dry-run --itemize-changes` with the same flags, so check mode shows exactly what the copy will do. ' +
      'The real run reports progress from --info=progress2. Exit 24 (files vanished while copying) counts as success. ' +
      'Between two hosts without SSH trust between them rsync is not supported yet (src_host/dest_host are refused with ' +
      'an error): copy the filesystem with blockcopy (streamed through the controller) instead.',
    checkMode: 'full',
    result: { changes: 'The number of itemized changes.', itemized: 'The first 200 itemized lines of the dry run.', vanished: 'True when rsync exited 24.' },
    example: ['- rsync:', '    src: /mnt/old/', '    dest: /mnt/new/', '    preset: rootfs', '    delete: true'].join('\n'),
  },
  async plan(ctx, p: Params) {
    for (const [k, h] of [['src_host', p.src_host], ['dest_host', p.dest_host]] as const) {
      if (h !== undefined && h !== ctx.host) {
        throw new TaskFailedError(`${k}: rsync between hosts is not supported yet; run it on one host or use blockcopy (which streams through the controller)`);
      }
    }
    const dry = await ctx.run(rsyncCommand(p, '--dry-run'));
    if (!OK_EXITS.has(dry.exitCode ?? -1)) throw new TaskFailedError(describeFailure(dry));
    const items = parseItemizeChanges(dry.stdout).filter(isRealChange);
    if (!items.length) return { changed: false, reason: `rsync --dry-run finds nothing to copy from ${p.src} to ${p.dest}`, data: { changes: 0 } };
    const lines = dry.stdout.split('\n').filter(Boolean);
    return {
      changed: true,
      diff: [{ path: p.dest, before: '', after: lines.slice(0, 200).join('\n') + (lines.length > 200 ? `\n... ${lines.length - 200} more\n` : '\n') }],
      steps: [
        {
          title: `rsync ${p.src} → ${p.dest} (${items.length} change${items.length > 1 ? 's' : ''})`,
          async run(c: TaskContext) {
            const cmd = rsyncCommand(p, '--info=progress2');
            const onRecord = recordSplitter((line) => {
              const s = parseProgress2(line);
              if (s) c.progress({ bytes: s.bytes, bytesPerSec: s.bytesPerSec, etaSec: s.etaSec });
            });
            const r = await c.run(cmd, { onStdout: onRecord });
            if (!OK_EXITS.has(r.exitCode ?? -1)) throw new TaskFailedError(describeFailure(r));
            return { changes: items.length, itemized: lines.slice(0, 200), vanished: r.exitCode === 24 };
          },
        },
      ],
    };
  },
});
