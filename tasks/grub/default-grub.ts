// /etc/default/grub and its drop-ins (/etc/default/grub.d/*.cfg). These are shell fragments that
// grub-mkconfig sources, so edits keep them valid shell: a value keeps its quoting style
// ("…" stays "…" so $GRUB_CMDLINE_LINUX references still expand, '…' stays '…'), lines inside
// `if … fi` blocks are rewritten in place but never chosen as the place to add something, and
// a value that is not one simple word or quoted string (concatenations, $(…)) is left alone
// with a note. A commented default (`#GRUB_TERMINAL=console`) is replaced in place rather than
// another line appended, so the file reads as before with the setting switched on.
import { renameDevice } from '../guest-files/device-names.js';
import { insertCmdlineTokens, missingCmdlineTokens, rewriteCmdlineTokens, splitCmdline, type CmdlineOptions } from '../guest-files/kernel-cmdline.js';
import { parseShellValue, renderShellValue, type ShellValue } from '../guest-files/shell-value.js';
import { appendLines, editResult, joinLines, splitLines, type EditResult } from '../guest-files/text-lines.js';

/** What to change in a default/grub file; cmdline switches (and deviceMap, also for GRUB_DEVICE) as in CmdlineOptions. */
export interface DefaultGrubOptions extends CmdlineOptions {
  /**
   * Add what is missing (cmdline tokens, GRUB_TERMINAL, GRUB_SERIAL_COMMAND) to this file
   * (default true). Turn off for all files but one when editing /etc/default/grub and its
   * drop-ins together, so additions are not repeated in each. Without it an active
   * GRUB_TERMINAL or GRUB_SERIAL_COMMAND that is wrong is still corrected in place: a drop-in
   * is sourced after /etc/default/grub, so its GRUB_TERMINAL=console would undo the main file's.
   */
  ensure?: boolean;
  /** The file is a grub.d drop-in: a new GRUB_CMDLINE_LINUX line extends "$GRUB_CMDLINE_LINUX". */
  dropIn?: boolean;
}

export const GRUB_TERMINAL_VALUE = 'serial console';
export const GRUB_SERIAL_COMMAND_VALUE = 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1';

const CMDLINE_VARS = new Set(['GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT']);

/** One `NAME=value` assignment line, split so the value can be replaced and the rest kept. */
interface Assignment {
  index: number;
  indent: string;
  prefix: string; // indent + optional `export ` + NAME=
  name: string;
  raw: string; // everything after `=`
}

const ASSIGN = /^(\s*)((?:export\s+)?)(GRUB_[A-Z0-9_]+)=(.*)$/;

function parseAssignment(line: string, index: number): Assignment | undefined {
  const m = ASSIGN.exec(line);
  if (!m) return undefined;
  return { index, indent: m[1], prefix: `${m[1]}${m[2]}${m[3]}=`, name: m[3], raw: m[4] };
}

interface CmdlineLine {
  a: Assignment;
  v: ShellValue;
  before: string[];
  tokens: string[];
}

/** Effective GRUB serial parameters with GRUB's defaults filled in, or undefined for a non-`serial` command. */
function serialParams(command: string): Map<string, string> | undefined {
  const words = splitCmdline(command);
  if (words[0] !== 'serial') return undefined;
  const p = new Map([
    ['speed', '9600'],
    ['unit', '0'],
    ['word', '8'],
    ['parity', 'no'],
    ['stop', '1'],
  ]);
  for (const w of words.slice(1)) {
    const m = /^--([a-z]+)=(.*)$/.exec(w);
    if (!m) return undefined;
    p.set(m[1], m[2]);
  }
  return p;
}

/** Whether an existing GRUB_SERIAL_COMMAND already sets up the port the way GRUB_SERIAL_COMMAND_VALUE does. */
export function serialCommandMatches(command: string): boolean {
  const have = serialParams(command);
  const want = serialParams(GRUB_SERIAL_COMMAND_VALUE)!;
  if (!have || have.size !== want.size) return false;
  return [...want].every(([k, v]) => have.get(k) === v);
}

/** Edits /etc/default/grub (or a grub.d drop-in) for a KVM guest with a serial console. */
export function editDefaultGrub(text: string, opts: DefaultGrubOptions = {}): EditResult {
  const file = splitLines(text);
  const lines = [...file.lines];
  const notes: string[] = [];
  const assignments = lines.map(parseAssignment);

  // Kernel command lines: rewrite each in place, in file order, so a console added on one
  // line is seen as present by the next.
  const cmdlines: CmdlineLine[] = [];
  for (const a of assignments) {
    if (!a || !CMDLINE_VARS.has(a.name)) continue;
    const v = parseShellValue(a.raw);
    if (!v) {
      notes.push(`line ${a.index + 1}: ${a.name} is not a single quoted value; left as it is, check it by hand`);
      continue;
    }
    const before = splitCmdline(v.inner);
    cmdlines.push({ a, v, before, tokens: before });
  }
  cmdlines.forEach((c, i) => {
    const others = cmdlines.filter((_, j) => j !== i).flatMap((o) => o.tokens);
    const r = rewriteCmdlineTokens(c.tokens, opts, others);
    c.tokens = r.tokens;
    notes.push(...r.notes.map((n) => `line ${c.a.index + 1}: ${n}`));
  });

  let appended: string[] = [];
  if (opts.ensure ?? true) {
    const { missing, notes: n } = missingCmdlineTokens(
      cmdlines.flatMap((c) => c.tokens),
      opts,
    );
    notes.push(...n);
    if (missing.length) {
      const target = cmdlines.filter((c) => c.a.indent === '' && c.a.name === 'GRUB_CMDLINE_LINUX').pop();
      if (target) target.tokens = insertCmdlineTokens(target.tokens, missing);
      else {
        const value = (opts.dropIn ? ['$GRUB_CMDLINE_LINUX', ...missing] : missing).join(' ');
        appended.push(`GRUB_CMDLINE_LINUX="${value}"`);
      }
    }
  }
  for (const c of cmdlines) {
    const same = c.tokens.length === c.before.length && c.tokens.every((t, i) => t === c.before[i]);
    if (!same) lines[c.a.index] = c.a.prefix + renderShellValue(c.v, c.tokens.join(' '));
  }

  // GRUB_DEVICE names the root device grub-mkconfig puts in root=.
  for (const a of assignments) {
    if (!a || a.name !== 'GRUB_DEVICE') continue;
    const v = parseShellValue(a.raw);
    const renamed = v && renameDevice(v.inner, opts);
    if (v && renamed) lines[a.index] = a.prefix + renderShellValue(v, renamed);
    else if (v && /^PARTUUID=/i.test(v.inner)) {
      notes.push(`line ${a.index + 1}: GRUB_DEVICE=${v.inner} changes if the disk gets a new partition table`);
    }
  }

  if (opts.serialConsole ?? true) {
    const add = opts.ensure ?? true;
    appended = [...appended, ...ensureSetting(lines, 'GRUB_TERMINAL', GRUB_TERMINAL_VALUE, (v) => splitCmdline(v).includes('serial'), notes, add)];
    for (const a of lines.map(parseAssignment)) {
      if (a && (a.name === 'GRUB_TERMINAL_INPUT' || a.name === 'GRUB_TERMINAL_OUTPUT')) {
        notes.push(`line ${a.index + 1}: ${a.name} is kept; grub-mkconfig lets GRUB_TERMINAL override it`);
      }
    }
    const serial = ensureSetting(lines, 'GRUB_SERIAL_COMMAND', GRUB_SERIAL_COMMAND_VALUE, serialCommandMatches, notes, add, 'GRUB_TERMINAL');
    const afterTerminal = appended.findIndex((l) => l.startsWith('GRUB_TERMINAL='));
    if (afterTerminal >= 0) appended.splice(afterTerminal + 1, 0, ...serial);
    else appended.push(...serial);
  }

  const out = joinLines(appendLines({ lines, finalNewline: file.finalNewline }, appended));
  return editResult(text, out, notes);
}

/**
 * Makes `NAME="value"` hold: an active assignment that `ok` accepts stays; one it rejects gets
 * the value; otherwise (only when `add`) a commented `#NAME=` line is replaced in place, or the
 * line goes right after the `after` setting, or (returned) to the end of the file.
 */
function ensureSetting(
  lines: string[],
  name: string,
  value: string,
  ok: (v: string) => boolean,
  notes: string[],
  add: boolean,
  after?: string,
): string[] {
  const wanted = `${name}="${value}"`;
  const active = lines.map(parseAssignment).filter((a): a is Assignment => a?.name === name);
  const last = active.pop();
  if (last) {
    const v = parseShellValue(last.raw);
    if (v && ok(v.inner)) return [];
    if (!v) {
      notes.push(`line ${last.index + 1}: ${name} is not a single quoted value; left as it is, check it by hand`);
      return [];
    }
    lines[last.index] = `${last.prefix}"${value}"${v.rest}`;
    return [];
  }
  if (!add) return [];
  const commented = lines.findIndex((l) => new RegExp(`^#\\s*${name}=`).test(l));
  if (commented >= 0) {
    lines[commented] = wanted;
    return [];
  }
  if (after) {
    const at = lines.map(parseAssignment).findLastIndex((a) => a?.name === after && a.indent === '');
    if (at >= 0) {
      lines.splice(at + 1, 0, wanted);
      return [];
    }
  }
  return [wanted];
}
