// Which kernel modules a guest needs in its initramfs after the move, and which it no longer does.
// Names are compared with "-" and "_" treated alike, as modprobe does.

/** Xen PV frontends and Xen-only modules, to drop from initramfs module lists. */
export const XEN_MODULES = [
  'xen-blkfront',
  'xen-netfront',
  'xen-scsifront',
  'xenfs',
  'xen-pcifront',
  'xen-kbdfront',
  'xen-fbfront',
] as const;

/** virtio drivers a KVM guest needs to find its root disk and network early. */
export const VIRTIO_MODULES = ['virtio_blk', 'virtio_pci', 'virtio_net', 'virtio_scsi'] as const;

/** Module name in the canonical form modprobe uses (underscores). */
export function normalizeModule(name: string): string {
  return name.replace(/-/g, '_');
}

const xenSet = new Set<string>(XEN_MODULES.map(normalizeModule));

/** Whether a module name (either spelling) is one of XEN_MODULES. */
export function isXenModule(name: string): boolean {
  return xenSet.has(normalizeModule(name));
}

/**
 * The pure list edit behind mkinitcpio/dracut/initramfs-tools: drops Xen modules, appends the
 * virtio ones that are missing, keeps everything else in order.
 */
export function editModuleList(
  items: readonly string[],
  ensure: readonly string[] = VIRTIO_MODULES,
): { items: string[]; removed: string[]; added: string[] } {
  const removed = items.filter(isXenModule);
  const kept = items.filter((m) => !isXenModule(m));
  const have = new Set(kept.map(normalizeModule));
  const added: string[] = [];
  for (const m of ensure) {
    if (!have.has(normalizeModule(m))) {
      added.push(m);
      have.add(normalizeModule(m));
    }
  }
  return { items: [...kept, ...added], removed, added };
}
