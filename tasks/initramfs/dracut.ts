// dracut (Fedora, RHEL, SUSE, Gentoo, ...): rather than edit /etc/dracut.conf, the conversion
// writes a drop-in to /etc/dracut.conf.d/, which dracut reads after dracut.conf. It only has to
// fix lines that name Xen drivers for inclusion, because a `drivers=` list is exclusive.
import { isXenModule, normalizeModule, VIRTIO_MODULES, XEN_MODULES } from './drivers.js';
import { parseShellValue } from '../guest-files/shell-value.js';
import { editResult, joinLines, splitLines, type EditResult } from '../guest-files/text-lines.js';

/** Suggested name for the drop-in under /etc/dracut.conf.d/ (late, so it wins over earlier files). */
export const DRACUT_DROP_IN_NAME = '90-ferry-kvm.conf';

/** The text of the dracut drop-in that puts virtio drivers in the initramfs (and, by default, leaves Xen ones out). */
export function dracutDropIn(opts: { omitXen?: boolean } = {}): string {
  const lines = [
    '# Written by ferry: this guest now runs under KVM (virtio), no longer under Xen.',
    `add_drivers+=" ${VIRTIO_MODULES.join(' ')} "`,
  ];
  // Underscores: dracut 059 (Debian 12's 059-4, tried here) turns only the FIRST "-" of the whole
  // omit_drivers value into "_" (omit_drivers=${omit_drivers/-/_}) and matches each name against
  // kmod's underscore names, so " xen-scsifront xen-blkfront " left xen-blkfront.ko in the image.
  if (opts.omitXen ?? true) lines.push(`omit_drivers+=" ${XEN_MODULES.map(normalizeModule).join(' ')} "`);
  return lines.join('\n') + '\n';
}

// Settings whose value is a list of drivers to put in; omit_* lists are left alone.
const DRIVER_LIST = /^(\s*(?:add_drivers|force_drivers|drivers)\+?=)(.*)$/;

/** Removes Xen drivers from add_drivers/force_drivers/drivers lines of a dracut conf file. */
export function editDracutConf(text: string): EditResult {
  const file = splitLines(text);
  const notes: string[] = [];
  const lines = file.lines.map((line, i) => {
    const m = DRIVER_LIST.exec(line);
    if (!m) return line;
    const v = parseShellValue(m[2]);
    if (!v) {
      notes.push(`line ${i + 1}: value not understood; left as it is, check it by hand`);
      return line;
    }
    if (/^\s*drivers=/.test(line)) {
      notes.push(`line ${i + 1}: drivers= is an exclusive list; the drop-in's add_drivers+= still adds virtio to it`);
    }
    const items = v.inner.split(/\s+/).filter(Boolean);
    const kept = items.filter((d) => !isXenModule(d));
    if (kept.length === items.length) return line;
    notes.push(`line ${i + 1}: removed Xen driver(s) ${items.filter(isXenModule).join(', ')}`);
    // dracut's += idiom pads with spaces so appended lists do not run together; keep that.
    const pad = /^\s/.test(v.inner) || /\s$/.test(v.inner) ? ' ' : '';
    const quote = v.quote || '"';
    const inner = kept.length ? `${pad}${kept.join(' ')}${pad}` : pad;
    return `${m[1]}${quote}${inner}${quote}${v.rest}`;
  });
  return editResult(text, joinLines({ lines, finalNewline: file.finalNewline }), notes);
}
