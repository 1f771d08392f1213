// The one read-only command that gathers a host's facts in a single round trip. Each section is
// framed by markers carrying its exit status, so a missing tool (lvm2 on a plain host, lsblk on
// an old one) or a permission error fails that section alone, and the parser can say which.
import { sh, type Command } from '../command.js';

/** Marker framing each section; chosen so that no file or tool output plausibly contains it. */
export const FACTS_MARKER = '@@ferry-facts';

/** The tools whose presence is reported (`command -v`). */
export const FACT_TOOLS = ['virsh', 'xl', 'kpartx', 'rsync', 'grub-install', 'grub2-install', 'sfdisk'] as const;

/** Each section: a name and the POSIX sh that prints it. Stderr is dropped; the exit status is kept. */
export const FACT_SECTIONS: readonly { name: string; script: string }[] = [
  { name: 'os_release', script: 'cat /etc/os-release || cat /usr/lib/os-release' },
  { name: 'uname', script: 'uname -srm' },
  { name: 'hostname', script: 'hostname || uname -n' },
  { name: 'meminfo', script: "grep -E '^(MemTotal|MemAvailable|SwapTotal):' /proc/meminfo" },
  { name: 'cpus', script: 'nproc || grep -c ^processor /proc/cpuinfo' },
  // util-linux before 2.27 (CentOS 7 dom0s) has no --json, and before 2.33 no PATH column: fall back to pairs.
  {
    name: 'lsblk',
    script:
      'lsblk --json -b -o NAME,PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT,UUID || lsblk -P -b -o NAME,KNAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,UUID',
  },
  {
    name: 'vgs',
    script:
      'vgs --reportformat json --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,pv_count,lv_count,vg_attr',
  },
  { name: 'lvs', script: 'lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_size,lv_path,lv_attr' },
  { name: 'mounts', script: 'cat /proc/self/mountinfo || cat /proc/mounts' },
  { name: 'tools', script: `for t in ${FACT_TOOLS.join(' ')}; do printf '%s=%s\\n' "$t" "$(command -v "$t")"; done` },
];

/** The whole script: plain text, run by `sh -c` so the login shell (bash, zsh, fish) does not matter. */
export function factsScript(): string {
  // C locale: numbers and messages as the parser expects them. The sbin directories are added
  // because a non-root SSH login on Debian has none of them in PATH, where lvs and sfdisk live.
  const lines = [
    'LC_ALL=C; export LC_ALL',
    'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH',
    'LVM_SUPPRESS_FD_WARNINGS=1; export LVM_SUPPRESS_FD_WARNINGS',
    `ferry_begin() { printf '\\n${FACTS_MARKER}:begin:%s@@\\n' "$1"; }`,
    `ferry_end() { printf '\\n${FACTS_MARKER}:end:%s:%s@@\\n' "$1" "$2"; }`,
  ];
  for (const s of FACT_SECTIONS) lines.push(`ferry_begin ${s.name}; { ${s.script}; } 2>/dev/null; ferry_end ${s.name} $?`);
  lines.push('exit 0');
  return lines.join('\n');
}

/** The gather_facts command: read-only, one round trip, always exits 0 (each section reports its own status). */
export function factsCommand(): Command {
  return sh`sh -c ${factsScript()}`;
}
