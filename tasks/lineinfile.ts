// lineinfile: make sure one line is (or is not) in a text file. The file is read to the controller,
// edited by a pure function (tasks/lib/lineinfile-edit.ts) and written back atomically like copy.
import { z } from 'zod';
import { defineModule, type Verdict } from '../runner/module.js';
import { contentResult, decideEdit, editRefusal, readEditedFile, type EditedFile } from './lib/file-content.js';
import { compilePythonRegex, editLines } from './lib/lineinfile-edit.js';
import { checkEditedPath, editedFileFields, editedPathFields, foldEditedPath } from './lib/schema.js';

const params = z
  .strictObject({
    ...editedPathFields,
    regexp: z.string().optional().describe('Python-style regex: the LAST matching line is replaced (present) or every matching line removed (absent)'),
    search_string: z.string().optional().describe('Literal text instead of regexp: lines containing it are replaced/removed'),
    line: z.string().optional().describe('The line to have in the file (required for state: present)'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the line is there; absent: no matching line is'),
    create: z.boolean().default(false).describe('Create the file (and its missing parent directories) when it does not exist (else the task fails)'),
    insertafter: z.string().optional().describe("Without a regexp match, insert after the LAST line matching this regex, or 'EOF' (default)"),
    insertbefore: z.string().optional().describe("Without a regexp match, insert before the LAST line matching this regex, or 'BOF'"),
    firstmatch: z.boolean().default(false).describe('Use the first matching line instead of the last (regexp and insertafter/insertbefore)'),
    backrefs: z.boolean().default(false).describe('Expand \\1 / \\g<name> in line from the regexp match; no match leaves the file unchanged'),
    ...editedFileFields,
  })
  .superRefine((p, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    checkEditedPath(p, bad);
    if (p.state === 'present' && p.line === undefined) bad('line', 'line is required with state: present');
    if (p.state === 'absent' && p.regexp === undefined && p.search_string === undefined && p.line === undefined) {
      bad('regexp', 'state: absent needs one of regexp, search_string or line');
    }
    if (p.backrefs && p.regexp === undefined) bad('backrefs', 'backrefs needs a regexp');
    if (p.regexp !== undefined && p.search_string !== undefined) bad('search_string', 'give regexp or search_string, not both');
    if (p.insertafter !== undefined && p.insertbefore !== undefined) bad('insertbefore', 'give insertafter or insertbefore, not both');
    for (const key of ['regexp', 'insertafter', 'insertbefore'] as const) {
      const v = p[key];
      if (v === undefined || (key !== 'regexp' && (v === 'EOF' || v === 'BOF'))) continue;
      try {
        compilePythonRegex(v, key);
      } catch (e) {
        bad(key, (e as Error).message);
      }
    }
  })
  .transform(foldEditedPath);
type Params = z.output<typeof params>;

/** Decides lineinfile (pure): the edit, then the atomic write with mode/owner/backup/validate, or no change with the reason, or a refusal. */
export function decideLineinfile(p: Params, f: EditedFile): Verdict {
  const bad = editRefusal(f, 'lineinfile');
  if (bad) return bad;
  if (f.text === null) {
    if (p.state === 'absent') return { changed: false, reason: `${f.path} does not exist, so no line to remove` };
    if (!p.create) return { refused: `${f.path} does not exist; set create: true to create it`, data: { path: f.path } };
  }
  const edit = editLines(f.text ?? '', p);
  // The result a playbook registers says what happened to the line, not only that a file was written.
  const result = { msg: edit.msg, ...(p.state === 'absent' ? { found: edit.found } : {}) };
  const why =
    p.state === 'absent'
      ? 'no line matches'
      : p.backrefs && edit.msg === ''
        ? 'the line is as wanted or regexp matches no line (backrefs: nothing to change)'
        : 'the line is already there';
  // create: Ansible's lineinfile makes the missing parent directories too
  return decideEdit(f, edit.text, { mode: p.mode, owner: p.owner, group: p.group, backup: p.backup, validate: p.validate, makeParents: p.create, result }, why);
}

export const lineinfileModule = defineModule({
  name: 'lineinfile',
  params,
  doc: {
    summary: 'Ensure a line is present in (or absent from) a text file',
    description:
      "Ansible's semantics: with regexp, the last matching line is replaced; without a match the line is inserted " +
      'after the last line matching insertafter (default end of file) or before insertbefore; if the exact line is ' +
      'already anywhere, nothing changes; with backrefs and no match, nothing changes. A symlink is followed. ' +
      'The new file is written atomically, keeping its mode and owner unless asked otherwise.',
    checkMode: 'full',
    result: { msg: "'line added', 'line replaced' or 'N line(s) removed'", found: 'lines removed (state: absent)', backup_file: 'backup made, if any' },
    example: [
      '- name: a console on the KVM serial port',
      '  lineinfile:',
      '    path: /etc/default/grub',
      '    regexp: ^GRUB_CMDLINE_LINUX_DEFAULT=',
      '    line: GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200"',
      '',
      '- lineinfile:',
      '    path: /etc/fstab',
      "    regexp: '^(\\S+)\\s+/proc/xen\\s'",
      '    state: absent',
    ].join('\n'),
  },
  read: (ctx, p) => readEditedFile(ctx, p.path),
  decide: decideLineinfile,
  result: contentResult,
});
