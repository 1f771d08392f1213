// replace: every match of a Python regular expression in a file, replaced — Ansible's replace
// module. The file is read to the controller, edited by a pure function (replaceText) and written
// back atomically like copy, so --check and --diff are exact.
import { z } from 'zod';
import { pyRegex, pySub } from '../runner/expr/pyregex.js';
import { defineModule, type Verdict } from '../runner/module.js';
import { contentResult, decideEdit, editRefusal, readEditedFile, type EditedFile } from './lib/file-content.js';
import { checkEditedPath, editedFileFields, editedPathFields, foldEditedPath } from './lib/schema.js';

const params = z
  .strictObject({
    ...editedPathFields,
    regexp: z.string().min(1, 'must not be empty').describe('Python regular expression, matched with MULTILINE (^ and $ at every line); every match is replaced'),
    replace: z.string().default('').describe('The replacement: \\1, \\g<1>, \\g<name> stand for groups (default: remove the matches)'),
    after: z.string().optional().describe('Only replace after the first match of this regex (DOTALL)'),
    before: z.string().optional().describe('Only replace before the last match of this regex (with after: before its first match after it)'),
    ...editedFileFields,
  })
  .superRefine((p, ctx) => {
    checkEditedPath(p, (key, message) => ctx.addIssue({ code: 'custom', path: [key], message }));
    for (const key of ['regexp', 'after', 'before'] as const) {
      const v = p[key];
      if (v === undefined) continue;
      try {
        pyRegex(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: [key], message: (e as Error).message });
      }
    }
  })
  .transform(foldEditedPath);
type Params = z.output<typeof params>;

/** What replacing did: the new text, the number of matches replaced, or why nothing was. */
export interface ReplaceResult {
  text: string;
  count: number;
  /** Set when after/before matched nothing (Ansible then changes nothing and says so). */
  sectionMissing?: string;
}

/** Ansible's replace on a text: re.subn with MULTILINE over the whole text, or over the part after/before select. */
export function replaceText(text: string, p: Pick<Params, 'regexp' | 'replace' | 'after' | 'before'>): ReplaceResult {
  let start = 0;
  let end = text.length;
  if (p.after !== undefined || p.before !== undefined) {
    const section = p.after !== undefined && p.before !== undefined ? `${p.after}(?P<subsection>.*?)${p.before}` : p.after !== undefined ? `${p.after}(?P<subsection>.*)` : `(?P<subsection>.*)${p.before}`;
    // the `d` flag gives where the subsection is, as Python's match.start('subsection') does
    const base = pyRegex(section, { dotall: true });
    const m = new RegExp(base.source, `${base.flags.replace('g', '')}d`).exec(text);
    if (!m) return { text, count: 0, sectionMissing: section };
    [start, end] = m.indices!.groups!.subsection!;
  }
  const section = text.slice(start, end);
  const { text: replaced, count } = pySub(pyRegex(p.regexp, { multiline: true }), p.replace, section);
  if (count === 0 || replaced === section) return { text, count: 0 };
  return { text: text.slice(0, start) + replaced + text.slice(end), count };
}

/**
 * Decides replace (pure): the edit, then the atomic write, or no change with the reason, or a refusal;
 * registered with Ansible's replace messages and rc (a playbook may test them), said to a person in ferry's words.
 */
export function decideReplace(p: Params, f: EditedFile): Verdict {
  const bad = editRefusal(f, 'replace');
  if (bad) return f.type === 'directory' ? { ...bad, data: { ...bad.data, rc: 256, msg: `Path ${p.path} is a directory !` } } : bad;
  if (f.text === null) return { refused: `${f.path} does not exist`, data: { path: f.path, rc: 257, msg: `Path ${f.path} does not exist !` } };
  const edit = replaceText(f.text, p);
  if (edit.sectionMissing !== undefined) return { changed: false, reason: `${f.path}: the after/before pattern ${JSON.stringify(edit.sectionMissing)} matches nothing in the file`, data: { rc: 0, msg: `Pattern for before/after params did not match the given file: ${edit.sectionMissing}` } };
  const msg = edit.count ? `${edit.count} replacements made` : '';
  const why = edit.count ? 'the file is as wanted' : 'regexp matches nothing to change';
  return decideEdit(f, edit.text, { mode: p.mode, owner: p.owner, group: p.group, backup: p.backup, validate: p.validate, result: { rc: 0, msg } }, why);
}

export const replaceModule = defineModule({
  name: 'replace',
  params,
  doc: {
    summary: 'Replace every match of a regular expression in a file',
    description:
      "Ansible's replace: Python regex syntax, MULTILINE, every match replaced (\\1, \\g<name> in replace); after/before " +
      'limit it to a part of the file (when they match nothing, nothing changes and the result says so). It is up to ' +
      'the pattern to stay idempotent: a second run must not match what the first one wrote. A symlink is followed; ' +
      'the file is written atomically, keeping its mode and owner unless asked otherwise.',
    checkMode: 'full',
    result: { msg: "'N replacements made', or '' when nothing changed", rc: '0, as Ansible registers it (256: path is a directory, 257: it does not exist)', backup_file: 'backup made, if any' },
    example: [
      '- name: the KVM disk names in fstab',
      '  replace:',
      '    path: /etc/fstab',
      "    regexp: '^/dev/xvd([a-z])(\\d*)'",
      "    replace: '/dev/vd\\1\\2'",
    ].join('\n'),
  },
  read: (ctx, p) => readEditedFile(ctx, p.path),
  decide: decideReplace,
  result: contentResult,
});
