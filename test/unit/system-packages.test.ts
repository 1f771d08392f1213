// The set-up check's pure parts (lab/system-packages.ts): the one package list, dpkg-query output →
// the missing packages → the one `sudo apt-get install` line a user who is not root is told to run.
import assert from 'node:assert/strict';
import {
  aptInstallArgs,
  dpkgQueryArgs,
  missingPackages,
  missingPackagesMessage,
  PACKAGE_GROUPS,
  PACKAGE_USES,
  packagesFor,
  sudoInstallLine,
} from '../../lab/system-packages.js';

describe('system packages: dpkg-query output → missing packages', () => {
  // dpkg-query -W prints known packages sorted by name, nothing for unknown ones (and exits 1 then).
  const cases: { name: string; wanted: string[]; dpkg: string; missing: string[] }[] = [
    { name: 'all installed (as printed here for sudo, rsync, libc6)', wanted: ['sudo', 'rsync', 'libc6'], dpkg: 'libc6\tinstalled\nrsync\tinstalled\nsudo\tinstalled\n', missing: [] },
    { name: 'an unknown package prints no line', wanted: ['sudo', 'hello', 'rsync'], dpkg: 'rsync\tinstalled\nsudo\tinstalled\n', missing: ['hello'] },
    { name: 'removed, config files left', wanted: ['sudo', 'parted'], dpkg: 'parted\tconfig-files\nsudo\tinstalled\n', missing: ['parted'] },
    { name: 'known but never installed', wanted: ['zstd'], dpkg: 'zstd\tnot-installed\n', missing: ['zstd'] },
    { name: 'a broken install counts as missing', wanted: ['cpio', 'gpg'], dpkg: 'cpio\thalf-configured\ngpg\tunpacked\n', missing: ['cpio', 'gpg'] },
    { name: 'pending triggers: the files are there', wanted: ['man-db', 'libc-bin'], dpkg: 'libc-bin\ttriggers-awaited\nman-db\ttriggers-pending\n', missing: [] },
    { name: 'missing ones keep the wanted order, not dpkg order', wanted: ['zstd', 'cpio', 'attr'], dpkg: '', missing: ['zstd', 'cpio', 'attr'] },
    { name: 'a package installed for two architectures', wanted: ['libc6'], dpkg: 'libc6\tinstalled\nlibc6\tinstalled\n', missing: [] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(missingPackages(c.wanted, c.dpkg), c.missing));
  }

  it('asks dpkg-query for name and status, tab-separated, one line each, names after --', () => {
    assert.deepEqual(dpkgQueryArgs(['sudo', 'hello']), ['-W', '-f', '${Package}\\t${db:Status-Status}\\n', '--', 'sudo', 'hello']);
  });
});

describe('system packages: what is printed and run', () => {
  it('prints the exact sudo line for a user who is not root', () => {
    assert.equal(sudoInstallLine(['debootstrap', 'hello']), 'sudo apt-get install --no-install-recommends debootstrap hello');
  });

  it('says what is missing, what needs each, and the one command', () => {
    assert.equal(
      missingPackagesMessage(['debootstrap', 'hello'], ['lab']),
      [
        'missing Debian packages: debootstrap, hello',
        '  debootstrap: the lab VM (debootstrap, images, keys, qemu)',
        '  hello: named with --package',
        'install them (as root) with:',
        '  sudo apt-get install --no-install-recommends debootstrap hello',
      ].join('\n'),
    );
  });

  it('names every group that needs a package', () => {
    assert.match(missingPackagesMessage(['qemu-system-x86'], ['migrate']), /^ {2}qemu-system-x86: the lab VM .*; virsh_define and the KVM boot/m);
  });

  it('installs as root in one apt-get call, without recommends, names after --', () => {
    assert.deepEqual(aptInstallArgs(['a1', 'b2']), ['install', '-y', '-qq', '--no-install-recommends', '--', 'a1', 'b2']);
  });
});

describe('system packages: the list', () => {
  it('npm test checks every group', () => {
    assert.deepEqual([...PACKAGE_USES.tests].sort(), Object.keys(PACKAGE_GROUPS).sort());
  });

  it('lab:migrate checks the lab and libvirt for the boot', () => {
    const p = packagesFor(['migrate']);
    for (const pkg of ['debootstrap', 'qemu-system-x86', 'qemu-utils', 'libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu']) assert.ok(p.includes(pkg), pkg);
  });

  it('names each package once, in list order, extras last', () => {
    const p = packagesFor(['tests'], ['hello', 'sudo']);
    assert.equal(new Set(p).size, p.length);
    assert.deepEqual(p.slice(0, 3), ['openssh-server', 'openssh-client', 'sudo']);
    assert.equal(p.at(-1), 'hello');
  });

  it('holds only valid Debian package names', () => {
    for (const pkg of packagesFor(['tests'])) assert.match(pkg, /^[a-z0-9][a-z0-9+.-]+$/);
  });

  it('refuses an extra name that is not a Debian package name (it would be printed as a command)', () => {
    for (const bad of ['Hello', '-y', 'a', 'x;rm', 'a b', '']) {
      assert.throws(() => packagesFor([], [bad]), /not a Debian package name/, bad);
    }
  });
});
