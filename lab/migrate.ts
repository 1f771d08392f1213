// `npm run lab:migrate`: ferry's main job for real, in the lab. Boots (or reuses) the lab VM,
// restores its pristine state, runs playbooks/xen-to-kvm.yaml against it over SSH, exports the
// converted LV, and boots it as a KVM (TCG) domain under this machine's libvirtd through the
// playbook's boot phase, which watches the serial console for GRUB and a login prompt (falling back
// to plain qemu when libvirt is missing).
import fs from 'node:fs';
import path from 'node:path';
import { runPlaybookFile, type CommonRunOptions } from '../app/api.js';
import type { Reporter } from '../runner/events.js';
import { ListrReporter } from '../runner/reporter/listr.js';
import { PlainReporter } from '../runner/reporter/plain.js';
import { GRUB_PATTERN, LOGIN_PATTERN } from '../tasks/libvirt/console.js';
import { bootCheck } from './boot-check.js';
import { say } from './exec.js';
import { exportLv } from './export-lv.js';
import { labReset, labUp, type LabInfo, type LabVmInfo } from './lab.js';
import { ensureLibvirtd, removeDomain } from './libvirtd.js';
import { GUEST } from './recipe.js';
import { ensureSystemPackages } from './system-packages.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Where lab migrations leave their exported disks, console logs and run state. */
export const LAB_OUT_DIR = process.env.FERRY_LAB_OUT ?? '/var/tmp/ferry-lab';

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

/** A converted guest of the lab host to boot here: its LV and what its KVM domain gets. */
export interface ExportedGuest {
  vg: string;
  lv: string;
  name: string;
  mac: string;
  memoryMb: number;
  /** Every NIC's MAC in order, when the guest has more than `mac` (user networking here: the lab host's bridges are not on this machine). */
  macs?: string[];
  /** The guest's other disks (a xen-tools swap LV, a data LV), exported beside the image and attached as they were defined. */
  others?: { vg: string; lv: string; target: string }[];
  /** The inventory file that names the guest beside the lab's, when it is not the lab's own guest (it was converted with both). */
  inventory?: string;
  /** The lab VM that holds the converted LV when it is not lab-hv (lab-kvm, for a guest moved there). */
  from?: LabVmInfo;
}

/**
 * Exports the guest's LV from the lab to `image` and boots it here through the migration playbook's
 * own boot phase (xen-to-kvm.yaml --tags boot: the domain it defines, started on this machine's
 * libvirtd under TCG, its console watched by boot_check), or with plain qemu when libvirt is not
 * usable here. The lab host is itself emulated, too slow to boot a guest inside: here the guest's
 * kvm_host is this machine, its disks the exported images, its NICs user networking.
 */
export async function bootExportedDisk(g: ExportedGuest, image: string, lab: LabInfo, reporter: Reporter = humanReporter()): Promise<LabMigration['boot']> {
  // libvirt's qemu (another user) opens the exported image here: the folder must let it through,
  // also when an earlier ferry made it 0700 (its run state's parents were once made private too).
  const dir = path.dirname(image);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  await exportLv(g.vg, g.lv, image, g.from ?? lab);
  const moreDisks: { source: string; kvm: string }[] = [];
  for (const o of g.others ?? []) {
    const source = path.join(dir, `${g.name}-${o.target}.img`);
    await exportLv(o.vg, o.lv, source, lab);
    moreDisks.push({ source, kvm: o.target });
  }
  const t1 = Date.now();
  const libvirt = await ensureLibvirtd();
  if (!libvirt.ok) {
    if (moreDisks.length || g.macs) throw new Error(`libvirt is not usable here (${libvirt.reason}): booting a guest of several disks or NICs needs it`);
    process.stderr.write(`[lab] libvirt is not usable (${libvirt.reason}): booting the disk with qemu directly\n`);
    const b = await bootCheck(image, { timeoutMs: 5 * 60_000 });
    return {
      method: 'qemu', exitCode: b.sawGrub && b.sawLogin ? 0 : 1, sawGrub: b.sawGrub, sawLogin: b.sawLogin,
      seconds: (Date.now() - t1) / 1000, console: b.log,
    };
  }
  const consoleLog = path.join(dir, `${g.name}-console.log`);
  // the boot phase skips a guest whose boot it recorded: a fresh record (and console) each time
  const bootRecord = path.join(dir, `${g.name}.booted`);
  for (const f of [consoleLog, bootRecord]) fs.rmSync(f, { force: true });
  await removeDomain(g.name);
  try {
    const boot = await runPlaybookFile(path.join(ROOT, 'playbooks', 'xen-to-kvm.yaml'), {
      inventory: [lab.inventoryPath, ...(g.inventory ? [g.inventory] : [])],
      limit: g.name,
      tags: ['boot'],
      reporter,
      // a run state of each guest's own: the same playbook boots several guests at once
      stateDir: path.join(LAB_OUT_DIR, 'state', `${g.name}-boot`),
      extraVars: {
        kvm_define: true, verify_boot: true, kvm_host: 'localhost', domain_type: 'qemu', memory_mb: g.memoryMb,
        disk: image, other_disks: moreDisks, kvm_interfaces: (g.macs ?? [g.mac]).map((mac) => ({ mac, user: true })),
        boot_console_log: consoleLog, boot_record: bootRecord, boot_timeout: 300,
      },
    });
    const text = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, 'latin1') : '';
    return {
      method: 'libvirt', exitCode: boot.exitCode, sawGrub: GRUB_PATTERN.test(text), sawLogin: LOGIN_PATTERN.test(text),
      seconds: (Date.now() - t1) / 1000, console: text,
    };
  } finally {
    // the boot phase leaves a booted guest running (a migrated guest is back in service): not here
    await removeDomain(g.name);
  }
}

/** Runs the migration of the lab guest and the boot check. */
export async function labMigrate(o: LabMigrateOptions = {}): Promise<LabMigration> {
  const reporter = o.reporter ?? humanReporter();
  // libvirt too, for the boot: all that is missing in one apt-get install, before the lab is built.
  await ensureSystemPackages(['migrate'], { say });
  let lab = await labUp();
  if (o.reset ?? true) lab = await labReset();
  const run = (playbook: string, opts: Partial<CommonRunOptions>) =>
    runPlaybookFile(path.join(ROOT, 'playbooks', playbook), { inventory: [lab.inventoryPath], reporter, stateDir: path.join(LAB_OUT_DIR, 'state'), ...opts });

  const t0 = Date.now();
  // The lab hypervisor is itself emulated: the KVM domain is defined and booted on this machine instead.
  const convert = await run('xen-to-kvm.yaml', { extraVars: { kvm_define: false, copy_method: o.copyMethod ?? 'rsync' } });
  const convertSeconds = (Date.now() - t0) / 1000;
  const image = path.join(LAB_OUT_DIR, `${GUEST.name}-kvm.img`);
  const result: LabMigration = {
    lab, convertExit: convert.exitCode, convertSeconds, image,
    boot: { method: 'qemu', exitCode: -1, sawGrub: false, sawLogin: false, seconds: 0, console: '' },
  };
  if (convert.exitCode !== 0 || o.noBoot) return result;

  result.boot = await bootExportedDisk({ vg: GUEST.vg, lv: GUEST.lv, name: GUEST.name, mac: GUEST.mac, memoryMb: GUEST.memoryMb }, image, lab, reporter);
  return result;
}
