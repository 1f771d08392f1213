// The one read-only command that gathers a host's facts in a single round trip. Each section is a
// record of a batched read (runner/batch-read.ts) carrying its exit status and stderr, so a missing
// tool (lvm2 on a plain host, lsblk on an old one) or a permission error fails that section alone,
// and the parser can say which.
import { BATCH_RECORD_FUNCTION, batchRecords } from '../batch-read.js';
import { sh, type Command } from '../command.js';
import { FerryError } from '../errors.js';
import { lvsCommand, vgsCommand } from './lvm.js';

/**
 * The name a tool's presence has in the facts (`ferry_facts.tools.NAME`): the tool's name in
 * camelCase (`grub-install` is grubInstall, `grub2-install` grub2Install).
 */
export function toolFactName(tool: string): string {
  return tool.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks the tools whose presence the facts report (`command -v`): each a plain command name, as it
 * is written into the facts script, whose fact name is not `paths` (where the found paths go).
 */
export function checkFactTools(tools: readonly string[]): void {
  for (const t of tools) {
    if (!/^\w[\w.+-]*$/.test(t)) throw new FerryError(`fact tools: ${JSON.stringify(t)} is not a command name (letters, digits, _ . + -, not starting with - . +)`);
    if (toolFactName(t) === 'paths') throw new FerryError('fact tools: a tool cannot be named paths (ferry_facts.tools.paths holds the found paths)');
  }
}

/** Paths whose presence tells the package manager, as Ansible looks for them (Linux ones). */
export const PKG_PATHS = [
  '/usr/bin/rpm-ostree', '/usr/bin/yum', '/usr/bin/dnf', '/usr/bin/apt-get', '/usr/bin/zypper', '/usr/sbin/urpmi', '/usr/bin/pacman',
  '/bin/opkg', '/sbin/apk', '/usr/bin/emerge', '/usr/bin/xbps-install', '/usr/bin/swupd', '/usr/sbin/sorcery', '/run/ostree-booted',
] as const;

/**
 * The whole script: plain text, run by `sh -c` so the login shell (bash, zsh, fish) does not matter;
 * $1 is the batch's token. `tools` are those whose presence it reports.
 */
export function factsScript(tools: readonly string[]): string {
  // C locale: numbers and messages as the parser expects them. The sbin directories are added
  // because a non-root SSH login on Debian has none of them in PATH, where lvs and sfdisk live.
  return [
    // the environment as the login gave it (ansible_env), before this script changes it
    'ferry_env=$(env)',
    'ferry_tok=$1',
    'LC_ALL=C; export LC_ALL',
    'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH',
    'LVM_SUPPRESS_FD_WARNINGS=1; export LVM_SUPPRESS_FD_WARNINGS',
    BATCH_RECORD_FUNCTION,
    ...batchRecords(factSections(tools)),
    'exit 0',
  ].join('\n');
}

/**
 * The gather_facts command, framed by `token` (newBatchToken()) and reporting whether each of `tools`
 * is installed: read-only, one round trip, always exits 0 (each section reports its own status).
 */
export function factsCommand(token: string, tools: readonly string[]): Command {
  return sh`sh -c ${factsScript(tools)} ferry-facts ${token}`;
}

/** Every section of the facts script: those below, then the tools section, which looks for `tools`. */
export function factSections(tools: readonly string[]): readonly { name: string; script: string }[] {
  checkFactTools(tools);
  const script = `for t in ${tools.join(' ')}; do printf '%s=%s\\n' "$t" "$(command -v "$t")"; done`;
  return [...FACT_SECTIONS, { name: 'tools', script }];
}

/** Each section but the tools (factSections adds it): a name and the POSIX sh that prints it; its exit status and stderr are kept. */
export const FACT_SECTIONS: readonly { name: string; script: string }[] = [
  { name: 'os_release', script: 'cat /etc/os-release || cat /usr/lib/os-release' },
  { name: 'uname', script: 'uname -srm' },
  { name: 'hostname', script: 'hostname || uname -n' },
  { name: 'meminfo', script: "grep -E '^(MemTotal|MemFree|MemAvailable|SwapTotal):' /proc/meminfo" },
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
      vgsCommand().text,
  },
  { name: 'lvs', script: lvsCommand().text },
  { name: 'mounts', script: 'cat /proc/self/mountinfo || cat /proc/mounts' },
  // What Ansible's setup module reads, for the ansible_* facts (runner/facts/ansible.ts says how each is derived).
  { name: 'nodename', script: 'uname -n' },
  // Python's socket.getfqdn(): the first name with a dot among the reverse lookup of the host name's first address.
  { name: 'fqdn', script: 'a=$(getent ahosts "$(uname -n)" | head -n 1 | cut -d " " -f 1) && getent hosts "$a"' },
  { name: 'debian_version', script: 'cat /etc/debian_version' },
  { name: 'cpuinfo', script: "grep -E '^(processor|Processor|vendor_id|Vendor|cpu|model name|physical id|core id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo" },
  // Xen PV guests list their CPUs differently (no vme flag): Ansible counts them another way there.
  { name: 'xen', script: `if test -e /proc/xen || grep -qx xen /sys/hypervisor/type; then printf 'xen %s\\n' "$(grep '^flags' /proc/cpuinfo | grep -vc vme)"; fi` },
  { name: 'ip_route', script: 'ip -4 route get 8.8.8.8' },
  { name: 'ip_addr', script: 'ip -o -4 addr show' },
  {
    name: 'netdev',
    script:
      'for d in /sys/class/net/*; do [ -d "$d" ] || continue; t=$(cat "$d/type"); [ -d "$d/bridge" ] && t=bridge; [ -d "$d/bonding" ] && t=bonding; ' +
      'printf \'%s %s %s %s\\n\' "${d##*/}" "$(cat "$d/address")" "$(cat "$d/mtu")" "$t"; done',
  },
  // Each mtab line Ansible lists (a device path or host:/path, fstype not none), then statvfs of its mount point.
  {
    name: 'mtab',
    script:
      'm=/etc/mtab; [ -e $m ] || m=/proc/mounts; while read -r dev mnt fs opts rest; do case "$dev" in /*|\\\\*|*:/*) ;; *) continue;; esac; [ "$fs" = none ] && continue; ' +
      'p=$(printf %s "$mnt" | sed \'s/\\\\\\([0-7][0-7][0-7]\\)/\\\\0\\1/g\'); ' +
      'printf \'%s %s %s %s | %s\\n\' "$dev" "$mnt" "$fs" "$opts" "$(stat -f -c \'%S %s %b %a %c %d\' -- "$(printf %b "$p")")"; done < $m',
  },
  { name: 'env', script: 'printf "%s\\n" "$ferry_env"' },
  { name: 'user', script: 'id -un' },
  { name: 'pkg', script: `for p in ${PKG_PATHS.join(' ')}; do [ -e "$p" ] && echo "$p"; done; true` },
  {
    name: 'init',
    script:
      'printf "comm=%s\\n" "$(cat /proc/1/comm)"; printf "init_link=%s\\n" "$(readlink /sbin/init)"; ' +
      'for p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/ /etc/init/ /sbin/openrc /etc/init.d/; do [ -e "$p" ] && echo "exists=$p"; done; ' +
      'for t in systemctl initctl; do command -v "$t" >/dev/null && echo "tool=$t"; done; true',
  },
];

