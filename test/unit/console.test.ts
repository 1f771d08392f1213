import assert from 'node:assert/strict';
import fs from 'node:fs';
import { consoleEnd, consoleTail, LOGIN_PATTERN } from '../../tasks/libvirt/console.js';

// What the boot checks (the boot_check module, lab/boot-check.ts) read on a serial console.
describe('serial console: the login prompt', () => {
  it('sees a prompt the kernel printed on after (a real capture: the old pattern failed this boot)', () => {
    const log = fs.readFileSync('test/fixtures/boot-console/ubuntu-login-then-kernel.txt', 'utf8');
    assert.match(log, /ur1 login: \[ +33\.257086\] kvm:/);
    assert.ok(LOGIN_PATTERN.test(log));
  });

  it("sees a getty's prompt with nothing after it, also after CR LF", () => {
    assert.ok(LOGIN_PATTERN.test('Debian GNU/Linux 12 xr1 ttyS0\r\n\r\nxr1 login: '));
    assert.ok(LOGIN_PATTERN.test('\r\nweb-1.example.org login:'));
  });

  it('does not take systemd or kernel lines that mention logins for a prompt', () => {
    const boot = [
      '[  OK  ] Started User Login Management.',
      '         Starting getty on tty2-tty6 if dbus and logind are not available...',
      '[    3.1] systemd[1]: Starting systemd-logind.service - User Login Management...',
      '[  OK  ] Started Serial Getty on ttyS0.',
    ].join('\r\n');
    assert.equal(LOGIN_PATTERN.test(boot), false);
  });
});

describe('serial console: where a boot ended', () => {
  const log = fs.readFileSync('test/fixtures/boot-console/ubuntu-login-then-kernel.txt', 'utf8');

  it('a login prompt, also when the kernel printed a panic-like line before it', () => {
    assert.equal(consoleEnd(log), 'login');
    assert.equal(consoleEnd('[    1.0] Kernel panic - not syncing: bogus test\r\nxr1 login: '), 'login');
  });

  it('a boot that will never show a login prompt, by what systemd, initramfs-tools, dracut, the kernel and SeaBIOS print', () => {
    const cases: [string, ReturnType<typeof consoleEnd>][] = [
      ['[ TIME ] Timed out waiting for device dev-xvda2.device.\r\n[DEPEND] Dependency failed for /srv.\r\nYou are in emergency mode. After logging in, type "journalctl -xb" to view\r\nGive root password for maintenance\r\n(or press Control-D to continue): ', 'emergency'],
      ['Gave up waiting for root file system device.  Common problems:\r\n - Boot args (cat /proc/cmdline)\r\nALERT!  /dev/xvda1 does not exist.  Dropping to a shell!\r\n(initramfs) ', 'emergency'],
      ['dracut Warning: Could not boot.\r\n', 'emergency'],
      ['[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n', 'panic'],
      ['Booting from Hard Disk...\r\nBoot failed: not a bootable disk\r\n\r\nNo bootable device.\r\n', 'no-bootable-device'],
      // still booting: no verdict yet
      [log.slice(0, log.indexOf('ur1 login:')), undefined],
      ['', undefined],
    ];
    for (const [text, end] of cases) assert.equal(consoleEnd(text), end, JSON.stringify(text.slice(-80)));
  });

  it('the last lines with something on them, without colours or carriage returns', () => {
    const tail = consoleTail(log, 3);
    assert.equal(tail.length, 3);
    assert.equal(tail.at(-1), 'pci dev 00:04.0 virtio cap at 0x60 type 4 bar 4 at 0xfe004000 off +0x2000 [mmio]');
    assert.ok(tail.every((l) => !/\x1b|\r/.test(l)), tail.join('|'));
    assert.deepEqual(consoleTail('\x1b[0;32m  OK  \x1b[0m] Started x.\r\n\r\n\r\nweb1 login: ', 5), ['  OK  ] Started x.', 'web1 login:']);
    // GRUB's menu, as a converted guest drew it on its serial console (from a lab boot): one line per row, no box
    const grub =
      '\x1b[2;24HGNU GRUB  version 2.06-13+deb12u2\r\n\x1b[4;2H+------+\x1b[5;2H|\x1b[5;79H|\x1b[7m\x1b[5;3H*Debian GNU/Linux    \x1b[m\x1b[6;3H Advanced options for Debian GNU/Linux   \x1b[22;1H   The highlighted entry will be executed automatically in 0s.   \x1b[5;78H\x1b[?25h\x1b[H\x1b[J\x1b[1;1H  Booting `Debian GNU/Linux\'\r\n';
    assert.deepEqual(consoleTail(grub, 10), [
      'GNU GRUB  version 2.06-13+deb12u2',
      '*Debian GNU/Linux',
      ' Advanced options for Debian GNU/Linux',
      '   The highlighted entry will be executed automatically in 0s.',
      "  Booting `Debian GNU/Linux'",
    ]);
  });
});
