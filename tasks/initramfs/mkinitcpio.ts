// /etc/mkinitcpio.conf (Arch): MODULES lists modules always put in the initramfs. Since 2018 it
// is a bash array `MODULES=(a b)`; older files use a string `MODULES="a b"`. The edit keeps
// whichever syntax the file uses; HOOKS and every other line stay as they are.
import { editModuleList, isXenModule, normalizeModule, VIRTIO_MODULES } from './drivers.js';
import { appendLines, editResult, joinLines, splitLines, type EditResult } from '../guest-files/text-lines.js';

interface ModulesLine {
  index: number;
  head: string; // `MODULES=` or `MODULES+=` with indent
  open: string;
  close: string;
  items: string[];
  rest: string;
}

const MODULES_LINE = /^(\s*MODULES\+?=)(?:\(([^)#]*)\)|"([^"]*)"|'([^']*)')(\s*(?:#.*)?)$/;

function unquote(item: string): string {
  return item.replace(/^(["'])(.*)\1$/, '$2');
}

/** Edits mkinitcpio.conf MODULES: Xen modules removed, virtio added (to the last assignment), syntax kept. */
export function editMkinitcpio(text: string): EditResult {
  const file = splitLines(text);
  const lines = [...file.lines];
  const notes: string[] = [];
  const found: ModulesLine[] = [];
  let unparsed = false;
  lines.forEach((line, index) => {
    if (!/^\s*MODULES\+?=/.test(line)) return;
    const m = MODULES_LINE.exec(line);
    if (!m) {
      unparsed = true;
      notes.push(`line ${index + 1}: MODULES value not understood (multi-line array?); left as it is, check it by hand`);
      return;
    }
    const [open, close, body] =
      m[2] !== undefined ? ['(', ')', m[2]] : m[3] !== undefined ? ['"', '"', m[3]] : ["'", "'", m[4]];
    found.push({ index, head: m[1], open, close, items: body.split(/\s+/).filter(Boolean), rest: m[5] });
  });
  let appended: string[] = [];
  const last = found[found.length - 1];
  for (const f of found) {
    // Only the last assignment (the one bash keeps) gets additions, and only of modules no
    // other assignment already lists; earlier ones only lose Xen modules.
    const elsewhere = new Set(
      found.filter((o) => o !== f).flatMap((o) => o.items.map((i) => normalizeModule(unquote(i)))),
    );
    const ensure = f === last ? VIRTIO_MODULES.filter((m) => !elsewhere.has(normalizeModule(m))) : [];
    const r = editModuleList(f.items.map(unquote), ensure);
    if (r.removed.length === 0 && r.added.length === 0) continue;
    // Kept items keep their original spelling (quotes included).
    const kept = f.items.filter((i) => !isXenModule(unquote(i)));
    lines[f.index] = `${f.head}${f.open}${[...kept, ...r.added].join(' ')}${f.close}${f.rest}`;
    if (r.removed.length) notes.push(`line ${f.index + 1}: removed Xen module(s) ${r.removed.join(', ')}`);
  }
  if (!last && !unparsed) {
    appended = [`MODULES=(${VIRTIO_MODULES.join(' ')})`];
    notes.push('no MODULES line: one was added at the end');
  }
  return editResult(text, joinLines(appendLines({ lines, finalNewline: file.finalNewline }, appended)), notes);
}
