// `npm run lab:migrate`: ferry's main job for real, in the lab. Boots (or reuses) the lab VM,
// restores its pristine state, runs playbooks/xen-to-kvm.yaml against it over SSH, exports the
// converted LV, and boots it as a KVM (TCG) domain under this machine's libvirtd, watching the
// serial console for GRUB and a login prompt (falling back to plain qemu when libvirt is missing).
import fs from 'node:fs';
import path from 'node:path';
import { runPlaybookFile, type CommonRunOptions } from '../app/api.js';
import type { Reporter } from '../runner/events.js';
import { ListrReporter } from '../runner/reporter/listr.js';
import { PlainReporter } from '../runner/reporter/plain.js';
import { bootCheck } from './boot-check.js';
import { say } from './exec.js';
import { exportLv } from './export-lv.js';
import { labReset, labUp, type LabInfo } from './lab.js';
import { ensureLibvirtd } from './libvirtd.js';
import { GUEST } from './recipe.js';
import { ensureSystemPackages } from './system-packages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT_DIR = process.env.FERRY_LAB_OUT ?? '/var/tmp/ferry-lab';

/** What the migration run showed. */
export interface LabMigration {
  lab: LabInfo;
  /** Exit code of the conversion playbook (0: every task ok or changed). */
  convertExit: number;
  convertSeconds: number;
  image: string;
  boot: { method: 'libvirt' | 'qemu'; exitCode: number; sawGrub: boolean; sawLogin: boolean; seconds: number; console: string };
}

/** Options of a lab migration. */
export interface LabMigrateOptions {
  reporter?: Reporter;
  /** Start from the pristine lab (default true). */
  reset?: boolean;
  copyMethod?: 'rsync' | 'dd';
  /** Skip the boot (just convert). */
  noBoot?: boolean;
}

function humanReporter(): Reporter {
  return process.stdout.isTTY ? new ListrReporter() : new PlainReporter({ color: false });
}

/** Runs the migration of the lab guest and the boot check. */
export async function labMigrate(o: LabMigrateOptions = {}): Promise<LabMigration> {
  const reporter = o.reporter ?? humanReporter();
  // libvirt too, for the boot: all that is missing in one apt-get install, before the lab is built.
  await ensureSystemPackages(['migrate'], { say });
  let lab = await labUp();
  if (o.reset ?? true) lab = await labReset();
  const run = (playbook: string, opts: Partial<CommonRunOptions>) =>
    runPlaybookFile(path.join(ROOT, 'playbooks', playbook), { inventory: [lab.inventoryPath], reporter, stateDir: path.join(OUT_DIR, 'state'), ...opts });

  const t0 = Date.now();
  // The lab hypervisor is itself emulated: the KVM domain is defined and booted on this machine instead.
  const convert = await run('xen-to-kvm.yaml', { extraVars: { kvm_define: false, copy_method: o.copyMethod ?? 'rsync' } });
  const convertSeconds = (Date.now() - t0) / 1000;
  const image = path.join(OUT_DIR, `${GUEST.name}-kvm.img`);
  const result: LabMigration = {
    lab, convertExit: convert.exitCode, convertSeconds, image,
    boot: { method: 'qemu', exitCode: -1, sawGrub: false, sawLogin: false, seconds: 0, console: '' },
  };
  if (convert.exitCode !== 0 || o.noBoot) return result;

  // libvirt's qemu (another user) opens the exported image here: the folder must let it through,
  // also when an earlier ferry made it 0700 (its run state's parents were once made private too).
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.chmodSync(OUT_DIR, 0o755);
  await exportLv(GUEST.vg, GUEST.lv, image, lab);
  const t1 = Date.now();
  const libvirt = await ensureLibvirtd();
  if (libvirt.ok) {
    const consoleLog = path.join(OUT_DIR, `${GUEST.name}-console.log`);
    fs.rmSync(consoleLog, { force: true });
    const boot = await runPlaybookFile(path.join(ROOT, 'playbooks', 'kvm-boot-check.yaml'), {
      inventory: [path.join(ROOT, 'inventories', 'example.yaml')],
      reporter,
      stateDir: path.join(OUT_DIR, 'state'),
      extraVars: { image, name: `${GUEST.name}-kvm-check`, mac: GUEST.mac, memory_mb: GUEST.memoryMb, console_log: consoleLog },
    });
    const text = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, 'latin1') : '';
    result.boot = {
      method: 'libvirt', exitCode: boot.exitCode, sawGrub: /GNU GRUB/.test(text), sawLogin: /login:/.test(text),
      seconds: (Date.now() - t1) / 1000, console: text,
    };
  } else {
    process.stderr.write(`[lab] libvirt is not usable (${libvirt.reason}): booting the disk with qemu directly\n`);
    const b = await bootCheck(image, { timeoutMs: 5 * 60_000 });
    result.boot = {
      method: 'qemu', exitCode: b.sawGrub && b.sawLogin ? 0 : 1, sawGrub: b.sawGrub, sawLogin: b.sawLogin,
      seconds: (Date.now() - t1) / 1000, console: b.log,
    };
  }
  return result;
}
