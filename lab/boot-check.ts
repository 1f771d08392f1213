// Boots a disk image the way a KVM guest would start (SeaBIOS, no -kernel) and watches what
// happens: did a boot loader run, did a login prompt appear, or did the firmware find nothing to boot.
// With `directKernel` it boots a given kernel and initramfs instead, the disk still the only one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { run } from './exec.js';
import { labPaths } from './paths.js';
import { recipeHash } from './recipe.js';
import { probeAccel, sleep } from './vm.js';
import { consoleEnd, GRUB_PATTERN, LOGIN_PATTERN, NO_BOOT_PATTERN } from '../tasks/libvirt/console.js';

/** What one boot of an image showed. */
export interface BootCheckResult {
  /** GRUB ran: its banner or one of its boot messages appeared on the serial console. */
  sawGrub: boolean;
  /** A getty printed a login prompt on the serial console. */
  sawLogin: boolean;
  /** SeaBIOS tried every device and found no boot sector (read from its debug port). */
  noBootableDevice: boolean;
  /** The serial console output. */
  log: string;
  /** SeaBIOS's own debug output (boot order, "Booting from Hard Disk", failures). */
  firmwareLog: string;
  /**
   * Why the check stopped: login seen, firmware gave up, the kernel panicked, the initramfs or
   * systemd fell into its emergency shell, qemu exited, or the timeout.
   */
  stoppedBy: 'login' | 'no-bootable-device' | 'panic' | 'emergency' | 'qemu-exited' | 'timeout';
  seconds: number;
}

/** A kernel qemu loads itself (-kernel, -initrd, -append), bypassing the disk's boot sector and boot loader. */
export interface DirectKernelBoot {
  kernel: string;
  initrd?: string;
  /** The kernel command line, e.g. `root=/dev/vda ro console=ttyS0 panic=-1`. */
  append: string;
}

export interface BootCheckOptions {
  timeoutMs?: number;
  memMb?: number;
  /** Boot this kernel directly instead of from the disk (sawGrub then stays false). */
  directKernel?: DirectKernelBoot;
  /** The accelerator; by default KVM when the lab's kernel boots under it here, else TCG. */
  accel?: 'kvm' | 'tcg';
}

/**
 * Boots `image` (raw or qcow2, the only disk, on virtio) read-only (-snapshot) under qemu and reports
 * what the serial console and firmware showed. GRUB is only seen if the image's GRUB writes to the
 * serial console.
 */
export async function bootCheck(image: string, opts: BootCheckOptions = {}): Promise<BootCheckResult> {
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', '-U', image])).stdout) as { format: string };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bootcheck-'));
  const serialLog = path.join(dir, 'serial.log');
  const firmwareLog = path.join(dir, 'seabios.log');
  const direct = opts.directKernel;
  for (const p of [image, dir, direct?.kernel ?? '', direct?.initrd ?? '']) {
    if (p.includes(',')) throw new Error(`bootCheck: path must not contain a comma: ${p}`);
  }
  // The lab's kernel, when built, is what tells whether KVM really works here.
  const accel = opts.accel ?? (await probeAccel(labPaths(recipeHash()).kernel));
  const args = [
    '-machine', 'pc', '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', String(opts.memMb ?? 1024),
    '-nodefaults', '-vga', 'std', '-display', 'none', '-no-reboot', '-snapshot',
    ...(direct
      ? ['-kernel', direct.kernel, ...(direct.initrd ? ['-initrd', direct.initrd] : []), '-append', direct.append]
      : // strict: boot only from the disk, so "nothing bootable" ends in a message instead of a PXE/floppy attempt.
        ['-boot', 'order=c,strict=on']),
    '-drive', `file=${image},format=${info.format},if=virtio`,
    '-serial', `file:${serialLog}`,
    // SeaBIOS writes its progress and failures to I/O port 0x402; VGA text would need a screen scraper.
    '-chardev', `file,id=seabios,path=${firmwareLog}`, '-device', 'isa-debugcon,iobase=0x402,chardev=seabios',
    '-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0',
  ];
  const t0 = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('close', () => ((exited = true), resolve())));
  child.on('error', (e) => (stderr += String(e)));
  const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'latin1') : '');
  let stoppedBy: BootCheckResult['stoppedBy'] = 'timeout';
  while (Date.now() - t0 < timeoutMs) {
    await sleep(500);
    const log = read(serialLog);
    // A getty prints "login:" without a newline, so test the tail of the log, not whole lines.
    // the firmware's word is in its own log, read after the console's login (as before the patterns were shared)
    const end = consoleEnd(log);
    if (end === 'login') stoppedBy = 'login';
    else if (NO_BOOT_PATTERN.test(read(firmwareLog))) stoppedBy = 'no-bootable-device';
    else if (end) stoppedBy = end;
    else if (exited) stoppedBy = 'qemu-exited';
    else continue;
    break;
  }
  if (!exited) child.kill('SIGKILL');
  await exit;
  const log = read(serialLog);
  const fw = read(firmwareLog) + (stderr ? `\n[qemu stderr]\n${stderr}` : '');
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    sawGrub: GRUB_PATTERN.test(log),
    sawLogin: LOGIN_PATTERN.test(log),
    noBootableDevice: NO_BOOT_PATTERN.test(fw),
    log,
    firmwareLog: fw,
    stoppedBy,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  };
}
