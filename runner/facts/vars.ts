// Gathered facts as variables for conditions and templates: `ferry_facts` (the typed shape)
// plus the handful of ansible_* names that existing playbooks test in `when:`.
import type { Facts, OsFamily } from './types.js';

const ANSIBLE_FAMILY: Record<OsFamily, string> = {
  debian: 'Debian',
  redhat: 'RedHat',
  arch: 'Archlinux',
  suse: 'Suse',
  alpine: 'Alpine',
  unknown: 'Unknown',
};

// ansible_distribution as Ansible spells it for the common IDs; others fall back to os-release NAME-ish.
const ANSIBLE_DISTRIBUTION: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  centos: 'CentOS',
  rhel: 'RedHat',
  rocky: 'Rocky',
  almalinux: 'AlmaLinux',
  fedora: 'Fedora',
  ol: 'OracleLinux',
  arch: 'Archlinux',
  'opensuse-leap': 'openSUSE Leap',
  'opensuse-tumbleweed': 'openSUSE Tumbleweed',
  sles: 'SLES',
  alpine: 'Alpine',
};

/** The variables a host gets from its facts: `ferry_facts` and the common ansible_* names. */
export function factsVars(f: Facts): Record<string, unknown> {
  const d = f.os.distribution;
  return {
    ferry_facts: f,
    ansible_os_family: ANSIBLE_FAMILY[f.os.family],
    ansible_distribution: Object.hasOwn(ANSIBLE_DISTRIBUTION, d) ? ANSIBLE_DISTRIBUTION[d] : f.os.prettyName,
    ansible_distribution_version: f.os.version,
    ansible_distribution_major_version: f.os.majorVersion,
    ansible_distribution_release: f.os.codename,
    ansible_kernel: f.kernel,
    ansible_architecture: f.architecture,
    ansible_hostname: f.hostname.split('.')[0],
    ansible_fqdn: f.hostname,
    ansible_memtotal_mb: f.memoryMb,
    ansible_processor_vcpus: f.cpus,
  };
}
