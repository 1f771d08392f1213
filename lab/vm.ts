// Starts and stops the lab VM with qemu: direct kernel boot, virtio disks, user networking with
// one forwarded port for SSH, serial console to a log file, daemonized with a pidfile.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { FerryError } from '../runner/errors.js';
import { lastLines, run, say } from './exec.js';
import { cacheRoot } from './paths.js';

/** One virtio disk of the VM; `serial` names it inside (/dev/disk/by-id/virtio-SERIAL). */
export interface VmDisk {
  file: string;
  format: 'raw' | 'qcow2';
  serial: string;
  readOnly?: boolean;
}

export interface VmSpec {
  kernel: string;
  initrd: string;
  append: string;
  disks: VmDisk[];
  sshPort: number;
  memMb: number;
  cpus: number;
  pidFile: string;
  serialLog: string;
  qmpSocket: string;
  accel: 'kvm' | 'tcg';
  /** Start from a saved state instead of booting (qemu -incoming URI). */
  incoming?: string;
}

/** qemu's -drive/-serial option syntax uses commas as separators; a comma in a path would be misread. */
function optionPath(p: string): string {
  if (p.includes(',')) throw new FerryError(`lab path must not contain a comma: ${p} (set FERRY_LAB_CACHE elsewhere)`);
  return p;
}

let accelProbe: Promise<'kvm' | 'tcg'> | undefined;

/**
 * Which accelerator works here: $FERRY_LAB_ACCEL, else KVM if `kernel` prints "Linux version" on the
 * serial console within 5 s under KVM, else TCG. (On some machines /dev/kvm exists and the firmware
 * even runs, but every kernel hangs: only booting one tells.) Without a kernel to try: TCG.
 */
export function probeAccel(kernel?: string): Promise<'kvm' | 'tcg'> {
  const forced = process.env.FERRY_LAB_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
  if (!kernel || !fs.existsSync('/dev/kvm')) return Promise.resolve('tcg');
  // Remembered per lab kernel and host kernel release: a new host kernel may fix (or break) KVM.
  const memo = path.join(cacheRoot(), 'accel.json');
  const key = `${kernel} on ${os.release()}`;
  try {
    const saved = JSON.parse(fs.readFileSync(memo, 'utf8')) as { key: string; accel: 'kvm' | 'tcg' };
    if (saved.key === key) return Promise.resolve(saved.accel);
  } catch {
    // No memo yet (or unreadable): probe.
  }
  accelProbe ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kvm-probe-'));
    const log = path.join(dir, 'serial.log');
    const child = spawn('qemu-system-x86_64', [
      '-accel', 'kvm', '-machine', 'pc', '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot',
      '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', `file:${optionPath(log)}`,
    ], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.on('error', () => undefined);
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await sleep(100);
      ok = fs.existsSync(log) && fs.readFileSync(log, 'latin1').includes('Linux version');
    }
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    say(`accelerator: ${ok ? 'kvm' : 'tcg (KVM did not boot a kernel within 5 s)'}; remembered in ${memo}`);
    const accel = ok ? 'kvm' : 'tcg';
    fs.mkdirSync(path.dirname(memo), { recursive: true });
    fs.writeFileSync(memo, JSON.stringify({ key, accel }) + '\n');
    return accel;
  })();
  return accelProbe;
}

/** Asks the kernel for a free TCP port on 127.0.0.1 (qemu binds it a moment later; a clash is retried). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The qemu arguments for `spec` (exported so a reader can see exactly what runs). */
export function qemuArgs(spec: VmSpec): string[] {
  const args = [
    '-name', 'ferry-lab', '-machine', 'pc', '-accel', spec.accel, '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-m', String(spec.memMb), '-smp', String(spec.cpus),
    '-kernel', spec.kernel, '-initrd', spec.initrd, '-append', spec.append,
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', `file:${optionPath(spec.serialLog)}`,
    '-qmp', `unix:${optionPath(spec.qmpSocket)},server=on,wait=off`,
    '-netdev', `user,id=net0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    '-device', 'virtio-net-pci,netdev=net0',
    '-daemonize', '-pidfile', optionPath(spec.pidFile),
  ];
  if (spec.incoming) args.push('-incoming', spec.incoming);
  spec.disks.forEach((d, i) => {
    const ro = d.readOnly ? ',readonly=on' : '';
    // The serial is a property of the virtio device, not of the drive, in current qemu.
    args.push('-drive', `id=disk${i},file=${optionPath(d.file)},format=${d.format},if=none,cache=writeback,discard=unmap${ro}`);
    args.push('-device', `virtio-blk-pci,drive=disk${i},serial=${d.serial}`);
  });
  return args;
}

/** Starts the VM in the background; resolves once qemu has daemonized (the guest is still booting). */
export async function startVm(spec: VmSpec): Promise<number> {
  fs.rmSync(spec.pidFile, { force: true });
  fs.rmSync(spec.serialLog, { force: true });
  await run('qemu-system-x86_64', qemuArgs(spec));
  const pid = readPid(spec.pidFile);
  if (!pid) throw new FerryError(`qemu started but wrote no pidfile at ${spec.pidFile}`);
  return pid;
}

/** The pid in `pidFile` if that process is alive and is a qemu, else undefined. */
export function readPid(pidFile: string): number | undefined {
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // A recycled pid must not make us kill or trust some other program.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('qemu-system') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until `pid` has exited; false on timeout. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!fs.existsSync(`/proc/${pid}`)) return true;
    await sleep(200);
  }
  return !fs.existsSync(`/proc/${pid}`);
}

/** Stops a VM that did not power off by itself: SIGTERM, then SIGKILL. */
export async function killVm(pid: number): Promise<void> {
  say(`stopping qemu ${pid} with SIGTERM`);
  process.kill(pid, 'SIGTERM');
  if (await waitExit(pid, 10_000)) return;
  process.kill(pid, 'SIGKILL');
  await waitExit(pid, 5_000);
}

/** The end of the serial console log, for error messages. */
export function serialTail(serialLog: string, lines = 30): string {
  return fs.existsSync(serialLog) ? lastLines(fs.readFileSync(serialLog, 'utf8'), lines) : '(no serial log)';
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
