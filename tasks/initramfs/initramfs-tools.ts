// initramfs-tools (Debian, Ubuntu, Devuan): /etc/initramfs-tools/modules lists modules to put in
// the initramfs whatever else is detected, one per line with optional arguments; and
// initramfs.conf / conf.d/* choose how the rest is picked (MODULES=most|dep|netboot|list).
import { renameDevice, type DeviceNameOptions } from '../guest-files/device-names.js';
import { isXenModule, normalizeModule, VIRTIO_MODULES } from './drivers.js';
import { parseShellValue, renderShellValue } from '../guest-files/shell-value.js';
import { appendLines, editResult, isCommentOrBlank, joinLines, splitLines, type EditResult } from '../guest-files/text-lines.js';

/** Edits /etc/initramfs-tools/modules: removes Xen frontends (either spelling), adds each virtio driver once. */
export function editInitramfsModules(text: string, ensure: readonly string[] = VIRTIO_MODULES): EditResult {
  const file = splitLines(text);
  const notes: string[] = [];
  const present = new Set<string>();
  const lines = file.lines.filter((line, i) => {
    if (isCommentOrBlank(line)) return true;
    const name = line.trim().split(/\s+/)[0];
    if (isXenModule(name)) {
      notes.push(`line ${i + 1}: removed Xen module ${name}`);
      return false;
    }
    present.add(normalizeModule(name));
    return true;
  });
  const added = ensure.filter((m) => !present.has(normalizeModule(m)));
  const out = joinLines(appendLines({ lines, finalNewline: file.finalNewline }, added));
  return editResult(text, out, notes);
}

/**
 * Edits initramfs.conf or a conf.d snippet: MODULES=dep becomes MODULES=most. With dep,
 * mkinitramfs keeps only the modules the *running* system uses; run in a chroot on the KVM host
 * (or on the Xen guest) that is the wrong machine, and it may fail to find the root device.
 * RESUME= (conf.d/resume: the swap to resume from) gets its KVM name as fstab and the kernel
 * command line do (`names`: the device map first, else /dev/xvdXN -> /dev/vdXN).
 */
export function editInitramfsConf(text: string, names: DeviceNameOptions = {}): EditResult {
  const file = splitLines(text);
  const notes: string[] = [];
  const lines = file.lines.map((line, i) => {
    const m = /^(\s*(MODULES|RESUME)=)(.*)$/.exec(line);
    const v = m && parseShellValue(m[3]);
    if (!m || !v) return line;
    if (m[2] === 'RESUME') {
      const renamed = renameDevice(v.inner, names);
      if (renamed === undefined) return line;
      notes.push(`line ${i + 1}: RESUME=${v.inner} changed to ${renamed} (its name under KVM)`);
      return m[1] + renderShellValue(v, renamed);
    }
    if (v.inner !== 'dep') return line;
    notes.push(`line ${i + 1}: MODULES=dep changed to most (dep would size the initramfs for the machine that builds it)`);
    return m[1] + renderShellValue(v, 'most');
  });
  return editResult(text, joinLines({ lines, finalNewline: file.finalNewline }), notes);
}
