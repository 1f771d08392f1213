// blockinfile: make sure a block of lines between two marker lines is in (or not in) a text file.
// The file is read to the controller, edited by a pure function following Ansible's blockinfile.py
// (markers matched as whole lines, the old block replaced where it was, else inserted after/before
// the last line matching insertafter/insertbefore) and written back atomically like lineinfile.
import { z } from 'zod';
import { defineModule, type Verdict } from '../runner/module.js';
import { planAttributes } from './lib/attributes.js';
import { contentResult, decideEdit, editRefusal, readEditedFile, type EditedFile } from './lib/file-content.js';
import { compilePythonRegex } from './lib/lineinfile-edit.js';
import { checkEditedPath, editedFileFields, editedPathFields, foldEditedPath } from './lib/schema.js';

const params = z
  .strictObject({
    ...editedPathFields,
    block: z.string().optional().describe('The lines to put between the markers; empty removes the block (alias content)'),
    content: z.string().optional().describe('Alias of block'),
    marker: z.string().default('# {mark} ANSIBLE MANAGED BLOCK').describe('The marker line template; {mark} becomes marker_begin or marker_end'),
    marker_begin: z.string().default('BEGIN').describe('What {mark} becomes in the first marker line'),
    marker_end: z.string().default('END').describe('What {mark} becomes in the last marker line'),
    state: z.enum(['present', 'absent']).default('present').describe('present: the block is in the file; absent: the markers and what is between them are removed'),
    insertafter: z.string().optional().describe("Where a new block goes: after the LAST line matching this Python regex, or 'EOF' (the default)"),
    insertbefore: z.string().optional().describe("Where a new block goes: before the LAST line matching this Python regex, or 'BOF'"),
    create: z.boolean().default(false).describe('Create the file (and its parent directories) when it does not exist, else the task fails'),
    ...editedFileFields,
  })
  .superRefine((p, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    checkEditedPath(p, bad);
    if (p.block !== undefined && p.content !== undefined) bad('content', 'give block or content (its alias), not both');
    if (p.insertafter !== undefined && p.insertbefore !== undefined) bad('insertbefore', 'give insertafter or insertbefore, not both');
    for (const key of ['insertafter', 'insertbefore'] as const) {
      const v = p[key];
      if (v === undefined || v === 'EOF' || v === 'BOF') continue;
      try {
        compileAnchor(v, key);
      } catch (e) {
        bad(key, (e as Error).message);
      }
    }
  })
  .transform(({ content, ...p }) => ({ ...foldEditedPath(p), block: p.block ?? content ?? '' }));

type Params = z.output<typeof params>;

/** A Python regex for insertafter/insertbefore; with a leading (?m) the whole text is searched, as Ansible does. */
function compileAnchor(pattern: string, param: string): { re: RegExp; multiline: boolean } {
  return { re: compilePythonRegex(pattern, param), multiline: /^\(\?[aiLmsux]*m[aiLmsux]*\)/.test(pattern) };
}

/** Splits like Python's bytes.splitlines(keepends=True): lines end at \n, \r\n or \r. */
function splitKeepEnds(text: string): string[] {
  return text.match(/[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$/g) ?? [];
}

/** Lines end with '\n' as Ansible writes them (os.linesep on the controller's Python, '\n' on Linux). */
const EOL = '\n';

/** The new text of the file for one blockinfile task and Ansible's message for it (pure). */
export function editBlock(text: string | null, p: Pick<Params, 'block' | 'marker' | 'marker_begin' | 'marker_end' | 'state' | 'insertafter' | 'insertbefore'>): { text: string; msg: string } {
  const original = text ?? '';
  const lines = splitKeepEnds(original);
  const marker0 = p.marker.replaceAll('{mark}', p.marker_begin) + EOL;
  const marker1 = p.marker.replaceAll('{mark}', p.marker_end) + EOL;
  const blockLines: string[] = [];
  if (p.state === 'present' && p.block !== '') {
    const block = p.block.endsWith(EOL) ? p.block : p.block + EOL;
    blockLines.push(marker0, ...splitKeepEnds(block), marker1);
  }
  // The LAST line equal to each marker, as Ansible's loop leaves them.
  let n0: number | undefined;
  let n1: number | undefined;
  lines.forEach((l, i) => {
    if (l === marker0) n0 = i;
    if (l === marker1) n1 = i;
  });
  let at: number;
  if (n0 === undefined || n1 === undefined) {
    at = insertionPoint(original, lines, p);
  } else if (n0 < n1) {
    lines.splice(n0, n1 - n0 + 1);
    at = n0;
  } else {
    lines.splice(n1, n0 - n1 + 1);
    at = n1;
  }
  // Ansible makes sure the line before the block ends with a newline (even when the block is empty).
  if (at > 0 && !lines[at - 1]!.endsWith(EOL)) lines[at - 1] += EOL;
  lines.splice(at, 0, ...blockLines);
  const result = lines.join('');
  const msg = result === original && text !== null ? '' : text === null ? 'File created' : blockLines.length === 0 ? 'Block removed' : 'Block inserted';
  return { text: result, msg };
}

/** Where a new block goes: after/before the last line matching the anchor (whole-text search with (?m)), else EOF; BOF is 0. */
function insertionPoint(original: string, lines: string[], p: Pick<Params, 'insertafter' | 'insertbefore'>): number {
  const after = p.insertafter ?? (p.insertbefore === undefined ? 'EOF' : undefined);
  const anchor = after !== undefined && after !== 'EOF' ? { pattern: after, key: 'insertafter' } : p.insertbefore !== undefined && p.insertbefore !== 'BOF' ? { pattern: p.insertbefore, key: 'insertbefore' } : undefined;
  if (!anchor) return p.insertbefore === 'BOF' ? 0 : lines.length;
  const { re, multiline } = compileAnchor(anchor.pattern, anchor.key);
  let n: number | undefined;
  if (multiline) {
    const m = re.exec(original);
    if (m) n = count(original.slice(0, anchor.key === 'insertafter' ? m.index + m[0].length : m.index), '\n');
  } else {
    // Python's $ also matches before a line's final newline: try the line with and without it.
    lines.forEach((l, i) => {
      if (re.test(l) || re.test(l.replace(/(?:\r\n|\n|\r)$/, ''))) n = i;
    });
  }
  if (n === undefined) return lines.length;
  return anchor.key === 'insertafter' ? n + 1 : n;
}

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

/** Decides blockinfile (pure): the edit, then the atomic write with mode/owner/backup, or no change with the reason. */
export function decideBlockinfile(p: Params, f: EditedFile): Verdict {
  const bad = editRefusal(f, 'blockinfile');
  if (bad) return bad;
  if (f.text === null) {
    // Ansible checks create first: state absent on a missing file fails too, unless create is set.
    if (!p.create) {
      const hint = p.state === 'absent' ? 'with state: absent, set create: true to accept a missing file' : 'set create: true to create it';
      return { refused: `Path ${f.path} does not exist; ${hint}` };
    }
    if (p.state === 'absent') return { changed: false, reason: `File ${f.path} not present`, data: { msg: `File ${f.path} not present` } };
  }
  const edit = editBlock(f.text, p);
  // Ansible's message: what happened to the block, and whether mode/owner change too.
  const current = f.target.state.exists ? f.target.state : undefined;
  const attrs = current !== undefined && planAttributes(f.path, current, p, { isDirectory: false }).changes.length > 0;
  const msg = [edit.msg, attrs ? 'ownership, perms or SE linux context changed' : ''].filter(Boolean).join(' and ');
  const why = p.state === 'absent' || p.block === '' ? 'no block between the markers' : 'the block is already there';
  // blockinfile's plan carries its diff whether or not --diff is asked
  const target = { ...f.target, before: Buffer.from(f.text ?? '', 'utf8') };
  return decideEdit({ ...f, target }, edit.text, { mode: p.mode, owner: p.owner, group: p.group, backup: p.backup, validate: p.validate, makeParents: true, result: { msg } }, why);
}

export const blockinfileModule = defineModule({
  name: 'blockinfile',
  params,
  doc: {
    summary: 'Insert, update or remove a block of lines between marker lines in a text file',
    description:
      "Ansible's semantics: the block sits between '# BEGIN ANSIBLE MANAGED BLOCK' and '# END ANSIBLE MANAGED BLOCK' " +
      '(marker, marker_begin, marker_end). When both markers are in the file the old block is replaced in place; else ' +
      'the block is inserted after the last line matching insertafter (default: end of file) or before the last line ' +
      "matching insertbefore ('BOF': the start); a regex starting with (?m) is searched in the whole text. An empty block " +
      'or state: absent removes the markers and what is between them. A symlink is followed. The file is written ' +
      'atomically, keeping its mode and owner unless asked otherwise; --diff shows the change.',
    checkMode: 'full',
    result: {
      msg: "'Block inserted', 'Block removed' or 'File created', with ' and ownership, perms or SE linux context changed' when mode/owner changed; without a change, the reason (Ansible: '')",
      backup_file: 'backup made, if any',
    },
    example: [
      '- name: the KVM serial console in inittab',
      '  blockinfile:',
      '    path: /etc/inittab',
      '    insertafter: "^#T1:"',
      '    block: |',
      '      T0:23:respawn:/sbin/getty -L ttyS0 115200 vt100',
      '',
      '- blockinfile:',
      '    path: /etc/hosts',
      '    marker: "# {mark} xen hosts"',
      '    state: absent',
    ].join('\n'),
  },
  read: (ctx, p) => readEditedFile(ctx, p.path),
  decide: decideBlockinfile,
  result: contentResult,
});
