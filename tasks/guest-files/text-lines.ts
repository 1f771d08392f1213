// Line-preserving text editing shared by the guest-file editors: a file is split on "\n" only,
// so "\r", tabs and trailing spaces stay inside the line they belong to, and the presence or
// absence of the final newline is remembered and restored.

/** What every guest-file editor returns: the new text, whether it differs, and what a person should check. */
export interface EditResult {
  text: string;
  changed: boolean;
  notes?: string[];
}

/** A file as lines, plus whether it ended with a newline. */
export interface Lines {
  lines: string[];
  finalNewline: boolean;
}

/** Splits text into lines without losing any byte (see joinLines). */
export function splitLines(text: string): Lines {
  if (text === '') return { lines: [], finalNewline: false };
  const lines = text.split('\n');
  const finalNewline = lines[lines.length - 1] === '';
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}

/** Inverse of splitLines. */
export function joinLines({ lines, finalNewline }: Lines): string {
  if (lines.length === 0) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

/**
 * Appends lines at the end of a file. A file without a final newline gets one, because the
 * appended lines must start on a line of their own; that is the only byte an append adds to
 * an existing line.
 */
export function appendLines(file: Lines, added: string[]): Lines {
  if (added.length === 0) return file;
  return { lines: [...file.lines, ...added], finalNewline: true };
}

/** Builds an EditResult, leaving `notes` out when there are none. */
export function editResult(before: string, text: string, notes: string[]): EditResult {
  return notes.length ? { text, changed: text !== before, notes } : { text, changed: text !== before };
}

/** Whether a line is blank or a `#` comment (the form shared by fstab, shell conf files, inittab). */
export function isCommentOrBlank(line: string): boolean {
  const t = line.trimStart();
  return t === '' || t.startsWith('#');
}

/** Marker put in front of a line that ferry disabled because it only works on Xen; strip it to undo. */
export const XEN_ONLY_PREFIX = '#ferry: Xen only# ';
