// The tools whose presence ferry's gathered facts report (ferry_facts.tools.NAME): those the
// Xen-to-KVM migration's modules run, so a play can check them before it starts.
/** The migration's tools, as the facts look for them (`command -v`). */
export const MIGRATION_FACT_TOOLS: readonly string[] = ['virsh', 'xl', 'kpartx', 'rsync', 'grub-install', 'grub2-install', 'sfdisk'];
