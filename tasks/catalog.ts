// The modules that ship with ferry, by name, each loaded the first time a run uses it (issue 15:
// a playbook that uses `command` neither reads nor builds `grub`, or zod schemas it does not use).
// Each loader is a dynamic import, so the CLI bundle holds each module in a chunk of its own
// (app/cli-bundle-write.ts). tasks/index.ts keeps the eagerly loaded list for the library and the tests;
// test/unit/module-catalog.test.ts checks that the two name the same modules.
import { ModuleRegistry, type ModuleLoader, type TaskModule } from '../runner/module.js';

/** Every built-in module's loader, by the module's name. */
export const BUILTIN_MODULE_LOADERS: Readonly<Record<string, ModuleLoader>> = {
  command: async () => (await import('./command.js')).commandModule as TaskModule<never>,
  shell: async () => (await import('./shell.js')).shellModule as TaskModule<never>,
  raw: async () => (await import('./raw.js')).rawModule as TaskModule<never>,
  copy: async () => (await import('./copy.js')).copyModule as TaskModule<never>,
  template: async () => (await import('./template.js')).templateModule as TaskModule<never>,
  unarchive: async () => (await import('./unarchive.js')).unarchiveModule as TaskModule<never>,
  file: async () => (await import('./file.js')).fileModule as TaskModule<never>,
  lineinfile: async () => (await import('./lineinfile.js')).lineinfileModule as TaskModule<never>,
  blockinfile: async () => (await import('./blockinfile.js')).blockinfileModule as TaskModule<never>,
  replace: async () => (await import('./replace.js')).replaceModule as TaskModule<never>,
  stat: async () => (await import('./stat.js')).statModule as TaskModule<never>,
  slurp: async () => (await import('./slurp.js')).slurpModule as TaskModule<never>,
  fetch: async () => (await import('./fetch.js')).fetchModule as TaskModule<never>,
  get_url: async () => (await import('./get-url.js')).getUrlModule as TaskModule<never>,
  wait_for: async () => (await import('./wait-for.js')).waitForModule as TaskModule<never>,
  boot_check: async () => (await import('./boot-check.js')).bootCheckModule as TaskModule<never>,
  ping: async () => (await import('./ping.js')).pingModule as TaskModule<never>,
  pause: async () => (await import('./pause.js')).pauseModule as TaskModule<never>,
  debug: async () => (await import('./debug.js')).debugModule as TaskModule<never>,
  set: async () => (await import('./set.js')).setModule as TaskModule<never>,
  setup: async () => (await import('./setup.js')).setupModule as TaskModule<never>,
  include_vars: async () => (await import('./include-vars.js')).includeVarsModule as TaskModule<never>,
  fail: async () => (await import('./fail.js')).failModule as TaskModule<never>,
  assert: async () => (await import('./fail.js')).assertModule as TaskModule<never>,
  group: async () => (await import('./group.js')).groupModule as TaskModule<never>,
  user: async () => (await import('./user.js')).userModule as TaskModule<never>,
  apt: async () => (await import('./apt.js')).aptModule as TaskModule<never>,
  package: async () => (await import('./package.js')).packageModule as TaskModule<never>,
  service: async () => (await import('./service.js')).serviceModule as TaskModule<never>,
  systemd: async () => (await import('./systemd.js')).systemdModule as TaskModule<never>,
  reboot: async () => (await import('./reboot.js')).rebootModule as TaskModule<never>,
  lvm: async () => (await import('./lvm.js')).lvmModule as TaskModule<never>,
  lvm_vg: async () => (await import('./lvm-vg.js')).lvmVgModule as TaskModule<never>,
  partition: async () => (await import('./partition.js')).partitionModule as TaskModule<never>,
  partition_map: async () => (await import('./partition-map.js')).partitionMapModule as TaskModule<never>,
  filesystem: async () => (await import('./filesystem.js')).filesystemModule as TaskModule<never>,
  mount: async () => (await import('./mount.js')).mountModule as TaskModule<never>,
  chroot_mounts: async () => (await import('./chroot-mounts.js')).chrootMountsModule as TaskModule<never>,
  rsync: async () => (await import('./rsync.js')).rsyncModule as TaskModule<never>,
  blockcopy: async () => (await import('./blockcopy.js')).blockcopyModule as TaskModule<never>,
  xen_import: async () => (await import('./xen-import.js')).xenImportModule as TaskModule<never>,
  chroot_exec: async () => (await import('./chroot-exec.js')).chrootExecModule as TaskModule<never>,
  fstab: async () => (await import('./fstab.js')).fstabModule as TaskModule<never>,
  kernel: async () => (await import('./kernel.js')).kernelModule as TaskModule<never>,
  initramfs: async () => (await import('./initramfs.js')).initramfsModule as TaskModule<never>,
  grub: async () => (await import('./grub.js')).grubModule as TaskModule<never>,
  virsh_define: async () => (await import('./virsh-define.js')).virshDefineModule as TaskModule<never>,
};

/** A registry that knows every built-in module's name and loads a module when a run first uses it. */
export function lazyBuiltinModules(): ModuleRegistry {
  return new ModuleRegistry().registerLazy(BUILTIN_MODULE_LOADERS);
}
