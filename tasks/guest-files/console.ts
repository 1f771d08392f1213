// A login prompt on the serial console. Under Xen PV the guest's console is hvc0; under KVM
// `virsh console` attaches to the first serial port, ttyS0. systemd starts serial-getty@ttyS0
// by itself when console=ttyS0 is on the kernel command line (see kernel-cmdline.ts); SysV init
// and BusyBox init need an inittab line, and root logins on ttyS0 need it in /etc/securetty.
import { appendLines, editResult, isCommentOrBlank, joinLines, splitLines, type EditResult } from './text-lines.js';

interface InittabLine {
  index: number;
  id: string;
  runlevels: string;
  action: string;
  process: string;
}

function parseInittabLine(line: string, index: number): InittabLine | undefined {
  if (isCommentOrBlank(line)) return undefined;
  const m = /^([^:]*):([^:]*):([^:]*):(.*)$/.exec(line);
  return m ? { index, id: m[1], runlevels: m[2], action: m[3], process: m[4] } : undefined;
}

const GETTY = /(^|\/)(a|m)?getty\b/;

function runsGettyOn(e: InittabLine, tty: string): boolean {
  return GETTY.test(e.process.trim().split(/\s+/)[0] ?? '') && new RegExp(`(^|\\s|/)${tty}(\\s|$)`).test(e.process);
}

/**
 * Adds a getty on ttyS0 to /etc/inittab unless one is there. SysV syntax
 * (`id:runlevels:action:process`) gets `T0:<runlevels>:respawn:<getty> -L ttyS0 115200 vt100`,
 * using the getty program and runlevels of the file's first getty line; BusyBox syntax
 * (`tty::action:process`, no initdefault line) gets a copy of its hvc0 (or first tty) line for ttyS0.
 * hvc0 lines are kept (they work again if the KVM domain has a virtio console) and reported.
 */
export function editInittab(text: string): EditResult {
  const file = splitLines(text);
  const lines = [...file.lines];
  const notes: string[] = [];
  const entries = lines.map(parseInittabLine).filter((e): e is InittabLine => e !== undefined);
  const sysv = entries.some((e) => e.action === 'initdefault');
  const busybox = !sysv && entries.some((e) => /^(tty|hvc|tts\/|console|xvc)/.test(e.id));

  let insertAt = -1;
  let newLine: string | undefined;
  if (busybox) {
    if (entries.some((e) => e.id === 'ttyS0')) return editResult(text, text, notes);
    const model = entries.find((e) => e.id === 'hvc0') ?? entries.find((e) => /^(tty|tts\/)/.test(e.id));
    if (!model) return editResult(text, text, ['no console line to copy for ttyS0; add one by hand']);
    newLine = `ttyS0:${model.runlevels}:${model.action}:${model.process}`;
    insertAt = model.index + 1;
  } else {
    const gettys = entries.filter((e) => GETTY.test(e.process.trim().split(/\s+/)[0] ?? ''));
    for (const e of gettys.filter((g) => runsGettyOn(g, 'hvc0'))) {
      notes.push(`line ${e.index + 1}: getty on hvc0 kept; without a virtio console init will report it respawning`);
    }
    if (gettys.some((e) => runsGettyOn(e, 'ttyS0') && !/^(off)$/.test(e.action))) {
      return editResult(text, text, notes);
    }
    const first = gettys[0];
    const program = first?.process.trim().split(/\s+/)[0] ?? '/sbin/getty';
    const runlevels = first?.runlevels || '2345';
    const ids = new Set(entries.map((e) => e.id));
    const id = ['T0', 'S0', 's0', 'T9'].find((x) => !ids.has(x)) ?? 'ts';
    newLine = `${id}:${runlevels}:respawn:${program} -L ttyS0 115200 vt100`;
    // Next to the commented serial example if there is one, else after the last getty.
    const example = lines.findIndex((l) => /^#.*:.*getty.*\bttyS0\b/.test(l));
    insertAt = example >= 0 ? example + 1 : gettys.length ? gettys[gettys.length - 1].index + 1 : -1;
  }
  if (insertAt >= 0 && insertAt <= lines.length - 1) {
    lines.splice(insertAt, 0, newLine);
    return editResult(text, joinLines({ lines, finalNewline: file.finalNewline }), notes);
  }
  return editResult(text, joinLines(appendLines({ lines, finalNewline: file.finalNewline }, [newLine])), notes);
}

/** Adds ttyS0 to /etc/securetty (so root may log in on the serial console) unless it is listed. */
export function editSecuretty(text: string): EditResult {
  const file = splitLines(text);
  if (file.lines.some((l) => l.trim() === 'ttyS0')) return editResult(text, text, []);
  return editResult(text, joinLines(appendLines(file, ['ttyS0'])), []);
}
