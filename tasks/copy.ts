// copy: put a controller file or inline content on the host, idempotent by sha256.
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { TaskFailedError } from '../runner/errors.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { contentResult, decideContent, readContentTarget, type ContentRequest, type ContentTarget } from './lib/file-content.js';
import { groupField, modeField, ownerField, pathField, validateField } from './lib/schema.js';

const params = z
  .strictObject({
    src: z.string().min(1).optional().describe("Controller file to copy: in a role, looked for in the role's files/ first; else relative to the playbook directory (exclusive with content)"),
    content: z.string().optional().describe('Text to write instead of a file (exclusive with src)'),
    dest: pathField('Remote path; a trailing / or an existing directory means dest/basename(src)'),
    mode: modeField,
    owner: ownerField,
    group: groupField,
    backup: z.boolean().default(false).describe('Keep the replaced file as dest.<date>@<time>~'),
    force: z.boolean().default(true).describe('false: leave an existing dest alone even when its content differs'),
    validate: validateField,
  })
  .refine((p) => (p.src === undefined) !== (p.content === undefined), { message: 'give exactly one of src and content' });
type Params = z.output<typeof params>;

/** What copy's read found: the controller file (src), and what is at dest. */
export interface CopyFacts {
  /** The controller file src names, where it was found and its bytes; absent for inline content. */
  source?: { path: string; data: Buffer };
  target: ContentTarget;
}

/**
 * Reads a controller file for copy/template, with an error that says where it looked: as Ansible does, a
 * role's files/ and folder, then files/ beside the playbook, then the playbook's folder.
 */
export async function readControllerFile(baseDir: string, src: string, roleDir?: string): Promise<{ path: string; data: Buffer }> {
  const dirs = roleDir ? [roleDir, baseDir] : [baseDir];
  const candidates = isAbsolute(src) ? [src] : dirs.flatMap((d) => [join(d, 'files', src), resolve(d, src)]);
  let path = candidates[candidates.length - 1]!;
  let st = null;
  for (const c of candidates) {
    st = await stat(c).catch(() => null);
    if (st) {
      path = c;
      break;
    }
  }
  if (!st) throw new TaskFailedError(`src ${src} not found (looked for ${candidates.join(', ')})`, { src: path });
  if (st.isDirectory()) throw new TaskFailedError(`src ${src} is a directory; copy takes one file (use rsync for trees)`, { src: path });
  return { path, data: await readFile(path) };
}

/** The bytes copy writes: src's, or the inline content's. */
function copyData(p: Params, source: CopyFacts['source']): Buffer {
  return source ? source.data : Buffer.from(p.content ?? '', 'utf8');
}

/** What copy and template ask decideContent for: these bytes at dest (dest/fileName for a directory) with the attributes, backup, force and validate given. */
export function copyRequest(p: Pick<Params, 'mode' | 'owner' | 'group' | 'backup' | 'force' | 'validate'>, data: Buffer, fileName: string | undefined): ContentRequest {
  return { data, fileName, mode: p.mode, owner: p.owner, group: p.group, backup: p.backup, force: p.force, validate: p.validate, validateAs: 'copy', result: { state: 'file' } };
}

/** Decides copy (pure): the bytes of src or content at dest, with the attributes asked for, or no change with the reason, or a refusal. */
export function decideCopy(p: Params, f: CopyFacts): Verdict {
  return decideContent(f.target, copyRequest(p, copyData(p, f.source), f.source ? basename(f.source.path) : undefined));
}

export const copyModule = defineModule({
  name: 'copy',
  params,
  doc: {
    summary: 'Copy a file (or inline content) to the host, atomically, only when its sha256 differs',
    description:
      'The host computes sha256 of dest and compares it with the local one; nothing is uploaded when they match. ' +
      'An existing file keeps its mode and owner unless mode/owner/group are given. The upload is atomic ' +
      '(temporary file beside dest, then rename) and runs with become. A symlink at dest is replaced by a file; a ' +
      'parent directory that is a symlink (/var/run -> /run) is followed, except inside a chroot. With validate the new ' +
      'content is first checked on the host (a temporary copy with the mode and owner asked for, named by %s; not in ' +
      "check mode, not when dest already holds it); a non-zero exit fails the task with Ansible's 'failed to validate' " +
      'and the command\'s exit_status, stdout and stderr, and dest is left as it was.',
    checkMode: 'full',
    result: {
      dest: 'the final path written (dest/basename(src) for a directory)',
      checksum: 'sha1 of the content (as Ansible)',
      md5sum: 'md5 of the content',
      state: "'file'",
      size: 'bytes',
      backup_file: 'the backup made, when backup: true and dest was replaced',
      exit_status: "a failing validate: the command's exit status (with its stdout and stderr)",
    },
    example: [
      '- name: install the serial console drop-in',
      '  copy:',
      '    src: files/20_serial_console.cfg',
      '    dest: /etc/default/grub.d/',
      "    mode: '0644'",
      '    backup: true',
      '',
      '- copy:',
      '    content: "xen_blkfront\\n"',
      '    dest: /etc/modules-load.d/xen.conf',
      '',
      '- copy:',
      '    src: files/sudoers',
      '    dest: /etc/sudoers',
      "    mode: '0440'",
      '    validate: visudo -csf %s',
    ].join('\n'),
  },
  async read(ctx, p): Promise<CopyFacts> {
    const source = p.src !== undefined ? await readControllerFile(ctx.baseDir, p.src, ctx.roleDir) : undefined;
    const target = await readContentTarget(ctx, { dest: p.dest, fileName: source && basename(source.path), diffData: copyData(p, source) });
    return { ...(source ? { source } : {}), target };
  },
  decide: decideCopy,
  result: contentResult,
});
