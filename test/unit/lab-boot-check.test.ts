import assert from 'node:assert/strict';
import fs from 'node:fs';
import { LOGIN_PATTERN } from '../../lab/boot-check.js';

// What the boot check calls a login prompt on a serial console (lab/boot-check.ts).
describe('lab boot check: the login prompt on the serial console', () => {
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
