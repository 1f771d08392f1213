// The ansible_* facts: real output of factsCommand() (fixtures) and tables for each derivation,
// against what Ansible 2.14's setup module reports for the same input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ANSIBLE_FACT_NAMES, factsVars, parseFacts } from '../../runner/facts/index.js';
import { cpuFacts, fqdnOf, mountFacts, networkFacts, parseEnv, parseIpAddr, parseRouteGet, pkgMgr, serviceMgr } from '../../runner/facts/ansible.js';
import { evaluateBool, parseExpr } from '../../runner/expr/index.js';
import { FIXTURE_TOKEN } from '../helpers/fixture-token.js';
import { MIGRATION_FACT_TOOLS } from '../../tasks/fact-tools.js';

const TOKEN = FIXTURE_TOKEN;
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');

describe('ansible facts: real output (sandbox-debian12-root.txt)', () => {
  const f = parseFacts(fixture('sandbox-debian12-root.txt'), TOKEN, MIGRATION_FACT_TOOLS);
  // `ansible localhost -c local -m setup` on the same machine, the same minute, printed these values.
  it('platform, distribution and user facts equal those Ansible printed there', () => {
    const { env: _env, mounts: _mounts, memfree_mb: _free, ...rest } = f.ansible;
    assert.deepEqual(rest, {
      hostname: 'vm',
      fqdn: 'localhost',
      nodename: 'vm',
      domain: '',
      system: 'Linux',
      kernel: '6.18.44-fc-v1272',
      machine: 'x86_64',
      architecture: 'x86_64',
      os_family: 'Debian',
      distribution: 'Debian',
      distribution_version: '12.11',
      distribution_major_version: '12',
      distribution_release: 'bookworm',
      memtotal_mb: 24105,
      swaptotal_mb: 0,
      processor_count: 1,
      processor_cores: 2,
      processor_threads_per_core: 1,
      processor_vcpus: 2,
      processor_nproc: 2,
      default_ipv4: {
        address: '192.0.2.2',
        alias: 'eth0',
        broadcast: '192.0.2.255',
        gateway: '192.0.2.1',
        interface: 'eth0',
        macaddress: '02:fc:00:00:00:01',
        mtu: 1400,
        netmask: '255.255.255.0',
        network: '192.0.2.0',
        prefix: '24',
        type: 'ether',
      },
      all_ipv4_addresses: ['192.0.2.2'],
      interfaces: ['eth0', 'ifb0', 'ifb1', 'lo'],
      user_id: 'root',
      pkg_mgr: 'apt',
      service_mgr: 'process_api',
    });
    assert.equal(f.ansible.memfree_mb, Math.floor(19535876 / 1024));
    assert.deepEqual(f.warnings, []);
  });
  it('mounts: the device-backed ones, sizes from statvfs', () => {
    assert.deepEqual(f.ansible.mounts, [
      {
        mount: '/',
        device: '/dev/vda',
        fstype: 'ext4',
        options: 'rw,relatime,discard,resv_strict,resuid=65534,resgid=65534',
        size_total: 4096 * 66053021,
        size_available: 4096 * 19949872,
        block_size: 4096,
        block_total: 66053021,
        block_available: 19949872,
        block_used: 66053021 - 19949872,
        inode_total: 16777216,
        inode_available: 16290762,
        inode_used: 16777216 - 16290762,
        uuid: 'N/A',
      },
    ]);
  });
  it('env is the login environment, not the one the script sets (LC_ALL=C)', () => {
    const env = f.ansible.env as Record<string, string>;
    assert.equal(env.HOME, '/root');
    assert.equal(env.LC_ALL, undefined);
    assert.equal(env.LANG, 'C.UTF-8');
  });
  it('as nobody: user_id and env are that user\'s', () => {
    const n = parseFacts(fixture('sandbox-debian12-nobody.txt'), TOKEN, MIGRATION_FACT_TOOLS);
    assert.equal(n.ansible.user_id, 'nobody');
    assert.equal((n.ansible.env as Record<string, string>).MAIL, '/var/mail/nobody');
  });
  it('every name is a variable ansible_NAME and a key of ansible_facts, also with the dot', () => {
    const v = factsVars(f);
    for (const n of ANSIBLE_FACT_NAMES) assert.ok(`ansible_${n}` in v && n in (v.ansible_facts as object), n);
    for (const src of ["ansible_facts['distribution'] == 'Debian'", "ansible_facts.os_family == ansible_os_family", 'ansible_default_ipv4.address == "192.0.2.2"', "ansible_mounts | selectattr('mount', 'equalto', '/') | list | length == 1"]) {
      assert.equal(evaluateBool(parseExpr(src), v), true, src);
    }
  });
});

describe('ansible facts: processors (Ansible counts sockets, cores and siblings)', () => {
  const cpu = (n: number, phys: string, core: string, cores: number, siblings: number): string =>
    `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nphysical id\t: ${phys}\nsiblings\t: ${siblings}\ncore id\t\t: ${core}\ncpu cores\t: ${cores}\n`;
  const cases: [string, string, string, string, Record<string, number>][] = [
    ['2 sockets x 2 cores x 2 threads', [0, 1, 2, 3, 4, 5, 6, 7].map((n) => cpu(n, String(n >> 2), String((n >> 1) & 1), 2, 4)).join(''), 'x86_64', '', { processor_count: 2, processor_cores: 2, processor_threads_per_core: 2, processor_vcpus: 8, processor_nproc: 8 }],
    ['Xen PV guest (no vme flag): one core per CPU', cpu(0, '0', '0', 1, 1) + cpu(1, '0', '0', 1, 1), 'x86_64', 'xen 2', { processor_count: 2, processor_cores: 2, processor_threads_per_core: 1, processor_vcpus: 2, processor_nproc: 2 }],
    ['Xen HVM (every CPU has vme): counted as usual', cpu(0, '0', '0', 2, 2) + cpu(1, '0', '1', 2, 2), 'x86_64', 'xen 0', { processor_count: 1, processor_cores: 2, processor_threads_per_core: 1, processor_vcpus: 2, processor_nproc: 2 }],
    ['ARM without physical id: processor lines counted', 'processor\t: 0\nBogoMIPS\t: 50\nprocessor\t: 1\n', 'aarch64', '', { processor_count: 2, processor_cores: 1, processor_threads_per_core: 1, processor_vcpus: 2, processor_nproc: 2 }],
  ];
  for (const [what, text, arch, xen, want] of cases) it(what, () => assert.deepEqual(cpuFacts(text, arch, xen, want.processor_nproc!), want));
});

describe('ansible facts: network', () => {
  it('a host without a default route has default_ipv4 {} and still its addresses', () => {
    const n = networkFacts('', '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n2: ens3    inet 10.1.2.3/16 brd 10.1.255.255 scope global ens3\\ x', 'lo 00:00:00:00:00:00 65536 772\nens3 52:54:00:aa:bb:cc 1500 1');
    assert.deepEqual(n, { default_ipv4: {}, all_ipv4_addresses: ['10.1.2.3'], interfaces: ['lo', 'ens3'] });
  });
  it('a route without a gateway (on-link) has none; an alias label is an interface of its own', () => {
    assert.deepEqual(parseRouteGet('8.8.8.8 dev br0 src 10.0.0.5 uid 0\n    cache'), { interface: 'br0', address: '10.0.0.5' });
    assert.deepEqual(parseRouteGet('RTNETLINK answers: Network is unreachable'), {});
    const ips = parseIpAddr('3: br0    inet 10.0.0.5/24 brd 10.0.0.255 scope global br0\\ a\n3: br0    inet 10.0.0.6/24 scope global secondary br0:1\\ a\n4: tun0    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\\ a');
    assert.deepEqual(ips.map((a) => [a.address, a.prefix, a.netmask, a.network, a.broadcast, a.label, a.secondary]), [
      ['10.0.0.5', '24', '255.255.255.0', '10.0.0.0', '10.0.0.255', 'br0', false],
      ['10.0.0.6', '24', '255.255.255.0', '10.0.0.0', '', 'br0:1', true],
      ['10.8.0.1', '32', '255.255.255.255', '10.8.0.1', '', 'tun0', false],
    ]);
    const n = networkFacts('8.8.8.8 dev br0 src 10.0.0.5 uid 0', 'x\n' + '3: br0    inet 10.0.0.5/24 brd 10.0.0.255 scope global br0\\ a\n3: br0    inet 10.0.0.6/24 scope global secondary br0:1\\ a', 'br0 52:54:00:00:00:01 1500 bridge');
    assert.deepEqual(n.interfaces, ['br0', 'br0:1']);
    assert.deepEqual(n.default_ipv4, { interface: 'br0', address: '10.0.0.5', broadcast: '10.0.0.255', netmask: '255.255.255.0', network: '10.0.0.0', prefix: '24', macaddress: '52:54:00:00:00:01', mtu: 1500, type: 'bridge', alias: 'br0' });
  });
  it('fqdn as Python getfqdn(): the first name with a dot, else the canonical name, else the node name', () => {
    assert.equal(fqdnOf('127.0.1.1       hv1.example.org hv1', 'hv1'), 'hv1.example.org');
    assert.equal(fqdnOf('127.0.1.1       hv1 hv1.example.org', 'hv1'), 'hv1.example.org');
    assert.equal(fqdnOf('127.0.0.1       localhost', 'vm'), 'localhost');
    assert.equal(fqdnOf('', 'vm'), 'vm');
  });
});

describe('ansible facts: mounts, env, package and service manager', () => {
  it('octal escapes are decoded, a bind mount gets ",bind", a failed statvfs leaves sizes out', () => {
    const mtab = '/dev/sda1 /srv/my\\040data ext4 rw,relatime | 4096 4096 100 40 50 20\n/dev/sda1 /etc/hosts ext4 rw | \nhost:/export /mnt/nfs nfs4 rw | 1024 1048576 10 5 8 4';
    const mountinfo = '30 1 8:1 / /srv/my\\040data rw - ext4 /dev/sda1 rw\n31 1 8:1 /etc/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n';
    const m = mountFacts(mtab, mountinfo, new Map([['/dev/sda1', 'abcd-1234']]));
    assert.deepEqual(m[0], { mount: '/srv/my data', device: '/dev/sda1', fstype: 'ext4', options: 'rw,relatime', size_total: 409600, size_available: 163840, block_size: 4096, block_total: 100, block_available: 40, block_used: 60, inode_total: 50, inode_available: 20, inode_used: 30, uuid: 'abcd-1234' });
    assert.deepEqual(m[1], { mount: '/etc/hosts', device: '/dev/sda1', fstype: 'ext4', options: 'rw,bind', uuid: 'abcd-1234' });
    assert.equal(m[2]!.size_total, 10240);
    assert.equal(m[2]!.block_size, 1048576);
    assert.equal(m[2]!.uuid, 'N/A');
  });
  it('env: a value with a newline continues on the next line', () => {
    assert.deepEqual(parseEnv('A=1\nB=two\nlines\nC='), { A: '1', B: 'two\nlines', C: '' });
    assert.deepEqual(parseEnv('A=1\nB=2\n'), { A: '1', B: '2' }, 'the newline ending the section is not part of the last value');
  });
  const pkg: [string, string, string, string, string, string][] = [
    ['Debian with yum installed too', '/usr/bin/apt-get\n/usr/bin/yum', 'Debian', 'Debian', '12', 'apt'],
    ['CentOS 7', '/usr/bin/yum', 'RedHat', 'CentOS', '7', 'yum'],
    ['Rocky 9 (yum is a dnf link)', '/usr/bin/yum\n/usr/bin/dnf', 'RedHat', 'Rocky', '9', 'dnf'],
    ['Fedora 22 with dnf and yum', '/usr/bin/yum\n/usr/bin/dnf', 'RedHat', 'Fedora', '22', 'yum'],
    ['RHEL on ostree', '/usr/bin/rpm-ostree\n/run/ostree-booted', 'RedHat', 'RedHat', '9', 'atomic_container'],
    ['Arch', '/usr/bin/pacman', 'Archlinux', 'Archlinux', '', 'pacman'],
    ['openSUSE', '/usr/bin/zypper', 'Suse', 'openSUSE Leap', '15', 'zypper'],
    ['Alpine', '/sbin/apk', 'Alpine', 'Alpine', '3', 'apk'],
    ['nothing known', '', 'Unknown', 'Foo', '1', 'unknown'],
  ];
  for (const [what, present, family, dist, major, want] of pkg) it(`pkg_mgr: ${what} → ${want}`, () => assert.equal(pkgMgr(present, family, dist, major), want));
  const svc: [string, string, string][] = [
    ['systemd as PID 1', 'comm=systemd\ninit_link=/lib/systemd/systemd\nexists=/run/systemd/system/\ntool=systemctl', 'systemd'],
    ['a container whose PID 1 is a shell, systemd not running: its init.d', 'comm=bash\ninit_link=/lib/systemd/systemd\nexists=/etc/init.d/', 'sysvinit'],
    ['a container whose PID 1 is a shell, systemctl and /sbin/init → systemd: systemd offline', 'comm=sh\ninit_link=/lib/systemd/systemd\ntool=systemctl\nexists=/etc/init.d/', 'systemd'],
    ['PID 1 init (sysvinit or upstart): what the system has', 'comm=init\nexists=/etc/init/\ntool=initctl', 'upstart'],
    ['openrc-init maps to openrc', 'comm=openrc-init', 'openrc'],
    ['a custom PID 1 is reported by name (as Ansible does)', 'comm=tini', 'tini'],
    ['nothing readable', '', 'service'],
  ];
  for (const [what, init, want] of svc) it(`service_mgr: ${what} → ${want}`, () => assert.equal(serviceMgr(init), want));
});
