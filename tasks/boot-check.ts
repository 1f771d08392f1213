// boot_check: the proof that a converted guest boots. Reads the serial console a domain writes to a
// host file (virsh_define's console_log) until a login prompt appears, or the boot ends where none
// will (an emergency shell, a kernel panic, firmware that found nothing to boot), or the timeout;
// fails with what that end means and the console's last lines. Read-only: it starts nothing.
import { z } from 'zod';
import { sh } from '../runner/command.js';
import { defineModule, type TaskContext, type Verdict } from '../runner/module.js';
import { sleep } from '../runner/sleep.js';
import { consoleEnd, consoleTail, END_MEANING, GRUB_PATTERN, type ConsoleEnd } from './libvirt/console.js';
import { absolutePathField } from './lib/schema.js';

const params = z.strictObject({
  console_log: absolutePathField('Host file the domain writes its serial console to (virsh_define console_log; truncated at each start)'),
  timeout: z.number().positive().default(300).describe('Seconds to wait for a login prompt in all'),
  sleep: z.number().positive().default(2).describe('Seconds between reads of the console'),
  grub: z.boolean().default(true).describe('Also require GRUB on the console (its banner or boot messages): the guest booted from its own disk'),
  lines: z.number().int().min(1).max(200).default(15).describe('How many of the console last lines a result and a failure show'),
});

type Params = z.output<typeof params>;

/** The most of the console's end read at each look (bytes): a boot's whole console is far less. */
const WINDOW_BYTES = 256 * 1024;

/** What watching the console found. */
export interface ConsoleFacts {
  /** --check: nothing was started, so nothing is watched. */
  check?: true;
  /** How the boot ended; undefined when the timeout came first. */
  end?: ConsoleEnd;
  /** GRUB appeared on the console at some point of the watch. */
  sawGrub: boolean;
  /** The console file existed at the last look. */
  exists: boolean;
  /** The console's last lines. */
  tail: string[];
  seconds: number;
}

/** Reads the console every `sleep` seconds until the boot ends or the timeout; a stopped run stops it. */
export async function watchConsole(ctx: TaskContext, p: Params): Promise<ConsoleFacts> {
  if (ctx.check) return { check: true, sawGrub: false, exists: false, tail: [], seconds: 0 };
  const start = Date.now();
  const f: ConsoleFacts = { sawGrub: false, exists: false, tail: [], seconds: 0 };
  for (;;) {
    const r = await ctx.run(sh`test -e ${p.console_log} || exit 3; tail -c ${WINDOW_BYTES} -- ${p.console_log}`, { timeoutMs: 30_000 });
    f.exists = r.exitCode !== 3;
    if (r.exitCode === 0) {
      f.sawGrub ||= GRUB_PATTERN.test(r.stdout);
      f.tail = consoleTail(r.stdout, p.lines);
      f.end = consoleEnd(r.stdout);
    } else if (f.exists) throw new Error(`cannot read ${p.console_log}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    f.seconds = Math.round((Date.now() - start) / 100) / 10;
    if (f.end || f.seconds >= p.timeout || ctx.signal?.aborted) return f;
    ctx.progress({ message: `waiting for a login prompt (${Math.round(f.seconds)}s)${f.tail.length ? `: ${f.tail.at(-1)!.slice(0, 60)}` : ''}` });
    await sleep(Math.min(p.sleep, p.timeout - f.seconds) * 1000, ctx.signal);
  }
}

/** Whether the boot passed (pure): a login prompt, after GRUB when asked; else every reason and the console's last lines. */
export function decideBoot(p: Params, f: ConsoleFacts): Verdict {
  if (f.check) return { changed: false, skipped: true, reason: 'check mode: no domain was started, so there is no console to watch' };
  const data = { stopped_by: f.end ?? 'timeout', saw_grub: f.sawGrub, seconds: f.seconds, console: f.tail };
  const shown = f.tail.length ? `; the console's last lines:\n${f.tail.map((l) => `  ${l}`).join('\n')}` : '';
  if (f.end === 'login' && (f.sawGrub || !p.grub)) return { changed: false, reason: `a login prompt after ${f.seconds}s${f.sawGrub ? ', GRUB seen' : ''}`, data };
  if (f.end === 'login') {
    return { refused: `a login prompt, but no GRUB on the console of ${p.console_log}: the guest did not boot through GRUB from its disk, or GRUB has no serial terminal (GRUB_TERMINAL)${shown}`, data };
  }
  if (f.end) return { refused: `no login prompt: ${END_MEANING[f.end]}${shown}`, data };
  if (!f.exists) return { refused: `${p.console_log} did not appear within ${p.timeout}s: is the domain started, with console_log set to it?`, data };
  return { refused: `no login prompt within ${p.timeout}s${f.sawGrub ? ' (GRUB ran)' : ' (and no GRUB either)'}${shown}`, data };
}

export const bootCheckModule = defineModule({
  name: 'boot_check',
  params,
  doc: {
    summary: 'Wait for a started guest to reach a login prompt on its serial console, or fail saying where its boot ended',
    description:
      'Reads the host file a domain writes its serial console to (virsh_define console_log) every `sleep` seconds until a ' +
      'getty prints a login prompt. A boot that ends where no prompt will come fails at once, with what it means and the ' +
      "console's last lines: an emergency shell (systemd's emergency mode, initramfs-tools' (initramfs) prompt, dracut: " +
      'usually an fstab or root= device missing under KVM), a kernel panic, or firmware with nothing to boot. Read-only: it ' +
      'starts nothing (start the domain first) and reports ok when the guest booted.',
    checkMode: 'partial',
    checkModeNote: 'check mode watches nothing (no domain was started) and reports the task skipped',
    result: {
      stopped_by: 'login, emergency, panic, no-bootable-device or timeout',
      saw_grub: 'whether GRUB appeared on the console',
      seconds: 'how long the watch took',
      console: "the console's last lines",
    },
    example: [
      '- virsh_define: { name: web1, memory_mb: 1024, disks: [{ source: /dev/vg0/web1-disk }], interfaces: [{ mac: "00:16:3e:00:00:01", bridge: br0 }], console_log: /var/log/libvirt/qemu/web1-console.log, state: started }',
      '- boot_check: { console_log: /var/log/libvirt/qemu/web1-console.log, timeout: 600 }',
    ].join('\n'),
  },
  read: watchConsole,
  decide: decideBoot,
});
