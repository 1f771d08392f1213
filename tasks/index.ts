// The modules that ship with ferry, loaded at once: the library's list (app/api.ts). A library user
// may register their own beside them. The command line loads each only when a run uses it (tasks/catalog.ts).
import { ModuleRegistry, type TaskModule } from '../runner/module.js';
import { aptModule } from './apt.js';
import { blockcopyModule } from './blockcopy.js';
import { blockinfileModule } from './blockinfile.js';
import { chrootExecModule } from './chroot-exec.js';
import { chrootMountsModule } from './chroot-mounts.js';
import { commandModule } from './command.js';
import { copyModule } from './copy.js';
import { debugModule } from './debug.js';
import { assertModule, failModule } from './fail.js';
import { fetchModule } from './fetch.js';
import { fileModule } from './file.js';
import { filesystemModule } from './filesystem.js';
import { fstabModule } from './fstab.js';
import { getUrlModule } from './get-url.js';
import { grubModule } from './grub.js';
import { groupModule } from './group.js';
import { includeVarsModule } from './include-vars.js';
import { initramfsModule } from './initramfs.js';
import { kernelModule } from './kernel.js';
import { lineinfileModule } from './lineinfile.js';
import { lvmVgModule } from './lvm-vg.js';
import { lvmModule } from './lvm.js';
import { mountModule } from './mount.js';
import { partitionMapModule } from './partition-map.js';
import { partitionModule } from './partition.js';
import { packageModule } from './package.js';
import { pauseModule } from './pause.js';
import { pingModule } from './ping.js';
import { rawModule } from './raw.js';
import { rebootModule } from './reboot.js';
import { replaceModule } from './replace.js';
import { rsyncModule } from './rsync.js';
import { serviceModule } from './service.js';
import { systemdModule } from './systemd.js';
import { setModule } from './set.js';
import { setupModule } from './setup.js';
import { shellModule } from './shell.js';
import { slurpModule } from './slurp.js';
import { statModule } from './stat.js';
import { templateModule } from './template.js';
import { unarchiveModule } from './unarchive.js';
import { userModule } from './user.js';
import { virshDefineModule } from './virsh-define.js';
import { waitForModule } from './wait-for.js';
import { bootCheckModule } from './boot-check.js';
import { xenImportModule } from './xen-import.js';

/** Every built-in module (typed loosely: each has its own parameter type). */
export const BUILTIN_MODULES = [
  // general
  commandModule, shellModule, rawModule, copyModule, templateModule, unarchiveModule, fileModule, lineinfileModule, blockinfileModule, replaceModule, statModule, slurpModule, fetchModule, getUrlModule, waitForModule, bootCheckModule,
  pingModule, pauseModule, debugModule, setModule, setupModule, includeVarsModule, failModule, assertModule,
  // accounts, packages, services
  groupModule, userModule, aptModule, packageModule, serviceModule, systemdModule, rebootModule,
  // storage and copy
  lvmModule, lvmVgModule, partitionModule, partitionMapModule, filesystemModule, mountModule, chrootMountsModule,
  rsyncModule, blockcopyModule,
  // Xen to KVM
  xenImportModule, chrootExecModule, fstabModule, kernelModule, initramfsModule, grubModule, virshDefineModule,
] as TaskModule<never>[];

/** A registry holding the built-in modules. */
export function builtinModules(): ModuleRegistry {
  return new ModuleRegistry().register(...BUILTIN_MODULES);
}
