// The modules that ship with ferry. A library user may register their own beside them.
import { ModuleRegistry, type TaskModule } from '../runner/module.js';
import { blockcopyModule } from './blockcopy.js';
import { chrootExecModule } from './chroot-exec.js';
import { chrootMountsModule } from './chroot-mounts.js';
import { commandModule } from './command.js';
import { copyModule } from './copy.js';
import { debugModule } from './debug.js';
import { assertModule, failModule } from './fail.js';
import { fileModule } from './file.js';
import { filesystemModule } from './filesystem.js';
import { fstabModule } from './fstab.js';
import { grubModule } from './grub.js';
import { includeVarsModule } from './include-vars.js';
import { initramfsModule } from './initramfs.js';
import { kernelModule } from './kernel.js';
import { lineinfileModule } from './lineinfile.js';
import { lvmVgModule } from './lvm-vg.js';
import { lvmModule } from './lvm.js';
import { mountModule } from './mount.js';
import { partitionMapModule } from './partition-map.js';
import { partitionModule } from './partition.js';
import { pingModule } from './ping.js';
import { replaceModule } from './replace.js';
import { rsyncModule } from './rsync.js';
import { setModule } from './set.js';
import { setupModule } from './setup.js';
import { shellModule } from './shell.js';
import { statModule } from './stat.js';
import { templateModule } from './template.js';
import { virshDefineModule } from './virsh-define.js';
import { waitForModule } from './wait-for.js';
import { xenImportModule } from './xen-import.js';

/** Every built-in module (typed loosely: each has its own parameter type). */
export const BUILTIN_MODULES = [
  // general
  commandModule, shellModule, copyModule, templateModule, fileModule, lineinfileModule, replaceModule, statModule, waitForModule,
  pingModule, debugModule, setModule, setupModule, includeVarsModule, failModule, assertModule,
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
